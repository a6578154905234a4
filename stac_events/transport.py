"""Delivery of payloads to the receiver over HTTP(S): one session, retries, trust.

`requests` is imported here, inside the functions, so that `--help` and `--dry-run`
never pay for it. Retries are urllib3's `Retry`; see `ReceiverRetry` for the two rules
it is taught.
"""

from __future__ import annotations

import logging
import random
import re
import time
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Tuple

from stac_events.errors import DeliveryError, RejectedError
from stac_events.redact import redact
from stac_events.settings import DeliveryOptions, Target, host_of
from stac_events.version import __version__

if TYPE_CHECKING:
    import requests
    from urllib3.util.retry import Retry

log = logging.getLogger("stac_events.transport")

USER_AGENT = f"stac-events/{__version__}"
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_MAX_S = 10.0
RETRY_AFTER_MAX_S = 60.0  # a receiver asking for longer is better served by the spool


class Receipt(NamedTuple):
    """The receiver's yes to one payload, and what it took to get it."""

    status: int
    attempts: int
    elapsed_ms: int


def _retry_class() -> type:
    from urllib3.util.retry import Retry

    class ReceiverRetry(Retry):
        """urllib3's Retry, taught two rules of SPEC section 7.

        Retry-After is honored on every transient status, not only 413/429/503, and the
        first retry waits too (urllib3 retries the first time at once).
        """

        RETRY_AFTER_STATUS_CODES = TRANSIENT_STATUSES

        def get_backoff_time(self) -> float:
            failures = len(self.history)
            if failures == 0 or self.backoff_factor <= 0:
                return 0.0
            backoff = self.backoff_factor * 2 ** (failures - 1)
            backoff += random.random() * self.backoff_jitter  # noqa: S311 - jitter, not crypto
            return min(self.backoff_max, backoff)

        def get_retry_after(self, response: Any) -> Optional[float]:
            seconds = super().get_retry_after(response)
            return None if seconds is None else min(seconds, RETRY_AFTER_MAX_S)

    return ReceiverRetry


def retry_policy(options: DeliveryOptions) -> Retry:
    """The retry rules: transient failures only, the same bytes every time, never a redirect."""
    return _retry_class()(
        total=options.retries,
        connect=options.retries,
        read=options.retries,
        status=options.retries,
        other=0,
        redirect=False,
        allowed_methods=None,  # POST too: the receiver keys events by content, not by request
        status_forcelist=TRANSIENT_STATUSES,
        backoff_factor=options.backoff,
        backoff_jitter=options.backoff,
        backoff_max=BACKOFF_MAX_S,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class Sender:
    """An open connection to one receiver; POSTs bodies and explains every failure."""

    def __init__(self, target: Target, options: DeliveryOptions) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.target = target
        self.options = options
        self.session = requests.Session()
        self.session.auth = target.basic_auth
        adapter_class = _trusting_adapter(options) if options.ca_certs else HTTPAdapter
        adapter = adapter_class(max_retries=retry_policy(options))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        if options.insecure:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def post(self, body: bytes, *, encoding: Optional[str] = None) -> Receipt:
        """POST one body; a 2xx returns, anything else raises `RejectedError` or `DeliveryError`."""
        import requests

        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "sts-api-key": self.target.api_key,
        }
        if encoding:
            headers["Content-Encoding"] = encoding
        started = time.monotonic()
        log.debug("POST %s (%d bytes)", self.target.masked_url, len(body))
        try:
            response = self.session.post(
                self.target.url,
                data=body,
                headers=headers,
                timeout=(self.options.connect_timeout, self.options.read_timeout),
                allow_redirects=False,
                verify=not self.options.insecure,
            )
        except requests.exceptions.RequestException as error:
            raise self._network_error(error) from None
        elapsed_ms = round((time.monotonic() - started) * 1000)
        attempts = _attempts(response)
        log.debug("%s %s in %d ms, %d attempt(s)", response.status_code, response.reason,
                  elapsed_ms, attempts)  # fmt: skip
        _raise_for_status(response, self.target, attempts)
        return Receipt(status=response.status_code, attempts=attempts, elapsed_ms=elapsed_ms)

    def _network_error(self, error: requests.exceptions.RequestException) -> DeliveryError:
        """A one-line, key-free explanation of why the request never got an answer."""
        import requests

        host = host_of(self.target.address)
        detail = redact(str(error), self.target.api_key)
        log.debug("request failed: %s", detail)
        attempts = self.options.retries + 1
        if isinstance(error, requests.exceptions.SSLError):
            reason = re.search(r"certificate verify failed: ([^(]+)", detail)
            why = f": {reason.group(1).strip()}" if reason else ""
            return DeliveryError(
                f"TLS certificate check failed for {host}{why}",
                hint="trust its CA with --ca-cert PATH or REQUESTS_CA_BUNDLE "
                "(--insecure skips the check)",
                transient=False,
                attempts=1,
            )
        timed_out = _cause_is_read_timeout(error)
        if isinstance(error, requests.exceptions.ConnectTimeout):
            return DeliveryError(
                f"timed out connecting to {host} after {self.options.connect_timeout:g} s",
                attempts=attempts,
            )
        if isinstance(error, requests.exceptions.ReadTimeout) or timed_out:
            return DeliveryError(
                f"{host} did not answer within {self.options.read_timeout:g} s",
                attempts=attempts,
            )
        if isinstance(error, requests.exceptions.ConnectionError):
            return DeliveryError(
                f"cannot connect to {host}: {_connection_reason(detail)}", attempts=attempts
            )
        return DeliveryError(f"the request to {host} failed: {detail}", attempts=attempts)


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

            import requests.certs

            built = ssl.create_default_context(cafile=requests.certs.where())
            for path in options.ca_certs:
                built.load_verify_locations(cafile=path)
            contexts.append(built)
        return contexts[0]

    class TrustingAdapter(HTTPAdapter):
        def build_connection_pool_key_attributes(
            self, request: Any, verify: Any, cert: Any = None
        ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
            host, tls = super().build_connection_pool_key_attributes(request, verify, cert)
            if verify is not False and host.get("scheme") == "https":
                # requests may pass REQUESTS_CA_BUNDLE here: it is in the context already
                tls.pop("ca_certs", None)
                tls.pop("ca_cert_dir", None)
                tls["ssl_context"] = context()
            return host, tls

    return TrustingAdapter


def _cause_is_read_timeout(error: Exception) -> bool:
    """After retries run out, requests reports a read timeout as a ConnectionError."""
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError

    cause = error.args[0] if error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError)


def _attempts(response: requests.Response) -> int:
    retries = getattr(response.raw, "retries", None)
    return len(retries.history) + 1 if retries is not None else 1


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


def _raise_for_status(response: requests.Response, target: Target, attempts: int) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    what = f"{status} {response.reason or ''}".strip()
    if 300 <= status < 400:
        location = redact(response.headers.get("Location", "(no Location header)"), target.api_key)
        raise RejectedError(
            f"the receiver redirected ({what}) to {location}; redirects are not followed, "
            f"so the API key is never sent elsewhere",
            status_code=status,
            hint="use the final address with --url",
        )
    said = _excerpt(response, target)
    message = f"the receiver answered {what}" + (f": {said}" if said else "")
    if status in TRANSIENT_STATUSES or status >= 500:
        if attempts > 1:
            message += f" ({attempts} attempts)"
        raise DeliveryError(message, status_code=status, attempts=attempts)
    hints = {
        401: "check the API key",
        403: "check the API key",
        404: "check the address; it usually ends in /receiver/stsAgent/intake",
        413: "the payload is too large for the receiver",
    }
    raise RejectedError(message, status_code=status, hint=hints.get(status))


def _excerpt(response: requests.Response, target: Target, limit: int = 200) -> str:
    text = " ".join(response.text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return redact(text, target.api_key)
