"""The command line as typed, read before Typer parses it: pure functions over argv.

`read` finds the command path past the root's options and rewrites what Typer cannot
express: flags that take several values, as argparse's `nargs='+'` did for `stac`
(`-i a b -t x` becomes `-i a -i b -t x`), and a wrapped command's own arguments
(`event wrap -i a make -j4` becomes `event wrap -i a -- make -j4`). A bare command
line gets `--help`.

The rule for several values is argparse's, with no guessing: after such a flag, values
run up to the next token that looks like an option (`-x`, `--x`; not `-` nor a negative
number) or `--`. A value attached to the flag (`--links=A`, `-iA`) is the only one.
"""

from __future__ import annotations

import re
import shlex
from types import MappingProxyType
from typing import Dict, FrozenSet, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from stac_events.cli.options import FLAG, MANY, Opt

HELP_FLAGS = frozenset({"-h", "--help"})
AUTO = "auto"  # the value of `--show-completion` given without one
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # a value, as argparse says


class Shape(NamedTuple):
    """What the rules need to know of one command or group."""

    takes_value: FrozenSet[str] = frozenset()
    many: FrozenSet[str] = frozenset()
    optional_value: Mapping[str, Tuple[str, ...]] = MappingProxyType({})  # flag -> its values
    subcommands: FrozenSet[str] = frozenset()
    rest_is_a_command: bool = False  # from the first argument on, all is another command's
    help_when_bare: bool = False  # given nothing, it shows its help instead of running


class Run(NamedTuple):
    """Values given after one flag in one go: `argv[start:end]`."""

    flag: str
    start: int
    end: int


class Line(NamedTuple):
    """A command line, read."""

    argv: Tuple[str, ...]  # as typed
    path: Tuple[str, ...]  # the command, e.g. ("event", "send")
    args: Tuple[str, ...]  # for Typer, rewritten
    positionals: Tuple[str, ...] = ()  # the command's own bare arguments
    runs: Tuple[Run, ...] = ()  # values given after a flag that takes several
    command_at: int = 0  # where in argv the command's own part starts
    bare: bool = False  # nothing was given after the command: help is shown instead
    flags: FrozenSet[str] = frozenset()  # the options typed in the command's part

    def typed_only(self, known: FrozenSet[str]) -> bool:
        """Whether every option typed is one of `known`, and none asks for help."""
        return self.flags <= known and not self.flags & HELP_FLAGS

    def with_first_argument(self, placeholder: str) -> List[str]:
        """The line with its first positional added right after the command.

        A flag that takes several values ends only at the next option, so a positional
        typed after its values was read as one of them. The last value of the last such
        run moves up front when it had two or more; otherwise `placeholder` is put there.
        """
        argv = list(self.argv)
        run = self.runs[-1] if self.runs else None
        if run is not None and run.end - run.start >= 2:
            value = argv.pop(run.end - 1)
        else:
            value = placeholder
        argv.insert(self.command_at, value)
        return argv


class UnusableLine(ValueError):
    """A line that the rules refuse; `flag` names the option at fault, `path` its command."""

    def __init__(self, message: str, flag: str, path: Tuple[str, ...]) -> None:
        super().__init__(message)
        self.flag = flag
        self.path = path


def looks_like_option(token: str) -> bool:
    return token.startswith("-") and token != "-" and not _NEGATIVE_NUMBER.match(token)


def read(argv: Sequence[str], shapes: Dict[str, Shape]) -> Line:
    """Find the command in `argv` and rewrite its flags for Typer (see the module's doc)."""
    argv = tuple(argv)
    out: List[str] = []
    path: List[str] = []
    shape = shapes[""]
    i = 0
    while shape.subcommands:  # a group: its own options, then the name of a command
        if i == len(argv):
            return Line(argv, tuple(path), (*out, "--help"), command_at=i, bare=True)
        token = argv[i]
        if token in shape.optional_value:  # an option that acts alone: the rest is Typer's
            given = argv[i + 1] if i + 1 < len(argv) else None
            if given is not None and given.lower() in shape.optional_value[token]:
                out += [token, given]
                i += 2
            else:
                out += [token, AUTO]
                i += 1
            return Line(argv, tuple(path), (*out, *argv[i:]), command_at=i)
        elif token in shape.takes_value and i + 1 < len(argv):
            out += [token, argv[i + 1]]
            i += 2
        elif looks_like_option(token) or token not in shape.subcommands:
            return Line(argv, tuple(path), (*out, *argv[i:]), command_at=i)  # Typer says what
        else:
            path.append(token)
            out.append(token)
            shape = shapes[" ".join(path)]
            i += 1
    if i == len(argv) and shape.help_when_bare:
        return Line(argv, tuple(path), (*out, "--help"), command_at=i, bare=True)
    try:
        args, positionals, runs = _command_part(argv, i, shape)
    except UnusableLine as error:
        raise UnusableLine(str(error), error.flag, tuple(path)) from None
    end = args.index("--") if "--" in args else len(args)
    flags = frozenset(t.partition("=")[0] for t in args[:end] if looks_like_option(t))
    return Line(argv, tuple(path), (*out, *args), positionals, runs, command_at=i, flags=flags)


def _command_part(
    argv: Tuple[str, ...], start: int, shape: Shape
) -> Tuple[List[str], Tuple[str, ...], Tuple[Run, ...]]:
    out: List[str] = []
    positionals: List[str] = []
    runs: List[Run] = []
    i = start
    while i < len(argv):
        token = argv[i]
        if token == "--":
            out += argv[i:]
            if not shape.rest_is_a_command:
                positionals += argv[i + 1 :]
            break
        if not looks_like_option(token):
            if shape.rest_is_a_command:
                out += ["--", *argv[i:]]
                break
            positionals.append(token)
            out.append(token)
            i += 1
            continue
        if token not in shape.takes_value or i + 1 == len(argv):
            out.append(token)  # a switch, a value attached (`--x=v`, `-xv`), or for Typer to refuse
            i += 1
            continue
        if token not in shape.many:
            out += [token, argv[i + 1]]  # one value, taken as it is
            i += 2
            continue
        end = i + 1
        while end < len(argv) and argv[end] != "--" and not looks_like_option(argv[end]):
            end += 1
        if end == i + 1:
            raise UnusableLine(f"expected at least one value, got {argv[end]!r}", token, ())
        for value in argv[i + 1 : end]:
            out += [token, value]
        runs.append(Run(token, i + 1, end))
        i = end
    return out, tuple(positionals), tuple(runs)


def shape_of(
    options: Sequence[Opt],
    *,
    subcommands: Sequence[str] = (),
    rest: bool = False,
    help_when_bare: bool = False,
) -> Shape:
    """The shape of a command with these options (and, for a group, these subcommands)."""
    flags = [(flag, opt) for opt in options for flag in opt.flags]
    return Shape(
        takes_value=frozenset(f for f, opt in flags if opt.kind != FLAG and not opt.value_optional),
        many=frozenset(f for f, opt in flags if opt.kind == MANY),
        optional_value={f: (*opt.choices, AUTO) for f, opt in flags if opt.value_optional},
        subcommands=frozenset(subcommands),
        rest_is_a_command=rest,
        help_when_bare=help_when_bare,
    )


def given_values(argv: Sequence[str], flag: str) -> List[str]:
    """Every value given to `flag`, however it was written; for masking before parsing."""
    found = []
    for i, token in enumerate(argv):
        if token == "--":
            break
        if token == flag and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif token.startswith(flag + "="):
            found.append(token[len(flag) + 1 :])
    return found


def output_mode(argv: Sequence[str]) -> Optional[str]:
    """`json` when `--output json` was asked for, known even when parsing fails."""
    for i, token in enumerate(argv):
        if token == "--":
            break
        if token in ("--output=json", "-ojson"):
            return "json"
        if token in ("--output", "-o") and tuple(argv[i + 1 : i + 2]) == ("json",):
            return "json"
    return None


def join(argv: Sequence[str]) -> str:
    """A line a shell reads back as `argv`."""
    return shlex.join(argv)
