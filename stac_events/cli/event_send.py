"""`stac-events event send`: one event from flags, or many from a file, to the receiver."""

from __future__ import annotations

import io
from typing import IO, TYPE_CHECKING, Callable, Iterator, List, NamedTuple, Optional

from stac_events import sending
from stac_events.cli import argv, signals
from stac_events.cli import options as o
from stac_events.cli.event_flags import check_typed, event_defaults
from stac_events.cli.records import Values
from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError
from stac_events.errors import ConfigError, InvalidInput
from stac_events.events import EventDefaults
from stac_events.sending import DEFAULT_MAX_REQUEST_BYTES, Prepared

if TYPE_CHECKING:
    from stac_events.batch import Head, Item
    from stac_events.cli.records import EventOptions
    from stac_events.delivery import Outcome


class SendOptions(NamedTuple):
    """What `event send` is given: its arguments and options (`cli.records`)."""

    event_type: Optional[str]
    title: Optional[str]
    text: Optional[str]
    tags: Values
    timestamp: Optional[str]
    source_type_name: Optional[str]
    name: Optional[str]
    identifiers: Values
    source: Optional[str]
    category: Optional[str]
    data: Values
    links: Values
    source_identifier: Optional[str]
    ci_context: bool
    file: Optional[str]
    max_request_bytes: int
    gzip: bool
    allow_empty: bool
    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    timeout: Optional[float]
    retries: Optional[int]
    max_time: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    headers: Values
    spool: bool
    dry_run: bool
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


def send(run: Run[SendOptions]) -> int:
    given = run.options
    check_typed(run)
    if given.file is None and not given.event_type:
        line = run.line.with_first_argument("EVENT_TYPE", looks_right="Event")
        where = "it goes before the flags that take several values, " if run.line.several() else ""
        raise UsageError(
            "Missing argument 'EVENT_TYPE'",
            hint=f"{where}e.g. {argv.join([run.output.prog, *line])}"
            + ("" if run.line.flags else f"; '{run.output.prog} event send --help' says more"),
        )
    if given.allow_empty and given.file is None:
        raise UsageError("only an input of many events can be empty; give --file PATH too",
                         option=o.ALLOW_EMPTY.long)  # fmt: skip
    if given.text == "-" and given.file == "-":
        raise UsageError("stdin cannot hold both the events and the text", option=o.BODY_TEXT.long)
    run.settings()  # a configuration that cannot be used stops the command first
    defaults = event_defaults(run, event_type=given.event_type, timestamp=given.timestamp)
    # Once the flags made an event, a signal is held until its delivery starts, which acts
    # on it: the event is queued, not lost. A batch being read can be stopped at once.
    with signals.deferred(holding=given.file is None) as deferral:
        if given.file is None:
            prepared = prepare(run, defaults, max_bytes=given.max_request_bytes)
        else:
            prepared = _prepare_file(run, defaults, given.file)
        try:
            if prepared.events == 0:  # --allow-empty, and there were none
                return _nothing_to_send(run, "stdin" if given.file == "-" else str(given.file))
            return deliver(run, prepared, dry_run=given.dry_run, gzip=given.gzip,
                           on_start=deferral.end)  # fmt: skip
        finally:
            prepared.close()


def _nothing_to_send(run: Run[SendOptions], label: str) -> int:
    """An empty input that was allowed to be: nothing is sent (the spool waits for the
    next send or flush), and the result says so. A receiver that is not configured is
    still an error, as it would be for events: the pipeline's next run would fail."""
    try:
        address: Optional[str] = run.settings().target().masked_url
    except ConfigError:
        if not run.options.dry_run:  # a dry run needs no receiver (SPEC section 6)
            raise
        address = None
    run.output.result(
        {"events": 0, "requests": 0, "address": address, "empty": True},
        f"no events in {label}; nothing was sent ({o.ALLOW_EMPTY.long})",
    )
    return 0


def prepare(
    run: Run[EventOptions],
    defaults: EventDefaults,
    *,
    events: Optional[Iterator[Item]] = None,
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    label: str = "the input",
    head: Optional[Head] = None,
    allow_empty: bool = False,
) -> Prepared:
    """The event of the flags, or the `events` they complete, validated by the library's
    core (`sending.prepare`); its warnings and notes shown."""
    prepared = sending.prepare(defaults, run.settings(), environ=run.env.environ,
                               now=run.env.clock(), events=events, max_bytes=max_bytes,
                               label=label, head=head, allow_empty=allow_empty)  # fmt: skip
    if prepared.ci_not_found is not None:
        origin = prepared.ci_not_found
        asked = "" if origin == o.CI_CONTEXT.long else f" (asked for by {origin})"
        run.output.note(f"no CI system detected, so nothing CI-specific is added{asked}")
    for warning in prepared.warnings:
        run.output.warn(warning)
    return prepared


def _prepare_file(run: Run[SendOptions], defaults: EventDefaults, file: str) -> Prepared:
    """The events of `--file`, completed by the flags."""
    from stac_events.batch import Head

    stream, label = _open(run, file)
    head = Head(hostname_given=run.options.hostname is not None)
    try:
        with stream:
            return prepare(run, defaults, events=sending.read_many(stream, label, head),
                           max_bytes=run.options.max_request_bytes, label=label, head=head,
                           allow_empty=run.options.allow_empty)  # fmt: skip
    except InvalidInput as error:
        if error.reason == sending.NO_EVENTS and error.hint is None:
            error.hint = f"when that is expected, {o.ALLOW_EMPTY.long} sends nothing and exits 0"
        raise


def _open(run: Run[SendOptions], file: str) -> tuple[IO[str], str]:
    """The input of `--file`, to be read once, forward only: stdin, a pipe, a FIFO and a
    file alike (nothing is copied first). A FIFO waits a bounded time for its writer."""
    from stac_events import batch
    from stac_events.inputs import open_input

    if file == "-":
        if run.env.stdin is None:
            raise UsageError(
                "stdin is closed, so there are no events to read",
                option=o.FILE.long,
                hint="pipe them in, or give a file: --file PATH",
            )
        try:
            return batch.text_of(run.env.stdin), "stdin"
        except (OSError, ValueError) as error:  # closed, or not readable
            reason = getattr(error, "strerror", None) or str(error)
            raise UsageError(f"cannot read stdin: {reason}", option=o.FILE.long) from None
    try:
        return io.TextIOWrapper(open_input(file), encoding="utf-8"), file
    except OSError as error:
        raise UsageError(f"cannot read {file}: {error.strerror}", option=o.FILE.long) from None


def deliver(
    run: Run[EventOptions],
    prepared: Prepared,
    *,
    dry_run: bool,
    gzip: bool,
    on_start: Optional[Callable[[], None]] = None,
) -> int:
    """Print the payloads (--dry-run), or send them through the library's core
    (`sending.send`) and say what happened; `on_start` is called as their delivery starts."""
    settings = run.settings()
    out = run.output
    if dry_run:
        count = 0
        for body, _ in prepared.payloads:
            out.payload(body, masked=prepared.masked)
            count += 1
        note = f"dry run: {prepared.events} event(s) in {count} request(s); {_target(run)}"
        out.note(note + (" (gzip-compressed when sent)" if gzip else ""))
        return 0
    target = settings.target()
    observed: List[Outcome] = []  # reported once the progress bar is gone
    try:
        with out.progress(prepared.events, "sending events") as advance:
            outcome = sending.send(prepared, settings, gzip=gzip, backoff=run.env.retry_backoff,
                                   progress=advance, on_start=on_start,
                                   observe=observed.append)  # fmt: skip
    finally:
        for seen in observed:
            out.spool_report(seen)
    out.outcome(outcome, target.masked_url)
    return 0


def _target(run: Run[EventOptions]) -> Optional[str]:
    try:
        return f"would POST to {run.settings().target().masked_url}"
    except ConfigError as missing:
        return f"{missing.message}, so this could not be sent yet; {missing.hint}"
