"""Options shared by several commands, declared once."""

# No `from __future__ import annotations` here: Typer reads these annotations at run time.

from enum import Enum
from typing import Annotated, Optional

import typer

RECEIVER = "Receiver"
OUTPUT = "Output"


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
