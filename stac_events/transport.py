"""Delivery of a payload to the receiver over HTTP(S).

`requests` is imported here, inside the functions, so that `--help` and `--dry-run`
never pay for it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from stac_events import __version__
from stac_events.errors import DeliveryError, RejectedError
from stac_events.redact import redact
from stac_events.settings import Target, Timeouts

if TYPE_CHECKING:
    import requests

log = logging.getLogger("stac_events.transport")

USER_AGENT = f"stac-events/{__version__}"

# Statuses that mean "try again later" rather than "this request is wrong".
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Delivery:
    """How a payload reached the receiver."""

    status: int
    attempts: int
    elapsed_ms: int


def post(body: bytes, target: Target, *, timeouts: Timeouts) -> Delivery:
    """POST one body; a 2xx returns, anything else raises `RejectedError` or `DeliveryError`."""
    import requests

    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "sts-api-key": target.api_key,
    }
    started = time.monotonic()
    log.debug("POST %s (%d bytes)", target.masked_url, len(body))
    try:
        with requests.Session() as session:
            session.auth = target.basic_auth
            response = session.post(
                target.url,
                data=body,
                headers=headers,
                timeout=(timeouts.connect, timeouts.read),
                allow_redirects=False,
            )
    except requests.exceptions.RequestException as error:
        raise _network_error(error, target, timeouts) from None
    elapsed_ms = round((time.monotonic() - started) * 1000)
    log.debug("%s %s in %d ms", response.status_code, response.reason, elapsed_ms)
    _raise_for_status(response, target)
    return Delivery(status=response.status_code, attempts=1, elapsed_ms=elapsed_ms)


def _host(target: Target) -> str:
    parts = urlsplit(target.address)
    return parts.netloc.rpartition("@")[2]


def _network_error(
    error: requests.exceptions.RequestException, target: Target, timeouts: Timeouts
) -> DeliveryError:
    """A one-line, key-free explanation of why the request never got an answer."""
    import requests

    host = _host(target)
    detail = redact(str(error), target.api_key)
    log.debug("request failed: %s", detail)
    if isinstance(error, requests.exceptions.SSLError):
        return DeliveryError(
            f"TLS certificate check failed for {host}",
            hint="trust its CA with --ca-cert PATH or REQUESTS_CA_BUNDLE",
        )
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return DeliveryError(f"timed out connecting to {host} after {timeouts.connect:g} s")
    if isinstance(error, requests.exceptions.ReadTimeout):
        return DeliveryError(f"{host} did not answer within {timeouts.read:g} s")
    if isinstance(error, requests.exceptions.ConnectionError):
        return DeliveryError(f"cannot connect to {host}: {_connection_reason(detail)}")
    return DeliveryError(f"the request to {host} failed: {detail}")


def _connection_reason(detail: str) -> str:
    lowered = detail.lower()
    if "refused" in lowered:
        return "connection refused (is the receiver running, and is the port right?)"
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or ("failed to resolve" in lowered)
    ):
        return "the host name does not resolve"
    if "reset by peer" in lowered or "remote end closed" in lowered or "aborted" in lowered:
        return "the connection was closed before an answer came"
    return detail


def _raise_for_status(response: requests.Response, target: Target) -> None:
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
        raise DeliveryError(message, status_code=status)
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
