"""`stac-events check`: can events get through? Reach, TLS, key and latency, in one POST."""

# No `from __future__ import annotations` here: Typer reads these annotations at run time.

from urllib.parse import urlsplit

import typer

from stac_events.cli import options
from stac_events.cli.command import StacCommand
from stac_events.cli.context import current_run
from stac_events.model import common_object


def register(app: typer.Typer) -> None:
    app.command("check", cls=StacCommand)(check)


def check(
    ctx: typer.Context,
    url: options.Url = None,
    api_key: options.ApiKey = None,
    hostname: options.Hostname = None,
    timeout: options.Timeout = None,
    output: options.Output = options.OutputMode.text,
    quiet: options.Quiet = False,
    debug: options.Debug = False,
) -> None:
    """Check the receiver: POST a common JSON object with no events, report what happened.

    Resolves the address and key as 'event send' does; exits as 'event send' would.
    """
    run = current_run(ctx)
    run.configure(output=output.value, quiet=quiet, debug=debug, secret=api_key)
    timeouts = run.timeouts(timeout)
    settings = run.settings(url=url, api_key=api_key, hostname=hostname)
    target = settings.target()
    assert settings.address is not None  # target() made sure of both
    assert settings.api_key is not None
    run.output.note(f"receiver  {target.masked_url}  (from {settings.address.origin})")
    now = run.env.clock()
    body = common_object({}, hostname=settings.hostname.value, collection_timestamp=int(now))

    from stac_events import transport

    delivery = transport.post(body.to_json(), target, timeouts=timeouts)
    parts = urlsplit(target.address)
    tls = "verified" if parts.scheme == "https" else "not used (plain http)"
    lines = [
        f"reach     ok, {parts.hostname} answered",
        f"tls       {tls}",
        f"key       accepted ({delivery.status}; from {settings.api_key.origin})",
        f"latency   {delivery.elapsed_ms} ms",
    ]
    run.output.result(
        {
            "address": target.masked_url,
            "status": delivery.status,
            "tls": "verified" if parts.scheme == "https" else "none",
            "latency_ms": delivery.elapsed_ms,
        },
        "\n".join(lines),
    )
