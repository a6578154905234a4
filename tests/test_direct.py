"""The common lines read without Typer (`cli.direct`) give each command what Typer would.

Differential: generated command lines, odd ones included, are read both ways; whenever
the direct reading takes a line, Typer must take it too and call the same command with
the same values (the same record, or the same error converting a value), and the same
configuration options before the command's name.
"""

from __future__ import annotations

import importlib
import io
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from stac_events.cli import direct, typer_app
from stac_events.cli.argv import UnusableLine, read
from stac_events.cli.commands import COMMANDS_BY_PATH, Command, shapes
from stac_events.cli.options import FLAG, SELECTION_OPTIONS
from stac_events.cli.output import Output
from stac_events.cli.run import Run, started
from stac_events.cli.usage import UsageError
from stac_events.environment import Environment

SHAPES = shapes()
PROG = "stac-events"


def run_for(line: Any, home: Path) -> Run[Any]:
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(),
                      environ={"HOME": str(home)}, home=home, cwd=home)  # fmt: skip
    return started(env, Output(env, prog=PROG, mode="text", debug=False), line)


def record_or_error(command: Command, values: Dict[str, Any], line: Any) -> Tuple[str, Any]:
    module = importlib.import_module(command.handler.partition(":")[0])
    try:
        return "record", direct.record_of(command, getattr(module, command.record), values, line)
    except UsageError as error:
        return "error", (str(error), error.option)


def by_typer(line: Any, home: Path) -> Optional[Tuple[Command, Dict[str, Any], Dict[str, Any]]]:
    """The command Typer calls for `line`, its values and the options before its name;
    None when Typer refuses the line or calls nothing."""
    run = run_for(line, home)
    called: List[Tuple[Command, Dict[str, Any]]] = []
    app = typer_app.build(run, lambda command, _, values: called.append((command, values)))
    try:
        typer_app.invoke(app, line.args, PROG, run)
    except typer_app.UsageProblem:
        return None
    if not called:
        return None
    command, values = called[0]
    return command, values, dict(run.before_command)


def same_reading(argv: List[str], home: Path) -> str:
    """How `argv` was read: "direct" (and Typer agreed), "typer", or "refused" by the rules."""
    try:
        line = read(argv, SHAPES)
    except UnusableLine:
        return "refused"  # before either reading: the same message for both
    parsed = direct.read(line, PROG, environ={})
    if parsed is None:
        return "typer"
    typer_reading = by_typer(line, home)
    assert typer_reading is not None, f"Typer refuses what was read directly: {argv}"
    command, values, before = typer_reading
    assert command is parsed.command
    assert record_or_error(command, parsed.values, line) == record_or_error(command, values, line)
    assert parsed.before_command == before
    return "direct"


def flags_of(path: str) -> List[str]:
    return [flag for opt in COMMANDS_BY_PATH[path].options for flag in opt.flags]


VALUES = st.one_of(
    st.sampled_from(["-", "--", "-5", "-1.5", "", "a b", "x=1", "@/nonexistent", "--nope",
                     "-z", "DeployEvent", "é", "0", "30", "json", "changes", "-h"]),
    st.text(min_size=0, max_size=6),
)  # fmt: skip


@st.composite
def tokens_for(draw: st.DrawFn, path: str) -> List[str]:
    """Tokens of a command's part: its flags in every spelling, values, odd ones."""
    flags = flags_of(path)
    out: List[str] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["flag", "flag", "flag=", "attached", "value", "dashes",
                                     "unknown", "help"]))  # fmt: skip
        flag = draw(st.sampled_from(flags))
        if kind == "flag":
            out += [flag, *draw(st.lists(VALUES, max_size=3))]
        elif kind == "flag=" and flag.startswith("--"):
            out.append(f"{flag}={draw(VALUES)}")
        elif kind == "attached" and not flag.startswith("--"):
            out.append(flag + draw(VALUES))
        elif kind == "dashes":
            out.append("--")
        elif kind == "unknown":
            out.append(draw(st.sampled_from(["--nope", "-z", "--titl", "--title-x"])))
        elif kind == "help":
            out.append(draw(st.sampled_from(["-h", "--help"])))
        else:
            out.append(draw(VALUES))
    return out


@st.composite
def lines(draw: st.DrawFn) -> List[str]:
    path = draw(st.sampled_from(sorted(direct.DIRECT)))
    root: List[str] = []
    for opt in draw(st.lists(st.sampled_from(SELECTION_OPTIONS), max_size=2)):
        flag = draw(st.sampled_from(opt.flags))
        value = draw(VALUES)
        root += draw(st.sampled_from([[flag, value], [f"{flag}={value}"]]))
    return [*root, *path.split(), *draw(tokens_for(path))]


@settings(max_examples=400, deadline=None)
@given(argv=lines())
def test_direct_and_typer_call_the_command_alike(argv: List[str], tmp_path_factory: Any) -> None:
    event(same_reading(argv, tmp_path_factory.getbasetemp()))


@pytest.mark.parametrize(
    "line",
    [
        "event send DeployEvent --title t --dry-run",
        "event send DeployEvent --title=t -i a b -t x:y -d k=v -d '{\"a\": 1}' -c changes",
        "event send --title t -- DeployEvent",
        "event send DeployEvent --title t --title u -qi a -i b --timestamp -5",
        "event send DeployEvent --title -5 --max-request-bytes 2048 --no-spool --gzip",
        "event send DeployEvent --title t --max-request-bytes 12",  # the same error both ways
        "event send DeployEvent --title t --links 'Run: https://ci/1' --insecure --debug",
        "--config c.yaml --instance=i event send E --title t --client k",
        "event send --file - -s ci -o json",
        "event wrap -i a --on failure --tail-lines 5 -- make -j4",
        "event wrap --time-limit 10m ./deploy.sh 1.4",
        "spool flush --url http://x --api-key k --retries 0 -q",
        "spool flush",
    ],
)
def test_the_common_lines_are_read_directly(line: str, tmp_path: Path) -> None:
    import shlex

    assert same_reading(shlex.split(line), tmp_path) == "direct"


@pytest.mark.parametrize(
    "line",
    [
        "event send --help",
        "event send -h DeployEvent",
        "event send DeployEvent --nope",
        "event send DeployEvent extra --title t",
        "event send -5 --title t",  # Click reads -5 as an option
        "event send DeployEvent --title",
        "--version event send E",
        "--show-completion",
        "config show",
        "event",
        "receiver events",
    ],
)
def test_what_the_direct_reading_is_not_sure_of_goes_to_typer(line: str, tmp_path: Path) -> None:
    import shlex

    assert same_reading(shlex.split(line), tmp_path) in ("typer", "refused")


def test_a_completion_request_goes_to_typer() -> None:
    line = read(["event", "send", "E", "--title", "t"], SHAPES)
    assert direct.read(line, PROG, environ={}) is not None
    assert direct.read(line, PROG, environ={"_STAC_EVENTS_COMPLETE": "complete_bash"}) is None
    assert direct.read(line, "stac", environ={"_STAC_COMPLETE": "complete_zsh"}) is None


def test_every_flag_is_read_directly_as_typer_reads_it(tmp_path: Path) -> None:
    """Each declared option of each direct command, once, given a value that converts."""
    samples = {"category": "alerts", "on": "failure", "output": "json", "tail_lines": "3",
               "max_request_bytes": "4096", "timeout": "5", "retries": "2",
               "max_time": "9", "time_limit": "60"}  # fmt: skip
    for path in sorted(direct.DIRECT):
        for opt in COMMANDS_BY_PATH[path].options:
            for flag in opt.flags:
                given = [flag] if opt.kind == FLAG else [flag, samples.get(opt.name, "v")]
                argv = [*path.split(), *given]
                assert same_reading(argv, tmp_path) == "direct", argv
