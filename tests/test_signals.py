"""Signals and closed streams, as pipelines deal them: a CI runner's SIGTERM to `event
wrap` while the receiver hangs, an SSH session that drops (SIGHUP) while a send waits to
retry, and a stdout that is closed or full. Real processes, real signals, real
descriptors; each process is waited for by a line it prints or a request it makes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import API_KEY, INTAKE, env_for
from tests.processes import Either, Processes, Result, Started

pytestmark = pytest.mark.slow  # real processes, real signals


def pending(home: Path) -> List[Path]:
    folder = home / ".local" / "state" / "stac-events" / "spool" / "pending"
    return sorted(folder.glob("*.payload")) if folder.is_dir() else []


def queued_events(home: Path) -> List[dict]:
    found = []
    for path in pending(home):
        body = json.loads(path.read_bytes().split(b"\n", 1)[1])
        found += [event for group in body["events"].values() for event in group]
    return found


def hanging(arrived: threading.Event, release: threading.Event) -> Callable:
    """An answer that never comes (until the test ends): the request is read, and held."""

    def answer(connection: socket.socket, body: bytes) -> None:
        arrived.set()
        release.wait(timeout=120)

    return answer


# 1. SIGTERM to `event wrap` while its command runs and the receiver hangs: the event is
#    queued within a short grace, before a runner's SIGKILL could lose it.


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signalled_wrap_queues_its_event_within_a_short_grace(
    raw_receiver, processes: Processes, sig: signal.Signals
):
    arrived, release = threading.Event(), threading.Event()
    receiver = raw_receiver(hanging(arrived, release))
    environ = {"STAC_EVENTS_RECEIVER_URL": f"{receiver.url}/receiver",
               "STAC_EVENTS_API_KEY": API_KEY}  # fmt: skip
    wrap = processes.start_cli(
        "event", "wrap", "--", "sh", "-c", "echo ready; exec sleep 120", env=environ,
        start_new_session=True,  # no terminal: what reaches the command, wrap sends
    )  # fmt: skip
    try:
        wrap.wait_for("^ready$")
        os.kill(wrap.pid, sig)
        signalled = time.monotonic()
        ended = wrap.finish(expect=128 + sig)  # the command's own exit code
        took = time.monotonic() - signalled
    finally:
        release.set()
    assert arrived.is_set()  # the event was tried,
    assert took < 20, took  # within the grace (5 s), not the 60 s of --max-time,
    (event,) = queued_events(processes.home)  # and queued when the receiver did not answer
    assert event["context"]["data"]["exit_code"] == 128 + sig
    assert "queued for later" in ended.stderr


# 2. SIGHUP and the other terminating signals while `event send` waits to retry: the
#    event is queued, then the run ends with 128+N.


def waiting_to_retry(own_server: HTTPServer, processes: Processes, *more: str) -> Started:
    """`event send` as a real process, once the receiver told it to retry in 30 s: the
    request has arrived, and its answer is on its way."""
    arrived = threading.Event()

    def busy(request: Request) -> Response:
        arrived.set()
        return Response("busy", status=503, headers={"Retry-After": "30"})

    own_server.expect_request(INTAKE).respond_with_handler(busy)
    send = processes.start_cli("event", "send", "DeployEvent", "--title", "t", *more,
                               env=env_for(own_server), start_new_session=True)  # fmt: skip
    assert arrived.wait(timeout=30)
    return send


@pytest.mark.parametrize(
    "sig",
    [signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM,
     signal.SIGTERM, signal.SIGXCPU, signal.SIGVTALRM, signal.SIGPROF],
)  # fmt: skip
def test_a_terminating_signal_while_a_send_waits_queues_the_event(
    own_server: HTTPServer, processes: Processes, sig: signal.Signals
):
    send = waiting_to_retry(own_server, processes, "-o", "json")
    os.kill(send.pid, sig)
    ended = send.finish(expect=128 + sig)
    error = ended.json()["error"]
    assert (error["kind"], error["queued"], error["not_sent"]) == ("terminated", 1, 0)
    words = "terminated" if sig == signal.SIGTERM else f"ended by {sig.name}"
    assert f"{words}; the event was queued for later" in ended.stderr
    assert [event["msg_title"] for event in queued_events(processes.home)] == ["t"]


def test_a_hangup_ignored_from_the_start_stays_ignored(
    own_server: HTTPServer, processes: Processes
):
    """As under `nohup`: the send goes on, and delivers."""
    arrived, release = threading.Event(), threading.Event()

    def held(request: Request) -> Response:
        arrived.set()
        release.wait(timeout=30)
        return Response("", status=202)

    own_server.expect_request(INTAKE).respond_with_handler(held)
    send = processes.start_cli(
        "event", "send", "DeployEvent", "--title", "t", env=env_for(own_server),
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )  # fmt: skip
    assert arrived.wait(timeout=30)
    os.kill(send.pid, signal.SIGHUP)
    release.set()
    send.finish(expect=0)
    assert pending(processes.home) == []


@pytest.mark.parametrize("pair", [(signal.SIGTERM, signal.SIGHUP), (signal.SIGINT, signal.SIGTERM),
                                  (signal.SIGUSR1, signal.SIGUSR2)], ids=str)  # fmt: skip
def test_two_signals_at_once_end_the_run_in_one_line(
    own_server: HTTPServer, processes: Processes, pair: tuple
):
    """Both pending when Python looks: the first acts, the other is ignored, and nothing
    says "ignored due to race condition" in a traceback."""
    send = waiting_to_retry(own_server, processes)
    for sig in pair:
        os.kill(send.pid, sig)
    either = Either(*(128 + sig for sig in pair),
                    because="the first may be handled before the second is sent")  # fmt: skip
    stderr = send.finish(expect=either).stderr
    assert "Traceback" not in stderr, stderr
    assert "race condition" not in stderr, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert [event["msg_title"] for event in queued_events(processes.home)] == ["t"]


# 3. A stdout that is closed or full never turns a documented status into exit 1; the
#    delivery's own status wins, and a delivered event is never answered with a status
#    that invites a retry.


def run_with(
    processes: Processes, how: str, args: List[str], env: Dict[str, str], expect: int
) -> Result:
    """The installed script, run with a stdout that is closed, or a full disk."""
    if how == "closed":
        return processes.cli(*args, env=env, expect=expect, stdout=None,
                             preexec_fn=lambda: os.close(1))  # fmt: skip
    with open("/dev/full", "w") as full:
        return processes.cli(*args, env=env, expect=expect, stdout=full)


def answering(status: int) -> Callable[[Request], Response]:
    return lambda request: Response('{"error": "no"}', status=status)


CASES = {
    # name: (what the receiver answers, the command line after `stac-events`, the status)
    "delivered": (202, ["event", "send", "DeployEvent", "--title", "t", "-o", "json"], 0),
    "queued": (503, ["event", "send", "DeployEvent", "--title", "t", "-o", "json"], 75),
    "refused": (400, ["event", "send", "DeployEvent", "--title", "t", "-o", "json"], 4),
    "not queued": (
        503,
        ["event", "send", "DeployEvent", "--title", "t", "-o", "json", "--no-spool"],
        5,
    ),
    "usage error": (202, ["event", "send", "DeployEvent", "-o", "json"], 2),
    "flush, refused": (401, ["spool", "flush", "-o", "json"], 4),
    "flush, delivered": (202, ["spool", "flush", "-o", "json"], 0),
    "check, refused": (401, ["check", "-o", "json"], 4),
    "check, fine": (202, ["check", "-o", "json"], 0),
}


@pytest.mark.parametrize("how", ["closed", "full"])
@pytest.mark.parametrize("case", CASES)
def test_an_unwritable_stdout_never_changes_what_the_run_answers(
    own_server: HTTPServer, processes: Processes, case: str, how: str
):
    status, args, expected = CASES[case]
    environ = env_for(own_server)
    if args[0] == "spool":  # something to flush
        own_server.expect_request(INTAKE).respond_with_handler(answering(503))
        processes.cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0",
                      env=environ, expect=75)  # fmt: skip
        own_server.clear()
    own_server.expect_request(INTAKE).respond_with_handler(answering(status))
    completed = run_with(processes, how, [*args, "--retries", "0"] if "check" not in args
                         else args, environ, expected)  # fmt: skip
    assert "internal error" not in completed.stderr
    assert "Traceback" not in completed.stderr
    if expected == 0:
        assert "the result could not be written" in completed.stderr
    else:
        assert "error:" in completed.stderr  # the failure, on stderr all the same


@pytest.mark.parametrize("how", ["closed", "full"])
def test_a_missing_key_with_an_unwritable_stdout_is_still_exit_3(processes: Processes, how: str):
    environ = {"STAC_EVENTS_RECEIVER_URL": "http://127.0.0.1:9/receiver"}
    completed = run_with(processes, how, ["event", "send", "DeployEvent", "--title", "t",
                                          "-o", "json"], environ, expect=3)  # fmt: skip
    assert "no API key is set" in completed.stderr


def test_a_tls_failure_with_a_closed_stdout_is_still_exit_5(
    processes: Processes, tls_server: HTTPServer
):
    args = ["event", "send", "DeployEvent", "--title", "t", "-o", "json"]
    completed = run_with(processes, "closed", args, env_for(tls_server), expect=5)
    assert "TLS certificate check failed" in completed.stderr


# 4. More that an attack found: a closed stdout under wrap, a signal right after the
#    command exits, Ctrl-C while wrap's event is on its way.


def test_wrap_with_a_closed_stdout_waits_for_its_command_and_sends(
    receiver: HTTPServer, processes: Processes
):
    marker = processes.home / "marker"
    script = f"echo hi; sleep 0.5; touch {marker}; exit 7"
    processes.cli("event", "wrap", "--", "sh", "-c", script, env=env_for(receiver), stdout=None,
                  preexec_fn=lambda: os.close(1), expect=7)  # fmt: skip
    assert marker.exists()  # 7 was the command's, which ran to its end
    ((request, _),) = receiver.log
    (event,) = json.loads(request.get_data())["events"]["CommandEvent"]
    assert event["context"]["data"]["exit_code"] == 7


def test_a_signal_right_after_the_command_exits_still_queues_the_event(processes: Processes):
    """The command signals wrap as it starts, or its own child does as it exits: whenever
    the signal lands (while wrap is still starting the command, too), the event is
    delivered or queued, never lost, and the command's exit code stands. The command
    ignores the signal wrap passes on to it, so its code is always 3."""
    environ = {"STAC_EVENTS_RECEIVER_URL": "http://127.0.0.1:9/receiver",
               "STAC_EVENTS_API_KEY": API_KEY}  # fmt: skip
    at_once = ["trap '' TERM; kill -TERM $PPID; exit 3"] * 4
    later = [f"trap '' TERM; w=$PPID; (sleep 0.{n:02d}; kill -TERM $w) >/dev/null 2>&1 & exit 3"
             for n in range(12)]  # fmt: skip
    for run, script in enumerate(at_once + later):
        completed = processes.cli("event", "wrap", "--retries", "2", "--", "sh", "-c", script,
                                  env=environ, start_new_session=True, expect=3)  # fmt: skip
        assert len(queued_events(processes.home)) == run + 1, (script, completed.stderr)


def test_ctrl_c_while_wrap_sends_queues_the_event_and_keeps_the_commands_code(
    raw_receiver, processes: Processes
):
    arrived, release = threading.Event(), threading.Event()
    receiver = raw_receiver(hanging(arrived, release))
    environ = {"STAC_EVENTS_RECEIVER_URL": f"{receiver.url}/receiver",
               "STAC_EVENTS_API_KEY": API_KEY}  # fmt: skip
    wrap = processes.start_cli("event", "wrap", "--", "sh", "-c", "exit 4", env=environ,
                               start_new_session=True)  # fmt: skip
    try:
        assert arrived.wait(timeout=30)  # the event is on its way
        os.kill(wrap.pid, signal.SIGINT)
        ended = wrap.finish(expect=4)
    finally:
        release.set()
    assert "interrupted; the event was queued for later" in ended.stderr
    assert len(queued_events(processes.home)) == 1


def test_a_queued_event_is_told_in_one_line_when_others_wait_too(processes: Processes):
    environ = {"STAC_EVENTS_RECEIVER_URL": "http://127.0.0.1:9/receiver",
               "STAC_EVENTS_API_KEY": API_KEY}  # fmt: skip
    for expected_lines in (1, 1):
        completed = processes.cli("event", "send", "DeployEvent", "--title", "t", "--retries",
                                  "0", env=environ, expect=75)  # fmt: skip
        assert len(completed.stderr.splitlines()) == expected_lines, completed.stderr


FIRST_SERIALIZATION = """
import sys
from stac_events.blocks import Blocks
from stac_events.events import EventDefaults
blocks = Blocks(EventDefaults(), now=1796617191, keys={})
before = set(sys.modules)
line = ('{"event_type": "AEvent", "msg_title": "t", "timestamp": 1796617191, "tags": ["a:b"], '
        '"context": {"data": {"a": 1.5, "b": null, "c": true, "d": [1, {"e": "f"}]}}}')
assert blocks.validate([line]) is not None
print(sorted(set(sys.modules) - before))
"""


def test_pydantic_core_finds_what_it_imports_already_loaded():
    """pydantic-core imports modules from inside its Rust code the first time it
    serializes; a signal's exception raised there (SIGTERM while a batch is read) makes it
    panic: exit 1 and a Rust backtrace. `blocks` imports them first, so that the first
    block a run validates and serializes imports nothing (a fresh interpreter's first)."""
    found = subprocess.run([sys.executable, "-c", FIRST_SERIALIZATION], capture_output=True,
                           text=True, check=True, timeout=60)  # fmt: skip
    assert found.stdout == "[]\n"


HELD = """
import os, signal, sys
from stac_events.cli import signals
from stac_events.errors import Terminated
from stac_events.status import signals_held
signals.install()
try:
    with signals_held():
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(100_000))  # Python code, where an unheld handler would act
        print("ran to the end of the block", flush=True)
    print("not reached")
except Terminated:
    print("terminated after it")
"""


def test_a_signal_waits_out_a_held_block_then_acts():
    """What runs inside pydantic-core's calls never meets a signal's exception: the
    signal waits for the block's end, and acts at once then."""
    found = subprocess.run([sys.executable, "-c", HELD], capture_output=True, text=True,
                           check=True, timeout=60)  # fmt: skip
    assert found.stdout == "ran to the end of the block\nterminated after it\n"
