"""More of the local receiver's limits, under real faults: senders that ask for a large
/events and never read the answer (under a real `ulimit -n`), or read it a little at a
time; a signal to stop while they hold it; and a Content-Length or a Host that Python
cannot take apart. A sender waiting behind them still gets in, the receiver stops within
its grace, and a request it cannot read is a 400, never a 500."""

from __future__ import annotations

import contextlib
import json
import resource
import selectors
import signal
import socket
import time
from typing import Any, Iterator, List, Set, Tuple

import pytest
import requests

from stac_events.receiver.server import ANSWER_TIMEOUT_S, MIN_ANSWER_RATE
from tests.conftest import ReceiverProcess
from tests.test_receiver_limits import (
    ANSWER_WAIT_S,
    address,
    open_file_limit,
    parsed,
    send_got_in,
    until_closed,
)

pytestmark = pytest.mark.slow  # a real receiver, held to deadlines of seconds

STOP_GRACE_S = 5.0  # what the README promises: the requests in progress, up to 5 s
ASK = b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture
def local_receiver(receiver_factory: Any) -> Any:
    return receiver_factory()


def store_events(url: str, *, events: int, text_bytes: int) -> int:
    """Post `events` events of `text_bytes` of text each; the size of /events after."""
    now = int(time.time())
    per_request = max(1, 4_000_000 // (text_bytes + 200))
    for start in range(0, events, per_request):
        numbers = range(start, min(events, start + per_request))
        batch = [{"event_type": "LoadEvent", "msg_title": f"e/{n}", "msg_text": "x" * text_bytes,
                  "timestamp": now} for n in numbers]  # fmt: skip
        payload = {"collection_timestamp": now, "internalHostname": "h",
                   "events": {"LoadEvent": batch}}  # fmt: skip
        answer = requests.post(f"{url}/stsAgent/intake", json=payload, timeout=60)
        assert answer.status_code == 200, answer.text
    listing = requests.get(f"{url}/events", timeout=60)
    assert len(listing.json()) == events
    return len(listing.content)


def asking(where: Tuple[str, int], *, receive_buffer: int = 0) -> socket.socket:
    """A connection that asked for /events, with a receive buffer of that size if given."""
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:  # before connecting: it sets the window the receiver is offered
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    connection.settimeout(ANSWER_WAIT_S)
    connection.connect(where)
    connection.sendall(ASK)
    return connection


class Askers:
    """`count` connections that each ask for /events, then read `read_bytes` of the answer
    each `pace` seconds when told to (`read_a_little`), or never."""

    def __init__(self, receiver: Any, count: int, *, read_bytes: int = 0, pace: float = 0.5
                 ) -> None:  # fmt: skip
        self.connections = [asking(address(receiver)) for _ in range(count)]
        self.read_bytes = read_bytes
        self.pace = pace

    def wait_for_answers(self, at_least: int) -> None:
        """Until `at_least` answers began to arrive (seen without reading a byte of them):
        the receiver holds those connections, writing or blocked."""
        deadline = time.monotonic() + ANSWER_WAIT_S
        begun: Set[Any] = set()
        while len(begun) < at_least:
            assert time.monotonic() < deadline, f"only {len(begun)} answers began"
            with selectors.DefaultSelector() as selector:
                for connection in set(self.connections) - begun:
                    selector.register(connection, selectors.EVENT_READ)
                begun |= {key.fileobj for key, _ in selector.select(timeout=1.0)}

    def read_a_little(self) -> None:
        """Read `read_bytes` of each answer that has some, waiting `pace` at most for one."""
        with selectors.DefaultSelector() as selector:
            for connection in self.connections:
                selector.register(connection, selectors.EVENT_READ)
            for key, _ in selector.select(timeout=self.pace):
                with contextlib.suppress(OSError):  # cut off, as a slow reader may be
                    key.fileobj.recv(self.read_bytes)  # type: ignore[union-attr]

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


@pytest.fixture
def askers() -> Iterator[List[Askers]]:
    made: List[Askers] = []
    yield made
    for each in made:
        each.close()


# An answer nobody reads has a deadline, and gives its descriptor up when they run out.


# Fewer descriptors than the other limit tests give: each answer taken is 4 MB to build,
# and the sender must get in before the first of them would run out of time, however busy
# the machine.
FEW_DESCRIPTORS = 64


def few_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FEW_DESCRIPTORS, FEW_DESCRIPTORS))


@pytest.fixture
def limited_receiver(receiver_factory) -> ReceiverProcess:
    return receiver_factory(preexec_fn=few_descriptors)


def test_unread_answers_do_not_keep_a_sender_out(limited_receiver, run_script, askers):
    assert open_file_limit(limited_receiver.process.pid) == FEW_DESCRIPTORS
    # More than the 2-3 MB that the two ends' socket buffers take of an unread answer.
    size = store_events(limited_receiver.url, events=8, text_bytes=512 * 1024)
    assert size > 4_000_000
    # More connections than the receiver has descriptors: it answers all it can take, and
    # the rest wait in its listen backlog, where the sender's connection joins them.
    asked = time.monotonic()
    unread = Askers(limited_receiver, FEW_DESCRIPTORS + 8)
    askers.append(unread)
    unread.wait_for_answers(FEW_DESCRIPTORS - 30)  # the receiver's descriptors are all used
    # The sender was not left to time out and retry until the unread answers were given up.
    send_got_in(limited_receiver, run_script, {})
    # Nor were they given up at their deadline (which starts when an answer does, after it
    # was asked for): they were shed for room, as idle connections are.
    assert time.monotonic() - asked < ANSWER_TIMEOUT_S + size / MIN_ANSWER_RATE
    stored = limited_receiver.events("?type=DeployEvent")
    assert [each["event"]["msg_title"] for each in stored] == ["got in"]
    unread.close()
    status, _, err = limited_receiver.stop()
    assert status == 0, err
    assert "Traceback" not in err
    assert "refused (500)" not in err, err


def test_an_answer_read_a_little_at_a_time_is_cut_off_at_its_deadline(local_receiver):
    size = store_events(local_receiver.url, events=8, text_bytes=512 * 1024)
    deadline = ANSWER_TIMEOUT_S + size / MIN_ANSWER_RATE
    # A small window: the two ends' buffers hold about half the answer, not all of it.
    with asking(address(local_receiver), receive_buffer=4096) as slow:
        started = time.monotonic()
        got = b""
        # 2 KiB a second, as a reader that never keeps up, until past the deadline: at that
        # pace the whole answer would take half an hour.
        while time.monotonic() - started < deadline + 3:
            got += slow.recv(1024)
            time.sleep(0.5)  # the slow reader's pace is the fault itself
        got += until_closed(slow)  # then at full speed: what was sent before the cut
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))  # fmt: skip
    assert length == size
    assert len(body) < length  # cut off, not written whole
    # An honest reader is served as before.
    assert len(requests.get(f"{local_receiver.url}/events", timeout=60).json()) == 8


# Stopping with answers in progress: within the grace, whoever holds them.


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])  # fmt: skip
def test_stopping_with_slow_readers_takes_the_grace_and_no_more(
    receiver_factory, askers, signal_number
):
    receiver = receiver_factory("-q")
    # Many small events: each answer of ~10 MB takes the receiver a while to make, and
    # they queue for the store one after the other.
    store_events(receiver.url, events=40_000, text_bytes=100)
    readers = Askers(receiver, 60, read_bytes=1024, pace=0.5)
    askers.append(readers)
    readers.wait_for_answers(1)  # answers are being written; the others wait their turn
    readers.read_a_little()
    started = time.monotonic()
    receiver.process.send_signal(signal_number)
    try:
        while receiver.process.poll() is None and time.monotonic() - started < 60:
            readers.read_a_little()  # they keep reading, slowly, as they were
    finally:
        took = time.monotonic() - started
    assert receiver.process.poll() is not None, f"still running {took:.0f} s after the signal"
    status, _, err = receiver.stop()
    assert status == 0, err
    assert "Traceback" not in err
    # The grace, and slack for a machine busy with CPU hogs (three times the grace: no timing
    # is measured here, only that it no longer takes the half minute it took before).
    assert took < 3 * STOP_GRACE_S, took


# What Python cannot take apart: a 400 with a short reason, never a 500.


@pytest.mark.parametrize(
    ("request_bytes", "says"),
    [(b"POST /stsAgent/intake HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + b"1" * 5000
      + b"\r\n\r\n", "Content-Length has more than 19 digits"),
     (b"POST /stsAgent/intake HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + b"9" * 20
      + b"\r\n\r\n", "Content-Length has more than 19 digits"),
     (b"GET /events HTTP/1.1\r\nHost: [::1\r\n\r\n", "the Host header names no host"),
     (b"GET /events HTTP/1.1\r\nHost: [zz]:7077\r\n\r\n", "the Host header names no host"),
     (b"GET http://[::1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "'http://[::1/events' is not a path to ask for")],
    ids=["length-5000-digits", "length-20-digits", "host-unclosed-bracket", "host-not-ipv6",
         "target-unclosed-bracket"],
)  # fmt: skip
def test_what_python_cannot_take_apart_is_a_400(local_receiver, request_bytes, says):
    with socket.create_connection(address(local_receiver), timeout=ANSWER_WAIT_S) as sender:
        sender.sendall(request_bytes)
        answer = until_closed(sender)
    status, headers, document = parsed(answer)
    assert status == 400, document
    assert headers["Connection"] == "close"
    assert document["error"].startswith(says), document
    assert len(json.dumps(document)) < 400  # a reason, not the value
    assert "1" * 100 not in answer.decode("latin-1")
    _, _, err = local_receiver.stop()
    assert "refused (400) " in err
    assert "refused (500)" not in err, err


def test_a_length_of_5000_digits_that_are_mostly_zeros_is_read(local_receiver):
    body = json.dumps({"collection_timestamp": 1, "internalHostname": "h", "events": {}}).encode()
    head = (b"POST /stsAgent/intake HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Length: " + b"0" * 5000 + str(len(body)).encode() + b"\r\n\r\n")  # fmt: skip
    with socket.create_connection(address(local_receiver), timeout=ANSWER_WAIT_S) as sender:
        sender.sendall(head + body)
        status, _, document = parsed(until_closed(sender))
    assert status == 200, document
