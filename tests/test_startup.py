"""Start-up stays light: `--help` and `--dry-run` never import the HTTP stack."""

from __future__ import annotations

import json
import signal
import sys
import threading

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
env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), home=home, cwd=home,
                  environ={"HOME": str(home), "NO_COLOR": "1"})
status = main(sys.argv[2:], env)
heavy = ("requests", "urllib3", "rich", "yaml")
print(json.dumps({"status": status, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def modules_loaded_by(processes: Processes, *args: str) -> dict:
    completed = processes.run(sys.executable, "-c", PROBE, str(processes.home), *args,
                              env={"NO_COLOR": "1"})  # fmt: skip
    return json.loads(completed.stdout.splitlines()[-1])


def test_dry_run_imports_no_http_and_no_rich(processes: Processes) -> None:
    probe = modules_loaded_by(processes, "event", "send", "DeployEvent", "--title", "t",
                              "--dry-run")  # fmt: skip
    assert probe == {"status": 0, "loaded": []}


@pytest.mark.parametrize("args", [["--help"], ["event", "send", "--help"], ["--version"]])
def test_help_and_version_import_no_http(processes: Processes, args: list) -> None:
    probe = modules_loaded_by(processes, *args)
    assert probe["status"] == 0
    assert "requests" not in probe["loaded"]
    assert "urllib3" not in probe["loaded"]


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
