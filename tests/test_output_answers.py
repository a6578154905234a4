"""Where output goes, and what a run answers when its streams are closed or go away.

Closed and broken pipes are real ones: a pipe whose read end is closed before the run,
`head` in a `set -o pipefail` shell, `2>&-`, `/dev/full`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Dict, List

import pytest
from pytest_httpserver import HTTPServer

from stac_events.cli import main
from tests.conftest import API_KEY, Cli, env_for, isolated_environment, single_event
from tests.processes import STAC_EVENTS, Processes

UNREACHABLE = ("--url", "http://127.0.0.1:9/receiver", "--api-key", API_KEY, "--retries", "0")


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    """Events whose dry-run payloads are far more than a pipe holds (64 KiB)."""
    path = tmp_path / "events.ndjson"
    lines = (json.dumps({"msg_title": f"event {n}", "msg_text": "x" * 200}) for n in range(5000))
    path.write_text("\n".join(lines) + "\n")
    return path


def into_a_closed_pipe(processes: Processes, args: List[str], env: Dict[str, str]) -> str:
    """Run the script with stdout a pipe whose reader has already gone: it must end 141,
    as a program killed by SIGPIPE; what it said on stderr."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return processes.cli(*args, stdout=writer, env=env, expect=141).stderr
    finally:
        os.close(writer)


def queue_one(cli: Cli) -> None:
    cli("event", "send", "DeployEvent", "--title", "t", *UNREACHABLE, expect=75)


# 1. A reader that goes away: exit 141, and nothing more said


@pytest.mark.parametrize("unbuffered", ["", "1"])
@pytest.mark.parametrize(
    "args",
    [["--help"], ["event", "send", "--help"], ["config", "show"], ["config", "show", "-o", "json"],
     ["config", "path"], ["spool", "list"], ["spool", "list", "-o", "json"], ["--version"]],
)  # fmt: skip
def test_a_closed_stdout_pipe_exits_141_silently(
    cli: Cli, processes: Processes, args: List[str], unbuffered: str
):
    queue_one(cli)  # so that `spool list` has a line to print
    assert into_a_closed_pipe(processes, args, {"PYTHONUNBUFFERED": unbuffered}) == ""


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_dry_run_into_a_closed_pipe_exits_141_silently(
    processes: Processes, big_file: Path, unbuffered: str
):
    args = ["event", "send", "DeployEvent", "--file", str(big_file), "--dry-run"]
    assert into_a_closed_pipe(processes, args, {"PYTHONUNBUFFERED": unbuffered}) == ""


@pytest.mark.parametrize(
    ("line", "reader"),
    [
        ("--help", "head -1"),
        ("config show", "head -1"),
        ("spool list", "head -1"),
        ("event send DeployEvent --file events.ndjson --dry-run", "head -c 10"),
        ("event send DeployEvent --file events.ndjson --dry-run -o json", "head -c 10"),
    ],
)
def test_pipefail_scripts_see_141(
    cli: Cli, home: Path, processes: Processes, big_file: Path, line: str, reader: str
):
    queue_one(cli)
    shutil.copy(big_file, home / "events.ndjson")
    # `head -1` of a short output may read all of it before it goes: then the writer
    # never meets a closed pipe and 0 is right. What is never right is 1, or a message.
    script = f'"{STAC_EVENTS}" {line} 2>err | {reader} >/dev/null; echo "${{PIPESTATUS[0]}} $?"'
    completed = processes.shell(script, flags=["-o", "pipefail"])
    writer, pipeline = completed.stdout.split()
    assert writer in ({"0", "141"} if reader == "head -1" else {"141"})
    assert pipeline == writer
    assert (home / "err").read_text() == ""


def test_closed_pipe_in_process_ends_the_run_at_once(home: Path, big_file: Path):
    reader, writer = os.pipe()
    os.close(reader)
    stderr = io.StringIO()
    with os.fdopen(writer, "w") as stdout:
        env = isolated_environment(home, stdout=stdout, stderr=stderr)
        status = main(["event", "send", "DeployEvent", "--file", str(big_file), "--dry-run"], env)
        with contextlib.suppress(BrokenPipeError):  # what is left in it (`run` lets it go)
            stdout.close()
    assert (status, stderr.getvalue()) == (141, "")


# 5. A closed, full or broken stream never ends in exit 1


def test_a_closed_stderr_still_sends(receiver: HTTPServer, processes: Processes):
    # 'Deploy' draws a warning, which has nowhere to go
    script = f'"{STAC_EVENTS}" event send Deploy --title t 2>&-; echo $?'
    completed = processes.shell(script, env=env_for(receiver))
    assert completed.stdout == "0\n"
    assert single_event(json.loads(receiver.log[0][0].get_data()))["msg_title"] == "t"


@pytest.mark.parametrize("extra", [[], ["-o", "json"]])
def test_a_broken_stderr_pipe_still_sends(receiver: HTTPServer, home: Path, extra: List[str]):
    reader, writer = os.pipe()
    os.close(reader)
    stdout = io.StringIO()
    with os.fdopen(writer, "w") as stderr:
        env = isolated_environment(home, stdout=stdout, stderr=stderr,
                                   environ={"HOME": str(home), **env_for(receiver)})  # fmt: skip
        status = main(["event", "send", "Deploy", "--title", "t", *extra], env)
        with contextlib.suppress(BrokenPipeError):
            stderr.close()
    assert status == 0
    assert len(receiver.log) == 1
    if extra:
        assert json.loads(stdout.getvalue())["ok"] is True


@pytest.mark.parametrize(
    ("redirect", "reason"),
    [(">&-", "stdout is closed"), (">/dev/full", "No space left on device"),
     ("1</dev/null", "Bad file descriptor")],
)  # fmt: skip
def test_a_stdout_that_takes_nothing_is_said_and_exits_3(
    processes: Processes, redirect: str, reason: str
):
    if not os.path.exists("/dev/full") and "full" in redirect:
        pytest.skip("no /dev/full here")
    line = f'"{STAC_EVENTS}" event send DeployEvent --title t --dry-run -o json {redirect}'
    completed = processes.shell(f"{line}; echo $? >&2")
    message, status = completed.stderr.splitlines()
    assert status == "3"
    assert message == (f"stac-events: error: cannot write to stdout: {reason}; "
                       f"check where the command's output is redirected to")  # fmt: skip


def test_a_run_that_prints_nothing_works_with_stdout_closed(
    receiver: HTTPServer, processes: Processes
):
    script = f'"{STAC_EVENTS}" event send DeployEvent --title t >&-; echo $?'
    completed = processes.shell(script, env=env_for(receiver))
    assert completed.stdout == "0\n"
    assert len(receiver.log) == 1


# 2. `event wrap`: stdout is the command's alone


def test_wrap_dry_run_leaves_stdout_to_the_command(cli: Cli):
    result = cli("event", "wrap", "--dry-run", "-q", "--", "sh", "-c", 'echo \'{"from": "cmd"}\'')
    assert json.loads(result.stdout) == {"from": "cmd"}
    payload = json.loads(result.stderr.splitlines()[-1])  # -q: the payload is the last line
    assert single_event(payload)["context"]["data"]["exit_code"] == 0


def test_wrap_json_is_the_last_line_of_stderr(cli: Cli, receiver: HTTPServer):
    script = "echo out; echo err >&2"
    result = cli("event", "wrap", "-o", "json", "--", "sh", "-c", script, env=env_for(receiver))
    assert result.stdout == "out\n"
    first, last = result.stderr.splitlines()
    assert first == "err"
    assert json.loads(last)["ok"] is True


def test_wrap_json_failure_is_said_once_on_stderr(cli: Cli):
    result = cli("event", "wrap", "-o", "json", *UNREACHABLE, "--", "sh", "-c", "echo out; exit 3",
                 expect=3)  # fmt: skip
    assert result.stdout == "out\n"
    (line,) = result.stderr.splitlines()
    assert json.loads(line)["error"]["kind"] == "queued"


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_wrap_output_through_jq(processes: Processes, receiver: HTTPServer):
    script = (f"\"{STAC_EVENTS}\" event wrap -o json -- sh -c 'echo \"{{\\\"n\\\": 1}}\"' 2>err "
              "| jq -e .n && tail -1 err | jq -e .ok")  # fmt: skip
    completed = processes.shell(script, flags=["-o", "pipefail"], env=env_for(receiver))
    assert completed.stdout == "1\ntrue\n"


# 3. A command that exits 130 is not an interrupted wrap


def test_wrap_of_a_command_exiting_130_is_not_interrupted(cli: Cli, receiver: HTTPServer):
    result = cli("event", "wrap", "--", "sh", "-c", "exit 130", env=env_for(receiver), expect=130)
    assert "interrupted" not in result.stderr
    assert result.stderr.startswith("sent 1 event to ")
    event = single_event(json.loads(receiver.log[0][0].get_data()))
    assert event["context"]["data"]["exit_code"] == 130


def test_wrap_of_a_command_killed_by_sigint_is_not_interrupted(
    processes: Processes, receiver: HTTPServer
):
    completed = processes.cli("event", "wrap", "--", "sh", "-c", "kill -INT $$",
                              env=env_for(receiver), expect=130)  # fmt: skip
    assert "interrupted" not in completed.stderr
    assert len(receiver.log) == 1


# 4. Answers that already worked, kept


def test_spool_clear_as_json(cli: Cli):
    queue_one(cli)
    assert cli("spool", "clear", "-o", "json").json() == {"ok": True, "removed": 1, "in_flight": 0}
    assert cli("spool", "list", "-o", "json").json() == []


def test_config_show_with_a_timeout(cli: Cli):
    shown = cli("config", "show", "--timeout", "3", "-o", "json").json()
    for name in ("connect_timeout", "read_timeout"):
        assert shown[name] == {"value": 3, "origin": "--timeout"}
    table = cli("config", "show", "--timeout", "3").stdout
    assert "connect_timeout  3 s" in table
    assert "read_timeout     3 s" in table
