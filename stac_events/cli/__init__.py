"""The entry point: argv and an environment in, an exit status out.

`main` is the one boundary where errors become a message and an exit status: reading
the line, building the commands, parsing and running them all happen inside it.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, NoReturn, Optional, Sequence, Union

from stac_events.cli.output import Output
from stac_events.environment import KEY_VARIABLES, Environment
from stac_events.errors import StacEventsError, Terminated, interruption
from stac_events.status import ExitStatus

PROGRAMS = ("stac-events", "stac")


def main(
    args: Sequence[str], env: Optional[Environment] = None, prog_name: str = "stac-events"
) -> int:
    """Run one command line and return its exit status; never raises."""
    from stac_events.cli import argv

    env = env or Environment()
    args = list(args)
    output = Output(env, prog=prog_name, mode=argv.output_mode(args) or "text",
                    debug="--debug" in args)  # fmt: skip
    # Masked from the first message on, before the settings say which key is used
    output.secrets.extend(argv.given_values(args, "--api-key"))
    output.secrets.extend(env.environ.get(name, "").strip() for name in KEY_VARIABLES)
    try:
        return _run(args, env, output, prog_name)
    except (KeyboardInterrupt, Terminated) as stop:
        return _stopped(output, stop)
    except Exception as error:
        try:
            return _failed(output, error)
        except Exception as reporting:  # the report itself failed: say so, plainly
            env.stderr.write(f"{prog_name}: internal error: {type(error).__name__}, "
                             f"then {type(reporting).__name__} while reporting it\n")  # fmt: skip
            return ExitStatus.INTERNAL_ERROR


def _run(args: Sequence[str], env: Environment, output: Output, prog_name: str) -> int:
    from stac_events.cli import argv, typer_app
    from stac_events.cli.commands import shapes
    from stac_events.cli.run import Run
    from stac_events.cli.usage import UsageError

    try:
        line = argv.read(args, shapes())
    except argv.UnusableLine as error:
        raise UsageError(
            str(error), option=error.flag, hint=_see_help(prog_name, error.path)
        ) from None
    output.mode = argv.output_mode(line.args) or "text"  # as the line was read: exact
    run = Run(env, output, line)
    app = typer_app.build(run)
    try:
        status = typer_app.invoke(app, line.args, prog_name, run)
    except typer_app.UsageProblem as problem:
        message = problem.format_message().rstrip(".")
        hint = _see_help(prog_name, line.path)
        if message.startswith("Got unexpected extra argument"):
            # Typer quotes them back, and one may be a key typed in the wrong place
            message = "more arguments than the command takes (not shown: one may be a secret)"
            hint += '; a value with spaces needs quotes, e.g. --title "Deployed 1.4"'
        raise UsageError(message, hint=hint) from None
    if run.raised is not None:
        raise run.raised
    if line.bare:
        return ExitStatus.USAGE  # the help was shown: there was nothing to run
    if status == ExitStatus.INTERRUPTED:  # Typer's answer to a Ctrl-C while parsing
        raise KeyboardInterrupt
    return run.status if status is None else status


def _stopped(output: Output, stop: Union[KeyboardInterrupt, Terminated]) -> int:
    """Ctrl-C or SIGTERM: say so, with what was delivered and queued by then."""
    problem = interruption(stop)
    output.failure(problem)
    return problem.status


def _failed(output: Output, error: Exception) -> int:
    from stac_events.cli.usage import named_by_flag

    if isinstance(error, StacEventsError):
        error = named_by_flag(error)
        output.failure(error)
        return error.status
    output.internal_error(error)
    return ExitStatus.INTERNAL_ERROR


def _see_help(prog_name: str, path: Sequence[str]) -> str:
    return f"see '{' '.join([prog_name, *path])} --help'"


def run() -> NoReturn:
    """Console-script entry point for `stac-events` and its `stac` alias."""
    prog_name = os.path.basename(sys.argv[0]) or PROGRAMS[0]
    if prog_name not in PROGRAMS:
        prog_name = PROGRAMS[0]
    signal.signal(signal.SIGTERM, _terminate)
    try:
        status = main(sys.argv[1:], Environment(), prog_name=prog_name)
    except KeyboardInterrupt:  # between commands: while importing or exiting
        sys.stderr.write(f"{prog_name}: interrupted\n")
        status = ExitStatus.INTERRUPTED
    except Terminated:
        sys.stderr.write(f"{prog_name}: terminated\n")
        status = ExitStatus.TERMINATED
    sys.exit(status)


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM (a CI step's timeout, `kill`): stop what is being done, as Ctrl-C does, but
    queue what was not delivered. Later ones are ignored, so that the queueing finishes."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()
