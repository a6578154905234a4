"""The command tree: `stac-events [global options] COMMAND ...`."""

# No `from __future__ import annotations` here: before Python 3.11, Typer cannot see
# through string annotations whose default is None, and the options lose their names.

import importlib
from typing import Annotated, Any, List, Optional

import click
import typer
import typer.main
from typer.core import TyperGroup

from stac_events import __version__
from stac_events.cli.command import global_options
from stac_events.cli.completion import completion_options
from stac_events.cli.context import current_run

# Each command group lives in its own module, imported only when it is run (or listed
# by --help): `event send` does not pay for building `config` or `spool`.
COMMANDS = {
    "event": "stac_events.cli.event",
    "config": "stac_events.cli.config",
    "spool": "stac_events.cli.spool",
    "check": "stac_events.cli.check",
}


class StacGroup(TyperGroup):
    """The root command: global options before the subcommand, subcommands loaded lazily."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(global_options())
        self.params.extend(completion_options())

    def list_commands(self, ctx: click.Context) -> List[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name])
        command = typer.main.get_command(module.app)
        command.name = name
        return command


app = typer.Typer(
    cls=StacGroup,
    name="stac-events",
    help=(
        "Push events into StackState's Receiver API from a terminal, a script or a CI "
        "pipeline. A drop-in for the old `stac event send`.\n\n"
        'Try: stac-events event send DeployEvent --title "Deployed 1.4" --dry-run'
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,  # ours are static scripts: see stac_events.completions
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(ctx: typer.Context, value: bool) -> None:
    if value:
        current_run(ctx).env.stdout.write(f"stac-events {__version__}\n")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        Optional[bool],
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = None,
) -> None:
    """Push events into StackState from the command line."""
