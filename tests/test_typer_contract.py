"""What stac-events relies on Typer for, checked against the Typer that is installed.

`stac_events.cli.typer_app` is the only module that imports Typer. It builds functions
whose parameters Typer reads from `__signature__`, and runs apps with
`standalone_mode=False` so that Typer neither exits nor prints errors itself. A Typer
release that changes any of this fails here, by name, before it fails anywhere else.
"""

from __future__ import annotations

import inspect
import io
from pathlib import Path
from typing import Annotated, Any, List, Optional

import pytest
import typer

from stac_events.cli import typer_app
from stac_events.cli.argv import Line
from stac_events.cli.output import Output
from stac_events.cli.run import Run
from tests.conftest import Cli, isolated_environment


def run_in(home: Path) -> Run:
    env = isolated_environment(home)
    return Run(env, Output(env), Line((), (), ()))


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


@pytest.mark.parametrize(
    "args", [[], ["event"], ["config"], ["spool"], ["event", "send"], ["event", "wrap"]]
)
def test_a_bare_command_prints_its_help_and_no_error(cli: Cli, args: List[str]) -> None:
    result = cli(*args, expect=2)
    assert "Usage: stac-events" in result.stdout
    assert result.stderr == ""


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
    assert "see 'stac-events --help'" in result.stderr


def test_stdout_of_a_typer_run_is_restored(home: Path) -> None:
    import sys

    before = sys.stdout
    typer_app.invoke(app_with(signed([])), ["go", "--help"], "t", run_in(home))
    assert sys.stdout is before
    assert isinstance(run_in(home).env.stdout, io.StringIO)
