"""The local receiver's HTTP side: the intake StackState's agents and `stac-events` post to.

The standard library's threading server: one thread per connection, so concurrent
senders never wait on each other's network, and nothing to install. A payload taken is
answered 200, which is what the integrations that post to StackState's receiver check
for; 401 and 413 as StackState's; and a payload StackState would drop gets 400 with its
reasons (`rules`), and is kept with them. The database is the one point where requests
meet, one transaction each (`store`). `GET /events?count=N&wait=S` holds its answer until
enough events are stored: woken by each payload this receiver stores, and looking again
every WAIT_POLL_S for those another process writes to the same file; `after=ID` asks only
for those newer than the last seen, which is how the page at `/` follows them (`_page`). A
connection that
waits too long for its request, or for its answer to be taken, gives its thread and
descriptor back (`_Waits`), so idle, dripping or unread ones cannot keep senders out, nor
hold the receiver when it stops.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import ipaddress
import json
import math
import re
import secrets
import select
import socket
import sqlite3
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    NamedTuple,
    NoReturn,
    Optional,
    Sequence,
    Set,
    Tuple,
    cast,
)
from urllib.parse import SplitResult, parse_qs, urlsplit

from stac_events.parse import InvalidValue, hostname_of, one_line, parse_since, shortened
from stac_events.receiver.rules import (
    DEFAULT_MAX_AGE_S,
    Checked,
    Reason,
    check_payload,
    check_valid_body,
)
from stac_events.receiver.store import Filters, Store
from stac_events.redact import redact

INTAKE_PATHS = ("/stsAgent/intake", "/receiver/stsAgent/intake")
EVENTS_PATH = "/events"
REFUSALS_PATH = "/refusals"
MAX_WAIT_S = 300.0  # the longest `wait` a GET /events may ask for
WAIT_POLL_S = 0.2  # how often a waiting GET /events counts again (another process's writes)
MAX_WAITING = 64  # GET /events waiting at once; more get 503, a thread and socket each
DEFAULT_PORT = 7077  # the Linux receiver's
DEFAULT_MAX_BODY = 8 * 1024 * 1024
# The page at `/`: files of the package's `page` folder, each at a path of its own. What it
# shows it asks /events and /refusals for, as any client does.
PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
# The header in which the page's script sends the token that stands for the key: only
# that script sets it, on its own requests; a browser sends it nowhere by itself.
TOKEN_HEADER = "X-Receiver-Token"
# On each answer of GET /events and /refusals: how many clears deleted something, ever
# (kept in the database). A client that sees it change knows what it saw may be gone.
CLEARS_HEADER = "X-Receiver-Clears"
# Nothing from elsewhere, no inline script or style, and not inside another site's frame.
_PAGE_POLICY = ("default-src 'self'; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'; object-src 'none'")  # fmt: skip
_PAGE_HEADERS = (
    ("Content-Security-Policy", _PAGE_POLICY),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}

# Each connection holds a thread and a descriptor while it waits for a request. One kept
# open and idle (a sender's pool, or a program holding sockets) must give them back soon,
# and a request dripped a byte at a time must not hold them for ever: a timeout on each
# read never fires while bytes keep coming, so each request has a deadline of its own.
IDLE_TIMEOUT_S = 5.0  # for a request's first byte: Apache's keep-alive wait; pools reconnect
# From a request's first byte until it is in whole: an honest sender writes its line and
# headers at once, so this is slack for a busy machine. Each 64 KiB of body that came earns
# a second more, so a large body on a slow link arrives and a dripped one does not (as
# Apache's MinRate).
REQUEST_TIMEOUT_S = 10.0
MIN_BODY_RATE = 64 * 1024  # bytes a second
# An answer is read by a program on this machine or its network, at many MiB a second; one
# that is not read (a sender that asks for /events and stops there) is given up after this,
# and a second more for each MiB of it.
ANSWER_TIMEOUT_S = 10.0
MIN_ANSWER_RATE = 1024 * 1024  # bytes a second
SHED_AFTER_S = 1.0  # out of descriptors: connections waiting this long are closed first
ACCEPT_PAUSE_S = 0.1  # out of descriptors: accepting again at once would only fail again
REAP_EVERY_S = 0.1  # how often the serve loop looks for connections past their deadline
_TOO_SLOW = (f"the request did not arrive within {REQUEST_TIMEOUT_S:g} s (and a second more "
             f"for each {MIN_BODY_RATE // 1024} KiB of its body)")  # fmt: skip
_READ_SIZE = 256 * 1024
_MAX_LENGTH_DIGITS = 19  # as many as the largest length a file can have (2 ** 63 - 1)
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# What a handler meets on a connection the serve loop cut (to make room, or at its
# deadline) while it was using it: the sender's business, as a reset is.
_GONE = frozenset({errno.EBADF, errno.ENOTCONN, errno.EPIPE, errno.ESHUTDOWN})


class Limits(NamedTuple):
    """What the receiver takes: events no older than `max_age` seconds, bodies of at most
    `max_body` bytes (after gzip is undone), and only requests with `api_key` if set."""

    max_age: float = DEFAULT_MAX_AGE_S
    max_body: int = DEFAULT_MAX_BODY
    api_key: Optional[str] = None


DEFAULT_LIMITS = Limits()


class Arrival(NamedTuple):
    """A payload stored: its verdict (events, notes, host) and when it came."""

    checked: Checked
    received: float


class Refusal(NamedTuple):
    """A request answered with an error, and why."""

    status: int
    reasons: List[Reason]


class LocalReceiver:
    """A stand-in for StackState's receiver on `host:port`, storing in `store`.

    Binding happens here (`OSError` when the port is taken); `serve_forever()` answers
    requests until `stop()`. `on_arrival` and `on_refusal` are called from request
    threads after each answer. Use it as a context manager to serve in the background.
    """

    def __init__(
        self,
        store: Store,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        limits: Limits = DEFAULT_LIMITS,
        on_arrival: Optional[Callable[[Arrival], None]] = None,
        on_refusal: Optional[Callable[[Refusal], None]] = None,
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("Server", (_Server,), {"address_family": family})
        self._server: _Server = server_class((host, port), _Handler)
        self._server.receiver = self
        self.store = store
        self.limits = limits
        # Bound to loopback, it answers only requests addressed to this machine by name.
        self.loopback = ipaddress.ip_address(str(self._server.server_address[0])).is_loopback
        self.on_arrival = on_arrival
        self.on_refusal = on_refusal
        self._thread: Optional[threading.Thread] = None
        self._busy = 0
        self._idle = threading.Condition()
        # One request at a time uses the store (its own lock would have it so anyway), and
        # none once `stop()` gave up waiting: the store can then be closed at once, not
        # after every request queued for its lock.
        self._store_gate = threading.Lock()
        self._store_closed = False
        # Payloads stored so far, and a condition notified as each is: what a waiting
        # GET /events wakes on. `_stopping` wakes it for good, to answer what it has.
        self._arrivals = threading.Condition()
        self._stored = 0
        self._waiting = 0
        self._stopping = False
        # With a key, what the page's script is given (in the address's fragment, which
        # goes to no server) once the page was opened with the key, and sends in
        # TOKEN_HEADER: made for this run, so the key itself is never kept by the browser,
        # and a token of an earlier run (or of a receiver on another port) is worth nothing.
        self.page_token = secrets.token_urlsafe(32)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base address: `event send` adds the intake path (the Linux one on 7077)."""
        host = str(self._server.server_address[0])
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def __enter__(self) -> LocalReceiver:
        self._thread = threading.Thread(target=self.serve_forever, name="receiver", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def interrupt(self) -> None:
        """Make `serve_forever()` return soon; from any thread but the one it runs in."""
        threading.Thread(target=self._server.shutdown, daemon=True).start()

    def stop(self, grace: float = 5.0) -> None:
        """Stop taking requests, and give those in progress `grace` seconds to finish;
        then close every connection left, and let no request use the store any more."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        with self._arrivals:  # a waiting GET /events answers now with what it found
            self._stopping = True
            self._arrivals.notify_all()
        waits = self._server.waits
        waits.stop_taking()
        deadline = time.monotonic() + grace
        with self._idle:
            while self._busy and time.monotonic() < deadline:
                self._idle.wait(deadline - time.monotonic())
        self._store_closed = True
        # Wakes the threads blocked on a sender that reads nothing, or drips its request.
        waits.cut_all()

    @contextlib.contextmanager
    def _using_store(self) -> Iterator[Store]:
        with self._store_gate:
            if self._store_closed:
                raise _Problem(503, "the receiver is stopping", close=True)
            yield self.store

    def _stored_one(self) -> None:
        with self._arrivals:
            self._stored += 1
            self._arrivals.notify_all()

    @contextlib.contextmanager
    def _waiting_slot(self) -> Iterator[None]:
        with self._arrivals:
            if self._waiting >= MAX_WAITING:
                raise _Problem(503, f"{MAX_WAITING} requests are waiting for events already; "
                                    f"ask again later, or without wait")  # fmt: skip
            self._waiting += 1
        try:
            yield
        finally:
            with self._arrivals:
                self._waiting -= 1

    def _await(self, enough: Callable[[], bool], seconds: float, gone: Callable[[], bool]
               ) -> None:  # fmt: skip
        """Return once `enough()`, after `seconds`, when the receiver stops or the sender
        went away (`gone()`); woken by each payload stored, and looking every WAIT_POLL_S
        in any case (another process may write to the same database)."""
        deadline = time.monotonic() + seconds
        with self._waiting_slot():
            while True:
                with self._arrivals:
                    seen = self._stored
                if enough():
                    return
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping or gone():
                    return
                with self._arrivals:
                    if self._stored == seen and not self._stopping:
                        self._arrivals.wait(min(left, WAIT_POLL_S))

    def _enter(self) -> None:
        with self._idle:
            self._busy += 1

    def _leave(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()


IDLE, ARRIVING, ANSWERING = "idle", "arriving", "answering"


@dataclass(eq=False)
class _Wait:
    """A connection waiting on its sender: for a request (`IDLE` until its first byte,
    then `ARRIVING`), or for its answer to be taken (`ANSWERING`)."""

    connection: socket.socket
    state: str = IDLE
    since: float = 0.0
    deadline: float = math.inf
    cut: bool = False  # its time ran out: it was shut down, for reading at least


class _Waits:
    """The connections waiting on their senders, each until its deadline. Past it, the
    serve loop shuts the connection down, which wakes its thread's blocked read or write
    (closing it from another thread would not); when descriptors run out, the ones that
    waited longest go first, so that senders queued behind them get in."""

    def __init__(self) -> None:
        self._waiting: Set[_Wait] = set()
        self._open: Set[_Wait] = set()  # every connection, waiting or not: for stopping
        self._lock = threading.Lock()
        self._next_reap = 0.0
        self._stopping = False

    def opened(self, wait: _Wait) -> None:
        with self._lock:
            self._open.add(wait)

    def closed(self, wait: _Wait) -> None:
        with self._lock:
            self._open.discard(wait)
            self._waiting.discard(wait)

    def start(self, wait: _Wait, seconds: float, *, state: str) -> None:
        now = time.monotonic()
        with self._lock:
            wait.state, wait.since, wait.deadline = state, now, now + seconds
            if self._stopping and state == IDLE:
                self._cut(wait)  # no new request is taken
            elif not wait.cut or state == ANSWERING:  # a request cut off still gets its 408
                self._waiting.add(wait)

    def extend(self, wait: _Wait, seconds: float) -> None:
        with self._lock:
            wait.deadline += seconds

    def stop(self, wait: _Wait) -> bool:
        """The request is in, or its answer written: no deadline; False if it was cut."""
        with self._lock:
            self._waiting.discard(wait)
        return not wait.cut

    def reap(self) -> None:
        now = time.monotonic()
        if now < self._next_reap:
            return
        self._next_reap = now + REAP_EVERY_S
        with self._lock:
            for wait in [w for w in self._waiting if w.deadline <= now]:
                self._cut(wait)

    def shed(self) -> None:
        """Make room: cut the connections idle for SHED_AFTER_S, else those whose request
        has been arriving that long, or whose answer has waited that long to be taken (a
        sender just accepted has had no time to write, nor one just answered to read)."""
        now = time.monotonic()
        with self._lock:
            old = [w for w in self._waiting if now - w.since >= SHED_AFTER_S]
            for wait in [w for w in old if w.state == IDLE] or old:
                self._cut(wait)

    def stop_taking(self) -> None:
        """Take no new request: the connections waiting for one are closed, now and as
        each answer in progress is written."""
        with self._lock:
            self._stopping = True
            for wait in [w for w in self._waiting if w.state == IDLE]:
                self._cut(wait)

    def cut_all(self) -> None:
        """Close every connection both ways, whatever it waits on."""
        with self._lock:
            for wait in list(self._open):
                self._cut(wait, socket.SHUT_RDWR)

    def _cut(self, wait: _Wait, how: Optional[int] = None) -> None:
        self._waiting.discard(wait)
        wait.cut = True
        if how is None:
            # A request cut while arriving can still be answered (408), so only reading
            # ends; any other is closed both ways: there is nothing to answer, or the
            # answer is not being taken.
            how = socket.SHUT_RD if wait.state == ARRIVING else socket.SHUT_RDWR
        with contextlib.suppress(OSError):  # closed already
            wait.connection.shutdown(how)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of senders waits to be accepted, rather than reset
    receiver: LocalReceiver

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.waits = _Waits()
        super().__init__(*args, **kwargs)

    def get_request(self) -> Tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError as error:
            if error.errno in _OUT_OF_DESCRIPTORS:
                # The listening socket stays readable while senders wait in its backlog:
                # retried at once, accept() would fail again and again at full speed.
                self.waits.shed()
                time.sleep(ACCEPT_PAUSE_S)
            raise  # socketserver passes it over, and accepts again

    def service_actions(self) -> None:
        self.waits.reap()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke is the sender's business; anything else is told, in a
        line, as a refusal: never a traceback on the receiver's terminal."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)) or self.receiver.on_refusal is None:
            return
        if isinstance(error, OSError) and error.errno in _GONE:  # a connection cut under it
            return
        self.receiver.on_refusal(Refusal(500, [Reason("", f"a request failed: {error!r}")]))


class _Problem(Exception):
    """A request that gets an error answer: `message`, and the reasons it lists (by
    default the message itself)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reasons: Optional[List[Reason]] = None,
        close: bool = False,
        headers: Sequence[Tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reasons = reasons or [Reason("", message)]
        self.close = close
        self.headers = headers


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as StackState's receiver behind a proxy
    # One write per response, at once: headers then body unbuffered, with Nagle on, meet
    # the client's delayed ACK and cost 40 ms a request.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    timeout = 60  # a backstop: reading a request and writing its answer have deadlines (_Waits)
    server_version = "stac-events-receiver"
    _answered = False
    _body_read = False
    _wait: _Wait
    raw_requestline: bytes  # http.server's, read by handle_one_request

    def setup(self) -> None:
        super().setup()
        self._wait = _Wait(self.connection)
        self.server.waits.opened(self._wait)

    def finish(self) -> None:
        self.server.waits.closed(self._wait)
        super().finish()

    def handle_one_request(self) -> None:
        waits = self.server.waits
        self._answered = self._body_read = False  # the last request's, when kept alive
        self._body_seen: Optional[str] = None  # the body as read, to keep if refused
        self._query: Dict[str, List[str]] = {}
        waits.start(self._wait, IDLE_TIMEOUT_S, state=IDLE)
        # closed by the sender, or cut for idling
        if not cast(io.BufferedReader, self.rfile).peek(1) or self._wait.cut:
            self.close_connection = True
            return
        waits.start(self._wait, REQUEST_TIMEOUT_S, state=ARRIVING)
        super().handle_one_request()

    def parse_request(self) -> bool:
        """http.server's reading of the request line and headers, for HTTP/1.x only: an
        HTTP/0.9 answer has no status line, and HTTP/2 is another protocol."""
        self.command = None  # type: ignore[assignment]  # the last request's; as http.server does
        if not self.raw_requestline.isascii():
            self.raw_requestline = _percent_encoded(self.raw_requestline)
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        if self._wait.cut:  # the line came in part
            self.send_error(HTTPStatus.REQUEST_TIMEOUT)
            return False
        if not self.raw_requestline.endswith(b"\n"):  # the sender went away mid-line
            self.close_connection = True
            return False
        if len(self.requestline.split()) == 2:  # HTTP/0.9's `GET /`, with no headers to wait for
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
            return False
        if not super().parse_request():
            return False  # answered: 400, 431, 505
        if self._wait.cut:  # the headers came in part
            self.send_error(HTTPStatus.REQUEST_TIMEOUT)
            return False
        if int(self.request_version[len("HTTP/") :].split(".")[0]) < 1:  # `GET / HTTP/0.9`
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
            return False
        return True

    def do_POST(self) -> None:
        self._handle(self._intake)

    def do_GET(self) -> None:
        self._handle(self._listing)

    def do_DELETE(self) -> None:
        self._handle(self._clearing)

    # HEAD is answered as GET is, without the body (RFC 9110).
    do_HEAD = do_GET

    def do_PUT(self) -> None:
        self._handle(self._not_allowed)

    do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = do_PUT

    def log_message(self, format: str, *args: Any) -> None:
        pass  # each request is shown by the receiver's callbacks, if at all

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None
                   ) -> None:  # fmt: skip
        """What http.server answers by itself (a request line it cannot read, headers too
        long), in JSON as every other answer, and told as a refusal."""
        # Until a request line is read, http.server takes it for HTTP/0.9, whose answers
        # have no status line or headers: a sender would get a body it cannot tell apart.
        self.request_version = self.protocol_version
        words = self.requestline.split()
        if code == HTTPStatus.REQUEST_TIMEOUT:
            message = _TOO_SLOW
        elif code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
            version = words[-1] if len(words) >= 3 else "HTTP/0.9"
            message = f"{shortened(version, 60)} is not spoken here; send HTTP/1.1"
        elif code == HTTPStatus.BAD_REQUEST and self.command is None:  # the request line
            message = (f"{shortened(redact(self.requestline), 60)!r} is not a request line; send "
                       f"METHOD PATH HTTP/1.1")  # fmt: skip
        elif code == HTTPStatus.NOT_IMPLEMENTED:  # http.server would quote it whole
            message = f"the method {shortened(self.command or '', 60)!r} is not answered here"
        self._refuse(_Problem(code, message or "the request cannot be read", close=True))

    def _handle(self, method: Callable[[str, Dict[str, List[str]]], None]) -> None:
        receiver = self.server.receiver
        receiver._enter()
        try:
            if not self._has_body():
                self._arrived()
            target = _target(self.path)
            path = target.path.rstrip("/") or "/"
            query = self._query = parse_qs(target.query, keep_blank_values=True)
            self._check_origin()
            repeated = sorted(name for name, values in query.items() if len(values) > 1)
            if repeated:  # which one was meant cannot be told: none is taken
                raise _Problem(400, f"the query gives {one_line(repeated[0])!r} more than "
                                    f"once; give each parameter once")  # fmt: skip
            method(path, query)
        except _Problem as problem:
            self._refuse(problem)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the sender went away: nobody to answer
        except Exception as error:  # a fault of the receiver's own: 500, and it goes on
            self._refuse(_Problem(500, f"the receiver failed: {error!r}", close=True))
        finally:
            receiver._leave()

    def _refuse(self, problem: _Problem) -> None:
        if problem.close or self._answered:  # after the answer went, it can only be told
            self.close_connection = True
        if not self._answered:
            if problem.status == 400 and self._body_seen is not None:
                self._keep(problem)  # kept before it is answered, as a payload taken is
            self._answer(problem.status, {"error": problem.message,
                                          "reasons": _listed(problem.reasons)},
                         headers=problem.headers)  # fmt: skip
        on_refusal = self.server.receiver.on_refusal
        if on_refusal is not None:
            on_refusal(Refusal(problem.status, problem.reasons))

    def _keep(self, problem: _Problem) -> None:
        """Keep a payload refused with 400, with its reasons and the start of its body, the
        keys it came with masked. A refusal that cannot be kept is answered all the same."""
        receiver = self.server.receiver
        keys = [receiver.limits.api_key, self.headers.get("sts-api-key"),
                *self._query.get("api_key", ())]  # fmt: skip
        try:
            with receiver._using_store() as store:
                store.add_refusal(received=time.time(), status=problem.status,
                                  error=problem.message, reasons=problem.reasons,
                                  body=self._body_seen or "", secrets=keys)  # fmt: skip
        except Exception:  # sqlite3.Error, OSError, stopping: the answer matters more
            return
        receiver._stored_one()  # a GET /refusals that waits wakes

    def _intake(self, path: str, query: Dict[str, List[str]]) -> None:
        if path not in INTAKE_PATHS:
            self._not_allowed(path, query)
        receiver = self.server.receiver
        self._check_key(query)
        text = self._text(receiver.limits.max_body)
        received = time.time()
        max_age = receiver.limits.max_age
        checked = check_valid_body(text, now=received, max_age=max_age) or check_payload(
            _json(text), now=received, max_age=max_age, text=text
        )
        if checked.reasons:
            raise _Problem(400, "StackState would drop this payload", reasons=checked.reasons)
        try:
            with receiver._using_store() as store:
                stored = store.add(checked.events, host=checked.host, received=received,
                                   body=text)  # fmt: skip
        except _Problem:
            raise
        except Exception as error:  # sqlite3.Error, OSError: a full disk, a locked file
            raise _Problem(503, f"the receiver could not store the events: {error}") from None
        receiver._stored_one()
        self._answer(200, {"accepted": stored, "notes": _listed(checked.notes)})
        if receiver.on_arrival is not None:
            receiver.on_arrival(Arrival(checked, received))

    def _listing(self, path: str, query: Dict[str, List[str]]) -> None:
        if path in PAGE_FILES:
            self._page(path, query)
            return
        asked = self._asked(path, query)
        receiver = self.server.receiver
        since, after, wanted = asked.filters.since, asked.after, asked.at_least or 1
        try:
            with receiver._using_store() as store:
                clears = store.clears()
            if asked.path == REFUSALS_PATH:
                if asked.wait is not None:

                    def refused() -> bool:
                        # Ids that went back below `after`, or a clear: answer now.
                        with receiver._using_store() as store:
                            return (store.count_refusals(since=since, after=after) >= wanted
                                    or _cleared(store.last_refusal_id(), after)
                                    or store.clears() != clears)  # fmt: skip

                    receiver._await(refused, asked.wait, self._sender_gone)
                with receiver._using_store() as store:
                    clears = store.clears()  # read first: a clear after it shows next time
                    kept = store.refusals(since=since, after=after, limit=asked.limit)
                self._send(200, ("[" + ",".join(r.to_json() for r in kept) + "]").encode(),
                           headers=[(CLEARS_HEADER, str(clears))])  # fmt: skip
                return
            if asked.wait is not None:

                def enough() -> bool:
                    with receiver._using_store() as store:
                        return (store.count(asked.filters, after=after) >= wanted
                                or _cleared(store.last_id(), after)
                                or store.clears() != clears)  # fmt: skip

                receiver._await(enough, asked.wait, self._sender_gone)
            with receiver._using_store() as store:
                clears = store.clears()  # read first: a clear after it shows next time
                found = list(store.events(asked.filters, after=after, limit=asked.limit))
        except sqlite3.Error as error:
            raise _Problem(503, f"the receiver could not read the events: {error}") from None
        body = ("[" + ",".join(stored.to_json() for stored in found) + "]").encode()
        self._send(200, body, headers=[(CLEARS_HEADER, str(clears))])

    def _clearing(self, path: str, query: Dict[str, List[str]]) -> None:
        """DELETE /events deletes the events the filters pick, and the refusals too when
        the filters can pick them (none, or only `since`): all that `GET` lists; DELETE
        /refusals the refusals alone."""
        asked = self._asked(path, query)
        filters = asked.filters
        try:
            with self.server.receiver._using_store() as store:
                deleted = 0 if asked.path == REFUSALS_PATH else store.clear(filters)
                refusals = 0
                if asked.path == REFUSALS_PATH or filters == Filters(since=filters.since):
                    refusals = store.clear_refusals(since=filters.since)
        except sqlite3.Error as error:
            raise _Problem(503, f"the receiver could not delete the events: {error}") from None
        self.server.receiver._stored_one()  # a waiting GET wakes, and sees the clear
        self._answer(200, {"deleted": deleted, "refusals_deleted": refusals})

    def _asked(self, path: str, query: Dict[str, List[str]]) -> _Asked:
        """What a request to /events or /refusals asks, once it is one and may be answered."""
        if path not in (EVENTS_PATH, REFUSALS_PATH):
            self._not_allowed(path, query)  # 404 where nothing is
        self._check_key(query)
        return _asked("GET" if self.command == "HEAD" else self.command, path, query)

    def _sender_gone(self) -> bool:
        """Whether the sender of a waiting request closed its connection (or it was cut):
        then nobody waits for the answer."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):  # closed under it
            return True

    def _not_allowed(self, path: str, query: Dict[str, List[str]]) -> NoReturn:
        if path in INTAKE_PATHS:
            allowed = "POST"
        elif path in (EVENTS_PATH, REFUSALS_PATH):
            allowed = "GET, HEAD, DELETE"
        elif path in PAGE_FILES:
            allowed = "GET, HEAD"
        else:
            self._not_found(path)
        raise _Problem(405, f"{self.command} is not answered on {path}; it takes {allowed}",
                       headers=[("Allow", allowed)])  # fmt: skip

    def _not_found(self, path: str) -> NoReturn:
        raise _Problem(404, f"nothing at {path}; events go to {' or '.join(INTAKE_PATHS)}, "
                            f"the page is at /")  # fmt: skip

    def _check_origin(self) -> None:
        """Only programs on this machine: a web page's request (it has an Origin) could
        post events or read them, and a Host that is not this machine's is a page that
        rebound its own name to 127.0.0.1."""
        if self.headers.get("Origin") is not None:
            raise _Problem(403, "requests from web pages (with an Origin header) are refused")
        if not self.server.receiver.loopback:
            return
        try:
            host = hostname_of(self.headers.get("Host", ""))
        except ValueError:  # `[::1` or `[zz]`: brackets that hold no IPv6 address
            raise _Problem(400, "the Host header names no host; send Host: 127.0.0.1",
                           close=True) from None  # fmt: skip
        if host not in _LOOPBACK_NAMES:
            raise _Problem(403, f"Host {one_line(host)!r} is not this machine; the receiver "
                                f"answers 127.0.0.1, ::1 or localhost")  # fmt: skip

    def _check_key(self, query: Dict[str, List[str]]) -> None:
        wanted = self.server.receiver.limits.api_key
        if wanted is None:
            return
        given = self.headers.get("sts-api-key") or next(iter(query.get("api_key", ())), "")
        if not given and TOKEN_HEADER in self.headers:
            if not self._page_token_sent():
                raise _Problem(401, "the page's token is of an earlier run or another "
                                    "receiver: open the page again as /?api_key=KEY")  # fmt: skip
            if self.command in ("GET", "HEAD"):
                return  # the page's script, the page opened with the key once
            raise _Problem(401, "the page's token only reads: send the API key in the "
                                "sts-api-key header or the api_key query parameter")  # fmt: skip
        if not secrets.compare_digest(_bytes(given), _bytes(wanted)):
            what = "a wrong API key" if given else "no API key"
            raise _Problem(401, f"{what}: send it in the sts-api-key header or the api_key "
                                f"query parameter")  # fmt: skip

    def _page_token_sent(self) -> bool:
        """Whether the request carries the token the page was given when it was opened
        with the key, in TOKEN_HEADER (which only the page's script sends)."""
        given = self.headers.get(TOKEN_HEADER)
        return given is not None and _same(given, self.server.receiver.page_token)

    def _page(self, path: str, query: Dict[str, List[str]]) -> None:
        """The page's files, which hold no events: served to anyone. `/?api_key=KEY` sends
        the browser on to `/#token=TOKEN` (so the key leaves its address bar; a fragment
        goes to no server), from which the page's script takes the token that stands for
        the key; with a wrong key, `/` is answered with 401."""
        receiver = self.server.receiver
        if path == "/":
            wanted = receiver.limits.api_key
            given = query.get("api_key")
            if given is not None:
                if not _same(given[-1], wanted):
                    self._key_needed("the page was asked for with a wrong API key")
                    return
                location = f"/#token={receiver.page_token}" if wanted else "/"
                self._send(303, b"", content_type="text/plain; charset=utf-8",
                           headers=[("Location", location), *_PAGE_HEADERS])  # fmt: skip
                return
        name, kind = PAGE_FILES[path]
        self._send(200, _page_file(name), content_type=kind, headers=_PAGE_HEADERS)

    def _key_needed(self, why: str) -> None:
        self._send(401, _page_file("index.html"), content_type="text/html; charset=utf-8",
                   headers=_PAGE_HEADERS)  # fmt: skip
        on_refusal = self.server.receiver.on_refusal
        if on_refusal is not None:
            on_refusal(Refusal(401, [Reason("", f"{why}; open it as /?api_key=KEY once")]))

    def _has_body(self) -> bool:
        headers = getattr(self, "headers", None)  # none yet: a request line it cannot read
        return headers is not None and (
            "Transfer-Encoding" in headers or headers.get("Content-Length", "0").strip() != "0"
        )

    def _arrived(self) -> None:
        """The request is in: its deadline ends, or it was cut off before (408)."""
        if not self.server.waits.stop(self._wait):
            raise _Problem(408, _TOO_SLOW, close=True)

    def _text(self, max_body: int) -> str:
        """The request's body, read within the limits, as UTF-8 text (as JSON must be)."""
        if "Transfer-Encoding" in self.headers:
            raise _Problem(411, "a body in chunks is not taken; send Content-Length", close=True)
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise _Problem(411, "a POST needs a Content-Length", close=True)
        if len(lengths) > 1 or not (lengths[0].isascii() and lengths[0].isdigit()):
            raise _Problem(400, "Content-Length is not one length in digits", close=True)
        digits = lengths[0].lstrip("0") or "0"  # int() refuses 4,301 digits, zeros or not
        if len(digits) > _MAX_LENGTH_DIGITS:
            raise _Problem(400, f"Content-Length has more than {_MAX_LENGTH_DIGITS} digits; "
                                f"no body is that long", close=True)  # fmt: skip
        length = int(digits)
        if length > max_body:
            raise _Problem(413, f"the body is {length} bytes, more than the {max_body} taken",
                           close=True)  # fmt: skip
        received = bytearray()
        while len(received) < length and not self._wait.cut:
            chunk = self.rfile.read1(min(length - len(received), _READ_SIZE))
            if not chunk:
                break
            received += chunk
            self.server.waits.extend(self._wait, len(chunk) / MIN_BODY_RATE)
        self._arrived()
        body = bytes(received)
        self._body_seen = body.decode("utf-8", "replace")
        if len(body) < length:
            raise _Problem(400, "the body ended before its Content-Length", close=True)
        self._body_read = True
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            body = _decoded(body, encoding, max_body)
        try:
            self._body_seen = body.decode("utf-8")
            return self._body_seen
        except UnicodeDecodeError as error:
            self._body_seen = body.decode("utf-8", "replace")
            raise _Problem(400, f"the body is not UTF-8: {error.reason} at byte {error.start}"
                           ) from None  # fmt: skip

    def _answer(self, status: int, document: Dict[str, Any],
                headers: Sequence[Tuple[str, str]] = ()) -> None:  # fmt: skip
        self._send(status, json.dumps(document, ensure_ascii=False).encode(), headers=headers)

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: Sequence[Tuple[str, str]] = (),
    ) -> None:
        self._answered = True
        if not self._body_read and self._has_body():
            self.close_connection = True  # a body left unread must not pass for a request
        # A timeout on each write never fires while the sender takes a byte now and then,
        # and not at all for one that reads nothing until the socket's own 60 s: the answer
        # has a deadline of its own, and can be shed for room as a request can.
        waits = self.server.waits
        waits.start(self._wait, ANSWER_TIMEOUT_S + len(body) / MIN_ANSWER_RATE,
                    state=ANSWERING)  # fmt: skip
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            # What it answers changes from one request to the next, and is never run as
            # another type than it says (JSON taken for a script by a page elsewhere).
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in headers:
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        finally:
            waits.stop(self._wait)


def _decoded(body: bytes, encoding: str, max_body: int) -> bytes:
    """The body with its Content-Encoding undone, never more than `max_body` bytes of it:
    a small body that inflates beyond (a gzip bomb) is refused before it takes memory."""
    wbits = _DECODERS.get(encoding)
    if wbits is None:
        raise _Problem(415, f"Content-Encoding {encoding!r} is not taken; use gzip")
    decoder = zlib.decompressobj(wbits)
    try:
        found = decoder.decompress(body, max_body + 1)
    except zlib.error as error:
        raise _Problem(400, f"the body is not valid {encoding}: {error}") from None
    if len(found) > max_body or decoder.unconsumed_tail:
        raise _Problem(413, f"the body is more than the {max_body} bytes taken once "
                            f"{encoding} is undone")  # fmt: skip
    if not decoder.eof or decoder.unused_data:
        raise _Problem(400, f"the body is not one whole {encoding} stream")
    return found


_LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})


@functools.cache
def _page_file(name: str) -> bytes:
    """One of the page's files, read once from the package."""
    return resources.files("stac_events.receiver").joinpath("page").joinpath(name).read_bytes()


def _cleared(last: int, after: Optional[int]) -> bool:
    """Whether the newest id stored is below the `after` a client asked with: what it saw
    was deleted, and it should look afresh rather than wait."""
    return after is not None and last < after


_NOT_ASCII = re.compile(rb"[\x80-\xff]")


def _percent_encoded(line: bytes) -> bytes:
    """A request line with each byte outside ASCII percent-encoded, as a browser sends a
    query typed in UTF-8. curl sends `?type=Voilà` raw; http.server would read it as
    ISO-8859-1 (`VoilÃ`) and split the line at the bytes that are white space there (0x85
    and 0xA0 are inside `Å` and `à`). Encoded, the query is read as UTF-8 by `parse_qs`."""
    return _NOT_ASCII.sub(lambda byte: b"%%%02X" % byte[0][0], line)


def _target(path: str) -> SplitResult:
    """The request's target as `urlsplit` has it; one it cannot split (`http://[::1/`) is
    a 400."""
    try:
        return urlsplit(path)
    except ValueError:
        raise _Problem(400, f"{one_line(shortened(redact(path), 60))!r} is not a path to ask for",
                       close=True) from None  # fmt: skip


def _json(text: str) -> Any:
    """The body as JSON as RFC 8259 has it: no NaN or Infinity, no name twice in an
    object (the second would silently replace the first: an event lost unseen)."""
    try:
        return json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite,
            object_pairs_hook=_unique,
        )
    except RecursionError:
        raise _Problem(400, "the body nests too deep to read") from None
    except ValueError as error:  # JSONDecodeError, and ours
        said = str(error)
        if "int_max_str_digits" in said:  # Python's own advice, about Python
            said = "a number has more digits than any JSON reader takes (4300)"
        raise _Problem(400, f"the body is not JSON: {one_line(said)}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if number in (math.inf, -math.inf):
        raise ValueError(f"{text[:20]} is too large for a number")
    return number


def _unique(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    found = dict(pairs)
    if len(found) < len(pairs):
        twice = next(key for key, count in Counter(k for k, _ in pairs).items() if count > 1)
        raise ValueError(f"the name {twice!r} is given twice in one object")
    return found


# What each listing takes: its filters, and the key (`api_key`, as the intake takes it).
# A refusal has no event type or identifier; only a listing has a limit, or waits.
_LISTING = ("since", "after", "limit", "count", "wait", "api_key")
_PARAMETERS = {
    ("GET", EVENTS_PATH): ("type", "identifier", *_LISTING),
    ("DELETE", EVENTS_PATH): ("type", "identifier", "since", "api_key"),
    ("GET", REFUSALS_PATH): _LISTING,
    ("DELETE", REFUSALS_PATH): ("since", "api_key"),
}
_MOST = 1 << 62  # a limit or count beyond any table's size; SQLite takes up to 2 ** 63 - 1


class _Asked(NamedTuple):
    """A request to /events or /refusals: which, its filters, and what else it asks."""

    path: str
    filters: Filters
    limit: Optional[int] = None  # the newest so many
    at_least: Optional[int] = None  # wait until this many match...
    wait: Optional[float] = None  # ...or this many seconds passed
    after: Optional[int] = None  # only those with a greater id


def _asked(method: str, path: str, query: Dict[str, List[str]]) -> _Asked:
    """What a query asks for. A parameter the path does not take is refused, not ignored:
    a typo (`event_type=...`) would otherwise list every event, and a test that asks
    whether something arrived would pass whatever did."""
    taken = _PARAMETERS[(method, path)]
    unknown = sorted(name for name in query if name not in taken)
    if unknown:
        names = ", ".join(repr(shortened(one_line(name), 40)) for name in unknown[:5])
        raise _Problem(400, f"unknown query parameter(s) {names}; {method} {path} takes "
                            f"{', '.join(taken)}")  # fmt: skip

    def one(name: str) -> Optional[str]:
        values = query.get(name)
        return values[-1] if values else None

    since = one("since")
    try:
        when = parse_since(since, now=time.time()) if since is not None else None
    except InvalidValue as error:
        raise _Problem(400, f"since: {shortened(str(error), 200)}") from None
    filters = Filters(event_type=one("type"), identifier=one("identifier"), since=when)
    limit, count, wait = _whole(one("limit"), "limit"), _whole(one("count"), "count"), one("wait")
    if count is not None and wait is None:
        raise _Problem(400, f"count needs wait: the seconds to wait for {count} event(s) "
                            f"to match, at most {MAX_WAIT_S:g}")  # fmt: skip
    after = _whole(one("after"), "after", least=0)
    return _Asked(path, filters, limit, count, _seconds(wait), after)


def _whole(text: Optional[str], name: str, *, least: int = 1) -> Optional[int]:
    """A parameter that is a whole number of `least` (0 or 1) or more."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or (least and not text.strip("0")):
        raise _Problem(400, f"{name}: {shortened(one_line(text), 40)!r} is not a whole number "
                            f"of {least} or more")  # fmt: skip
    digits = text.lstrip("0") or "0"
    return _MOST if len(digits) > 18 else min(int(digits), _MOST)


def _seconds(text: Optional[str]) -> Optional[float]:
    """`wait`: seconds, 0 to MAX_WAIT_S."""
    if text is None:
        return None
    try:
        seconds = float(text) if text.isascii() and text.strip() == text else math.nan
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_WAIT_S:  # NaN too
        raise _Problem(400, f"wait: {shortened(one_line(text), 40)!r} is not a number of "
                            f"seconds from 0 to {MAX_WAIT_S:g}")  # fmt: skip
    return seconds


def _listed(reasons: List[Reason]) -> List[Dict[str, str]]:
    return [{"path": r.path, "reason": r.reason} for r in reasons]


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _same(given: Optional[str], wanted: Optional[str]) -> bool:
    """Whether `given` is the key (or token) `wanted`, in constant time; any is, when
    nothing is wanted."""
    if wanted is None:
        return True
    return given is not None and secrets.compare_digest(_bytes(given), _bytes(wanted))
