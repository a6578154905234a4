"""The common command lines, run without building Typer's commands.

Building the Typer tree costs a command line far more than the command itself (Typer
makes each parameter through pydantic). The lines people run most, `event send`,
`event wrap`, `spool flush` and `--version`, are read here instead, from the line as
`cli.argv` rewrote it: there every option is already one flag and one value, multi-value
flags given once per value. The flags are the declarations Typer gets (`cli.commands`,
`cli.options`), so there is no second list of them to keep in step.

Anything this reading is not sure of goes to Typer: help, a flag the command does not
declare, a token Click would read as an option, more positionals than the command takes,
an eager root option, shell completion. Typer's messages and exit statuses stay its own.
`tests/test_direct.py` checks on generated lines that both readings call a command with
the same values.

The record a command gets is made here from the values, by either reading, and the
command is run here too (`execute`).
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional

from stac_events.cli import options as o
from stac_events.cli.argv import HELP_FLAGS, Line
from stac_events.cli.commands import COMMANDS_BY_PATH, Command
from stac_events.cli.options import FLAG, MANY, REPEATED, Opt
from stac_events.cli.records import Record
from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError
from stac_events.errors import Terminated
from stac_events.parse import InvalidValue

# The commands read here; any other goes to Typer.
DIRECT = frozenset({"event send", "event wrap", "spool flush"})
VERSION_LINE = (o.VERSION.long,)


class Parsed(NamedTuple):
    """A line read: the command, the values Typer would call it with (only those given),
    and the root's configuration options given before the command's name."""

    command: Command
    values: Dict[str, Any]
    before_command: Dict[str, Optional[str]]


def completion_variable(prog_name: str) -> str:
    """The variable a shell's completion function sets when it asks the program (Typer's)."""
    return f"_{prog_name}_COMPLETE".replace("-", "_").upper()


def completing(prog_name: str, environ: Optional[Mapping[str, str]] = None) -> bool:
    """Whether a shell's completion function started this run: Typer answers it."""
    return bool((os.environ if environ is None else environ).get(completion_variable(prog_name)))


def read(
    line: Line, prog_name: str, environ: Optional[Mapping[str, str]] = None
) -> Optional[Parsed]:
    """The command `line` runs and its values, or None when Typer should read it.
    `environ`: where Typer looks for a completion request, `os.environ` by default."""
    if completing(prog_name, environ):
        return None
    command = COMMANDS_BY_PATH.get(" ".join(line.path))
    if command is None or command.path not in DIRECT or line.bare:
        return None
    root = {flag: opt for opt in o.SELECTION_OPTIONS for flag in opt.flags}
    before: Dict[str, Optional[str]] = {opt.name: None for opt in o.SELECTION_OPTIONS}
    args, i, depth = line.args, 0, 0
    while depth < len(line.path):  # the root's options, and the names on the path
        token = args[i] if i < len(args) else None
        if token == line.path[depth]:
            depth, i = depth + 1, i + 1
        elif depth == 0 and token in root and i + 1 < len(args):
            before[root[token].name] = args[i + 1]  # the last one given wins, as in Click
            i += 2
        else:
            return None
    values = _command_values(command, args[i:])
    return None if values is None else Parsed(command, values, before)


def _command_values(command: Command, args: Any) -> Optional[Dict[str, Any]]:
    """What Click makes of a command's part of the line, or None if it would refuse it."""
    by_flag: Dict[str, Opt] = {flag: opt for opt in command.options for flag in opt.flags}
    values: Dict[str, Any] = {}
    positionals: List[str] = []
    i, options_end = 0, False
    while i < len(args):
        token = args[i]
        if options_end:
            positionals.append(token)
        elif token == "--":
            options_end = True
        elif token in HELP_FLAGS:
            return None
        elif token in by_flag:
            opt = by_flag[token]
            if opt.kind == FLAG:
                values[opt.name] = True
            elif i + 1 == len(args):
                return None  # Click says a value is missing
            elif opt.kind in (MANY, REPEATED):
                values.setdefault(opt.name, []).append(args[i + 1])
                i += 1
            else:
                values[opt.name] = args[i + 1]  # the last one given wins, as in Click
                i += 1
        elif token[:1] == "-" and len(token) > 1:
            return None  # an option Click does not know, or a number it reads as one
        else:
            positionals.append(token)
        i += 1
    arguments = [argument for argument in command.arguments if not argument.rest]
    if len(positionals) > len(arguments):
        return None  # Typer says what is extra
    for argument, value in zip(arguments, positionals, strict=False):
        values[argument.name] = value
    return values


def record_of(
    command: Command, record: Callable[..., Record], values: Dict[str, Any], line: Line
) -> Record:
    """The command's `record`: its values, converted, with defaults where none was given."""
    found: Dict[str, Any] = {}
    for argument in command.arguments:
        found[argument.name] = tuple(line.command) if argument.rest else values.get(argument.name)
    for opt in command.options:
        value = values.get(opt.name)
        if opt.kind in (MANY, REPEATED):
            found[opt.name] = tuple(value or ())
        elif opt.kind == FLAG:
            found[opt.name] = opt.flag_value if value else opt.default
        elif value is None:
            found[opt.name] = opt.default
        elif opt.convert is not None:
            try:
                found[opt.name] = opt.convert(value)
            except InvalidValue as error:
                raise UsageError(str(error), option=opt.long) from None
        else:
            found[opt.name] = value
    return record(**found)


def execute(command: Command, run: Run[Any], values: Dict[str, Any]) -> None:
    """Run `command` with these values; its status, or what it raised, is left on `run`."""
    try:
        name, _, function = command.handler.partition(":")
        module = importlib.import_module(name)
        run.options = record_of(command, getattr(module, command.record), values, run.line)
        _start(run)
        run.status = int(getattr(module, function)(run) or 0)
    except (Exception, KeyboardInterrupt, Terminated) as error:
        run.raised = error  # for main() to handle: Typer would turn some into exit 1


def _start(run: Run[Any]) -> None:
    """Apply the output options first: they decide how anything after is shown."""
    given, output = run.options._asdict(), run.output
    output.mode = given.get("output") or "text"
    output.quiet = bool(given.get("quiet"))
    output.debug = bool(given.get("debug"))
    if given.get("api_key"):
        output.secrets.append(given["api_key"])
    if output.debug:
        output.enable_debug_log()


def version(run: Run[Any], value: Any = True) -> None:
    """`--version`."""
    from stac_events.version import __version__

    run.env.stdout.write(f"stac-events {__version__}\n")
