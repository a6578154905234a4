"""`event wrap` and the processes of the command: daemons it leaves, groups it is signalled
in, and output that arrives whole. Real processes throughout."""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from pytest_httpserver import HTTPServer

from stac_events.wrapped_command import TAIL_BYTES, run_command
from tests.conftest import Cli, env_for, isolated_environment
from tests.processes import STAC_EVENTS, Processes, decoded

pytestmark = pytest.mark.slow  # real processes, groups, terminals and signals


def sent_event(server: HTTPServer) -> Dict[str, Any]:
    ((request, _),) = server.log
    (group,) = json.loads(request.get_data())["events"].values()
    (event,) = group
    return event


def tail_of(event: Dict[str, Any]) -> List[str]:
    _, tail = event["msg_text"].split(" line(s) of output:\n")
    return tail.split("\n")


def gone(pid: int) -> bool:
    """Whether the process has ended: absent, or a zombie nobody has reaped yet."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        return False  # no /proc to tell a zombie by
    return stat.rpartition(")")[2].split()[0] == "Z"


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def pidfile(tmp_path: Path):
    """Where a command writes the pid of what it leaves running, killed after the test."""
    path = tmp_path / "grandchild.pid"
    yield path
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int(path.read_text()), signal.SIGKILL)


@pytest.mark.parametrize(
    "daemon",
    [
        "sleep 25",  # silent
        "(while :; do echo tick; sleep 0.1; done)",  # writes on after the command has exited
    ],
)
def test_a_daemon_holding_the_pipes_does_not_hold_wrap(
    cli: Cli, receiver: HTTPServer, pidfile: Path, daemon: str
):
    script = f"{daemon} & echo $! > {shlex.quote(str(pidfile))}; echo started; exit 0"
    began = time.monotonic()
    result = cli("event", "wrap", "--", "sh", "-c", script, env=env_for(receiver))
    assert time.monotonic() - began < 3
    assert "started\n" in result.stdout
    event = sent_event(receiver)
    assert "started" in tail_of(event)
    assert event["context"]["data"]["exit_code"] == 0
    assert event["context"]["data"]["duration_s"] < 0.5  # the command's time, not the grace


def test_a_daemon_holding_the_pipes_loses_none_of_what_came_before(
    cli: Cli, receiver: HTTPServer, pidfile: Path
):
    # More than a pipe holds: some of it is still in the pipe when the command exits.
    script = (f"head -c 1000000 /dev/zero | tr '\\0' x; echo; echo last; "
              f"sleep 25 & echo $! > {shlex.quote(str(pidfile))}; exit 4")  # fmt: skip
    result = cli("event", "wrap", "--", "sh", "-c", script, env=env_for(receiver), expect=4)
    assert result.stdout == "x" * 1_000_000 + "\nlast\n"
    assert tail_of(sent_event(receiver))[-1] == "last"


def test_a_command_that_closes_its_output_is_still_waited_for(cli: Cli, receiver: HTTPServer):
    script = "echo bye; exec >&- 2>&-; sleep 0.3; exit 5"
    result = cli("event", "wrap", "--", "sh", "-c", script, env=env_for(receiver), expect=5)
    assert result.stdout == "bye\n"
    assert sent_event(receiver)["context"]["data"]["duration_s"] >= 0.3


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signals_reach_what_the_command_started(
    receiver: HTTPServer, processes: Processes, pidfile: Path, sig: signal.Signals
):
    script = f"sleep 100 & echo $! > {shlex.quote(str(pidfile))}; echo ready; wait"
    wrap = processes.start_cli(
        "event", "wrap", "--", "sh", "-c", script, env=env_for(receiver),
        start_new_session=True,  # no terminal: what reaches the command, wrap sends
    )  # fmt: skip
    wrap.wait_for("^ready$")
    grandchild = int(pidfile.read_text())
    assert not gone(grandchild)
    os.kill(wrap.pid, sig)
    wrap.finish(expect=128 + sig, timeout=5)  # the command was ended by `sig`
    assert gone_within(grandchild, 3)
    assert sent_event(receiver)["context"]["data"]["exit_code"] == 128 + sig


def on_a_terminal(args: List[str], env: Dict[str, str], cwd: Path, *, keys: bytes = b"",
                  after: bytes = b"") -> Tuple[int, int, bytes]:  # fmt: skip
    """Run `stac-events ARGS` as the foreground group of a new terminal, typing `keys`
    once `after` has been shown; its pid, its exit status and what the terminal showed."""
    launch = (
        "import fcntl, os, sys, termios\n"
        "os.setsid()\n"
        "tty = os.open(sys.argv[1], os.O_RDWR)\n"
        "fcntl.ioctl(tty, termios.TIOCSCTTY, 0)\n"
        "for fd in (0, 1, 2):\n"
        "    os.dup2(tty, fd)\n"
        "os.execv(sys.argv[2], sys.argv[2:])\n"
    )
    # Not through tests/processes.py: the process must make the terminal its own first.
    terminal, device = os.openpty()
    shown = b""
    try:
        process = subprocess.Popen([sys.executable, "-c", launch, os.ttyname(device),
                                    STAC_EVENTS, *args], env=env, cwd=cwd)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ended = process.poll() is not None
            if select.select([terminal], [], [], 0 if ended else 0.05)[0]:
                shown += os.read(terminal, 1 << 16)
                if keys and after in shown:
                    os.write(terminal, keys)
                    keys = b""
            elif ended:
                break
        status = process.wait(timeout=1)
    finally:
        os.close(terminal)
        os.close(device)
    return process.pid, status, shown


PRINT_PID_AND_GROUP = [sys.executable, "-c", "import os; print(os.getpid(), os.getpgrp())"]


def test_without_a_terminal_the_command_leads_a_group_of_its_own(processes: Processes):
    ran = processes.cli("event", "wrap", "--dry-run", "--", *PRINT_PID_AND_GROUP, timeout=10,
                        start_new_session=True)  # fmt: skip
    pid, group = map(int, ran.stdout.splitlines()[0].split())
    assert group == pid != os.getpgrp()


def test_at_a_terminal_the_command_stays_in_the_foreground_group(
    isolated_environ: dict, home: Path
):
    wrap, status, shown = on_a_terminal(
        ["event", "wrap", "--dry-run", "--", *PRINT_PID_AND_GROUP], isolated_environ, home
    )
    assert status == 0, shown
    pid, group = map(int, shown.splitlines()[0].split())
    assert group == wrap != pid  # the wrapper leads the terminal's foreground group


def test_ctrl_c_at_a_terminal_reaches_the_command_once(isolated_environ: dict, home: Path):
    script = 'trap "echo caught; exit 7" INT; echo ready; while :; do sleep 0.05; done'
    _, status, shown = on_a_terminal(
        ["event", "wrap", "--dry-run", "--", "sh", "-c", script], isolated_environ, home,
        keys=b"\x03", after=b"ready",
    )  # fmt: skip
    assert status == 7, shown
    assert shown.count(b"caught\r\n") == 1  # as a line: not in the payload, where it is JSON


# A signal that comes while wrap is starting the command: a fault put in at that moment,
# by a start-up hook of the interpreter, since no timing can place it there every time.
SIGNAL_AT_START = """
import os, signal, subprocess
wanted = os.environ.get("SIGNAL_AT_START", "")  # read, not taken: a launcher passes it on
if wanted:
    start = subprocess.Popen.__init__
    def signalled_first(self, *args, **kwargs):
        global wanted
        if wanted:  # once, to this process, before the command exists
            os.kill(os.getpid(), getattr(signal, wanted))
            wanted = ""
        start(self, *args, **kwargs)
    subprocess.Popen.__init__ = signalled_first
"""


def signal_at_start(home: Path, environ: Dict[str, str], name: str) -> Dict[str, str]:
    hook = home / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SIGNAL_AT_START)
    return {**environ, "PYTHONPATH": str(hook), "SIGNAL_AT_START": name}


SLOW = "echo started; sleep 5; echo finished; exit 4"


def test_a_signal_while_the_command_starts_reaches_it(processes: Processes):
    """Passed on once the command exists: it ends it, and wrap says so with its code."""
    ran = processes.cli("event", "wrap", "--dry-run", "--", "sh", "-c", SLOW,
                        env=signal_at_start(processes.home, {}, "SIGTERM"),
                        start_new_session=True, expect=143)  # fmt: skip
    assert "finished" not in ran.stdout
    assert '"exit_code":143' in ran.stderr  # the event, printed by the dry run


def test_a_ctrl_c_while_the_command_starts_at_a_terminal_reaches_it(
    isolated_environ: dict, home: Path
):
    """At a terminal a Ctrl-C is the terminal's to pass to the command, but one that came
    before the command existed reached none: wrap passes it on."""
    _, status, shown = on_a_terminal(
        ["event", "wrap", "--dry-run", "--", "sh", "-c", SLOW],
        signal_at_start(home, isolated_environ, "SIGINT"), home,
    )  # fmt: skip
    assert status == 130, shown
    assert b"\r\nfinished\r\n" not in b"\r\n" + shown  # as output: the event quotes it


@pytest.mark.parametrize(
    ("script", "stdout", "stderr"),
    [
        (r"printf '\377\376bin\000ary'", b"\xff\xfebin\x00ary", b""),  # not text, no newline
        (r"head -c 1000000 /dev/zero | tr '\0' x", b"x" * 1_000_000, b""),
        (r"head -c 1000000 /dev/zero | tr '\0' y >&2; echo end", b"end\n", b"y" * 1_000_000),
    ],
    ids=["binary-unended", "1MB-stdout", "1MB-stderr"],
)
def test_output_arrives_whole_and_unchanged(
    receiver: HTTPServer, processes: Processes, script: str, stdout: bytes, stderr: bytes
):
    ran = processes.cli("event", "wrap", "--", "sh", "-c", script, env=env_for(receiver),
                        timeout=10)  # fmt: skip
    assert ran.stdout == decoded(stdout)  # byte for byte: the decoding keeps every byte
    assert ran.stderr.startswith(decoded(stderr))


def test_text_sinks_get_characters_split_across_reads_whole(cli: Cli, receiver: HTTPServer):
    # 16 KiB is one read: the two bytes of the "é" arrive in two reads
    script = "head -c 16383 /dev/zero | tr '\\0' a; printf '\\303\\251\\nend'"
    result = cli("event", "wrap", "--", "sh", "-c", script, env=env_for(receiver))
    assert result.stdout == "a" * 16383 + "é\nend"
    # the tail is bounded in bytes: the long line keeps its end, the "é" whole
    kept = TAIL_BYTES - len("end") - len("…".encode()) - len("é".encode())
    assert tail_of(sent_event(receiver))[-2:] == ["…" + "a" * kept + "é", "end"]


def test_the_tail_keeps_the_order_lines_arrived_in(cli: Cli, receiver: HTTPServer):
    script = "echo one; sleep 0.05; echo two >&2; sleep 0.05; printf three"
    result = cli("event", "wrap", "--", "sh", "-c", script, env=env_for(receiver))
    assert result.stdout == "one\nthree"
    assert result.stderr.startswith("two\n")
    assert tail_of(sent_event(receiver)) == ["one", "two", "three"]


def test_a_command_that_cannot_be_run_exits_126(cli: Cli, receiver: HTTPServer, tmp_path: Path):
    script = tmp_path / "not-executable.sh"
    script.write_text("echo hi\n")
    result = cli("event", "wrap", "--", str(script), env=env_for(receiver), expect=126)
    assert "Permission denied" in result.stderr
    assert sent_event(receiver)["context"]["data"]["exit_code"] == 126


class GoneAfterALine(io.StringIO):
    """A sink like the pipe into `head -1`: it takes one write, then its reader is gone."""

    def write(self, text: str) -> int:
        if self.getvalue():
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def test_a_sink_gone_ends_the_command_as_a_broken_pipe_would(home: Path):
    env = isolated_environment(home, stdout=GoneAfterALine())
    began = time.monotonic()
    finished = run_command(["yes"], env, tail_lines=1)
    assert time.monotonic() - began < 3
    assert finished.exit_code == 128 + signal.SIGPIPE
    assert finished.tail == ["y"]
