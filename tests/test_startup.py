"""Start-up stays light: a command imports only what it uses.

The modules each common command line may not import are pinned here, so that a change
that brings one back onto the path fails a test rather than every user's start-up."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import List, Optional, Set

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import API_KEY
from tests.processes import Processes

PROBE = """
import io, json, sys
from pathlib import Path
from stac_events.cli import main
from stac_events.environment import Environment
home = Path(sys.argv[1])
environ = {"HOME": str(home), "NO_COLOR": "1", **json.loads(sys.argv[2])}
env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), home=home, cwd=home,
                  environ=environ)
status = main(sys.argv[3:], env)
print(json.dumps({"status": status, "loaded": sorted(sys.modules)}))
"""

# Never on the path of a common command that does not need them: the HTTP stack, Rich
# (a terminal's colors and progress bars), the YAML parser (no config file here), and
# Typer, which the common lines are read without (`cli.direct`).
# Nor pydantic's models (one event is validated by a schema compiled in pydantic-core,
# `sending.one_by_block`), nor the entry-point scan pydantic makes for its plugins, nor
# `dataclasses` and `email`. (`inspect` is pydantic-core's, through typing_extensions.)
HEAVY = {"requests", "urllib3", "rich", "yaml", "typer", "pydantic", "importlib.metadata",
         "email", "dataclasses", "annotated_types"}  # fmt: skip


def modules_loaded_by(processes: Processes, *args: str, environ: Optional[dict] = None) -> dict:
    completed = processes.run(sys.executable, "-c", PROBE, str(processes.home),
                              json.dumps(environ or {}), *args, env={"NO_COLOR": "1"})  # fmt: skip
    probe = json.loads(completed.stdout.splitlines()[-1])
    loaded = set(probe["loaded"])
    # a package counts as loaded when any of its modules is
    probe["loaded"] = sorted({m.split(".")[0] for m in loaded} | loaded)
    return probe


def heavy_in(probe: dict, heavy: Set[str]) -> List[str]:
    return sorted(set(probe["loaded"]) & heavy)


@pytest.mark.parametrize("extra", [[], ["--output", "json"], ["-i", "a", "b", "-d", "k=v"]])
def test_dry_run_imports_nothing_heavy(processes: Processes, extra: list) -> None:
    probe = modules_loaded_by(processes, "event", "send", "DeployEvent", "--title", "t",
                              "--dry-run", *extra)  # fmt: skip
    assert probe["status"] == 0
    assert heavy_in(probe, HEAVY) == []


def test_a_send_imports_the_http_stack_but_no_rich(
    own_server: HTTPServer, processes: Processes
) -> None:
    own_server.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
    environ = {"STAC_EVENTS_RECEIVER_URL": own_server.url_for("/receiver"),
               "STAC_EVENTS_API_KEY": API_KEY}  # fmt: skip
    probe = modules_loaded_by(processes, "event", "send", "DeployEvent", "--title", "t",
                              environ=environ)  # fmt: skip
    assert probe["status"] == 0
    # `email` and `importlib.metadata` are the HTTP stack's own
    assert heavy_in(probe, HEAVY - {"email", "importlib.metadata"}) == ["requests", "urllib3"]


def test_version_and_a_flush_import_no_typer(processes: Processes) -> None:
    assert heavy_in(modules_loaded_by(processes, "--version"), HEAVY) == []
    flush = ["spool", "flush", "--url", "http://127.0.0.1:9", "--api-key", "k"]
    probe = modules_loaded_by(processes, *flush)
    assert probe["status"] == 0
    assert heavy_in(probe, {"typer", "rich", "yaml"}) == []


@pytest.mark.parametrize("lines", [1, 300])
def test_a_batch_of_plain_events_imports_no_models(processes: Processes, lines: int) -> None:
    """NDJSON that the blocks take whole, its first line too, never needs pydantic's
    models; a line they refuse does, and still gets its own error."""
    events = processes.home / "events.ndjson"
    line = {"event_type": "DeployEvent", "msg_title": "t", "timestamp": 1764700000}
    events.write_text("".join(json.dumps(line) + "\n" for _ in range(lines)))
    probe = modules_loaded_by(processes, "event", "send", "--file", str(events), "--dry-run")
    assert probe["status"] == 0
    assert heavy_in(probe, HEAVY) == []

    events.write_text(events.read_text() + '{"event_type": "DeployEvent"}\n')
    probe = modules_loaded_by(processes, "event", "send", "--file", str(events), "--dry-run")
    assert probe["status"] == 2
    assert "pydantic" in probe["loaded"]


@pytest.mark.parametrize("args", [["--help"], ["event", "send", "--help"], ["--version"]])
def test_help_and_version_import_no_http(processes: Processes, args: list) -> None:
    probe = modules_loaded_by(processes, *args)
    assert probe["status"] == 0
    assert heavy_in(probe, {"requests", "urllib3"}) == []


def test_version(run_script) -> None:
    from stac_events import __version__

    for script in ("stac-events", "stac"):
        result = run_script(script, "--version")
        assert (result.status, result.stdout) == (0, f"stac-events {__version__}\n")


def test_help_teaches(run_script) -> None:
    result = run_script("stac-events", "event", "send", "--help", env={"COLUMNS": "120"})
    for flag in ["--title", "--identifier", "--category", "--data", "--links", "--dry-run",
                 "--api-key", "--output", "--timestamp", "--name", "-q"]:  # fmt: skip
        assert flag in result.stdout
    assert "Activities, Alerts, Anomalies, Changes or Others" in result.stdout


def test_ctrl_c_during_a_send_exits_130_in_one_line(
    own_server: HTTPServer, processes: Processes
) -> None:
    httpserver = own_server
    arrived, release = threading.Event(), threading.Event()

    def stall(request: Request) -> Response:
        arrived.set()
        release.wait(timeout=10)
        return Response("", status=202)

    httpserver.expect_request("/receiver/stsAgent/intake").respond_with_handler(stall)
    send = processes.start_cli(
        "event", "send", "DeployEvent", "--title", "t",
        env={"STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"),
             "STAC_EVENTS_API_KEY": API_KEY},
    )  # fmt: skip
    try:
        assert arrived.wait(timeout=20), "the request never arrived"
        send.send_signal(signal.SIGINT)
        ended = send.finish(expect=130, timeout=20)
    finally:
        release.set()
    assert ended.stderr == "stac-events: interrupted; the event was queued for later\n"
    assert ended.stdout == ""
