"""`stac-events check`: can events get through? Reach, TLS, key and latency, in one POST."""

# No `from __future__ import annotations` here: Typer reads these annotations at run time.

from urllib.parse import urlsplit

import typer

from stac_events.cli import options
from stac_events.cli.command import StacCommand
from stac_events.cli.context import current_run
from stac_events.model import envelope

app = typer.Typer(add_completion=False, context_settings={"help_option_names": ["-h", "--help"]})


@app.command("check", cls=StacCommand)
def check(
    ctx: typer.Context,
    url: options.Url = None,
    api_key: options.ApiKey = None,
    hostname: options.Hostname = None,
    timeout: options.Timeout = None,
    insecure: options.Insecure = False,
    ca_cert: options.CaCert = None,
    output: options.Output = options.OutputMode.text,
    quiet: options.Quiet = False,
    debug: options.Debug = False,
) -> None:
    """Check the receiver: POST a common JSON object with no events, report what happened.

    Resolves the address and key as 'event send' does, and exits as it would; it does not
    retry, so the answer is the receiver's first.
    """
    run = current_run(ctx)
    run.configure(output=output.value, quiet=quiet, debug=debug, secret=api_key)
    delivery_options = run.delivery_options(
        timeout=timeout, retries=0, insecure=insecure, ca_cert=ca_cert
    )
    settings = run.settings(url=url, api_key=api_key, hostname=hostname)
    target = settings.target()
    assert settings.address is not None  # target() made sure of both
    assert settings.api_key is not None
    run.output.note(f"receiver  {target.masked_url}  (from {settings.address.origin})")
    now = run.env.clock()
    body = envelope({}, hostname=settings.hostname.value, collection_timestamp=int(now))

    from stac_events.transport import Sender

    with Sender(target, delivery_options) as sender:
        delivery = sender.post(body)
    parts = urlsplit(target.address)
    if parts.scheme != "https":
        tls = "not used (plain http)"
    else:
        tls = "NOT verified (--insecure)" if insecure else "verified"
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
            "tls": "none" if parts.scheme != "https" else "unverified" if insecure else "verified",
            "latency_ms": delivery.elapsed_ms,
        },
        "\n".join(lines),
    )
