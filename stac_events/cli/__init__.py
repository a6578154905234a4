"""The entry point: argv and an environment in, an exit status out.

`main` is the one boundary where errors become a message and an exit status: reading
the line, building the commands, parsing and running them all happen inside it. A
stdout whose reader went away (`| head -1`) ends the run there too: exit 141, and
nothing more said, as git and coreutils do. But where a run failed for a reason of its
own (an event queued, refused, a usage error), that status wins over stdout's: a script
must learn that its event waits in the spool, even when it closed stdout.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import sys
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    List,
    MutableMapping,
    NoReturn,
    Optional,
    Sequence,
    cast,
)

from stac_events.cli import signals
from stac_events.cli.output import Output, ReaderGone, UnwritableStdout, guarded
from stac_events.environment import Environment
from stac_events.errors import StacEventsError, Terminated, interruption
from stac_events.setting_specs import HEADERS_VARIABLE, KEY_VARIABLES
from stac_events.status import ExitStatus

if TYPE_CHECKING:
    from stac_events.cli.run import Run

PROGRAMS = ("stac-events", "stac")


def main(
    args: Sequence[str], env: Optional[Environment] = None, prog_name: str = "stac-events"
) -> int:
    """Run one command line and return its exit status; never raises."""
    from stac_events.cli import argv

    env = guarded(env or Environment())
    args = list(args)
    output = Output(env, prog=prog_name, mode=argv.output_mode(args) or "text",
                    debug="--debug" in args)  # fmt: skip
    # Masked from the first message on, before the settings say which key is used
    output.secrets.extend(argv.given_values(args, "--api-key"))
    output.secrets.extend(env.environ.get(name, "").strip() for name in KEY_VARIABLES)
    output.secrets.extend(_header_secrets(argv.header_values(args),
                                          env.environ.get(HEADERS_VARIABLE, "")))  # fmt: skip
    try:
        return _reported(args, env, output, prog_name)
    except ReaderGone:
        return ExitStatus.BROKEN_PIPE
    finally:
        output.end_debug_log()


def _header_secrets(given: Sequence[str], variable: str) -> List[str]:
    """The secrets of the headers given as flags and in the variable, before either is
    read: an error about the line (a missing argument's hint repeats it) shows none. A
    header not yet known to be well-formed is taken as `Name: value`, and one without a
    name is a value."""
    from stac_events.headers import secrets_of

    found = []
    for text in [*given, *variable.splitlines()]:
        name, colon, value = text.partition(":")
        found += secrets_of(((name.strip(), value.strip()) if colon else ("", text.strip()),))
    return found


def _reported(args: Sequence[str], env: Environment, output: Output, prog_name: str) -> int:
    """The run's exit status, its failure reported; only `ReaderGone` gets through."""
    try:
        status = _run(args, env, output, prog_name)
        env.stdout.flush()  # a reader that left before the last of it is a broken pipe too
        return status
    except ReaderGone:
        raise
    except (KeyboardInterrupt, Terminated) as stop:
        return _told(output, interruption(stop))
    except Exception as error:
        if isinstance(error, StacEventsError):
            from stac_events.cli.usage import named_by_flag

            return _told(output, named_by_flag(error))
        try:
            output.internal_error(error)
        except (ReaderGone, UnwritableStdout):
            pass  # stderr has it; the status says it
        except Exception as reporting:  # the report itself failed: say so, plainly
            env.stderr.write(f"{prog_name}: internal error: {type(error).__name__}, "
                             f"then {type(reporting).__name__} while reporting it\n")  # fmt: skip
        return ExitStatus.INTERNAL_ERROR


def _run(args: Sequence[str], env: Environment, output: Output, prog_name: str) -> int:
    from stac_events.cli import argv, direct
    from stac_events.cli.commands import COMMANDS_BY_PATH, shapes
    from stac_events.cli.run import started
    from stac_events.cli.usage import UsageError

    try:
        line = argv.read(args, shapes())
    except argv.UnusableLine as error:
        raise UsageError(
            str(error), option=error.flag, hint=_see_help(prog_name, error.path)
        ) from None
    output.mode = argv.output_mode(line.args) or "text"  # as the line was read: exact
    command = COMMANDS_BY_PATH.get(" ".join(line.path))
    # stdout stays the wrapped command's: what `event wrap` prints itself goes to stderr
    output.data_on_stderr = command is not None and command.runs_a_command
    run = started(env, output, line)
    if line.args == direct.VERSION_LINE and not direct.completing(prog_name):
        direct.version(run)
        return ExitStatus.SUCCESS
    parsed = direct.read(line, prog_name)
    if parsed is not None:  # a common line, read completely without Typer
        run.before_command.update(parsed.before_command)
        direct.execute(parsed.command, run, parsed.values)
        if run.raised is not None:
            raise run.raised
        return run.status
    return _run_by_typer(run, prog_name)


def _run_by_typer(run: Run[Any], prog_name: str) -> int:
    """Run the line through the Typer commands: help, usage errors, every other command."""
    from stac_events.cli import typer_app
    from stac_events.cli.usage import UsageError

    line = run.line
    app = typer_app.build(run)
    try:
        status = typer_app.invoke(app, line.args, prog_name, run)
    except typer_app.UsageProblem as problem:
        message = problem.format_message().rstrip(".")
        hint = _see_help(prog_name, line.path)
        old = _OLD_STAC_COMMAND.fullmatch(message) if not line.path else None
        if old is not None and old.group(1) in OLD_STAC_COMMANDS:
            message = (f"'{old.group(1)}' was a command of StackState's old stac CLI; "
                       "stac-events covers 'stac event send' only")  # fmt: skip
            hint = "StackState's new sts CLI does the rest (docs: setup/cli/cli-sts)"
        if message.startswith("Got unexpected extra argument"):
            # Typer quotes them back, and one may be a key typed in the wrong place
            message = "more arguments than the command takes (not shown: one may be a secret)"
            hint += f"; a value with spaces needs quotes, e.g. {_quoted_example(line.path)}"
        raise UsageError(message, hint=hint) from None
    if run.raised is not None:
        raise run.raised
    if line.bare:
        return ExitStatus.USAGE  # the help was shown: there was nothing to run
    if status == ExitStatus.INTERRUPTED:  # Typer's answer to a Ctrl-C while parsing
        raise KeyboardInterrupt
    return run.status if status is None else status


# The commands of StackState's old `stac` CLI besides `event`: a line written for it says
# what stac-events is, rather than "No such command".
OLD_STAC_COMMANDS = frozenset({
    "agent", "anomaly", "api-token", "graph", "health", "metric", "permission", "script",
    "serverlog", "stackpack", "subject", "subscribe", "subscription", "topic", "topology",
    "trace",
})  # fmt: skip
_OLD_STAC_COMMAND = re.compile(r"No such command '([^']*)'")


def _told(output: Output, error: StacEventsError) -> int:
    """Say why the run failed, and end with its status: an unwritable stdout, or one
    whose reader went away, changes neither (the line on stderr says it all the same)."""
    if isinstance(error, UnwritableStdout):
        output.failure(error)
        return error.status
    try:
        output.failure(error)
    except (ReaderGone, UnwritableStdout):
        output.failure(error, data=False)
    return error.status


def _quoted_example(path: Sequence[str]) -> str:
    """An option of the command at `path` given a value with spaces, as the line needs it."""
    from stac_events.cli import options as o
    from stac_events.cli.commands import COMMANDS_BY_PATH

    command = COMMANDS_BY_PATH.get(" ".join(path))
    declared = command.options if command else ()
    if o.TITLE in declared:
        return '--title "Deployed 1.4"'
    if o.HEADER in declared:
        return "--header 'X-Team: web shop'"
    return "'two words'"


def _see_help(prog_name: str, path: Sequence[str]) -> str:
    return f"see '{' '.join([prog_name, *path])} --help'"


def run() -> NoReturn:
    """Console-script entry point for `stac-events` and its `stac` alias."""
    prog_name = os.path.basename(sys.argv[0]) or PROGRAMS[0]
    if prog_name not in PROGRAMS:
        prog_name = PROGRAMS[0]
    signals.install()
    # A stream closed before the start (`2>&-`) is None in `sys`: stderr then says nothing,
    # and stdout is one that cannot be written (a run that prints nothing still works).
    stderr = sys.stderr or open(os.devnull, "w")  # noqa: SIM115 - open for the whole process
    # a text stream, though typeshed's TextIOBase is no IO[str]
    env = Environment(stdout=sys.stdout or cast(IO[str], _Closed()), stderr=stderr)
    _sane_widths(os.environ)  # for Rich alone: the run's own variables (env.environ) stay
    try:
        status = main(sys.argv[1:], env, prog_name=prog_name)
    except KeyboardInterrupt:  # between commands: while importing or exiting
        status = _last_word(stderr, f"{prog_name}: interrupted\n", ExitStatus.INTERRUPTED)
    except Terminated as stop:
        status = _last_word(stderr, f"{prog_name}: {stop.words}\n", stop.status)
    for stream in (sys.stdout, sys.stderr):
        _let_go_if_broken(stream)
    sys.exit(status)


# The widths Rich draws help and tables at, from COLUMNS (and Typer's TERMINAL_WIDTH):
# a narrower one draws box lines alone, a wider one pads every line with spaces.
WIDTHS = range(40, 1001)


def _sane_widths(environ: MutableMapping[str, str]) -> None:
    """Put COLUMNS and TERMINAL_WIDTH within `WIDTHS`, or drop them when they say no width
    (`abc`, `0`): as given, Rich draws nothing or fails on a width too large for memory,
    and Typer fails on a TERMINAL_WIDTH that is not a number."""
    for name in ("COLUMNS", "TERMINAL_WIDTH"):
        value = environ.get(name)
        if value is None:
            continue
        digits = value.strip()
        if not digits.isascii() or not digits.isdigit() or int(digits) == 0:
            del environ[name]
        else:
            environ[name] = str(min(max(int(digits), WIDTHS.start), WIDTHS.stop - 1))


def _last_word(stderr: IO[str], message: str, status: int) -> int:
    with contextlib.suppress(OSError, ValueError):  # a stderr no one reads: the status says it
        stderr.write(message)
        stderr.flush()
    return status


def _let_go_if_broken(stream: Optional[IO[str]]) -> None:
    """Flush `stream` now; if it cannot be, put /dev/null under it, so that the
    interpreter's own flush at exit does not fail too (it would exit 120, and print)."""
    if stream is None:
        return
    try:
        stream.flush()
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)


class _Closed(io.TextIOBase):
    """A stdout closed before the start (`>&-`): writing to it fails as to a bad descriptor."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "stdout is closed")  # as writing to the closed fd would
