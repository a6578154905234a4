"""`stac-events event send`: flags in, one event out to the receiver (or to stdout)."""

# No `from __future__ import annotations` here: before Python 3.11, Typer cannot see
# through string annotations whose default is None, and the options lose their names.

from typing import TYPE_CHECKING, Annotated, Any, List, Optional

import click
import typer

from stac_events.cli import options
from stac_events.cli.command import StacCommand
from stac_events.cli.context import Run, current_run
from stac_events.compose import EventFlags, compose_event, read_text
from stac_events.errors import ConfigError
from stac_events.model import common_object
from stac_events.output import summary_line
from stac_events.parse import CATEGORIES, InvalidValue, canonical_category

if TYPE_CHECKING:
    from stac_events.delivery import Outcome

app = typer.Typer(
    help="Send events to StackState.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EVENT = "Event"
CONTEXT = "Event context (binds the event to topology)"


class CategoryChoice(click.Choice):
    """The five categories, in any case; converts to the canonical case."""

    def __init__(self) -> None:
        super().__init__(CATEGORIES, case_sensitive=False)

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]):
        try:
            return canonical_category(value)
        except InvalidValue as error:
            self.fail(str(error), param, ctx)


@app.command(
    "send",
    cls=StacCommand,
    no_args_is_help=True,
    epilog=(
        "Multi-value flags (-i, -t, --links, -d) take several values after one flag, "
        "as `stac` did, or repeated flags: -i a b  or  -i a -i b.\n\n"
        'Example: stac-events event send DeployEvent --title "Deployed 1.4" '
        "-i urn:service:/checkout -c Changes -d version=1.4 --dry-run"
    ),
)
def send(
    ctx: typer.Context,
    event_type: Annotated[
        str,
        typer.Argument(
            help="What happened, e.g. DeployEvent. By convention it ends in 'Event'.",
            show_default=False,
        ),
    ],
    title: Annotated[
        Optional[str],
        typer.Option("--title", help="Title of the event (required).", rich_help_panel=EVENT),
    ] = None,
    text: Annotated[
        Optional[str],
        typer.Option(
            "--text",
            "-m",
            help="Body text. '-' reads stdin, '@PATH' reads a file. Default: the title.",
            rich_help_panel=EVENT,
        ),
    ] = None,
    tags: Annotated[
        Optional[List[str]],
        typer.Option(
            "--tags",
            "-t",
            help="Tags, 'key:value' or plain: -t env:prod team:web.",
            rich_help_panel=EVENT,
        ),
    ] = None,
    timestamp: Annotated[
        Optional[str],
        typer.Option(
            "--timestamp",
            help="When it happened: epoch seconds or ISO-8601 (2024-05-01T12:00:00Z; "
            "no offset means local time). Default: now.",
            rich_help_panel=EVENT,
        ),
    ] = None,
    source_type_name: Annotated[
        Optional[str],
        typer.Option(
            "--source-type-name",
            help="The source's own type name for the event.",
            rich_help_panel=EVENT,
        ),
    ] = None,
    name: Annotated[
        Optional[str],
        typer.Option(
            "--name",
            help="Key the event is filed under in the payload. Default: EVENT_TYPE.",
            rich_help_panel=EVENT,
        ),
    ] = None,
    identifiers: Annotated[
        Optional[List[str]],
        typer.Option(
            "--identifier",
            "-i",
            help="Topology element identifier(s) the event is about: -i urn:a urn:b.",
            rich_help_panel=CONTEXT,
        ),
    ] = None,
    source: Annotated[
        Optional[str],
        typer.Option(
            "--source",
            "-s",
            help="System the event comes from. Default: stac-events.",
            rich_help_panel=CONTEXT,
        ),
    ] = None,
    category: Annotated[
        Optional[str],
        typer.Option(
            "--category",
            "-c",
            click_type=CategoryChoice(),
            metavar="CATEGORY",
            help="Activities, Alerts, Anomalies, Changes or Others, in any case. Default: Others.",
            rich_help_panel=CONTEXT,
        ),
    ] = None,
    data: Annotated[
        Optional[List[str]],
        typer.Option(
            "--data",
            "-d",
            help="Extra data: a JSON object, KEY=VALUE (repeat to add keys) or @PATH to a "
            "JSON file.",
            rich_help_panel=CONTEXT,
        ),
    ] = None,
    links: Annotated[
        Optional[List[str]],
        typer.Option(
            "--links",
            help='Links, each "TITLE: URL" or a bare URL: --links "Run: https://ci/1".',
            rich_help_panel=CONTEXT,
        ),
    ] = None,
    source_identifier: Annotated[
        Optional[str],
        typer.Option(
            "--source-identifier",
            help="The event's id in the source system.",
            rich_help_panel=CONTEXT,
        ),
    ] = None,
    url: options.Url = None,
    api_key: options.ApiKey = None,
    hostname: options.Hostname = None,
    timeout: options.Timeout = None,
    retries: options.Retries = 3,
    insecure: options.Insecure = False,
    ca_cert: options.CaCert = None,
    no_spool: options.NoSpool = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the payload and send nothing.", rich_help_panel=options.OUTPUT
        ),
    ] = False,
    output: options.Output = options.OutputMode.text,
    quiet: options.Quiet = False,
    debug: options.Debug = False,
) -> None:
    """Send one event, built from flags, to the StackState receiver.

    Accepts every `stac event send` command line unchanged.
    """
    run = current_run(ctx)
    out, env = run.output, run.env
    run.configure(output=output.value, quiet=quiet, debug=debug, secret=api_key)
    delivery_options = run.delivery_options(
        timeout=timeout, retries=retries, insecure=insecure, ca_cert=ca_cert
    )
    settings = run.settings(url=url, api_key=api_key, hostname=hostname)

    now = env.clock()
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
    event_name, event, warnings = compose_event(flags, now=now)
    for warning in warnings:
        out.warn(warning)
    body = common_object(
        {event_name: [event]}, hostname=settings.hostname.value, collection_timestamp=int(now)
    ).to_json()

    if dry_run:
        out.payload(body)
        try:
            out.note(f"dry run: would POST to {settings.target().masked_url}")
        except ConfigError as missing:
            out.note(f"dry run: {missing.message}, so this could not be sent yet; {missing.hint}")
        return

    target = settings.target()
    from stac_events.delivery import deliver

    outcome = deliver([(body, 1)], target, delivery_options, None if no_spool else run.spool())
    report_delivery(run, outcome, target.masked_url)


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
    out.result(
        {
            "events": outcome.events,
            "requests": len(outcome.deliveries),
            "status": outcome.status,
            "address": address,
            "attempts": outcome.attempts,
            "elapsed_ms": outcome.elapsed_ms,
            "spool": {"delivered": flushed.delivered, "rejected": flushed.rejected},
        },
        summary_line(
            outcome.events, len(outcome.deliveries), outcome.status, address, outcome.elapsed_ms
        ),
    )
