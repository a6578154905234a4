"""`stac-events event send`: one event from flags, or many from a file, to the receiver."""

# No `from __future__ import annotations` here: before Python 3.11, Typer cannot see
# through string annotations whose default is None, and the options lose their names.

from typing import TYPE_CHECKING, Annotated, Callable, Iterable, Optional, Sequence, Tuple

import typer

from stac_events.cli import options
from stac_events.cli.command import StacCommand
from stac_events.cli.context import Run, current_run
from stac_events.compose import EventFlags, compose_event, read_text, template_from_flags
from stac_events.errors import ConfigError, UsageError
from stac_events.model import common_object
from stac_events.output import summary_line
from stac_events.settings import DeliveryOptions, Settings

if TYPE_CHECKING:
    from stac_events.ci import CiContext
    from stac_events.delivery import Outcome

Payload = Tuple[bytes, int]

app = typer.Typer(
    help="Send events to StackState: one from flags, many from a file, or one about a command.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class EventSendCommand(StacCommand):
    """EVENT_TYPE is needed only without --file: only then may it be taken back from -i."""

    def positionals_needed(self, args: Sequence[str]) -> int:
        wants_file = any(a == "--file" or a.startswith("--file=") for a in args)
        return 0 if wants_file else 1


@app.command(
    "send",
    cls=EventSendCommand,
    no_args_is_help=True,
    epilog=(
        "Multi-value flags (-i, -t, --links, -d) take several values after one flag, "
        "as `stac` did, or repeated flags: -i a b  or  -i a -i b.\n\n"
        'Example: stac-events event send DeployEvent --title "Deployed 1.4" '
        "-i urn:service:/checkout -c Changes -d version=1.4 --dry-run\n\n"
        "Many events: stac-events event send --file events.ndjson -s ci"
    ),
)
def send(
    ctx: typer.Context,
    event_type: Annotated[
        Optional[str],
        typer.Argument(
            help="What happened, e.g. DeployEvent. By convention it ends in 'Event'. "
            "With --file, the type of events that have none.",
            show_default=False,
        ),
    ] = None,
    title: options.Title = None,
    text: options.Text = None,
    tags: options.Tags = None,
    timestamp: options.Timestamp = None,
    source_type_name: options.SourceTypeName = None,
    name: options.Name = None,
    identifiers: options.Identifiers = None,
    source: options.Source = None,
    category: options.Category = None,
    data: options.Data = None,
    links: options.Links = None,
    source_identifier: options.SourceIdentifier = None,
    ci_context: options.CiContext = False,
    file: Annotated[
        Optional[str],
        typer.Option(
            "--file",
            "-f",
            metavar="PATH",
            help="Send many events: a JSON array, one event, NDJSON or a whole common JSON "
            "object; '-' reads stdin. The flags fill in what each event lacks.",
            rich_help_panel=options.BATCH,
            show_default=False,
        ),
    ] = None,
    max_request_bytes: Annotated[
        int,
        typer.Option(
            "--max-request-bytes",
            metavar="N",
            min=1024,
            help="Split batches so that no request body is larger.",
            rich_help_panel=options.BATCH,
        ),
    ] = 1024 * 1024,
    gzip: Annotated[
        bool,
        typer.Option(
            "--gzip",
            help="Compress request bodies (Content-Encoding: gzip).",
            rich_help_panel=options.BATCH,
        ),
    ] = False,
    url: options.Url = None,
    api_key: options.ApiKey = None,
    hostname: options.Hostname = None,
    timeout: options.Timeout = None,
    retries: options.Retries = 3,
    insecure: options.Insecure = False,
    ca_cert: options.CaCert = None,
    no_spool: options.NoSpool = False,
    dry_run: options.DryRun = False,
    output: options.Output = options.OutputMode.text,
    quiet: options.Quiet = False,
    debug: options.Debug = False,
) -> None:
    """Send one event, built from flags, or many from a file, to the StackState receiver.

    Accepts every `stac event send` command line unchanged.
    """
    run = current_run(ctx)
    run.configure(output=output.value, quiet=quiet, debug=debug, secret=api_key)
    delivery_options = run.delivery_options(
        timeout=timeout, retries=retries, insecure=insecure, ca_cert=ca_cert
    )
    settings = run.settings(url=url, api_key=api_key, hostname=hostname, ci_context=ci_context)
    env = run.env
    if text == "-" and file == "-":
        raise UsageError("stdin cannot hold both the events and the text", option="--text")
    flags = EventFlags(
        event_type=event_type,
        title=title,
        text=read_text(text, env.stdin) if text is not None else None,
        identifiers=identifiers or (),
        source=source,
        category=category,
        data=data or (),
        links=links or (),
        source_identifier=source_identifier,
        tags=tags or (),
        source_type_name=source_type_name,
        timestamp=timestamp,
        name=name,
    )
    now = env.clock()
    ci = ci_of(run, settings)
    if file is None:
        payloads: Iterable[Payload] = [one_event(run, settings, flags, now=now, ci=ci)]
        total = 1
    else:
        payloads, total = many_events(run, settings, flags, file, max_request_bytes, now=now,
                                      ci=ci)  # fmt: skip
    dispatch(run, settings, payloads, total=total, dry_run=dry_run, gzip=gzip,
             options=delivery_options, no_spool=no_spool)  # fmt: skip


def ci_of(run: Run, settings: Settings) -> "Optional[CiContext]":
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
    run: Run, settings: Settings, flags: EventFlags, *, now: float, ci: "Optional[CiContext]"
) -> Payload:
    name, event, warnings = compose_event(flags, now=now, ci=ci)
    for warning in warnings:
        run.output.warn(warning)
    envelope = common_object({name: [event]}, hostname=settings.hostname.value,
                             collection_timestamp=int(now))  # fmt: skip
    return envelope.to_json(), 1


def many_events(
    run: Run,
    settings: Settings,
    flags: EventFlags,
    file: str,
    max_bytes: int,
    *,
    now: float,
    ci: "Optional[CiContext]",
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
) -> "Optional[Outcome]":
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


def report_delivery(run: Run, outcome: "Outcome", address: str) -> None:
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
