"""`stac-events spool list|flush|clear`: payloads queued while the receiver was unreachable."""

from __future__ import annotations

from stac_events.cli.run import Run
from stac_events.events import duration_in_words


def list_entries(run: Run) -> int:
    spool = run.spool()
    now = run.env.clock()
    entries = [entry.as_dict(now) for entry in spool.entries()]
    if run.given.output == "json":
        run.output.data(entries)
        return 0
    if not entries:
        run.output.note(f"the spool is empty ({spool.root})")
        return 0
    for entry in entries:
        line = (
            f"{entry['id']}  {entry['state']:<8}  {entry['events']:>6} event(s)  "
            f"{duration_in_words(entry['age_s']):>10} old  {entry['address']}"
        )
        if "reason" in entry:
            line += f"  ({entry['reason']})"
        run.env.stdout.write(line + "\n")
    return 0


def flush(run: Run) -> int:
    from stac_events import sending

    settings = run.settings()
    outcome = sending.flush(settings, backoff=run.env.retry_backoff)
    problem = outcome.problem()
    if problem is not None:
        raise problem
    report = outcome.flushed
    text = f"delivered {report.delivered} queued payload(s), {report.events} event(s)"
    if report.elsewhere:
        text += f"; {report.elsewhere} wait for another receiver address"
    summary = {
        "delivered": report.delivered,
        "events": report.events,
        "rejected": report.rejected,
        "waiting": outcome.waiting(),
        "address": settings.target().masked_url,
    }
    run.output.result(summary, text)
    return 0


def clear(run: Run) -> int:
    removed = run.spool().clear()
    run.output.note(f"removed {removed} payload(s) from the spool")
    return 0
