"""`stac-events event send`: one event from flags, or many from a file, to the receiver."""

from __future__ import annotations

from typing import IO, Optional

from stac_events import sending
from stac_events.cli import argv
from stac_events.cli import options as o
from stac_events.cli.event_flags import event_defaults
from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError
from stac_events.errors import ConfigError, InvalidInput
from stac_events.events import EventDefaults
from stac_events.sending import Prepared


def send(run: Run) -> int:
    given = run.given
    if given.file is None and not given.event_type:
        line = run.line.with_first_argument("EVENT_TYPE", looks_right="Event")
        where = "it goes before the flags that take several values, " if run.line.several() else ""
        raise UsageError(
            "Missing argument 'EVENT_TYPE'",
            hint=f"{where}e.g. {argv.join([run.output.prog, *line])}",
        )
    if given.text == "-" and given.file == "-":
        raise UsageError("stdin cannot hold both the events and the text", option=o.BODY_TEXT.long)
    run.settings()  # a configuration that cannot be used stops the command first
    defaults = event_defaults(run, event_type=given.event_type)
    prepared = prepare(run, defaults)
    try:
        return deliver(run, prepared, dry_run=given.dry_run, gzip=given.gzip)
    finally:
        prepared.close()


def prepare(run: Run, defaults: EventDefaults) -> Prepared:
    """The event of the flags, or the events of `--file`, validated; warnings shown."""
    settings = run.settings()
    now = run.env.clock()
    ci = sending.ci_run(settings, run.env.environ)
    if settings.ci_context.value and ci is None:
        run.output.note(f"no CI system detected, so nothing CI-specific is added "
                        f"(--ci-context from {settings.ci_context.origin})")  # fmt: skip
    hostname = settings.hostname.value
    file = run.given.get("file")
    if file is None:
        prepared = sending.prepare_one(defaults, hostname=hostname, now=now, ci=ci)
    else:
        stream, label = _open(run, file)
        with stream:
            prepared = sending.prepare_many(
                sending.read_many(stream, label), defaults, hostname=hostname, now=now,
                max_bytes=run.given.max_request_bytes, ci=ci, label=label,
            )  # fmt: skip
    for warning in prepared.warnings:
        run.output.warn(warning)
    return prepared


def _open(run: Run, file: str) -> tuple[IO[str], str]:
    from stac_events import batch

    if file == "-":
        try:
            return batch.buffered(run.env.stdin), "stdin"
        except UnicodeDecodeError:
            raise InvalidInput("not UTF-8 text", where="stdin") from None
    try:
        return open(file, encoding="utf-8"), file  # the caller closes it
    except OSError as error:
        raise UsageError(f"cannot read {file}: {error.strerror}", option=o.FILE.long) from None


def deliver(run: Run, prepared: Prepared, *, dry_run: bool, gzip: bool) -> int:
    """Print the payloads (--dry-run), or send them and say what happened."""
    settings = run.settings()
    out = run.output
    if dry_run:
        count = 0
        for body, _ in prepared.payloads:
            out.payload(body)
            count += 1
        note = f"dry run: {prepared.events} event(s) in {count} request(s); {_target(run)}"
        out.note(note + (" (gzip-compressed when sent)" if gzip else ""))
        return 0
    target = settings.target()
    with out.progress(prepared.events, "sending events") as advance:
        outcome = sending.send(prepared, settings, gzip=gzip, backoff=run.env.retry_backoff,
                               progress=advance)  # fmt: skip
    out.spool_report(outcome)
    problem = outcome.problem()
    if problem is not None:
        raise problem
    out.outcome(outcome, target.masked_url)
    return 0


def _target(run: Run) -> Optional[str]:
    try:
        return f"would POST to {run.settings().target().masked_url}"
    except ConfigError as missing:
        return f"{missing.message}, so this could not be sent yet; {missing.hint}"
