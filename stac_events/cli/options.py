"""Options shared by several commands, declared once."""

# No `from __future__ import annotations` here: Typer reads these annotations at run time.

from enum import Enum
from typing import Annotated, Any, List, Optional

import click
import typer

from stac_events.parse import CATEGORIES, InvalidValue, canonical_category

EVENT = "Event"
CONTEXT = "Event context (binds the event to topology)"
BATCH = "Many events"
RECEIVER = "Receiver"
OUTPUT = "Output"


class CategoryChoice(click.Choice):
    """The five categories, in any case; converts to the canonical case."""

    def __init__(self) -> None:
        super().__init__(CATEGORIES, case_sensitive=False)

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]):
        try:
            return canonical_category(value)
        except InvalidValue as error:
            self.fail(str(error), param, ctx)


class OutputMode(str, Enum):
    text = "text"
    json = "json"


Url = Annotated[
    Optional[str],
    typer.Option(
        "--url",
        help="Receiver address, e.g. https://stackstate.example.com/receiver. "
        "Default: from the environment or the config file (see 'stac-events config show').",
        rich_help_panel=RECEIVER,
        show_default=False,
    ),
]
ApiKey = Annotated[
    Optional[str],
    typer.Option(
        "--api-key",
        help="Receiver API key. Prefer $STAC_EVENTS_API_KEY or the config file: "
        "flags show up in process lists and shell history.",
        rich_help_panel=RECEIVER,
        show_default=False,
    ),
]
Hostname = Annotated[
    Optional[str],
    typer.Option(
        "--hostname",
        help="Host the data is reported from (internalHostname). Default: the config's "
        "internal_hostname, else this machine's name.",
        rich_help_panel=RECEIVER,
        show_default=False,
    ),
]
Timeout = Annotated[
    Optional[float],
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Connect and read timeout. Default: 5 s to connect, 30 s to read.",
        rich_help_panel=RECEIVER,
        show_default=False,
    ),
]
Output = Annotated[
    OutputMode,
    typer.Option(
        "--output",
        "-o",
        help="'json' prints one result object on stdout, for success and failure.",
        rich_help_panel=OUTPUT,
    ),
]
Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print nothing on success.", rich_help_panel=OUTPUT),
]
Debug = Annotated[
    bool,
    typer.Option(
        "--debug",
        help="Log requests and show tracebacks on stderr (the key stays masked).",
        rich_help_panel=OUTPUT,
    ),
]
Retries = Annotated[
    int,
    typer.Option(
        "--retries",
        metavar="N",
        min=0,
        help="Retries after a connection error, timeout, 408, 429 or 5xx, with exponential "
        "backoff (capped at 10 s) and Retry-After honored.",
        rich_help_panel=RECEIVER,
    ),
]
Insecure = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Do not verify the receiver's TLS certificate (prints a warning every time).",
        rich_help_panel=RECEIVER,
    ),
]
CaCert = Annotated[
    Optional[str],
    typer.Option(
        "--ca-cert",
        metavar="PATH",
        help="Also trust the CA certificate(s) in this PEM file. REQUESTS_CA_BUNDLE works too.",
        rich_help_panel=RECEIVER,
        show_default=False,
    ),
]
NoSpool = Annotated[
    bool,
    typer.Option(
        "--no-spool",
        help="Do not queue on failure (exit 5 instead of 75), and do not flush the queue.",
        rich_help_panel=RECEIVER,
    ),
]


# The event's own flags, shared by `event send` and `event wrap`.

Title = Annotated[
    Optional[str],
    typer.Option(
        "--title",
        help="Title of the event (required for one event).",
        rich_help_panel=EVENT,
        show_default=False,
    ),
]
Text = Annotated[
    Optional[str],
    typer.Option(
        "--text",
        "-m",
        help="Body text. '-' reads stdin, '@PATH' reads a file. Default: the title.",
        rich_help_panel=EVENT,
        show_default=False,
    ),
]
Tags = Annotated[
    Optional[List[str]],
    typer.Option(
        "--tags",
        "-t",
        help="Tags, 'key:value' or plain: -t env:prod team:web.",
        rich_help_panel=EVENT,
        show_default=False,
    ),
]
Timestamp = Annotated[
    Optional[str],
    typer.Option(
        "--timestamp",
        help="When it happened: epoch seconds or ISO-8601 "
        "(2024-05-01T12:00:00Z; no offset means local time). Default: now.",
        rich_help_panel=EVENT,
        show_default=False,
    ),
]
SourceTypeName = Annotated[
    Optional[str],
    typer.Option(
        "--source-type-name",
        help="The source's own type name for the event.",
        rich_help_panel=EVENT,
        show_default=False,
    ),
]
Name = Annotated[
    Optional[str],
    typer.Option(
        "--name",
        help="Key the event is filed under in the payload. Default: the event type.",
        rich_help_panel=EVENT,
        show_default=False,
    ),
]
Identifiers = Annotated[
    Optional[List[str]],
    typer.Option(
        "--identifier",
        "-i",
        help="Topology element identifier(s) the event is about: -i urn:a urn:b.",
        rich_help_panel=CONTEXT,
        show_default=False,
    ),
]
Source = Annotated[
    Optional[str],
    typer.Option(
        "--source",
        "-s",
        help="System the event comes from. Default: stac-events.",
        rich_help_panel=CONTEXT,
        show_default=False,
    ),
]
Category = Annotated[
    Optional[str],
    typer.Option(
        "--category",
        "-c",
        click_type=CategoryChoice(),
        metavar="CATEGORY",
        help="Activities, Alerts, Anomalies, Changes or Others, in any case. Default: Others.",
        rich_help_panel=CONTEXT,
        show_default=False,
    ),
]
Data = Annotated[
    Optional[List[str]],
    typer.Option(
        "--data",
        "-d",
        help="Extra data: a JSON object, KEY=VALUE (repeat to add keys) or @PATH to a JSON file.",
        rich_help_panel=CONTEXT,
        show_default=False,
    ),
]
Links = Annotated[
    Optional[List[str]],
    typer.Option(
        "--links",
        help='Links, each "TITLE: URL" or a bare URL: --links "Run: https://ci/1".',
        rich_help_panel=CONTEXT,
        show_default=False,
    ),
]
SourceIdentifier = Annotated[
    Optional[str],
    typer.Option(
        "--source-identifier",
        help="The event's id in the source system.",
        rich_help_panel=CONTEXT,
        show_default=False,
    ),
]
CiContext = Annotated[
    bool,
    typer.Option(
        "--ci-context",
        help="Add the CI run's link, ci.* data and a ci_provider "
        "tag (GitHub Actions, GitLab CI, Jenkins, CircleCI, Azure Pipelines, "
        "Bitbucket Pipelines, Buildkite). Also $STAC_EVENTS_CI_CONTEXT=1.",
        rich_help_panel=CONTEXT,
    ),
]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Print the payload and send nothing.", rich_help_panel=OUTPUT),
]
