"""`event wrap --time-limit`: a command that outlives it is stopped (SIGTERM to its process
group, SIGKILL after a grace), the event says it timed out, and wrap exits 124."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import List

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import Cli, env_for, received_events


def alive_in_group(group: int) -> List[int]:
    """The processes of process group `group` that still run (not zombies)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone while looked at
        fields = stat.rpartition(")")[2].split()
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def group_ends(group: int, within: float = 5.0) -> bool:
    """Whether nothing of `group` runs within `within` s: SIGKILL is sent, and the kernel
    ends its processes as it schedules them."""
    deadline = time.monotonic() + within
    while alive_in_group(group):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_command_that_outlives_its_limit_is_stopped_and_wrap_exits_124(
    cli: Cli, receiver: HTTPServer
):
    started = time.monotonic()
    result = cli("event", "wrap", "--time-limit", "1", "-o", "json", "--",
                 "sh", "-c", "echo $$; exec sleep 30", env=env_for(receiver),
                 expect=124)  # fmt: skip
    took = time.monotonic() - started
    assert took < 5, took  # SIGTERM ends sleep: no waiting for the grace
    group = int(result.stdout.splitlines()[0])  # the command leads a group of its own
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
    (event,) = received_events(receiver)
    assert event["msg_title"] == "sh timed out after 1 s"
    assert event["context"]["category"] == "Alerts"
    data = event["context"]["data"]
    assert (data["timed_out"], data["time_limit_s"], data["exit_code"]) == (True, 1.0, 143)
    assert "timed out: still running at its time limit of 1 s" in event["msg_text"]
    # stdout is the command's: wrap's result goes to stderr
    delivered = json.loads(result.stderr.splitlines()[-1])
    assert delivered["ok"] is True  # the event was delivered; the 124 is the command's


def test_what_the_command_started_is_stopped_with_it(cli: Cli, receiver: HTTPServer):
    # the subshell ignores SIGTERM, and holds the output open after its parent is gone
    script = "echo $$; (trap '' TERM; exec sleep 30) & wait"
    result = cli("event", "wrap", "--time-limit", "0.5", "--", "sh", "-c", script,
                 env=env_for(receiver), expect=124)  # fmt: skip
    group = int(result.stdout.splitlines()[0])
    assert group_ends(group)
    (event,) = received_events(receiver)
    assert event["context"]["data"]["timed_out"] is True


@pytest.mark.slow
def test_a_command_that_ignores_sigterm_gets_sigkill_after_the_grace(
    cli: Cli, receiver: HTTPServer
):
    started = time.monotonic()
    result = cli("event", "wrap", "--time-limit", "0.5", "-c", "Changes", "--",
                 "sh", "-c", "trap '' TERM; echo $$; exec sleep 30", env=env_for(receiver),
                 expect=124)  # fmt: skip
    took = time.monotonic() - started
    assert 5.5 <= took < 15, took  # the limit, then the 5 s grace
    with pytest.raises(ProcessLookupError):
        os.killpg(int(result.stdout.splitlines()[0]), 0)
    (event,) = received_events(receiver)
    assert event["context"]["data"]["exit_code"] == 137  # 128 + SIGKILL
    assert event["context"]["category"] == "Changes"  # as -c said


def test_a_command_within_its_limit_is_not_touched(cli: Cli, receiver: HTTPServer):
    cli("event", "wrap", "--time-limit", "30", "--", "sh", "-c", "exit 3",
        env=env_for(receiver), expect=3)  # fmt: skip
    (event,) = received_events(receiver)
    assert "timed_out" not in event["context"]["data"]
    assert event["msg_title"] == "sh failed (exit 3)"
    assert event["context"]["category"] == "Changes"


@pytest.mark.parametrize(
    ("limit", "says"),
    [
        ("0", "is not a length of time above 0"),
        ("-1", "is not a length of time above 0"),
        ("abc", "is not a length of time"),
        ("inf", "is not a length of time; give e.g."),
        ("nan", "is not a length of time; give e.g."),
        ("1e999", "is not a length of time; give e.g."),
        ("1_0", "is not a length of time; give e.g."),
        ("\u0661", "is not a length of time; give e.g."),  # an Arabic-Indic one
        ("400d", "is longer than a time limit may be (a year)"),
        ("99999999999999", "is longer than a time limit may be (a year)"),
    ],
)
def test_a_time_limit_that_is_no_positive_length_of_time_is_a_usage_error(
    cli: Cli, receiver: HTTPServer, tmp_path: Path, limit: str, says: str
):
    touched = tmp_path / "ran"
    result = cli("event", "wrap", "--time-limit", limit, "--", "touch", str(touched),
                 env=env_for(receiver), expect=2)  # fmt: skip
    assert f"--time-limit: {limit} {says}" in result.stderr.replace("'", "")
    assert not touched.exists()  # the command never ran
    assert receiver.log == []
