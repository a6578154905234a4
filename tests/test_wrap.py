"""`event wrap`: the command's exit code, output and signals, and the event about it."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any, Dict

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import API_KEY, Cli, env_for, no_secret
from tests.processes import Processes


def sent_event(server: HTTPServer) -> Dict[str, Any]:
    ((request, _),) = server.log
    (group,) = json.loads(request.get_data())["events"].values()
    (event,) = group
    return event


def test_success(cli: Cli, receiver: HTTPServer):
    result = cli("event", "wrap", "-i", "urn:svc", "--", "sh", "-c", "echo deploying; echo done",
                 env=env_for(receiver))  # fmt: skip
    assert result.stdout == "deploying\ndone\n"
    event = sent_event(receiver)
    assert event["event_type"] == "CommandEvent"
    assert event["msg_title"] == "sh succeeded"
    assert event["msg_text"].startswith("$ sh -c 'echo deploying; echo done'\nexit code 0 after ")
    assert event["msg_text"].endswith("last 2 line(s) of output:\ndeploying\ndone")
    context = event["context"]
    assert context["category"] == "Changes"
    assert context["element_identifiers"] == ["urn:svc"]
    assert context["data"]["exit_code"] == 0
    assert context["data"]["command"] == "sh -c 'echo deploying; echo done'"
    assert isinstance(context["data"]["duration_s"], float)


def test_failure_keeps_the_exit_code_and_tail(cli: Cli, receiver: HTTPServer):
    script = "for i in 1 2 3 4 5; do echo line $i; done; exit 3"
    cli("event", "wrap", "--tail-lines", "2", "--title", "Deploy checkout",
                 "--event-type", "DeployEvent", "-d", "version=1.4", "--", "sh", "-c", script,
                 env=env_for(receiver), expect=3)  # fmt: skip
    event = sent_event(receiver)
    assert event["event_type"] == "DeployEvent"
    assert event["msg_title"] == "Deploy checkout"
    assert event["msg_text"].endswith("last 2 line(s) of output:\nline 4\nline 5")
    assert event["context"]["data"]["exit_code"] == 3
    assert event["context"]["data"]["version"] == "1.4"


def test_the_tail_holds_stderr_too(cli: Cli, receiver: HTTPServer):
    # Two pipes are read by two threads: which stream's last line comes last is not fixed.
    script = "echo progress; echo 'error: disk full' >&2; exit 1"
    result = cli("event", "wrap", "--", "sh", "-c", script, env=env_for(receiver), expect=1)
    assert result.stdout == "progress\n"
    assert result.stderr.startswith("error: disk full\n")
    _, tail = sent_event(receiver)["msg_text"].split("last 2 line(s) of output:\n")
    assert sorted(tail.split("\n")) == ["error: disk full", "progress"]


def test_default_title_on_failure(cli: Cli, receiver: HTTPServer):
    cli("event", "wrap", "--", "false", env=env_for(receiver), expect=1)
    assert sent_event(receiver)["msg_title"] == "false failed (exit 1)"


def test_on_failure_sends_only_on_failure(cli: Cli, receiver: HTTPServer):
    ok = cli("event", "wrap", "--on", "failure", "--", "true", env=env_for(receiver))
    assert (ok.status, receiver.log) == (0, [])
    cli("event", "wrap", "--on", "failure", "--", "false", env=env_for(receiver), expect=1)
    assert sent_event(receiver)["context"]["data"]["exit_code"] == 1


def test_options_after_the_command_are_the_commands(cli: Cli, receiver: HTTPServer):
    result = cli("event", "wrap", "sh", "-c", "echo $0 $1", "-q", "--title",
                 env=env_for(receiver))  # fmt: skip
    assert result.stdout == "-q --title\n"


def test_missing_command_exits_127_with_an_event(cli: Cli, receiver: HTTPServer):
    result = cli("event", "wrap", "--", "no-such-command-here", env=env_for(receiver), expect=127)
    assert "no-such-command-here: command not found" in result.stderr
    event = sent_event(receiver)
    assert event["msg_title"] == "no-such-command-here failed (exit 127)"
    assert "command not found" in event["msg_text"]


def test_delivery_failure_never_changes_the_exit_code(cli: Cli):
    env = {"STAC_EVENTS_RECEIVER_URL": "http://127.0.0.1:9/receiver",
           "STAC_EVENTS_API_KEY": API_KEY}  # fmt: skip
    result = cli("event", "wrap", "--retries", "0", "--", "sh", "-c", "exit 4", env=env, expect=4)
    assert "cannot connect to 127.0.0.1:9" in result.stderr
    assert "queued for later" in result.stderr
    assert len(cli("spool", "list", "-o", "json").json()) == 1
    assert no_secret(result)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-c", "deploys"], "--category: 'deploys' is not a category"),
        (["--event-type", ""], "--event-type: an event needs an event type"),
        (["--event-type", "hostEvent"], "starts with 'host', which the receiver reserves"),
        (["--name", "timestamps"], "--name: event name 'timestamps' starts with 'timestamp'"),
        (["-i", "--", "x"], "-i: expected at least one value"),
    ],
)
def test_bad_flags_stop_before_the_command_runs(
    cli: Cli, receiver: HTTPServer, tmp_path: Path, flags: list, message: str
):
    marker = tmp_path / "ran"
    result = cli("event", "wrap", *flags, "--", "touch", str(marker), env=env_for(receiver),
                 expect=2)  # fmt: skip
    assert message in result.stderr
    assert not marker.exists()
    assert receiver.log == []


def test_an_unconfigured_receiver_stops_it_before_the_command_runs(cli: Cli, tmp_path: Path):
    marker = tmp_path / "ran"
    cli("event", "wrap", "--", "touch", str(marker), expect=3)
    assert not marker.exists()


def test_short_options_together_before_the_command(cli: Cli, receiver: HTTPServer):
    result = cli("event", "wrap", "-qi", "urn:a", "--", "echo", "hi", env=env_for(receiver))
    assert result.stdout == "hi\n"
    event = sent_event(receiver)
    assert event["context"]["element_identifiers"] == ["urn:a"]
    assert event["context"]["data"]["command"] == "echo hi"


def test_no_command(cli: Cli):
    result = cli("event", "wrap", "--title", "x", expect=2)
    assert "give the command to run after '--'" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_reach_the_command(receiver: HTTPServer, processes: Processes, sig: signal.Signals):
    script = 'trap "echo caught; exit 7" INT TERM; echo ready; while :; do sleep 0.05; done'
    wrap = processes.start_cli(
        "event", "wrap", "--", "sh", "-c", script, env=env_for(receiver),
        start_new_session=True,  # no terminal: the wrapper alone gets the signal
    )  # fmt: skip
    wrap.wait_for("^ready$")  # its trap is set; wrap's handlers before
    os.kill(wrap.pid, sig)
    assert wrap.finish(expect=7, timeout=30).stdout == "ready\ncaught\n"
    assert sent_event(receiver)["context"]["data"]["exit_code"] == 7


def test_json_output(cli: Cli, receiver: HTTPServer):
    result = cli("event", "wrap", "-o", "json", "--", "sh", "-c", "exit 0", env=env_for(receiver))
    assert result.stdout == ""  # stdout is the command's: wrap's own object is on stderr
    assert json.loads(result.stderr.splitlines()[-1])["ok"] is True


@pytest.mark.parametrize("lines", ["10001", "9223372036854775808", "1" + "0" * 40])
def test_a_tail_longer_than_any_event_keeps_is_a_usage_error(cli: Cli, tmp_path: Path, lines):
    ran = tmp_path / "ran"
    result = cli("event", "wrap", "--tail-lines", lines, "--dry-run", "--", "touch", str(ran),
                 expect=2)  # fmt: skip
    assert result.stderr.endswith("is too large; give 10000 or less\n"), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not ran.exists()  # stopped before the command ran
