"""What stac-events relies on Typer for, checked against the Typer that is installed.

`stac_events.cli.typer_app` is the only module that imports Typer. It builds functions
whose parameters Typer reads from `__signature__`, and runs apps with
`standalone_mode=False` so that Typer neither exits nor prints errors itself. A Typer
release that changes any of this fails here, by name, before it fails anywhere else.
"""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path
from typing import Annotated, Any, List, Optional, Tuple

import pytest
import typer

from stac_events.cli import typer_app
from stac_events.cli.argv import Line
from stac_events.cli.output import Output
from stac_events.cli.run import Run, started
from tests.conftest import Cli, isolated_environment


def run_in(home: Path) -> Run[Any]:
    env = isolated_environment(home)
    return started(env, Output(env), Line((), (), ()))


def app_with(function: Any) -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    app.command("go")(function)
    return app


def signed(seen: List[Any]) -> Any:
    """A function whose parameters exist only in its `__signature__`, as ours do."""

    def function(**values: Any) -> None:
        seen.append(values)

    parameters = [
        inspect.Parameter(
            "many",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[Optional[List[str]], typer.Option("--many", "-m", help="M!")],
        ),
        inspect.Parameter(
            "thing",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                Optional[str], typer.Argument(metavar="THING", help="What the thing is.")
            ],
        ),
    ]
    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    function.__annotations__ = {p.name: p.annotation for p in parameters}
    return function


def test_parameters_come_from_the_signature(home: Path) -> None:
    seen: List[Any] = []
    run = run_in(home)
    status = typer_app.invoke(app_with(signed(seen)), ["go", "x", "-m", "a", "-m", "b"], "t", run)
    assert status is None  # a command that returns nothing: its status is the Run's
    assert seen == [{"many": ["a", "b"], "thing": "x"}]


def test_a_line_that_cannot_be_parsed_raises_and_prints_nothing(home: Path) -> None:
    run = run_in(home)
    with pytest.raises(typer_app.UsageProblem) as raised:
        typer_app.invoke(app_with(signed([])), ["go", "--nope"], "t", run)
    assert raised.value.exit_code == 2
    assert "--nope" in raised.value.format_message()
    assert run.env.stdout.getvalue() == run.env.stderr.getvalue() == ""  # type: ignore[attr-defined]


def test_help_goes_to_the_runs_stdout_with_the_arguments_help(home: Path) -> None:
    run = run_in(home)
    status = typer_app.invoke(app_with(signed([])), ["go", "--help"], "t", run)
    assert status == 0
    shown = run.env.stdout.getvalue()  # type: ignore[attr-defined]
    assert "What the thing is." in shown
    assert "THING" in shown
    assert "M!" in shown


def leave(value: bool) -> None:
    if value:
        raise typer.Exit(7)


def bye_or_fail(
    bye: Annotated[bool, typer.Option("--bye", callback=leave, is_eager=True)] = False,
) -> None:
    raise AssertionError("not reached")


def test_an_eager_option_ends_with_its_exit_code(home: Path) -> None:
    assert typer_app.invoke(app_with(bye_or_fail), ["go", "--bye"], "t", run_in(home)) == 7


def runnable_group(seen: List[Any]) -> typer.Typer:
    """A root with a group that runs itself, as `receiver` does: its callback's parameters,
    `ctx` included, exist only in its `__signature__`."""

    def callback(**values: Any) -> None:
        seen.append((values["ctx"].invoked_subcommand, values["port"]))

    parameters = [
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context),
        inspect.Parameter(
            "port",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[Optional[str], typer.Option("--port", help="P!")],
        ),
    ]
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__annotations__ = {p.name: p.annotation for p in parameters}
    group = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    group.callback(invoke_without_command=True)(callback)
    group.command("events")(lambda: seen.append("events ran"))
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.callback()(lambda: None)
    app.add_typer(group, name="receiver", help="The group.")
    return app


@pytest.mark.parametrize(
    ("args", "ran"),
    [
        (["receiver"], [(None, None)]),
        (["receiver", "--port", "1"], [(None, "1")]),
        (["receiver", "events"], [("events", None), "events ran"]),
    ],
)
def test_a_group_callback_runs_without_a_subcommand_and_knows_which(
    home: Path, args: List[str], ran: List[Any]
) -> None:
    seen: List[Any] = []
    assert typer_app.invoke(runnable_group(seen), args, "t", run_in(home)) is None
    assert seen == ran


def test_a_runnable_groups_help_lists_its_options_and_commands(home: Path) -> None:
    run = run_in(home)
    seen: List[Any] = []
    assert typer_app.invoke(runnable_group(seen), ["receiver", "--help"], "t", run) == 0
    shown = run.env.stdout.getvalue()  # type: ignore[attr-defined]
    assert "P!" in shown
    assert "events" in shown
    assert seen == []


# The same, through the whole command line.


@pytest.mark.parametrize(
    ("args", "argument_help"),
    [
        (["event", "send", "--help"], "What happened, e.g. DeployEvent"),
        (["event", "wrap", "--help"], "The command to run, after '--'"),
    ],
)
def test_argument_help_is_in_help(cli: Cli, args: List[str], argument_help: str) -> None:
    result = cli(*args, env={"COLUMNS": "200"})
    assert argument_help in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("args", [[], ["event"], ["config"], ["spool"]])
def test_a_bare_group_prints_its_help_and_no_error(cli: Cli, args: List[str]) -> None:
    result = cli(*args, expect=2)
    assert "Usage: stac-events" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "lacks"),
    [(["event", "send"], "Missing argument 'EVENT_TYPE'"),
     (["event", "wrap"], "give the command to run after '--'"),
     (["spool", "retry"], "give the id of one payload, or --all"),
     (["spool", "drop"], "give the id of the payload to drop")],
)  # fmt: skip
def test_a_bare_command_says_what_it_lacks_in_one_line(
    cli: Cli, args: List[str], lacks: str
) -> None:
    """Not a screen of help on stdout, where a script would take it for output."""
    result = cli(*args, expect=2)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"stac-events: error: {lacks}")
    assert line.endswith(f"'stac-events {' '.join(args)} --help' says more")


def test_a_typer_usage_error_is_one_line_or_one_json_object(cli: Cli) -> None:
    text = cli("event", "send", "E", "--title", "t", "--frobnicate", expect=2)
    (line,) = text.stderr.splitlines()
    assert line.startswith("stac-events: error: No such option: --frobnicate")
    assert line.endswith("see 'stac-events event send --help'")
    as_json = cli("event", "send", "E", "--title", "t", "--frobnicate", "-o", "json", expect=2)
    assert as_json.json()["ok"] is False
    assert as_json.json()["error"]["kind"] == "usage"
    assert "--frobnicate" in as_json.json()["error"]["message"]


def test_no_such_command_is_a_usage_error(cli: Cli) -> None:
    result = cli("evnt", "send", expect=2)
    assert "No such command 'evnt'" in result.stderr
    assert "Did you mean 'event'? See 'stac-events --help'" in result.stderr  # a sentence


# `receiver`: a group that is a command too


def test_the_root_help_lists_the_runnable_group(cli: Cli) -> None:
    shown = cli("--help", env={"COLUMNS": "200"}).stdout
    assert re.search(r"^│ receiver +Run a local stand-in", shown, re.M)


def test_a_runnable_groups_help_shows_its_options_and_subcommand(cli: Cli) -> None:
    shown = cli("receiver", "--help", env={"COLUMNS": "200"}).stdout
    assert "Usage: stac-events receiver [OPTIONS] COMMAND [ARGS]..." in shown
    for flag in ("--port", "--host", "--db", "--api-key", "--max-age", "--max-body", "--quiet"):
        assert flag in shown
    assert re.search(r"^│ events +Print the events the local receiver stored", shown, re.M)
    assert "--identifier" not in shown  # the subcommand's own are in its own help
    events = cli("receiver", "events", "--help", env={"COLUMNS": "200"}).stdout
    assert "Usage: stac-events receiver events [OPTIONS]" in events
    assert "text|json|ndjson" in events
    assert "--port" not in events


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["receiver", "bogus"], "No such command 'bogus'"),
        (["receiver", "--port", "x"], "--port: 'x' is not a whole number"),
        (["receiver", "--port", "70000"], "--port: 70000 is not a port"),
        (["receiver", "--frobnicate"], "No such option: --frobnicate"),
        (["receiver", "events", "--output", "yaml"], "--output: 'yaml' is not one of"),
        (["receiver", "events", "--port", "1"], "No such option: --port"),
        (["receiver", "--port", "1", "events"], "--port: only for 'receiver' run alone"),
        (["receiver", "-q", "events"], "-q: only for 'receiver' run alone"),
    ],
)
def test_a_runnable_groups_usage_errors_are_one_line(cli: Cli, args: List[str], says: str) -> None:
    result = cli(*args, expect=2)
    (line,) = result.stderr.splitlines()
    assert line.startswith("stac-events: error: ")
    assert says in line
    assert result.stdout == ""


def test_the_subcommand_of_a_runnable_group_runs(cli: Cli, home: Path) -> None:
    result = cli("receiver", "events", "--db", "none.db", "-o", "json", expect=3)
    assert result.json()["error"]["message"] == f"no receiver database at {home / 'none.db'}"
    assert not (home / "none.db").exists()  # read, never made


@pytest.fixture
def held_port() -> Any:
    """A port something listens on, for a receiver that must fail to start, not serve."""
    import socket

    def hold(port: int = 0) -> Tuple[Optional[socket.socket], int]:
        holder = socket.socket()
        # As the receiver binds: a port left in TIME_WAIT by an earlier test is free to
        # both, and must be held, not taken for held by another.
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", port))
        except OSError:  # held already, by another: as good
            holder.close()
            return None, port
        holder.listen()
        held.append(holder)
        return holder, holder.getsockname()[1]

    held: List[socket.socket] = []
    yield hold
    for holder in held:
        holder.close()


def test_a_runnable_group_runs_with_its_options(run_script, held_port: Any) -> None:
    """Its options reach its handler: it tries that port, with that database. (A separate
    process, with a time limit, in case it ever served instead.)"""
    _, port = held_port()
    result = run_script("stac-events", "receiver", "-q", "--port", str(port), "--db", "r.db",
                        expect=3)  # fmt: skip
    assert f"port {port}" in result.stderr
    assert "Usage:" not in result.stdout


def test_a_runnable_group_runs_bare(run_script, held_port: Any) -> None:
    """Bare, it runs with its defaults (port 7077) rather than showing its help."""
    held_port(7077)
    result = run_script("stac-events", "receiver", expect=3)
    assert "port 7077" in result.stderr
    assert "Usage:" not in result.stdout


def test_stdout_of_a_typer_run_is_restored(home: Path) -> None:
    import sys

    before = sys.stdout
    typer_app.invoke(app_with(signed([])), ["go", "--help"], "t", run_in(home))
    assert sys.stdout is before
    assert isinstance(run_in(home).env.stdout, io.StringIO)


@pytest.mark.parametrize("args", [["topology", "list"], ["stackpack", "list"], ["graph"]])
def test_an_old_stac_command_says_what_stac_events_covers(cli: Cli, args: List[str]) -> None:
    result = cli(*args, expect=2)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"stac-events: error: '{args[0]}' was a command of StackState's old "
                           "stac CLI; stac-events covers 'stac event send' only")  # fmt: skip
    assert "sts CLI does the rest" in line


def test_a_mistyped_command_is_still_no_such_command(cli: Cli) -> None:
    result = cli("topolgy", expect=2)
    assert result.stderr.startswith("stac-events: error: No such command 'topolgy'")
