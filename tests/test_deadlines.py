"""Deadlines, signals and batches against real receivers that stall, drip, refuse or split:
`--timeout` per attempt, `--max-time` for the whole, SIGTERM queues, 413 splits, and the
result counts what was delivered, refused and queued, interrupted or not."""

from __future__ import annotations

import array
import fcntl
import json
import signal
import socket
import subprocess
import termios
import threading
import time
from pathlib import Path
from typing import IO, Callable, Dict, Iterator, List

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import API_KEY, INTAKE, Cli, env_for, events_of
from tests.processes import Processes

pytestmark = pytest.mark.slow  # timeouts and signals that take seconds by design


def env_for_url(base: str) -> Dict[str, str]:
    return {"STAC_EVENTS_RECEIVER_URL": f"{base}/receiver", "STAC_EVENTS_API_KEY": API_KEY}


def pending(home: Path) -> List[Path]:
    folder = home / ".local" / "state" / "stac-events" / "spool" / "pending"
    return sorted(folder.glob("*.payload")) if folder.is_dir() else []


def ndjson(count: int, size: int = 200) -> str:
    return "\n".join(json.dumps({"event_type": "AEvent", "msg_title": f"event {n}",
                                 "msg_text": "x" * size}) for n in range(count))  # fmt: skip


def titles(bodies: List[bytes]) -> List[str]:
    return [event["msg_title"] for body in bodies for event in events_of(json.loads(body))]


class Stall:
    """A handler that holds every request until released (or 30 s), then answers."""

    def __init__(self, status: int = 202, headers: Dict[str, str] | None = None) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.status, self.headers = status, headers or {}
        self.count = 0

    def __call__(self, request: Request) -> Response:
        self.count += 1
        self.arrived.set()
        self.release.wait(timeout=30)
        return Response("", status=self.status, headers=self.headers)


@pytest.fixture
def stalling(own_server: HTTPServer) -> Iterator[Stall]:
    stall = Stall()
    own_server.expect_request(INTAKE).respond_with_handler(stall)
    yield stall
    stall.release.set()


def wait_until_read(pipe: IO[bytes], timeout: float = 60) -> None:
    """Until the process at the other end of `pipe` has read all that was written to it:
    the pipe's own count of unread bytes (FIONREAD) says so, and no time guess does."""
    unread = array.array("i", [0])
    deadline = time.monotonic() + timeout
    while True:
        fcntl.ioctl(pipe.fileno(), termios.FIONREAD, unread)
        if unread[0] == 0:
            return
        assert time.monotonic() < deadline, f"{unread[0]} bytes still unread after {timeout} s"
        time.sleep(0.01)


# 8. --timeout bounds each attempt as a whole; --max-time the whole delivery.


def drip(text: bytes) -> Callable[[socket.socket, bytes], None]:
    """An answer written a byte a second: 30 s for the first 30 bytes."""

    def answer(connection: socket.socket, body: bytes) -> None:
        for byte in text[:30]:
            time.sleep(1)
            connection.sendall(bytes([byte]))

    return answer


def test_a_receiver_that_drips_its_answer_cannot_stretch_the_timeout(cli: Cli, raw_receiver):
    receiver = raw_receiver(drip(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"))
    started = time.monotonic()
    result = cli("event", "send", "DeployEvent", "--title", "t", "--timeout", "2", "--retries",
                 "0", "-o", "json", env=env_for_url(receiver.url), expect=75)  # fmt: skip
    assert time.monotonic() - started < 15
    assert "did not answer within 2 s" in result.json()["error"]["message"]
    assert len(pending(cli.home)) == 1


def test_a_yes_whose_body_drips_is_a_yes_within_the_timeout(cli: Cli, raw_receiver):
    # The status line said the events were taken: waiting for the rest, or sending them
    # again, would only make duplicates.
    answer = b"HTTP/1.1 202 Accepted\r\nContent-Length: 30\r\n\r\n"
    receiver = raw_receiver(
        lambda connection, body: (connection.sendall(answer), drip(b"x" * 30)(connection, body))
    )
    started = time.monotonic()
    result = cli("event", "send", "DeployEvent", "--title", "t", "--timeout", "2", "--retries",
                 "0", "-o", "json", env=env_for_url(receiver.url))  # fmt: skip
    assert time.monotonic() - started < 15
    assert result.json()["status"] == 202
    assert len(receiver.bodies) == 1
    assert pending(cli.home) == []


def test_max_time_bounds_retries_and_waits_and_queues_the_rest(cli: Cli, own_server: HTTPServer):
    own_server.expect_request(INTAKE).respond_with_data(
        "busy", status=503, headers={"Retry-After": "30"}
    )
    started = time.monotonic()
    result = cli("event", "send", "DeployEvent", "--title", "t", "--max-time", "3", "-o", "json",
                 env=env_for(own_server), expect=75)  # fmt: skip
    assert time.monotonic() - started < 10  # not 3 retries of 30 s each
    error = result.json()["error"]
    assert "the next attempt would outlast the 3 s allowed for delivery" in error["message"]
    assert error["queued"] == 1
    assert len(own_server.log) == 1


def test_max_time_is_shown_with_its_origin(cli: Cli):
    shown = cli("config", "show", "-o", "json").json()
    assert shown["max_time"] == {"value": 60.0, "origin": "default"}


@pytest.mark.parametrize("flag", ["--max-time", "--timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "abc", "100000", "99999999999"])
def test_a_bad_time_limit_is_a_usage_error(cli: Cli, value: str, flag: str):
    result = cli("event", "send", "DeployEvent", "--title", "t", flag, value,
                 "--dry-run", expect=2)  # fmt: skip
    assert result.stderr.startswith(f"stac-events: error: {flag}: ")
    assert len(result.stderr.splitlines()) == 1


# 7. SIGTERM queues what was not delivered, then exits 143.


def test_sigterm_during_a_send_queues_the_event(
    own_server: HTTPServer, stalling: Stall, processes: Processes
):
    send = processes.start_cli("event", "send", "DeployEvent", "--title", "t", "-o", "json",
                               env=env_for(own_server), start_new_session=True)  # fmt: skip
    assert stalling.arrived.wait(timeout=20)
    send.send_signal(signal.SIGTERM)
    ended = send.finish(expect=143, timeout=20)
    assert ended.stderr == "stac-events: terminated; the event was queued for later\n"
    error = ended.json()["error"]
    assert (error["kind"], error["queued"], error["delivered"]) == ("terminated", 1, 0)
    assert len(pending(processes.home)) == 1


def test_sigterm_during_a_retry_wait_queues_the_event(own_server: HTTPServer, processes: Processes):
    arrived = threading.Event()

    def busy(request: Request) -> Response:
        arrived.set()
        return Response("busy", status=503, headers={"Retry-After": "20"})

    own_server.expect_request(INTAKE).respond_with_handler(busy)
    send = processes.start_cli("event", "send", "DeployEvent", "--title", "t",
                               env=env_for(own_server), start_new_session=True)  # fmt: skip
    assert arrived.wait(timeout=20)  # the answer, and the 20 s wait it asks for, are next
    send.send_signal(signal.SIGTERM)
    ended = send.finish(expect=143, timeout=20)
    assert "queued" in ended.stderr
    assert len(pending(processes.home)) == 1


def test_sigterm_in_wraps_send_phase_queues_the_event_and_keeps_cmds_code(
    own_server: HTTPServer, stalling: Stall, processes: Processes
):
    wrap = processes.start_cli("event", "wrap", "--", "sh", "-c", "exit 0",
                               env=env_for(own_server), start_new_session=True)  # fmt: skip
    assert stalling.arrived.wait(timeout=20)
    wrap.send_signal(signal.SIGTERM)
    ended = wrap.finish(expect=0, timeout=20)
    assert "terminated; the event was queued for later" in ended.stderr
    assert len(pending(processes.home)) == 1


def test_sigterm_while_reading_the_input_exits_143_plainly(processes: Processes):
    send = processes.start_cli("event", "send", "--file", "-", "--dry-run",
                               stdin=subprocess.PIPE)  # fmt: skip
    assert send.process.stdin is not None
    send.process.stdin.write(b'{"event_type": "AEvent", "msg_title": "t"}\n')
    send.process.stdin.flush()  # and left open: the command waits for the rest
    wait_until_read(send.process.stdin)  # so it is reading, its signal handlers long installed
    send.send_signal(signal.SIGTERM)
    ended = send.finish(expect=143, timeout=20)
    assert (ended.stdout, ended.stderr) == ("", "stac-events: terminated; nothing was sent\n")


def test_a_bad_first_line_stops_the_reading_at_once(processes: Processes):
    """The first line is validated as soon as it is read, even in a block of its own: an
    error in it is told while the writer still holds the pipe open (`tail -f | ...`)."""
    send = processes.start_cli("event", "send", "--file", "-", "--dry-run",
                               stdin=subprocess.PIPE)  # fmt: skip
    assert send.process.stdin is not None
    send.process.stdin.write(b'{"event_type": "AEvent"}\n')
    send.process.stdin.flush()  # and left open: nothing more comes until the command ends
    ended = send.finish(expect=2, timeout=20)
    assert ended.stderr.endswith("stdin line 1: msg_title: Field required\n")


# 6. Batches: 413 splits down to single events; partial results are counted.


def limited(limit: int, seen: List[bytes]):
    def handler(request: Request) -> Response:
        body = request.get_data()
        if len(body) > limit:
            return Response("too large", status=413)
        seen.append(body)
        return Response("", status=202)

    return handler


def test_a_413_splits_the_batch_until_every_event_gets_through(cli: Cli, own_server: HTTPServer):
    seen: List[bytes] = []
    own_server.expect_request(INTAKE).respond_with_handler(limited(3000, seen))
    result = cli("event", "send", "--file", "-", "-o", "json", stdin=ndjson(50),
                 env=env_for(own_server))  # fmt: skip
    assert titles(seen) == [f"event {n}" for n in range(50)]  # each once, in order
    assert result.json()["delivered"] == 50


def test_an_event_too_large_alone_is_refused_and_the_rest_delivered(
    cli: Cli, own_server: HTTPServer
):
    seen: List[bytes] = []
    own_server.expect_request(INTAKE).respond_with_handler(limited(3000, seen))
    lines = ndjson(50).splitlines()
    lines[20] = json.dumps({"event_type": "AEvent", "msg_title": "huge", "msg_text": "y" * 4000})
    result = cli("event", "send", "--file", "-", "-o", "json", stdin="\n".join(lines),
                 env=env_for(own_server), expect=4)  # fmt: skip
    error = result.json()["error"]
    assert (error["delivered"], error["refused"], error["queued"]) == (49, 1, 0)
    assert error["status"] == 413
    assert "delivered 49 of 50 events, 1 refused" in error["message"]
    assert len(titles(seen)) == 49
    assert pending(cli.home) == []


def test_a_refused_payload_does_not_stop_the_payloads_after_it(cli: Cli, own_server: HTTPServer):
    def handler(request: Request) -> Response:
        return Response("bad", status=400 if b"event 3" in request.get_data() else 202)

    own_server.expect_request(INTAKE).respond_with_handler(handler)
    result = cli("event", "send", "--file", "-", "--max-request-bytes", "1024", "-o", "json",
                 stdin=ndjson(10, size=600), env=env_for(own_server), expect=4)  # fmt: skip
    error = result.json()["error"]
    assert (error["delivered"], error["refused"]) == (9, 1)
    assert len(own_server.log) == 10


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_batch_interrupted_midway_counts_what_got_through(
    own_server: HTTPServer, processes: Processes, sig: signal.Signals
):
    lock = threading.Lock()
    seen: List[bytes] = []
    ten = threading.Event()

    def slow(request: Request) -> Response:
        with lock:
            seen.append(request.get_data())
            if len(seen) >= 10:
                ten.set()
        time.sleep(0.1)
        return Response("", status=202)

    own_server.expect_request(INTAKE).respond_with_handler(slow)
    send = processes.start_cli("event", "send", "--file", "-", "--max-request-bytes", "1024",
                               "-o", "json", stdin=ndjson(50, size=600), env=env_for(own_server),
                               start_new_session=True)  # fmt: skip
    assert ten.wait(timeout=30)
    send.send_signal(sig)
    ended = send.finish(expect=128 + sig, timeout=30)
    stderr = ended.stderr
    error = ended.json()["error"]
    with lock:
        arrived = len(titles(seen))
    assert error["delivered"] in (arrived, arrived - 1)  # the last one's answer may be lost
    # Ctrl-C and SIGTERM alike: what was not delivered is queued first
    assert error["delivered"] + error["queued"] == 50
    assert sum(json.loads(p.read_bytes().split(b"\n", 1)[0])["events"]
               for p in pending(processes.home)) == error["queued"]  # fmt: skip
    assert f"delivered {error['delivered']} of 50 events" in stderr
