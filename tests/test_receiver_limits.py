"""The local receiver's own limits, under real faults: a descriptor limit (`ulimit -n`)
that idle and dripping connections use up, requests that arrive a byte at a time, request
lines it does not speak, and `since` values no time can be. A sender waiting behind them
still gets in, and every answer is HTTP/1.1 with a status line."""

from __future__ import annotations

import http.client
import json
import re
import resource
import select
import selectors
import socket
import threading
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest
import requests

from stac_events.receiver.server import IDLE_TIMEOUT_S, REQUEST_TIMEOUT_S
from tests.conftest import ReceiverProcess

pytestmark = pytest.mark.slow  # a real receiver, held to deadlines of seconds

# Safety nets only: each is many times what the receiver needs on an idle machine.
ANSWER_WAIT_S = 30.0
DESCRIPTOR_LIMIT = 128


def good_payload(title: str = "t") -> bytes:
    event = {"event_type": "DeployEvent", "msg_title": title, "msg_text": "x",
             "timestamp": int(time.time())}  # fmt: skip
    return json.dumps({"collection_timestamp": 1, "internalHostname": "h",
                       "events": {"DeployEvent": [event]}}).encode()  # fmt: skip


def address(receiver: Any) -> Tuple[str, int]:
    host, port = receiver.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def post_request(body: bytes) -> bytes:
    head = (b"POST /stsAgent/intake HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n")  # fmt: skip
    return head % len(body) + body


def until_closed(connection: socket.socket) -> bytes:
    """All the receiver writes until it closes the connection; a test that waits longer
    than ANSWER_WAIT_S for that fails (socket.timeout)."""
    connection.settimeout(ANSWER_WAIT_S)
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass  # it closed with bytes of ours unread; what it wrote still came first
    return answer


def parsed(answer: bytes) -> Tuple[int, Dict[str, str], Any]:
    """`(status, headers, JSON body)` of one HTTP/1.1 answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = re.fullmatch(r"HTTP/1\.1 (\d{3}) .+", status_line)
    assert found, f"no HTTP/1.1 status line in {answer[:200]!r}"
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert int(headers["Content-Length"]) == len(body)
    return int(found.group(1)), headers, json.loads(body)


# A receiver under a descriptor limit of its own (as `ulimit -n 128` in its shell).


def descriptor_limited() -> None:
    """A real limit, set in the receiver's process before Python starts."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTOR_LIMIT, DESCRIPTOR_LIMIT))


@pytest.fixture
def limited_receiver(receiver_factory) -> ReceiverProcess:
    return receiver_factory(preexec_fn=descriptor_limited)


class Attack:
    """`idle` + `dripping` connections held open against a receiver, whatever it does:
    idle ones send nothing, dripping ones write a request a byte each `pace` seconds, as
    slowloris does. Each one the receiver closes is opened again at once, so that its
    descriptors stay used up; `closed` counts those."""

    REQUEST = b"POST /stsAgent/intake HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 4000

    def __init__(self, receiver: Any, *, idle: int, dripping: int, pace: float = 0.5) -> None:
        self.address = address(receiver)
        self.pace = pace
        self.closed = 0
        self._dripped: Dict[socket.socket, Optional[int]] = {}  # bytes written; None: idle
        self._selector = selectors.DefaultSelector()
        for number in range(idle + dripping):
            self._open(None if number < idle else 0)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _open(self, dripped: Optional[int]) -> None:
        try:
            connection = socket.create_connection(self.address, timeout=ANSWER_WAIT_S)
        except OSError:
            return  # one fewer: the others still hold theirs
        self._dripped[connection] = dripped
        self._selector.register(connection, selectors.EVENT_READ)

    def _reopen(self, connection: socket.socket) -> None:
        self._selector.unregister(connection)
        connection.close()
        self.closed += 1
        self._open(None if self._dripped.pop(connection) is None else 0)

    def _run(self) -> None:
        next_drip = time.monotonic()
        while not self._stopped.is_set():
            # Readable: closed by the receiver, or answered (a 408), which closes it too.
            for key, _ in self._selector.select(timeout=self.pace):
                self._reopen(key.fileobj)  # type: ignore[arg-type]
            if time.monotonic() < next_drip:
                continue
            next_drip += self.pace
            for connection, dripped in list(self._dripped.items()):
                if dripped is None:
                    continue
                try:
                    connection.send(self.REQUEST[dripped % len(self.REQUEST) :][:1])
                    self._dripped[connection] = dripped + 1
                except OSError:
                    self._reopen(connection)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=ANSWER_WAIT_S)
        for connection in self._dripped:
            connection.close()
        self._selector.close()


def open_file_limit(pid: int) -> int:
    limits = Path(f"/proc/{pid}/limits").read_text()
    found = re.search(r"^Max open files\s+(\d+)", limits, re.MULTILINE)
    assert found, limits
    return int(found.group(1))


def send_got_in(receiver: ReceiverProcess, run_script: Any,
                extra_env: Optional[Dict[str, str]] = None) -> None:  # fmt: skip
    """`event send` gets an event titled "got in" through to `receiver`, within one
    attempt's default time limit (30 s)."""
    env = {"STAC_EVENTS_RECEIVER_URL": receiver.url, "STAC_EVENTS_API_KEY": "k",
           **(extra_env or {})}  # fmt: skip
    started = time.monotonic()
    sent = run_script("stac-events", "event", "send", "DeployEvent", "--title", "got in",
                      "-o", "json", env=env)  # fmt: skip
    took = time.monotonic() - started
    assert sent.json()["ok"] is True
    assert took < 30, took


def test_idle_and_dripping_connections_do_not_keep_a_sender_out(limited_receiver, run_script):
    assert open_file_limit(limited_receiver.process.pid) == DESCRIPTOR_LIMIT
    # More connections than the receiver has descriptors, kept so: those it cannot accept
    # wait in its listen backlog, and the sender's connection joins them there.
    attack = Attack(limited_receiver, idle=200, dripping=20)
    try:
        # The sender was not left to time out and retry until the attackers gave up.
        send_got_in(limited_receiver, run_script)
        titles = [stored["event"]["msg_title"] for stored in limited_receiver.events()]
        assert titles == ["got in"]
        # The receiver made room, and the attack filled it again.
        assert attack.closed > 0, limited_receiver.printed()
    finally:
        attack.stop()
    status, _, err = limited_receiver.stop()
    assert status == 0, err
    assert "Traceback" not in err
    assert "refused (500)" not in err, err


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(local_receiver):
    with socket.create_connection(address(local_receiver), timeout=ANSWER_WAIT_S) as idle:
        started = time.monotonic()
        assert until_closed(idle) == b""  # nothing to answer: no request came
        assert time.monotonic() - started >= IDLE_TIMEOUT_S - 0.5


DRIPPED = post_request(good_payload("dripped"))


@pytest.mark.parametrize(
    ("head", "dripped"),
    [(b"", DRIPPED), (DRIPPED[:-100], DRIPPED[-100:])],
    ids=["line-and-headers", "body"],
)
def test_a_request_dripped_a_byte_at_a_time_is_cut_off_with_408(local_receiver, head, dripped):
    with socket.create_connection(address(local_receiver), timeout=ANSWER_WAIT_S) as slow:
        slow.sendall(head)
        started = time.monotonic()
        for byte in dripped:
            # A byte each half second, for as long as the receiver has not answered.
            readable, _, _ = select.select([slow], [], [], 0.5)
            if readable or time.monotonic() - started > ANSWER_WAIT_S:
                break
            try:
                slow.send(bytes([byte]))
            except OSError:
                break  # closed between the look and the send
        answer = until_closed(slow)
    status, headers, document = parsed(answer)
    assert status == 408
    assert headers["Connection"] == "close"
    assert document["error"].startswith(
        f"the request did not arrive within {REQUEST_TIMEOUT_S:g} s"
    )
    assert local_receiver.events() == []
    _, _, err = local_receiver.stop()
    assert "refused (408) the request did not arrive within" in err


def test_a_large_body_that_keeps_coming_is_not_cut_off(local_receiver):
    # Over 1 MiB in 64 KiB pieces with a pause between them: longer in all than the
    # deadline of a request's head, and still taken, since the body keeps arriving.
    pieces = 20
    event = {"event_type": "DeployEvent", "msg_title": "large", "msg_text": "x" * 1_100_000,
             "timestamp": int(time.time())}  # fmt: skip
    body = json.dumps({"collection_timestamp": 1, "internalHostname": "h",
                       "events": {"DeployEvent": [event]}}).encode()  # fmt: skip
    request = post_request(body)
    size = -(-len(request) // pieces)
    pause = (REQUEST_TIMEOUT_S + 2) / pieces
    with socket.create_connection(address(local_receiver), timeout=ANSWER_WAIT_S) as sender:
        for start in range(0, len(request), size):
            sender.sendall(request[start : start + size])
            time.sleep(pause)
        sender.shutdown(socket.SHUT_WR)
        status, _, document = parsed(until_closed(sender))
    assert status == 200, document
    assert [s["event"]["msg_title"] for s in local_receiver.events()] == ["large"]


def test_a_kept_alive_connection_outlives_pauses_shorter_than_the_idle_timeout(local_receiver):
    # http.client never reconnects by itself: a connection the receiver closed fails the
    # next request. Three pauses of half the idle timeout add up to more than it.
    host, port = address(local_receiver)
    connection = http.client.HTTPConnection(host, port, timeout=ANSWER_WAIT_S)
    try:
        ports = set()
        for number in range(4):
            if number:
                time.sleep(IDLE_TIMEOUT_S / 2)
            connection.request("POST", "/stsAgent/intake", body=good_payload(f"kept/{number}"),
                               headers={"Content-Type": "application/json"})  # fmt: skip
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
            assert connection.sock is not None
            ports.add(connection.sock.getsockname()[1])
        assert len(ports) == 1  # one connection all along
    finally:
        connection.close()
    assert len(local_receiver.events()) == 4


def test_a_pool_whose_connection_idled_out_reconnects_and_sends(local_receiver):
    """What requests (and so stac-events) does with a connection the receiver closed for
    idling: urllib3 sees it closed when it takes it from the pool, and opens another."""
    url = f"{local_receiver.url}/stsAgent/intake"

    def local_port() -> int:
        assert pooled.sock is not None
        return int(pooled.sock.getsockname()[1])

    with requests.Session() as session:
        first = session.post(url, data=good_payload("first"), stream=True, timeout=30)
        pooled = first.raw.connection  # the pool's one connection, kept for the next post
        assert first.status_code == 200
        assert first.content  # read whole: the connection goes back to the pool
        used = local_port()
        assert session.post(url, data=good_payload("at once"), timeout=30).status_code == 200
        assert local_port() == used  # kept alive
        time.sleep(IDLE_TIMEOUT_S + 2)  # the pause that the receiver's idle timeout ends
        assert session.post(url, data=good_payload("after"), timeout=30).status_code == 200
        assert local_port() != used  # it saw the old one closed, and connected again
    titles = [stored["event"]["msg_title"] for stored in local_receiver.events()]
    assert titles == ["first", "at once", "after"]


def test_a_batch_of_many_requests_on_one_connection_all_arrive_first_time(
    local_receiver, run_script, tmp_path
):
    batch = tmp_path / "batch.ndjson"
    batch.write_text("".join(json.dumps({"msg_title": f"b/{n}", "msg_text": "x" * 100}) + "\n"
                             for n in range(600)))  # fmt: skip
    env = {"STAC_EVENTS_RECEIVER_URL": local_receiver.url, "STAC_EVENTS_API_KEY": "k"}
    sent = run_script("stac-events", "event", "send", "LoadEvent", "--file", str(batch),
                      "--max-request-bytes", "4096", "-o", "json", env=env)  # fmt: skip
    result = sent.json()
    assert result["delivered"] == 600
    assert result["requests"] >= 20
    assert result["attempts"] == result["requests"]  # none had to be tried again
    titles = sorted(stored["event"]["msg_title"] for stored in local_receiver.events())
    assert titles == sorted(f"b/{n}" for n in range(600))


# Request lines it does not speak: a status line, headers and a JSON reason all the same.


@pytest.mark.parametrize(
    ("request_line", "status", "says"),
    [
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "is not a request line"),
        (b"NOT A REQUEST\r\n\r\n", 400, "'NOT A REQUEST' is not a request line"),
        (b"GET / HTTP/1.1 extra\r\nHost: 127.0.0.1\r\n\r\n", 400, "is not a request line"),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2.0 is not spoken here"),
        (b"GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", 505, "HTTP/2.0 is not spoken here"),
        (b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", 505, "HTTP/9.9 is not spoken here"),
        (b"GET / HTTP/0.9\r\nHost: 127.0.0.1\r\n\r\n", 505, "HTTP/0.9 is not spoken here"),
        (b"GET /\r\n", 505, "HTTP/0.9 is not spoken here"),  # and no headers to wait for
        (b"GET / HTTP/x.y\r\n\r\n", 400, "is not a request line"),
        (b"G" * 5000 + b" / HTTP/1\r\n\r\n", 400, "is not a request line"),
        (b"GET / x HTTP/2.0\r\n\r\n", 505, "HTTP/2.0 is not spoken here"),
        (b"M" * 5000 + b" / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 501, "is not answered here"),
    ],
    ids=["tls", "words", "four-words", "h2-preface", "http2", "http9.9", "http0.9",
         "bare-http0.9", "letters", "long", "four-words-http2", "long-method"],
)  # fmt: skip
def test_a_request_line_it_does_not_speak_gets_a_status_line(
    local_receiver, request_line, status, says
):
    with socket.create_connection(address(local_receiver), timeout=ANSWER_WAIT_S) as sender:
        sender.sendall(request_line)  # and nothing more: the receiver must answer and close
        answer = until_closed(sender)
    got, headers, document = parsed(answer)
    assert got == status
    assert headers["Content-Type"] == "application/json"
    assert headers["Connection"] == "close"
    assert says in document["error"]
    assert len(document["error"]) < 200  # the line is quoted, not echoed whole
    _, _, err = local_receiver.stop()
    assert f"refused ({status}) " in err
    assert "Traceback" not in err


def test_an_unspoken_request_after_a_good_one_on_the_same_connection_is_answered(
    local_receiver,
):
    with socket.create_connection(address(local_receiver), timeout=ANSWER_WAIT_S) as sender:
        sender.sendall(post_request(good_payload("first")) + b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        answer = until_closed(sender)
    first, _, second = answer.partition(b"}HTTP/1.1 ")
    assert first.startswith(b"HTTP/1.1 200 ")
    status, headers, document = parsed(b"HTTP/1.1 " + second)
    assert status == 505
    assert headers["Connection"] == "close"
    assert "HTTP/2.0 is not spoken here" in document["error"]


# `since` values that no time can be.


FIVE_THOUSAND_DIGITS = "1" * 5000


@pytest.mark.parametrize(
    "since",
    [FIVE_THOUSAND_DIGITS, FIVE_THOUSAND_DIGITS + "m", "9" * 20, "1e999", "-1", "nan", "inf",
     "10000000000000000000000m", "1e400d", "", " ", "0x10", "--"],
)  # fmt: skip
def test_a_since_no_time_can_be_is_400_with_a_short_reason(local_receiver, since):
    answer = requests.get(f"{local_receiver.url}/events", params={"since": since}, timeout=30)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error.startswith("since: ")
    assert len(error) < 300
    assert FIVE_THOUSAND_DIGITS not in answer.text


def test_a_since_of_5000_digits_is_a_usage_error_of_one_line(local_receiver, run_script):
    failed = run_script("stac-events", "receiver", "events", "--db", str(local_receiver.db),
                        "--since", FIVE_THOUSAND_DIGITS, expect=2)  # fmt: skip
    (line,) = failed.stderr.splitlines()
    assert "--since" in line
    assert "is not a time" in line
    assert len(line) < 300
    assert failed.stdout == ""
