"""`stac-events event send`: one event from flags, or many from a file, to the receiver."""

# No `from __future__ import annotations` here: before Python 3.11, Typer cannot see
# through string annotations whose default is None, and the options lose their names.

from typing import Annotated, ClassVar, Dict, Iterable, Optional, Sequence

import typer

from stac_events.cli import options
from stac_events.cli.command import LazyGroup, StacCommand
from stac_events.cli.context import current_run
from stac_events.cli.sending import Payload, ci_of, dispatch, many_events, one_event
from stac_events.compose import EventFlags, read_text
from stac_events.errors import UsageError


class EventGroup(LazyGroup):
    lazy_commands: ClassVar[Dict[str, str]] = {
        "send": "stac_events.cli.event:send_app",
        "wrap": "stac_events.cli.wrap:app",
    }


app = typer.Typer(
    cls=EventGroup,
    add_completion=False,  # completion is the root's: see stac_events.completions
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def event_group() -> None:
    """Send events to StackState: one from flags, many from a file, or one about a command."""


send_app = typer.Typer(
    add_completion=False, context_settings={"help_option_names": ["-h", "--help"]}
)


class EventSendCommand(StacCommand):
    """EVENT_TYPE is needed only without --file: only then may it be taken back from -i."""

    def positionals_needed(self, args: Sequence[str]) -> int:
        wants_file = any(a == "--file" or a.startswith("--file=") for a in args)
        return 0 if wants_file else 1


@send_app.command(
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
