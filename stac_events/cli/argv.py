"""The command line as typed, read before Typer parses it: pure functions over argv.

`read` finds the command path past the root's options and rewrites what Typer cannot
express: flags that take several values, as argparse's `nargs='+'` did for `stac`
(`-i a b -t x` becomes `-i a -i b -t x`), and a wrapped command's own arguments
(`event wrap -i a make -j4` becomes `event wrap -i a -- make -j4`). A bare command
line gets `--help`.

A group can be a command too (`receiver`, with `receiver events` under it): a line that
names no subcommand right after it runs it, bare or with its options, and its options
before a subcommand's name are refused, since they would be silently dropped.

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
    switches: FrozenSet[str] = frozenset()  # options that take no value
    many: FrozenSet[str] = frozenset()
    optional_value: Mapping[str, Tuple[str, ...]] = MappingProxyType({})  # flag -> its values
    subcommands: FrozenSet[str] = frozenset()
    rest_is_a_command: bool = False  # from the first argument on, all is another command's
    help_when_bare: bool = False  # given nothing, it shows its help instead of running
    runnable: bool = False  # a command; with subcommands too, it runs when none is named


class ValueRun(NamedTuple):
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
    runs: Tuple[ValueRun, ...] = ()  # values given after a flag that takes several
    command_at: int = 0  # where in argv the command's own part starts
    bare: bool = False  # nothing was given after the command: help is shown instead
    flags: FrozenSet[str] = frozenset()  # the options typed in the command's part
    command: Tuple[str, ...] = ()  # another command's line, for a command that runs one

    def typed_only(self, known: FrozenSet[str]) -> bool:
        """Whether every option typed is one of `known`, and none asks for help."""
        return self.flags <= known and not self.flags & HELP_FLAGS

    def with_first_argument(self, placeholder: str, *, looks_right: str = "") -> List[str]:
        """The line with its first positional added right after the command.

        A flag that takes several values ends only at the next option, so a positional
        typed after its values was read as one of them. The last value of such a run of
        two or more moves up front when it ends in `looks_right` (`Event`, by StackState's
        convention); otherwise `placeholder` is put there. Only ever a hint: nothing is
        taken back from a run when the line is read.
        """
        argv = list(self.argv)
        value = placeholder
        for run in reversed(self.several()):
            if argv[run.end - 1].endswith(looks_right):
                value = argv.pop(run.end - 1)
                break
        argv.insert(self.command_at, value)
        return argv

    def several(self) -> Tuple[ValueRun, ...]:
        """The runs of two values or more."""
        return tuple(run for run in self.runs if run.end - run.start >= 2)


class UnusableLine(ValueError):
    """A line that the rules refuse; `flag` names the option at fault, `path` its command."""

    def __init__(self, message: str, flag: str, path: Tuple[str, ...]) -> None:
        super().__init__(message)
        self.flag = flag
        self.path = path


def looks_like_option(token: str) -> bool:
    """As argparse tells: `-` alone, negative numbers and words with a space are values."""
    return (
        token.startswith("-")
        and token != "-"
        and " " not in token
        and not _NEGATIVE_NUMBER.match(token)
    )


def read(argv: Sequence[str], shapes: Dict[str, Shape]) -> Line:
    """Find the command in `argv` and rewrite its flags for Typer (see the module's doc)."""
    argv = tuple(argv)
    out: List[str] = []
    path: List[str] = []
    shape = shapes[""]
    i = 0
    acted = False  # `--version` or `-h` was read on: the line is not bare, whatever follows
    try:
        while shape.subcommands:  # a group: its own options, then the name of a command
            if shape.runnable and (i == len(argv) or argv[i] not in shape.subcommands):
                break  # no subcommand named: the group runs, as a command with its options
            if i == len(argv) and acted:
                return Line(argv, tuple(path), tuple(out), command_at=i)
            if i == len(argv):
                return Line(argv, tuple(path), (*out, "--help"), command_at=i, bare=True)
            token = argv[i]
            parts = _split(token, shape)
            if parts is not None and len(parts) == 1 and parts[0][0] in shape.optional_value:
                # An option that acts alone (`--show-completion [SHELL]`): the rest is Typer's.
                flag, value = parts[0]
                if not HELP_FLAGS.isdisjoint(_before_dashes(argv[i + 1 :])):
                    return Line(argv, tuple(path), (*out, "--help"), command_at=i)  # help only
                given = argv[i + 1] if i + 1 < len(argv) else None
                free = given is not None and not looks_like_option(given)
                if value is None and free and given not in shape.subcommands:
                    value, i = given, i + 1
                out += [flag, AUTO if value is None else value]
                return Line(argv, tuple(path), (*out, *argv[i + 1 :]), command_at=i + 1)
            if parts is not None and (
                parts[-1][0] in shape.takes_value or parts[-1][1] is not None
            ):
                taken = _options(argv, i, parts, shape)  # or a switch given a value: refused
                out += taken.tokens
                i = taken.next
            elif parts is not None and i + 1 < len(argv) and _switches_only(parts, shape):
                out += [flag for flag, _ in parts]  # `--version`, `-h`: what follows is read on
                acted, i = True, i + 1
            elif looks_like_option(token) or token not in shape.subcommands:
                return Line(argv, tuple(path), (*out, *argv[i:]), command_at=i)  # Typer says
            else:
                path.append(token)
                out.append(token)
                shape = shapes[" ".join(path)]
                i += 1
        if i == len(argv) and shape.help_when_bare:
            return Line(argv, tuple(path), (*out, "--help"), command_at=i, bare=True)
        args, positionals, runs, command = _command_part(argv, i, shape)
    except UnusableLine as error:
        raise UnusableLine(str(error), error.flag, tuple(path)) from None
    end = args.index("--") if "--" in args else len(args)
    flags = frozenset(t for t in args[:end] if looks_like_option(t))
    own = [t for t in args[:end] if t in shape.takes_value | shape.switches]
    if own and positionals and positionals[0] in shape.subcommands:
        group = " ".join(path)
        raise UnusableLine(
            f"only for '{group}' run alone; '{group} {positionals[0]}' takes its options "
            f"after its name",
            own[0],
            tuple(path),
        )
    return Line(
        argv, tuple(path), (*out, *args), positionals, runs, command_at=i, flags=flags,
        command=command,
    )  # fmt: skip


class _Taken(NamedTuple):
    tokens: List[str]  # the options and their values, one value after each flag
    next: int  # where in argv the line goes on
    run: Optional[ValueRun] = None  # the values given after a flag that takes several


def _is_option(token: str, shape: Shape) -> bool:
    """Whether a token is an option rather than a value: a known one, or one that looks so."""
    return looks_like_option(token) or _split(token, shape) is not None


def _split(token: str, shape: Shape) -> Optional[List[Tuple[str, Optional[str]]]]:
    """`(flag, attached value)` for each option in `token`, or None when not all are known.

    `--links=V`, `-iV` and `-i=V` attach a value (argparse's reading, `=` included); `-qi`
    is the switch `-q`, then `-i`.
    """
    known = shape.takes_value | shape.switches | HELP_FLAGS | frozenset(shape.optional_value)
    if len(token) < 2 or not token.startswith("-"):
        return None
    if token.startswith("--"):
        flag, equals, value = token.partition("=")
        if flag not in known:
            return None
        return [(flag, value if equals else None)]
    parts: List[Tuple[str, Optional[str]]] = []
    for at in range(1, len(token)):
        if token[at] == "=" and parts:  # `-q=1`: a value given to the switch before it
            parts[-1] = (parts[-1][0], token[at + 1 :])
            return parts
        flag = "-" + token[at]
        if flag not in known:
            return None
        if flag in shape.takes_value:
            rest = token[at + 1 :]
            parts.append((flag, (rest[1:] if rest.startswith("=") else rest) or None))
            return parts
        parts.append((flag, None))
    return parts


def _switches_only(parts: List[Tuple[str, Optional[str]]], shape: Shape) -> bool:
    return all(value is None and flag in shape.switches | HELP_FLAGS for flag, value in parts)


def _before_dashes(argv: Sequence[str]) -> Sequence[str]:
    """The part of a line before `--`: what comes after it is never an option."""
    return argv[: argv.index("--")] if "--" in argv else argv


def _options(
    argv: Tuple[str, ...], i: int, parts: List[Tuple[str, Optional[str]]], shape: Shape
) -> _Taken:
    """The options of `argv[i]` and the values they take, from it or from what follows."""
    tokens = [flag for flag, _ in parts[:-1]]
    flag, attached = parts[-1]
    if flag not in shape.takes_value:
        if attached is not None:  # `--insecure=no` must not switch the checks off
            raise UnusableLine(f"takes no value; give {flag} alone", flag, ())
        return _Taken([*tokens, flag], i + 1)
    if attached is not None:
        return _Taken([*tokens, flag, attached], i + 1)  # a value attached is the only one
    end = i + 1
    limit = len(argv) if flag in shape.many else min(len(argv), i + 2)
    while end < limit and argv[end] != "--" and not _is_option(argv[end], shape):
        end += 1
    if end == i + 1:
        got = f", got {argv[end]!r}" if end < len(argv) else " at the end of the line"
        wanted = "at least one value" if flag in shape.many else "a value"
        raise UnusableLine(f"expected {wanted}{got}", flag, ())
    for value in argv[i + 1 : end]:
        tokens += [flag, value]
    run = ValueRun(flag, i + 1, end) if flag in shape.many else None
    return _Taken(tokens, end, run)


def _command_part(
    argv: Tuple[str, ...], start: int, shape: Shape
) -> Tuple[List[str], Tuple[str, ...], Tuple[ValueRun, ...], Tuple[str, ...]]:
    """The command's part for Typer, its positionals, its runs of values, and the line of
    the command it runs (Typer never sees that one: it is not this command's to read)."""
    out: List[str] = []
    positionals: List[str] = []
    runs: List[ValueRun] = []
    i = start
    while i < len(argv):
        token = argv[i]
        if token == "--":
            if shape.rest_is_a_command:
                return out, tuple(positionals), tuple(runs), argv[i + 1 :]
            out += argv[i:]
            positionals += argv[i + 1 :]
            break
        parts = _split(token, shape)
        if parts is None and not looks_like_option(token):
            if shape.rest_is_a_command:
                return out, tuple(positionals), tuple(runs), argv[i:]
            positionals.append(token)
            out.append(token)
            i += 1
            continue
        if parts is None:
            out.append(token)  # not one of this command's options: Typer refuses it
            i += 1
            continue
        taken = _options(argv, i, parts, shape)
        out += taken.tokens
        if taken.run is not None:
            runs.append(taken.run)
        i = taken.next
    return out, tuple(positionals), tuple(runs), ()


def shape_of(
    options: Sequence[Opt],
    *,
    subcommands: Sequence[str] = (),
    rest: bool = False,
    help_when_bare: bool = False,
    runnable: bool = False,
) -> Shape:
    """The shape of a command or group with these options (and, for a group, these
    subcommands); `runnable` for a command, which a group can be too."""
    flags = [(flag, opt) for opt in options for flag in opt.flags]
    return Shape(
        takes_value=frozenset(f for f, opt in flags if opt.kind != FLAG and not opt.value_optional),
        switches=frozenset(f for f, opt in flags if opt.kind == FLAG),
        many=frozenset(f for f, opt in flags if opt.kind == MANY),
        optional_value={f: (*opt.choices, AUTO) for f, opt in flags if opt.value_optional},
        subcommands=frozenset(subcommands),
        rest_is_a_command=rest,
        help_when_bare=help_when_bare,
        runnable=runnable,
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


def header_values(argv: Sequence[str]) -> List[str]:
    """Every `-H/--header` argument, however it was written (`-H v`, `-Hv`, `-H=v`, `-qH v`,
    `--header v`, `--header=v`); for masking before parsing."""
    found = []
    for i, token in enumerate(argv):
        if token == "--":
            break
        following = argv[i + 1] if i + 1 < len(argv) else ""
        if token == "--header":
            found.append(following)
        elif token.startswith("--header="):
            found.append(token[len("--header=") :])
        elif token.startswith("-") and not token.startswith("--"):
            at = token.find("H", 1)
            if at > 0 and all(char.isalpha() for char in token[1:at]):
                found.append(token[at + 1 :].removeprefix("=") or following)
    return found


def output_mode(argv: Sequence[str]) -> Optional[str]:
    """`json` when `--output json` was asked for, in any of its spellings; known before
    the line is read, so that even an error about the line itself is one JSON object."""
    for i, token in enumerate(argv):
        if token == "--":
            break
        following = argv[i + 1] if i + 1 < len(argv) else ""
        if token.startswith("--"):
            flag, equals, value = token.partition("=")
            given = value if equals else following
            wanted = flag == "--output"
        else:
            at = token.find("o", 1)  # `-o json`, `-ojson`, `-qo json`, `-o=json`
            given = token[at + 1 :].removeprefix("=") or following
            wanted = token.startswith("-") and at > 0 and all(c.isalpha() for c in token[1:at])
        if wanted and given.strip().lower() == "json":
            return "json"
    return None


def join(argv: Sequence[str]) -> str:
    """A line a shell reads back as `argv`."""
    return shlex.join(argv)
