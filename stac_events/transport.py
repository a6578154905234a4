"""Delivery of payloads to the receiver over HTTP(S): one session, retries, deadlines, trust.

`requests` is imported here, inside the functions, so that `--help` and `--dry-run`
never pay for it. Which failures are retried, how many times and how long to wait in
between is urllib3's `Retry` (see `ReceiverRetry`); the loop around it is ours because
`Retry` knows no deadline: `--max-time` bounds the whole delivery, and `--timeout` each
attempt as a whole, which a receiver dripping its answer a byte at a time cannot stretch
(see `Watchdog`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, NamedTuple, Optional, Tuple, cast

from stac_events.errors import ConfigError, DeliveryError, RejectedError, StacEventsError
from stac_events.parse import one_line
from stac_events.redact import MASK, redact
from stac_events.settings import DeliveryOptions, Target, host_of
from stac_events.status import pause, start_deaf
from stac_events.version import __version__

if TYPE_CHECKING:
    import requests
    from urllib3.response import BaseHTTPResponse
    from urllib3.util.retry import Retry

log = logging.getLogger("stac_events.transport")


class _QueryKeysMasked(logging.Filter):
    """Masks every `api_key=` value in urllib3's lines, wherever they are shown: urllib3
    logs each request line, key and all, and a program that calls stac-events and logs at
    DEBUG itself would show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # logging reports a record it cannot format itself
            return True
        if "api_key=" in message.lower():
            record.msg, record.args = redact(message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_QueryKeysMasked())

USER_AGENT = f"stac-events/{__version__}"
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Answers that fault the payload itself; any other refusal (401, 403, 404, 405, 3xx, ...)
# faults the key or the address, and every payload would get it.
PAYLOAD_FAULT_STATUSES = frozenset({400, 413, 422})
REASONS_SHOWN = 3  # of a refusal's listed reasons, in its one-line message
BACKOFF_MAX_S = 10.0
RETRY_AFTER_MAX_S = 60.0  # a receiver asking for longer is better served by the spool
# Of an answer's body, the most that is read: a message needs a few KiB, the local
# receiver's list of a refused batch's reasons a few dozen. A receiver (or something in
# its place) that answers gigabytes must not take the memory of the sender.
ANSWER_BYTES = 64 * 1024
# What --debug shows of a request's body (pretty-printed, gzip undone) and of an answer's:
# enough to see what went out and what came back, never megabytes in a CI log.
DEBUG_BODY_CHARS = 4096
DEBUG_ANSWER_CHARS = 2048
DEBUG_PRETTY_BYTES = 4 * 1024 * 1024  # a larger body is shown as it is, not parsed
DEBUG_HEADERS = 50  # of an answer's headers, at most this many, each cut to a line


class Receipt(NamedTuple):
    """The receiver's yes to one payload, and what it took to get it."""

    status: int
    attempts: int
    elapsed_ms: int


def _retry_class() -> type[Retry]:
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry

    class ReceiverRetry(Retry):
        """urllib3's Retry, taught three rules of SPEC section 7.

        Retry-After is honored on every transient status, not only 413/429/503; the
        first retry waits too (urllib3 retries the first time at once); a Retry-After
        that cannot be read is no reason to stop retrying.
        """

        RETRY_AFTER_STATUS_CODES = TRANSIENT_STATUSES

        def get_backoff_time(self) -> float:
            failures = len(self.history)
            if failures == 0 or self.backoff_factor <= 0:
                return 0.0
            backoff = self.backoff_factor * 2.0 ** (failures - 1)
            backoff += random.random() * self.backoff_jitter  # noqa: S311 - jitter, not crypto
            return min(self.backoff_max, backoff)

        def get_retry_after(self, response: Any) -> Optional[float]:
            try:
                seconds = super().get_retry_after(response)
            except InvalidHeader:
                return None
            return None if seconds is None else min(max(seconds, 0.0), RETRY_AFTER_MAX_S)

    return ReceiverRetry


def _wait_before_next(retry: Retry, response: Optional[BaseHTTPResponse]) -> float:
    """Seconds to wait before the next attempt: Retry-After, else the backoff."""
    if response is not None and response.status in retry.RETRY_AFTER_STATUS_CODES:
        seconds = retry.get_retry_after(response)
        if seconds is not None:
            return seconds
    return retry.get_backoff_time()


def retry_policy(options: DeliveryOptions) -> Retry:
    """The retry rules: transient failures only, the same bytes every time, never a redirect."""
    return _retry_class()(
        total=options.retries,
        redirect=False,
        allowed_methods=None,  # POST too: the receiver keys events by content, not by request
        status_forcelist=TRANSIENT_STATUSES,
        backoff_factor=options.backoff,
        backoff_jitter=options.backoff,
        backoff_max=BACKOFF_MAX_S,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class Watchdog:
    """Ends an attempt that outlives its time limit by shutting its socket down.

    A socket timeout bounds each read, not the answer: a receiver that sends a byte
    every second is never caught by it. The connection classes below tell the watchdog
    which socket an attempt uses; at the limit a timer thread shuts that socket down,
    which wakes the blocked read (closing it from another thread would not).
    """

    def __init__(self) -> None:
        self.fired = False
        self._socket: Optional[socket.socket] = None
        self._timer: Optional[threading.Timer] = None
        self._lock = threading.Lock()

    def arm(self, seconds: float) -> None:
        with self._lock:
            self.fired, self._socket = False, None
            self._timer = threading.Timer(seconds, self._fire)
            self._timer.daemon = True
            start_deaf(self._timer)

    def disarm(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._socket = None, None

    def watch(self, sock: Any) -> None:
        """The socket the attempt uses, once it has one."""
        if isinstance(sock, socket.socket):
            with self._lock:
                self._socket = sock

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sock = self._socket
            if sock is not None:
                with contextlib.suppress(OSError):  # closed already
                    # the plain socket's shutdown: ssl's would also unwrap it mid-read
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _plain_proxy(address: str) -> Optional[str]:
    """The proxy that an `http://` address's requests go to whole, as the environment
    names it (`HTTP_PROXY`, `ALL_PROXY`, less `NO_PROXY`); None when they go straight to
    the host, or (`https://`) pass through a proxy in a TLS tunnel it cannot read."""
    from urllib.parse import urlsplit

    import requests.utils

    if urlsplit(address).scheme.lower() != "http":
        return None
    proxies = requests.utils.get_environ_proxies(address)
    return requests.utils.select_proxy(address, proxies) or None


def _no_proxy_in_the_clear(target: Target) -> None:
    """A `ConfigError` when the extra headers would reach a proxy as they are."""
    proxy = _plain_proxy(target.address)
    if proxy:
        raise ConfigError(
            f"the extra headers would go in the clear to the proxy at {redact(proxy)}, "
            "which HTTP_PROXY (or ALL_PROXY) names for this address",
            hint="give the receiver's https:// address, or put its host in NO_PROXY",
        )


def _watched_pools(watchdog: Watchdog) -> Dict[str, type]:
    """urllib3 pool classes whose connections report each request to the watchdog."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def watched(base: type) -> type:
        class Watched(base):  # type: ignore[misc]  # a base chosen at run time
            # the socket itself: http.client lets go of it once an answer's headers are in
            def connect(self) -> None:
                super().connect()
                watchdog.watch(self.sock)

            def request(self, *args: Any, **kwargs: Any) -> Any:
                watchdog.watch(self.sock)  # a kept-alive connection: connect() is not called
                return super().request(*args, **kwargs)

        return Watched

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = watched(HTTPConnection)

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = watched(HTTPSConnection)

    return {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}


def _watched_adapter(base: type, pools: Dict[str, type]) -> type:
    class WatchedAdapter(base):  # type: ignore[misc]  # a base chosen at run time
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    return WatchedAdapter


class Sender:
    """An open connection to one receiver; POSTs bodies and explains every failure.

    Every post shares one deadline, `options.max_time` from the sender's creation: what
    cannot be delivered by then fails as transient, to be queued.
    """

    def __init__(self, target: Target, options: DeliveryOptions) -> None:
        from requests.adapters import HTTPAdapter

        if target.headers:
            _no_proxy_in_the_clear(target)
        self.target = target
        self.options = options
        self.deadline = time.monotonic() + options.max_time
        self.watchdog = Watchdog()
        self.session = _session_class()()
        credentials = target.credentials
        if credentials is not None:  # in UTF-8: requests would encode them as Latin-1, or fail
            self.session.auth = tuple(part.encode("utf-8", "surrogateescape")
                                      for part in credentials)  # type: ignore[assignment]  # fmt: skip
        base = _trusting_adapter(options) if options.ca_certs else HTTPAdapter
        adapter = _watched_adapter(base, _watched_pools(self.watchdog))(max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        if not options.tls_verify:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.watchdog.disarm()
        self.session.close()

    def post(
        self,
        body: bytes,
        *,
        encoding: Optional[str] = None,
        retries: Optional[int] = None,
        until: Optional[float] = None,
    ) -> Receipt:
        """POST one body, retrying transient failures while time allows.

        `retries` overrides the options' for this body, and `until` (by `time.monotonic()`)
        ends its time sooner than the sender's. A 2xx returns; anything else raises
        `RejectedError` (a refusal, a redirect) or `DeliveryError` (`transient` when
        trying later may work).
        """
        # the caller's own may replace the User-Agent, as curl's -H does, and nothing else
        # of ours (`headers.RESERVED` refuses the others)
        headers = {
            "User-Agent": USER_AGENT,
            **dict(self.target.headers),
            "Content-Type": "application/json",
            "sts-api-key": self.target.api_key,
            # an answer is read as it comes, a bounded part of it: never one to inflate
            "Accept-Encoding": "identity",
        }
        if encoding:
            headers["Content-Encoding"] = encoding
        if log.isEnabledFor(logging.DEBUG):
            self._log_request(body, headers)
        options = self.options if retries is None else self.options._replace(retries=retries)
        retry = retry_policy(options)
        started = time.monotonic()
        deadline = self.deadline if until is None else min(self.deadline, until)
        attempts = 0
        while True:
            if deadline - time.monotonic() <= 0:
                raise self._out_of_time(None, attempts)
            attempts += 1
            response, failure = self._attempt(body, headers, attempts, deadline)
            if failure is None:
                assert response is not None
                elapsed_ms = round((time.monotonic() - started) * 1000)
                log.debug("%s %s in %d ms, %d attempt(s)", response.status_code,
                          response.reason, elapsed_ms, attempts)  # fmt: skip
                return Receipt(response.status_code, attempts, elapsed_ms)
            if not (isinstance(failure, DeliveryError) and failure.transient):
                raise failure
            from urllib3.exceptions import MaxRetryError

            raw = response.raw if response is not None else None
            try:
                retry = retry.increment(method="POST", url=self.target.masked_url, response=raw)
            except MaxRetryError:
                raise failure from None
            wait = _wait_before_next(retry, raw)
            if wait >= deadline - time.monotonic():
                raise self._out_of_time(failure, attempts)
            log.debug("retrying in %.2f s: %s", wait, one_line(failure.message))
            pause(wait)  # a signal that comes just before it still ends it

    def _attempt(
        self, body: bytes, headers: Dict[str, str], attempts: int, deadline: float
    ) -> Tuple[Optional[requests.Response], Optional[Exception]]:
        """One request, within the attempt's time limit: the answer, or why there is none."""
        import requests

        limit = min(self.options.read_timeout, deadline - time.monotonic())
        log.debug("POST %s (%d bytes), attempt %d", self.target.masked_url, len(body), attempts)
        self.watchdog.arm(limit)
        try:
            response = self.session.post(
                self.target.url,
                data=body,
                headers=headers,
                timeout=(min(self.options.connect_timeout, limit), limit),
                allow_redirects=False,
                verify=self.options.tls_verify,
                stream=True,  # the body is read below, a bounded part of it
            )
            said = _Body.read(response)
            if log.isEnabledFor(logging.DEBUG):
                self._log_answer(response, said)
        except requests.exceptions.RequestException as error:
            if self.watchdog.fired:
                return None, self._too_slow(limit, attempts)
            return None, self._network_error(error, attempts)
        except OSError:
            if self.watchdog.fired:  # the shut-down socket, seen from below requests
                return None, self._too_slow(limit, attempts)
            raise
        finally:
            self.watchdog.disarm()
        return response, _status_error(response, said, self.target, attempts)

    def _log_request(self, body: bytes, headers: Dict[str, str]) -> None:
        """--debug: the request's headers (the key's and the caller's values masked) and
        its body, pretty-printed and cut, gzip undone."""
        secret_names = {"sts-api-key", *(name.lower() for name, _ in self.target.headers)}
        shown = [f"{name}: {MASK if name.lower() in secret_names else value}"
                 for name, value in headers.items()]  # fmt: skip
        if self.target.credentials is not None:
            shown.append(f"Authorization: Basic {MASK}")
        log.debug("request headers:\n  %s", "\n  ".join(shown))
        encoding = headers.get("Content-Encoding")
        text, size = _shown_body(body, encoding, self.target.secrets)
        more = "more than " if size > DEBUG_PRETTY_BYTES else ""
        what = f"{len(body)} bytes" + (f", {more}{size} once gzip is undone" if encoding else "")
        log.debug("request body (%s):\n%s", what, text)

    def _log_answer(self, response: requests.Response, said: _Body) -> None:
        """--debug: the answer's status, headers and the start of its body, masked."""
        secrets = self.target.secrets
        items = list(response.headers.items())
        lines = [one_line(_excerpt(f"{name}: {value}", self.target))
                 for name, value in items[:DEBUG_HEADERS]]  # fmt: skip
        if len(items) > DEBUG_HEADERS:
            lines.append(f"(and {len(items) - DEBUG_HEADERS} more headers)")
        reason = one_line(_excerpt(response.reason or "", self.target))
        log.debug("answer: %d %s\n  %s", response.status_code, reason, "\n  ".join(lines))
        read, decoded = said.read_bytes, said.decoded
        if not read:
            log.debug("answer body: none read")
            return
        cut = " (the first 64 KiB read)" if len(read) >= ANSWER_BYTES else ""
        encoding = said.shown_encoding(self.target)
        if decoded is None:
            log.debug("answer body (%d bytes%s): in %s, not shown", len(read), cut, encoding)
            return
        text, _ = _shown_body(decoded, None, secrets, limit=DEBUG_ANSWER_CHARS,
                              charset=response.encoding)  # fmt: skip
        if decoded is not read:
            more = "more than " if len(decoded) >= ANSWER_BYTES else ""
            cut += f", {more}{len(decoded)} once {encoding} is undone"
        log.debug("answer body (%d bytes%s):\n%s", len(read), cut, text)

    def _too_slow(self, limit: float, attempts: int) -> DeliveryError:
        host = host_of(self.target.address)
        if limit < self.options.read_timeout:  # cut short by the time left for delivery
            return DeliveryError(f"{host} did not answer before the time allowed for delivery "
                                 f"ran out", attempts=attempts, unanswered=True)  # fmt: skip
        return DeliveryError(f"{host} did not answer within {self.options.read_timeout:g} s",
                             attempts=attempts, unanswered=True)  # fmt: skip

    def _out_of_time(self, last: Optional[Exception], attempts: int) -> DeliveryError:
        """The deadline passed: give up on this payload for now (it is queued)."""
        spent = f"{self.options.max_time:g} s allowed for delivery"
        if last is None:
            return DeliveryError(f"no time left of the {spent}", attempts=attempts)
        message = last.message if isinstance(last, DeliveryError) else str(last)
        return DeliveryError(
            f"{message}; stopped retrying, as the next attempt would outlast the {spent}",
            status_code=getattr(last, "status_code", None),
            attempts=attempts,
            unanswered=getattr(last, "unanswered", False),
        )

    def _network_error(
        self, error: requests.exceptions.RequestException, attempts: int
    ) -> DeliveryError:
        """A one-line, key-free explanation of why the request never got an answer."""
        import requests

        host = host_of(self.target.address)
        detail = redact(str(error), *self.target.secrets)
        log.debug("request failed: %s", detail)
        if isinstance(error, requests.exceptions.SSLError):
            return _tls_error(detail, self.target.address, self.options, attempts)
        if isinstance(error, requests.exceptions.ConnectTimeout):
            return DeliveryError(
                f"timed out connecting to {host} after {self.options.connect_timeout:g} s",
                attempts=attempts,
            )
        if isinstance(error, requests.exceptions.ReadTimeout) or _cause_is_read_timeout(error):
            return DeliveryError(
                f"{host} did not answer within {self.options.read_timeout:g} s",
                attempts=attempts,
                unanswered=True,
            )
        unreadable = _unreadable_answer(error)
        if unreadable is not None:
            what = _excerpt(unreadable, self.target, 120)
            proxy = _plain_proxy(self.target.address)
            who = f"the proxy at {host_of(redact(proxy))} (for {host})" if proxy else host
            return DeliveryError(f"{who} answered, but not in HTTP that can be read: {what}",
                                 attempts=attempts)  # fmt: skip
        if isinstance(error, requests.exceptions.ConnectionError):
            return DeliveryError(
                f"cannot connect to {host}: {_connection_reason(detail)}", attempts=attempts
            )
        return DeliveryError(f"the request to {host} failed: {detail}", attempts=attempts)


def _session_class() -> type[requests.Session]:
    """A requests session that never works out where a redirect leads.

    Even with `allow_redirects=False`, `Session.send` prepares the request a redirect
    would make next (for `Response.next`): it decodes the Location as UTF-8, parses it as
    a URL and reads the redirect's whole body, unbounded. A Location that is not UTF-8
    (`café` in Latin-1) or not a URL (`http://[x`) then raised out of the send, and the
    event was lost. A redirect is reported, never followed (see `_status_error`): there
    is nothing to work out, and its answer is read as any other, a bounded part of it.
    """
    import requests

    class NeverRedirecting(requests.Session):
        def get_redirect_target(self, resp: requests.Response) -> Optional[str]:
            return None

    return NeverRedirecting


def _trusting_adapter(options: DeliveryOptions) -> type:
    """An adapter that verifies against the default CAs plus `--ca-cert`/REQUESTS_CA_BUNDLE.

    The context is built on the first TLS connection: loading CA files costs tens of ms,
    which a plain-http receiver should not pay.
    """
    from requests.adapters import HTTPAdapter

    contexts: List[Any] = []

    def context() -> Any:
        if not contexts:
            import ssl

            built = ssl.create_default_context(cafile=_requests_ca_file())
            for path in options.ca_certs:
                try:
                    built.load_verify_locations(cafile=path)
                except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
                    # settings saw a PEM marker, but what follows it is no certificate
                    reason = re.sub(r"\s*\(_ssl\.c:\d+\)", "", getattr(error, "strerror", None)
                                    or str(error))  # fmt: skip
                    if isinstance(error, ssl.SSLError):
                        reason = f"its certificate cannot be read ({reason})"
                    raise DeliveryError(
                        f"cannot use the CA file {path}: {reason}",
                        hint="give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----)",
                        transient=False,
                    ) from None
            contexts.append(built)
        return contexts[0]

    class TrustingAdapter(HTTPAdapter):
        def build_connection_pool_key_attributes(
            self, request: Any, verify: Any, cert: Any = None
        ) -> Tuple[Any, Any]:  # the stubs' types for them are private
            host, tls = super().build_connection_pool_key_attributes(request, verify, cert)
            if verify is not False and host.get("scheme") == "https":
                # requests may pass REQUESTS_CA_BUNDLE here: it is in the context already
                tls.pop("ca_certs", None)
                tls.pop("ca_cert_dir", None)
                tls["ssl_context"] = context()
            return host, tls

    return TrustingAdapter


def _requests_ca_file() -> str:
    """The CA file requests verifies against: certifi's, or the system's where a
    distribution patched `requests.certs.where` to name it."""
    import requests.certs

    where: Callable[[], str] = requests.certs.where  # type: ignore[attr-defined]  # not in the stubs
    return where()


def _cause_is_read_timeout(error: Exception) -> bool:
    """After retries run out, requests reports a read timeout as a ConnectionError."""
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError

    cause = error.args[0] if error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError)


# What OpenSSL says when the other end answers a TLS hello with something else (plain HTTP)
_NOT_TLS = ("wrong version number", "record layer failure", "packet length too long",
            "unknown protocol", "http request")  # fmt: skip


def _tls_error(detail: str, address: str, options: DeliveryOptions, attempts: int) -> DeliveryError:
    """A failed TLS handshake, said so that the hint can mend it. Never transient: a
    certificate or a port does not change by itself, and the spool would only wait."""
    host = host_of(address)
    lowered = detail.lower()
    if any(sign in lowered for sign in _NOT_TLS):
        return DeliveryError(
            f"TLS handshake failed: the receiver at {host} does not speak TLS on that port "
            f"(is it http://?)",
            hint="use an http:// address if the receiver serves plain HTTP, or the port "
            "that serves HTTPS",
            transient=False,
            attempts=attempts,
        )
    if "hostname mismatch" in lowered or "ip address mismatch" in lowered:
        names = _names_on_certificate(address, options)
        shown = f" ({', '.join(names)})" if names else ""
        return DeliveryError(
            f"TLS certificate check failed for {host}: the certificate is for another name{shown}",
            hint="address the receiver by a name on its certificate (trusting its CA cannot help)",
            transient=False,
            attempts=attempts,
        )
    reason = re.search(r"certificate verify failed: ([^(]+)", detail)
    why = f": {reason.group(1).strip()}" if reason else ""
    hint = "trust its CA with --ca-cert PATH or REQUESTS_CA_BUNDLE (--insecure skips the check)"
    if "expired" in lowered:
        hint = "the receiver's certificate must be renewed (--insecure skips the check)"
    return DeliveryError(
        f"TLS certificate check failed for {host}{why}",
        hint=hint,
        transient=False,
        attempts=attempts,
    )


def _names_on_certificate(address: str, options: DeliveryOptions) -> List[str]:
    """The names the receiver's certificate is for, read by a second handshake that checks
    the chain but not the name; none when they cannot be had (a proxy, another failure)."""
    import ssl
    from urllib.parse import urlsplit

    import requests.utils

    parts = urlsplit(address)
    if not parts.hostname or requests.utils.get_environ_proxies(address):
        return []  # through a proxy, a direct connection may reach someone else
    try:
        context = ssl.create_default_context(cafile=_requests_ca_file())
        for path in options.ca_certs:
            context.load_verify_locations(cafile=path)
        context.check_hostname = False
        where, timeout = (parts.hostname, parts.port or 443), min(options.connect_timeout, 5.0)
        with (
            socket.create_connection(where, timeout) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
        ):
            certificate = tls.getpeercert() or {}
    except (OSError, ValueError):
        return []
    # The stubs give every field of the certificate one type; these are their shapes in
    # the ssl module's documentation.
    alt_names = cast("Tuple[Tuple[str, str], ...]", certificate.get("subjectAltName", ()))
    names = [value for kind, value in alt_names if kind in ("DNS", "IP Address")]
    if not names:
        subject = cast("Tuple[Tuple[Tuple[str, str], ...], ...]", certificate.get("subject", ()))
        names = [value for rdn in subject for key, value in rdn if key == "commonName"]
    return [str(name) for name in names]


def _unreadable_answer(error: BaseException) -> Optional[str]:
    """What was wrong with an answer that came but is not HTTP as http.client reads it (a
    status line of another protocol, more than 100 headers, a line over 64 KiB); None when
    no answer came at all."""
    import http.client

    causes: List[object] = [error]
    for cause in causes:  # requests' error holds urllib3's, which holds http.client's
        if len(causes) > 16:
            break
        if isinstance(cause, http.client.RemoteDisconnected):
            return None  # closed before a first line: no answer
        if isinstance(cause, http.client.UnknownProtocol):
            version = str(cause.args[0]) if cause.args else ""
            return f"it speaks {version.strip()!r}, not HTTP/1"
        if isinstance(cause, http.client.BadStatusLine):
            line = str(cause.args[0]).strip() if cause.args else ""  # as `line`, stubs lack it
            return f"its first line is {line!r}" if line.strip("'") else "its first line is empty"
        if isinstance(cause, http.client.LineTooLong):  # "... when reading status line"
            kind = str(cause).rpartition("when reading ")[2].strip() or "line"
            return f"a {kind} longer than 64 KiB"
        if isinstance(cause, http.client.HTTPException):  # more than 100 headers
            return str(cause).replace("got more than", "more than")
        if isinstance(cause, BaseException):
            causes += [*cause.args, getattr(cause, "reason", None)]
    return None


def _connection_reason(detail: str) -> str:
    lowered = detail.lower()
    if "refused" in lowered:
        return "connection refused (is the receiver running, and is the port right?)"
    if any(
        s in lowered
        for s in (
            "name or service not known",
            "nodename nor servname",
            "failed to resolve",
            "temporary failure in name resolution",
        )
    ):
        return "the host name does not resolve"  # fmt: skip
    if any(s in lowered for s in ("reset by peer", "remote end closed", "aborted")):
        return "the connection was closed before an answer came"
    return detail


def _bounded_body(response: requests.Response) -> bytes:
    """At most `ANSWER_BYTES` of the answer's body, as it came. A longer body is not read
    to its end, nor is a success's body of unknown or large length (a yes needs none, and
    waiting for it could turn a delivered event into a timeout and a duplicate): their
    connection is closed rather than kept for the next request."""
    from urllib3.exceptions import HTTPError

    raw = response.raw
    length = response.headers.get("Content-Length", "")
    known = int(length) if length.isascii() and length.isdigit() and len(length) < 20 else None
    try:
        if 200 <= response.status_code < 300 and (known is None or known > ANSWER_BYTES):
            raw.close()
            return b""
        said = raw.read(ANSWER_BYTES + 1, decode_content=False)
    except (OSError, HTTPError):  # broke off, or cut by the attempt's time limit
        raw.close()
        said = b""
    if len(said) > ANSWER_BYTES:
        raw.close()
        said = said[:ANSWER_BYTES]
    raw.release_conn()
    return said


def _status_error(
    response: requests.Response, said: _Body, target: Target, attempts: int
) -> Optional[StacEventsError]:
    """None for a 2xx; else the error the answer (`said`: its body, or the start of it)
    amounts to."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    what = f"{status} {response.reason or ''}".strip()
    if 300 <= status < 400:
        location = redact(_location(response), *target.secrets)
        return RejectedError(
            f"the receiver redirected ({what}) to {location}; redirects are not followed, "
            f"so the API key is never sent elsewhere",
            status_code=status,
            hint="use the final address with --url",
        )
    told, reasons = _said(response, said, target)
    message = f"the receiver answered {what}" + (f": {told}" if told else "")
    if status in TRANSIENT_STATUSES or status >= 500:
        if attempts > 1:
            message += f" ({attempts} attempts)"
        return DeliveryError(message, status_code=status, attempts=attempts)
    hints = {
        401: "check the API key",
        403: "check the API key",
        404: "check the address; it usually ends in /receiver/stsAgent/intake",
        413: "the payload is too large for the receiver",
    }
    return RejectedError(message, status_code=status, hint=hints.get(status), reasons=reasons)


def _shown_body(
    body: bytes,
    encoding: Optional[str],
    secrets: List[str],
    *,
    limit: int = DEBUG_BODY_CHARS,
    charset: Optional[str] = None,
) -> Tuple[str, int]:
    """A body as --debug shows it: gzip undone (a bounded part of it), JSON pretty-printed,
    secrets masked, then cut to `limit` characters with a count of what was left out;
    and its size once decoded."""
    import zlib

    if encoding == "gzip":
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            body = inflater.decompress(body, DEBUG_PRETTY_BYTES + 1)
        except zlib.error:
            return "(gzip that cannot be undone)", len(body)
    size = len(body)
    try:
        text = body.decode(charset or "utf-8", "surrogateescape")
    except LookupError:
        text = body.decode("utf-8", "surrogateescape")
    if size <= DEBUG_PRETTY_BYTES:
        with contextlib.suppress(ValueError, RecursionError):  # not JSON: as it came
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    text = redact(text, *secrets)  # before it is cut: a secret cut in two is not known
    left_out = len(text) - limit
    if left_out > 0:
        text = text[:limit]
    # Each line indented and its control characters escaped: what a receiver answered
    # cannot move the terminal's cursor, nor pass for a line of stac-events' own.
    text = "\n".join("  " + one_line(line) for line in text.split("\n"))
    if left_out > 0:
        text += f"\n  … ({left_out} more characters not shown)"
    return text, size


def _location(response: requests.Response) -> str:
    """Where a redirect points, as its sender most likely meant it: http.client reads a
    header's bytes as Latin-1, but a Location that is not ASCII is UTF-8 far more often
    (requests reads it so too). Bytes that are not UTF-8 are shown percent-escaped."""
    location = response.headers.get("Location")
    if location is None:
        return "(no Location header)"
    try:
        text = location.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # not as http.client reads headers: leave it as it is
        return location
    return re.sub("[\udc80-\udcff]", lambda byte: f"%{ord(byte.group()) - 0xDC00:02X}", text)


def faults_key_or_address(error: RejectedError) -> bool:
    """Whether a refusal faults the key or the address, so every payload would get it."""
    return error.status_code not in PAYLOAD_FAULT_STATUSES


def _said(response: requests.Response, body: _Body, target: Target) -> Tuple[str, List[str]]:
    """What the answer's body says, in one line, and each reason it lists (the local
    receiver's `{"reasons": [{"path", "reason"}]}`): the line shows the first few."""
    said = body.decoded
    if said is None:
        return f"(a body in {body.shown_encoding(target)} that cannot be shown)", []
    reasons = [_excerpt(reason, target) for reason in _reasons(response, said)]
    if reasons:
        shown = "; ".join(reasons[:REASONS_SHOWN])
        more = len(reasons) - REASONS_SHOWN
        return shown + (f" (and {more} more; -o json lists all)" if more > 0 else ""), reasons
    return _excerpt(_text(response, said), target), []


class _Body(NamedTuple):
    """An answer's body: as read (at most `ANSWER_BYTES`: see `_bounded_body`), the
    Content-Encoding it names, and the body with that undone (None when it cannot be)."""

    read_bytes: bytes
    encoding: str
    decoded: Optional[bytes]

    @classmethod
    def read(cls, response: requests.Response) -> _Body:
        said = _bounded_body(response)
        encoding = response.headers.get("Content-Encoding", "").strip()
        return cls(said, encoding, _decoded(said, encoding.lower()))

    def shown_encoding(self, target: Target) -> str:
        """The encoding named as it came (a receiver may echo anything): masked, then cut,
        before anything else is done with it."""
        return one_line(_excerpt(self.encoding, target, 40))


def _decoded(said: bytes, encoding: str) -> Optional[bytes]:
    """The answer's body (the start of it) with its Content-Encoding undone, at most
    `ANSWER_BYTES` of it; None when that cannot be done."""
    import zlib

    if encoding in ("", "identity"):
        return said
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return None
    try:  # a gzip or zlib header, told apart by zlib; a cut stream gives what it has
        return zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(said, ANSWER_BYTES)
    except zlib.error:
        return None


def _text(response: requests.Response, said: bytes) -> str:
    """The body as text, in the charset the answer names (UTF-8 when none or unknown)."""
    try:
        return said.decode(response.encoding or "utf-8", "replace")
    except LookupError:
        return said.decode("utf-8", "replace")


def _reasons(response: requests.Response, said: bytes) -> List[str]:
    if "json" not in response.headers.get("Content-Type", ""):
        return []
    try:
        listed = json.loads(said).get("reasons")
        found = [f"{r['path']}: {r['reason']}" if r.get("path") else str(r["reason"])
                 for r in listed]  # fmt: skip
    except (ValueError, AttributeError, TypeError, KeyError, RecursionError):
        return []
    return found


def _excerpt(text: str, target: Target, limit: int = 200) -> str:
    """The start of what the receiver said, on one line: masked, then cut (a secret cut in
    two would not be known)."""
    text = redact(" ".join(text.split()), *target.secrets)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
