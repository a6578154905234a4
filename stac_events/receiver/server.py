"""The local receiver's HTTP side: the intake StackState's agents and `stac-events` post to.

The standard library's threading server: one thread per connection, so concurrent
senders never wait on each other's network, and nothing to install. Requests are
answered as StackState's receiver answers them (202, 401, 413), and a payload StackState
would drop gets 400 with its reasons (`rules`). The database is the one point where
requests meet, one transaction each (`store`).
"""

from __future__ import annotations

import ipaddress
import json
import math
import secrets
import socket
import sqlite3
import sys
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from stac_events.parse import InvalidValue, parse_since
from stac_events.receiver.rules import (
    DEFAULT_MAX_AGE_S,
    Checked,
    Reason,
    check_payload,
    one_line,
)
from stac_events.receiver.store import Filters, Store

INTAKE_PATHS = ("/stsAgent/intake", "/receiver/stsAgent/intake")
EVENTS_PATH = "/events"
DEFAULT_PORT = 7077  # the Linux receiver's
DEFAULT_MAX_BODY = 8 * 1024 * 1024
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


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
        """Stop taking requests, and give those in progress `grace` seconds to finish."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        deadline = time.monotonic() + grace
        with self._idle:
            while self._busy and time.monotonic() < deadline:
                self._idle.wait(deadline - time.monotonic())

    def _enter(self) -> None:
        with self._idle:
            self._busy += 1

    def _leave(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of senders waits to be accepted, rather than reset
    receiver: LocalReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke is the sender's business; anything else is told, in a
        line, as a refusal: never a traceback on the receiver's terminal."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)) or self.receiver.on_refusal is None:
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
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reasons = reasons or [Reason("", message)]
        self.close = close


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as StackState's receiver behind a proxy
    # One write per response, at once: headers then body unbuffered, with Nagle on, meet
    # the client's delayed ACK and cost 40 ms a request.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    timeout = 60  # a sender that stalls mid-request frees its thread
    server_version = "stac-events-receiver"
    _answered = False
    _body_read = False

    def do_POST(self) -> None:
        self._handle(self._intake)

    def do_GET(self) -> None:
        self._handle(self._listing)

    def do_DELETE(self) -> None:
        self._handle(self._clearing)

    def do_PUT(self) -> None:
        self._handle(self._not_allowed)

    do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = do_PUT

    def log_message(self, format: str, *args: Any) -> None:
        pass  # each request is shown by the receiver's callbacks, if at all

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None
                   ) -> None:  # fmt: skip
        """What http.server answers by itself (a request line it cannot read, headers too
        long), in JSON as every other answer, and told as a refusal."""
        self._refuse(_Problem(code, message or "the request cannot be read", close=True))

    def _handle(self, method: Callable[[str, Dict[str, List[str]]], None]) -> None:
        receiver = self.server.receiver
        receiver._enter()
        self._answered = self._body_read = False
        try:
            target = urlsplit(self.path)
            path = target.path.rstrip("/") or "/"
            query = parse_qs(target.query, keep_blank_values=True)
            self._check_origin()
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
            self._answer(problem.status, {"error": problem.message,
                                          "reasons": _listed(problem.reasons)})  # fmt: skip
        on_refusal = self.server.receiver.on_refusal
        if on_refusal is not None:
            on_refusal(Refusal(problem.status, problem.reasons))

    def _intake(self, path: str, query: Dict[str, List[str]]) -> None:
        if path not in INTAKE_PATHS:
            self._not_found(path)
        receiver = self.server.receiver
        self._check_key(query)
        text = self._text(receiver.limits.max_body)
        document = _json(text)
        received = time.time()
        checked = check_payload(document, now=received, max_age=receiver.limits.max_age,
                                text=text)  # fmt: skip
        if checked.reasons:
            raise _Problem(400, "StackState would drop this payload", reasons=checked.reasons)
        try:
            stored = receiver.store.add(checked.events, host=checked.host, received=received,
                                        body=text)  # fmt: skip
        except Exception as error:  # sqlite3.Error, OSError: a full disk, a locked file
            raise _Problem(503, f"the receiver could not store the events: {error}") from None
        self._answer(202, {"accepted": stored, "notes": _listed(checked.notes)})
        if receiver.on_arrival is not None:
            receiver.on_arrival(Arrival(checked, received))

    def _listing(self, path: str, query: Dict[str, List[str]]) -> None:
        if path == "/":
            self._answer(200, {"receiver": "stac-events", "intake": list(INTAKE_PATHS),
                               "events": EVENTS_PATH})  # fmt: skip
            return
        filters = self._events_request(path, query)
        try:
            found = list(self.server.receiver.store.events(filters))
        except sqlite3.Error as error:
            raise _Problem(503, f"the receiver could not read the events: {error}") from None
        body = ("[" + ",".join(stored.to_json() for stored in found) + "]").encode()
        self._send(200, body)

    def _clearing(self, path: str, query: Dict[str, List[str]]) -> None:
        filters = self._events_request(path, query)
        try:
            deleted = self.server.receiver.store.clear(filters)
        except sqlite3.Error as error:
            raise _Problem(503, f"the receiver could not delete the events: {error}") from None
        self._answer(200, {"deleted": deleted})

    def _events_request(self, path: str, query: Dict[str, List[str]]) -> Filters:
        """The filters of a request to /events, once it is one and may be answered."""
        if path in INTAKE_PATHS:
            self._not_allowed(path, query)
        if path != EVENTS_PATH:
            self._not_found(path)
        self._check_key(query)
        return _filters(query)

    def _not_allowed(self, path: str, query: Dict[str, List[str]]) -> None:
        raise _Problem(405, f"{self.command} is not answered on {path}")

    def _not_found(self, path: str) -> None:
        raise _Problem(404, f"nothing at {path}; events go to {' or '.join(INTAKE_PATHS)}")

    def _check_origin(self) -> None:
        """Only programs on this machine: a web page's request (it has an Origin) could
        post events or read them, and a Host that is not this machine's is a page that
        rebound its own name to 127.0.0.1."""
        if self.headers.get("Origin") is not None:
            raise _Problem(403, "requests from web pages (with an Origin header) are refused")
        if not self.server.receiver.loopback:
            return
        host = urlsplit("//" + self.headers.get("Host", "")).hostname or ""
        if host not in _LOOPBACK_NAMES:
            raise _Problem(403, f"Host {one_line(host)!r} is not this machine; the receiver "
                                f"answers 127.0.0.1, ::1 or localhost")  # fmt: skip

    def _check_key(self, query: Dict[str, List[str]]) -> None:
        wanted = self.server.receiver.limits.api_key
        if wanted is None:
            return
        given = self.headers.get("sts-api-key") or next(iter(query.get("api_key", ())), "")
        if not secrets.compare_digest(_bytes(given), _bytes(wanted)):
            what = "a wrong API key" if given else "no API key"
            raise _Problem(401, f"{what}: send it in the sts-api-key header or the api_key "
                                f"query parameter")  # fmt: skip

    def _has_body(self) -> bool:
        headers = getattr(self, "headers", None)  # none yet: a request line it cannot read
        return headers is not None and (
            "Transfer-Encoding" in headers or headers.get("Content-Length", "0").strip() != "0"
        )

    def _text(self, max_body: int) -> str:
        """The request's body, read within the limits, as UTF-8 text (as JSON must be)."""
        if "Transfer-Encoding" in self.headers:
            raise _Problem(411, "a body in chunks is not taken; send Content-Length", close=True)
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise _Problem(411, "a POST needs a Content-Length", close=True)
        if len(lengths) > 1 or not (lengths[0].isascii() and lengths[0].isdigit()):
            raise _Problem(400, "Content-Length is not one length in digits", close=True)
        length = int(lengths[0])
        if length > max_body:
            raise _Problem(413, f"the body is {length} bytes, more than the {max_body} taken",
                           close=True)  # fmt: skip
        body = self.rfile.read(length)
        if len(body) < length:
            raise _Problem(400, "the body ended before its Content-Length", close=True)
        self._body_read = True
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            body = _decoded(body, encoding, max_body)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Problem(400, f"the body is not UTF-8: {error.reason} at byte {error.start}"
                           ) from None  # fmt: skip

    def _answer(self, status: int, document: Dict[str, Any]) -> None:
        self._send(status, json.dumps(document, ensure_ascii=False).encode())

    def _send(self, status: int, body: bytes) -> None:
        self._answered = True
        if not self._body_read and self._has_body():
            self.close_connection = True  # a body left unread must not pass for a request
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()


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


def _filters(query: Dict[str, List[str]]) -> Filters:
    def one(name: str) -> Optional[str]:
        values = query.get(name)
        return values[-1] if values else None

    since = one("since")
    try:
        when = parse_since(since, now=time.time()) if since is not None else None
    except InvalidValue as error:
        raise _Problem(400, f"since: {error}") from None
    return Filters(event_type=one("type"), identifier=one("identifier"), since=when)


def _listed(reasons: List[Reason]) -> List[Dict[str, str]]:
    return [{"path": r.path, "reason": r.reason} for r in reasons]


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")
