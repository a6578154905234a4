"""`stac-events spool list|flush|clear`: payloads queued while the receiver was unreachable."""

# No `from __future__ import annotations` here: Typer reads these annotations at run time.

import typer

from stac_events.cli import options
from stac_events.cli.command import StacCommand
from stac_events.cli.context import current_run
from stac_events.errors import QueuedError, RejectedError

app = typer.Typer(
    add_completion=False,  # completion is the root's: see stac_events.completions
    help="Events queued while the receiver was unreachable: list, deliver or drop them.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command("list", cls=StacCommand)
def list_(ctx: typer.Context, output: options.Output = options.OutputMode.text) -> None:
    """List queued payloads, oldest first, then those the receiver refused."""
    run = current_run(ctx)
    run.configure(output=output.value, quiet=False, debug=False, secret=None)
    spool = run.spool()
    now = run.env.clock()
    entries = [entry.as_dict(now) for entry in spool.entries()]
    if output is options.OutputMode.json:
        run.output.data(entries)
        return
    if not entries:
        run.output.note(f"the spool is empty ({spool.root})")
        return
    for entry in entries:
        line = (
            f"{entry['id']}  {entry['state']:<8}  {entry['events']:>6} event(s)  "
            f"{_age(entry['age_s']):>8} old  {entry['address']}"
        )
        if "reason" in entry:
            line += f"  ({entry['reason']})"
        run.env.stdout.write(line + "\n")


@app.command("flush", cls=StacCommand)
def flush(
    ctx: typer.Context,
    url: options.Url = None,
    api_key: options.ApiKey = None,
    timeout: options.Timeout = None,
    retries: options.Retries = 3,
    insecure: options.Insecure = False,
    ca_cert: options.CaCert = None,
    output: options.Output = options.OutputMode.text,
    quiet: options.Quiet = False,
    debug: options.Debug = False,
) -> None:
    """Deliver queued payloads to the receiver, oldest first.

    Each is removed only once the receiver accepted it. Payloads queued for another
    receiver address wait for a flush that uses that address.
    """
    run = current_run(ctx)
    run.configure(output=output.value, quiet=quiet, debug=debug, secret=api_key)
    delivery_options = run.delivery_options(
        timeout=timeout, retries=retries, insecure=insecure, ca_cert=ca_cert
    )
    target = run.settings(url=url, api_key=api_key).target()
    spool = run.spool()

    from stac_events.delivery import flush as flush_spool
    from stac_events.transport import Sender

    with Sender(target, delivery_options) as sender:
        report = flush_spool(spool, sender)
    waiting = spool.waiting()
    summary = {
        "delivered": report.delivered,
        "events": report.events,
        "rejected": report.rejected,
        "waiting": waiting,
        "address": target.masked_url,
    }
    if report.blocked is not None:
        raise QueuedError(
            f"{report.blocked.message}; delivered {report.delivered}, "
            f"{waiting} payload(s) still queued",
            queued=waiting,
        )
    if report.rejected:
        raise RejectedError(
            f"the receiver refused {report.rejected} queued payload(s); they were moved to "
            f"{spool.rejected} (delivered {report.delivered})",
            hint="see 'stac-events spool list'",
        )
    text = f"delivered {report.delivered} queued payload(s), {report.events} event(s)"
    if report.elsewhere:
        text += f"; {report.elsewhere} wait for another receiver address"
    run.output.result(summary, text)


@app.command("clear", cls=StacCommand)
def clear(ctx: typer.Context, quiet: options.Quiet = False) -> None:
    """Delete every queued and refused payload. They will never be sent."""
    run = current_run(ctx)
    run.configure(output="text", quiet=quiet, debug=False, secret=None)
    removed = run.spool().clear()
    run.output.note(f"removed {removed} payload(s) from the spool")


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
