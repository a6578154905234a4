"""Shared by `event send` and `event wrap`: building payloads, then printing or sending them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Optional, Tuple

from stac_events.cli.context import Run
from stac_events.compose import EventFlags, compose_event, template_from_flags
from stac_events.errors import ConfigError, UsageError
from stac_events.model import envelope
from stac_events.output import summary_line
from stac_events.settings import DeliveryOptions, Settings

if TYPE_CHECKING:
    from stac_events.ci import CiContext
    from stac_events.delivery import Outcome

Payload = Tuple[bytes, int]


def ci_of(run: Run, settings: Settings) -> Optional[CiContext]:
    """The CI run's context when asked for; a note when asked for outside CI."""
    if not settings.ci_context.value:
        return None
    from stac_events.ci import detect

    found = detect(run.env.environ)
    if found is None:
        run.output.note(f"no CI system detected, so nothing CI-specific is added "
                        f"(--ci-context from {settings.ci_context.origin})")  # fmt: skip
    return found


def one_event(
    run: Run, settings: Settings, flags: EventFlags, *, now: float, ci: Optional[CiContext]
) -> Payload:
    name, event, warnings = compose_event(flags, now=now, ci=ci)
    for warning in warnings:
        run.output.warn(warning)
    body = envelope({name: [event]}, hostname=settings.hostname.value,
                    collection_timestamp=int(now))  # fmt: skip
    return body, 1


def many_events(
    run: Run,
    settings: Settings,
    flags: EventFlags,
    file: str,
    max_bytes: int,
    *,
    now: float,
    ci: Optional[CiContext],
) -> Tuple[Iterable[Payload], int]:
    """Validate every event of the file (or stdin) first; then its bodies, lazily."""
    from stac_events import batch

    template = template_from_flags(flags)
    if ci is not None:
        template = template.with_ci(ci)
    packer = batch.Packer(hostname=settings.hostname.value, collection_timestamp=int(now),
                          max_bytes=max_bytes)  # fmt: skip
    if file == "-":
        stream, label = batch.buffered(run.env.stdin), "stdin"
    else:
        try:
            stream, label = open(file, encoding="utf-8"), file  # noqa: SIM115 - closed below
        except OSError as error:
            raise UsageError(f"cannot read {file}: {error.strerror}", option="--file") from None
    with stream:
        try:
            validated = batch.validate_all(batch.read_events(stream, label), template, now=now,
                                           packer=packer)  # fmt: skip
        except UnicodeDecodeError:
            raise UsageError(f"{label} is not UTF-8 text", option="--file") from None
    for warning in validated.warnings:
        run.output.warn(warning)
    if validated.events == 0:
        raise UsageError(f"{label} holds no events", option="--file")
    return batch.bodies(validated, packer), validated.events


def dispatch(
    run: Run,
    settings: Settings,
    payloads: Iterable[Payload],
    *,
    total: int,
    dry_run: bool,
    gzip: bool,
    options: DeliveryOptions,
    no_spool: bool,
) -> Optional[Outcome]:
    """Print the payloads (--dry-run) or deliver them, and say what happened."""
    out = run.output
    if dry_run:
        count = 0
        for body, _ in payloads:
            out.payload(body)
            count += 1
        where = _dry_run_target(settings)
        note = f"dry run: {total} event(s) in {count} request(s); {where}"
        out.note(note + (" (gzip-compressed when sent)" if gzip else ""))
        return None
    target = settings.target()
    from stac_events.delivery import deliver

    encoding = None
    if gzip:
        payloads = _compressed(payloads)
        encoding = "gzip"
    with out.progress(total, "sending events") as advance:
        outcome = deliver(_counted(payloads, advance), target, options,
                          None if no_spool else run.spool(), encoding=encoding)  # fmt: skip
    report_delivery(run, outcome, target.masked_url)
    return outcome


def _dry_run_target(settings: Settings) -> str:
    try:
        return f"would POST to {settings.target().masked_url}"
    except ConfigError as missing:
        return f"{missing.message}, so this could not be sent yet; {missing.hint}"


def _compressed(payloads: Iterable[Payload]) -> Iterable[Payload]:
    import gzip

    for body, events in payloads:
        yield gzip.compress(body, compresslevel=6, mtime=0), events


def _counted(payloads: Iterable[Payload], advance: Callable[[int], None]) -> Iterable[Payload]:
    for body, events in payloads:
        yield body, events
        advance(events)


def report_delivery(run: Run, outcome: Outcome, address: str) -> None:
    """Say what was sent, and what the spool gave up on the way."""
    out = run.output
    flushed = outcome.flushed
    if flushed.delivered:
        out.note(f"delivered {flushed.delivered} queued payload(s) first")
    if flushed.rejected:
        out.warn(
            f"the receiver refused {flushed.rejected} queued payload(s); they were moved "
            f"aside, see 'stac-events spool list'"
        )
    requests = len(outcome.deliveries)
    out.result(
        {
            "events": outcome.events,
            "requests": requests,
            "status": outcome.status,
            "address": address,
            "attempts": outcome.attempts,
            "elapsed_ms": outcome.elapsed_ms,
            "spool": {"delivered": flushed.delivered, "rejected": flushed.rejected},
        },
        summary_line(outcome.events, requests, outcome.status, address, outcome.elapsed_ms),
    )
