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
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from pytest_httpserver import HTTPServer

from stac_events.cli import main
from tests.conftest import API_KEY, Cli, env_for, isolated_environment, single_event

EXE = str(Path(sys.executable).with_name("stac-events"))
UNREACHABLE = ("--url", "http://127.0.0.1:9/receiver", "--api-key", API_KEY, "--retries", "0")


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    """Events whose dry-run payloads are far more than a pipe holds (64 KiB)."""
    path = tmp_path / "events.ndjson"
    lines = (json.dumps({"msg_title": f"event {n}", "msg_text": "x" * 200}) for n in range(5000))
    path.write_text("\n".join(lines) + "\n")
    return path


def into_a_closed_pipe(args: List[str], environ: Dict[str, str], cwd: Path) -> Tuple[int, str]:
    """Run the script with stdout a pipe whose reader has already gone; (status, stderr)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        completed = subprocess.run(
            [EXE, *args], stdout=writer, stderr=subprocess.PIPE, text=True, env=environ,
            cwd=cwd, timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(writer)
    return completed.returncode, completed.stderr


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
    cli: Cli, home: Path, isolated_environ: Dict[str, str], args: List[str], unbuffered: str
):
    queue_one(cli)  # so that `spool list` has a line to print
    environ = {**isolated_environ, "PYTHONUNBUFFERED": unbuffered}
    status, stderr = into_a_closed_pipe(args, environ, home)
    assert (status, stderr) == (141, "")


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_dry_run_into_a_closed_pipe_exits_141_silently(
    home: Path, isolated_environ: Dict[str, str], big_file: Path, unbuffered: str
):
    environ = {**isolated_environ, "PYTHONUNBUFFERED": unbuffered}
    args = ["event", "send", "DeployEvent", "--file", str(big_file), "--dry-run"]
    assert into_a_closed_pipe(args, environ, home) == (141, "")


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
    cli: Cli, home: Path, isolated_environ: Dict[str, str], big_file: Path, line: str,
    reader: str,
):  # fmt: skip
    queue_one(cli)
    shutil.copy(big_file, home / "events.ndjson")
    # `head -1` of a short output may read all of it before it goes: then the writer
    # never meets a closed pipe and 0 is right. What is never right is 1, or a message.
    script = f'"{EXE}" {line} 2>err | {reader} >/dev/null; echo "${{PIPESTATUS[0]}} $?"'
    completed = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True,
        env=isolated_environ, cwd=home, timeout=60, check=True,
    )  # fmt: skip
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


def test_a_closed_stderr_still_sends(receiver: HTTPServer, home: Path, isolated_environ: dict):
    # 'Deploy' draws a warning, which has nowhere to go
    script = f'"{EXE}" event send Deploy --title t 2>&-; echo $?'
    completed = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True,
        env={**isolated_environ, **env_for(receiver)}, cwd=home, timeout=60, check=True,
    )  # fmt: skip
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
    home: Path, isolated_environ: dict, redirect: str, reason: str
):
    if not os.path.exists("/dev/full") and "full" in redirect:
        pytest.skip("no /dev/full here")
    script = f'"{EXE}" event send DeployEvent --title t --dry-run -o json {redirect}; echo $? >&2'
    completed = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=isolated_environ, cwd=home,
        timeout=60, check=True,
    )  # fmt: skip
    message, status = completed.stderr.splitlines()
    assert status == "3"
    assert message == (f"stac-events: error: cannot write to stdout: {reason}; "
                       f"check where the command's output is redirected to")  # fmt: skip


def test_a_run_that_prints_nothing_works_with_stdout_closed(
    receiver: HTTPServer, home: Path, isolated_environ: dict
):
    script = f'"{EXE}" event send DeployEvent --title t >&-; echo $?'
    completed = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True,
        env={**isolated_environ, **env_for(receiver)}, cwd=home, timeout=60, check=True,
    )  # fmt: skip
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
def test_wrap_output_through_jq(home: Path, isolated_environ: dict, receiver: HTTPServer):
    script = (f"\"{EXE}\" event wrap -o json -- sh -c 'echo \"{{\\\"n\\\": 1}}\"' 2>err "
              "| jq -e .n && tail -1 err | jq -e .ok")  # fmt: skip
    completed = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True,
        env={**isolated_environ, **env_for(receiver)}, cwd=home, timeout=60, check=False,
    )  # fmt: skip
    assert (completed.returncode, completed.stdout) == (0, "1\ntrue\n"), completed.stderr


# 3. A command that exits 130 is not an interrupted wrap


def test_wrap_of_a_command_exiting_130_is_not_interrupted(cli: Cli, receiver: HTTPServer):
    result = cli("event", "wrap", "--", "sh", "-c", "exit 130", env=env_for(receiver), expect=130)
    assert "interrupted" not in result.stderr
    assert result.stderr.startswith("sent 1 event to ")
    event = single_event(json.loads(receiver.log[0][0].get_data()))
    assert event["context"]["data"]["exit_code"] == 130


def test_wrap_of_a_command_killed_by_sigint_is_not_interrupted(
    home: Path, isolated_environ: dict, receiver: HTTPServer
):
    completed = subprocess.run(
        [EXE, "event", "wrap", "--", "sh", "-c", "kill -INT $$"], capture_output=True,
        text=True, env={**isolated_environ, **env_for(receiver)}, cwd=home, timeout=60,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 130
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
