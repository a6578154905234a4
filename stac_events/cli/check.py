"""`stac-events check`: can events get through? Reach, TLS, key and latency, in one POST."""

from __future__ import annotations

from typing import NamedTuple, Optional
from urllib.parse import urlsplit

from stac_events.cli.records import Values
from stac_events.cli.run import Run
from stac_events.model import envelope


class CheckOptions(NamedTuple):
    """What `check` is given: its arguments and options (`cli.records`)."""

    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    timeout: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    headers: Values
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


def check(run: Run[CheckOptions]) -> int:
    settings = run.settings()
    target = settings.target()
    assert settings.address is not None  # target() made sure of both
    assert settings.api_key is not None
    run.output.note(f"receiver  {target.masked_url}  (from {settings.address.origin})")
    now = run.env.clock()
    body = envelope({}, hostname=settings.hostname.value, collection_timestamp=int(now))

    from stac_events.transport import Sender

    options = settings.delivery_options(backoff=run.env.retry_backoff)._replace(retries=0)
    with Sender(target, options) as sender:
        receipt = sender.post(body)
    parts = urlsplit(target.address)
    verified = settings.tls_verify.value
    if parts.scheme != "https":
        tls, tls_word = "not used (plain http)", "none"
    elif verified:
        tls, tls_word = "verified", "verified"
    else:
        tls, tls_word = "NOT verified (--insecure)", "unverified"
    lines = [
        f"reach     ok, {parts.hostname} answered",
        f"tls       {tls}",
        f"key       accepted ({receipt.status}; from {settings.api_key.origin})",
        f"latency   {receipt.elapsed_ms} ms",
    ]
    run.output.result(
        {
            "address": target.masked_url,
            "status": receipt.status,
            "tls": tls_word,
            "latency_ms": receipt.elapsed_ms,
        },
        "\n".join(lines),
    )
    return 0
