"""The entry point: argv and an environment in, an exit status out.

This is the one boundary where errors become a message and an exit status.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn, Optional, Sequence

import click

from stac_events.environment import Environment
from stac_events.errors import StacEventsError, UsageError
from stac_events.output import Output
from stac_events.status import ExitStatus


def _output_mode(args: Sequence[str]) -> str:
    """Whether `--output json` was asked for, known even when parsing fails."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("--output=json", "-ojson"):
            return "json"
        if arg in ("--output", "-o") and args[i + 1 : i + 2] == ["json"]:
            return "json"
    return "text"


def _click_usage_error(error: click.ClickException) -> UsageError:
    command = error.ctx.command_path if getattr(error, "ctx", None) else None
    message = error.format_message().rstrip(".")
    return UsageError(message, hint=f"see '{command} --help'" if command else None)


def main(
    args: Sequence[str], env: Optional[Environment] = None, prog_name: str = "stac-events"
) -> int:
    """Run one command line and return its exit status; never raises."""
    import typer.main

    from stac_events.cli.app import app
    from stac_events.cli.context import Run

    env = env or Environment()
    args = list(args)
    output = Output(env, prog=prog_name, mode=_output_mode(args), debug="--debug" in args)
    command = typer.main.get_command(app)
    try:
        status = command.main(
            args=args, prog_name=prog_name, standalone_mode=False, obj=Run(env, output)
        )
    except StacEventsError as error:
        output.failure(error)
        return error.status
    except click.ClickException as error:
        output.failure(_click_usage_error(error))
        return ExitStatus.USAGE
    except (click.Abort, KeyboardInterrupt):
        status = ExitStatus.INTERRUPTED
    except Exception as error:
        output.internal_error(error)
        return ExitStatus.INTERNAL_ERROR
    if status == ExitStatus.INTERRUPTED:
        env.stderr.write(f"{prog_name}: interrupted\n")
    return int(status or 0)


def run() -> NoReturn:
    """Console-script entry point for `stac-events` and its `stac` alias."""
    prog_name = os.path.basename(sys.argv[0]) or "stac-events"
    if prog_name not in ("stac", "stac-events"):
        prog_name = "stac-events"
    try:
        status = main(sys.argv[1:], Environment(), prog_name=prog_name)
    except KeyboardInterrupt:  # between commands: while importing or exiting
        sys.stderr.write(f"{prog_name}: interrupted\n")
        status = ExitStatus.INTERRUPTED
    sys.exit(status)
