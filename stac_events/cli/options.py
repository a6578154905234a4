"""Every option of the command line, declared once; commands take them in groups.

An `Opt` says all there is to say about one option: its flags, its help, its kind and
how its text becomes a value. Typer's parameters (`cli.typer_app`), the rule for
multi-value flags (`cli.argv`) and the completion scripts (`cli.completion_scripts`)
are all made from these declarations.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Tuple

from stac_events import setting_specs as specs
from stac_events.parse import (
    CATEGORIES,
    LARGEST_REQUEST_BYTES,
    InvalidValue,
    canonical_category,
    parse_count,
    parse_duration,
    parse_port,
)

# What an option takes, which decides its Typer type, the argv rule and completion.
FLAG = "flag"  # nothing: present or not
TEXT = "text"  # one value
MANY = "many"  # one or more values after the flag, or the flag repeated (stac's nargs='+')
REPEATED = "repeated"  # one value, and the flag may be given again for another (curl's -H)
PATH = "path"  # one value, a file
INSTANCE = "instance"  # one value, an instance name of the config file
CHOICE = "choice"  # one value of `choices`

# Stands for the program's name in help texts: `stac` when run as `stac`.
PROG = specs.PROG


def for_program(text: str, prog: str) -> str:
    """A help text with the program's name as the user typed it."""
    return text.replace(PROG, prog)


# Help panels, in the order a newcomer reads them.
EVENT = "Event"
CONTEXT = "Event context (binds the event to topology)"
BATCH = "Many events"
COMMAND = "The command"
RECEIVER = "Receiver"
DELIVERY = "Delivery"
OUTPUT = "Output"
SELECTION = "Configuration"


class Opt(NamedTuple):
    """One option. `name` is its field in the command's record (`run.options`) and, for a
    setting, the setting's name (`setting_specs`)."""

    name: str
    flags: Tuple[str, ...]  # the long flag first
    help: str
    panel: str
    kind: str = TEXT
    metavar: Optional[str] = None
    choices: Tuple[str, ...] = ()
    convert: Optional[Callable[[str], Any]] = None  # text to value; InvalidValue when it cannot
    default: Any = None  # the value when not given
    at_file: bool = False  # also takes @PATH (completion offers files after the '@')
    value_optional: bool = False  # the value may be left out: `--show-completion [SHELL]`
    flag_value: Any = True  # what a flag given means: `--no-spool` means spool=False

    @property
    def long(self) -> str:
        return self.flags[0]

    @property
    def takes_value(self) -> bool:
        return self.kind != FLAG


def setting(spec: specs.SettingSpec[Any], panel: str, kind: Optional[str] = None) -> Opt:
    """The option that gives a setting: its flag, help and conversion are the setting's."""
    if kind is None:
        kind = FLAG if spec.switch else PATH if spec.path else TEXT
    flags = (spec.flag, spec.short) if spec.short else (spec.flag,)
    return Opt(spec.name, flags, spec.help, panel, kind, metavar=spec.metavar,
               convert=spec.convert, default=spec.default if spec.switch else None,
               flag_value=spec.flag_value)  # fmt: skip


def choice(*choices: str) -> Callable[[str], str]:
    """A converter that accepts one of `choices`, in any case."""

    def convert(text: str) -> str:
        found = text.strip().lower()
        if found in choices:
            return found
        raise InvalidValue(f"{text!r} is not one of {', '.join(choices)}")

    return convert


def count(minimum: int, maximum: Optional[int] = None) -> Callable[[str], int]:
    def convert(text: str) -> int:
        number = parse_count(text, minimum=minimum)
        if maximum is not None and number > maximum:
            raise InvalidValue(f"{number} is too large; give {maximum} or less")
        return number

    return convert


# Which config file, instance and client: accepted before the command and after it.

CONFIG = setting(specs.CONFIG, SELECTION)
INSTANCE_NAME = setting(specs.INSTANCE, SELECTION, INSTANCE)
CLIENT = setting(specs.CLIENT, SELECTION)
SELECTION_OPTIONS = (CONFIG, INSTANCE_NAME, CLIENT)

# The receiver, and how to reach it.

URL = setting(specs.URL, RECEIVER)
API_KEY = setting(specs.API_KEY, RECEIVER)
HOSTNAME = setting(specs.HOSTNAME, RECEIVER)
RECEIVER_OPTIONS = (URL, API_KEY, HOSTNAME)

TIMEOUT = setting(specs.TIMEOUT, DELIVERY)
RETRIES = setting(specs.RETRIES_SPEC, DELIVERY)
MAX_TIME = setting(specs.MAX_TIME, DELIVERY)
INSECURE = setting(specs.INSECURE, DELIVERY)
CA_CERT = setting(specs.CA_CERT, DELIVERY)
NO_SPOOL = setting(specs.SPOOL, DELIVERY)
HEADER = setting(specs.HEADERS, DELIVERY, REPEATED)
DELIVERY_OPTIONS = (TIMEOUT, RETRIES, MAX_TIME, INSECURE, CA_CERT, HEADER, NO_SPOOL)

# What is printed.

OUTPUT_MODE = Opt("output", ("--output", "-o"),
                  "'json' prints one result object on stdout, for success and failure.",
                  OUTPUT, CHOICE, metavar="text|json", choices=("text", "json"),
                  convert=choice("text", "json"), default="text")  # fmt: skip
QUIET = Opt("quiet", ("--quiet", "-q"), "Print nothing on success.", OUTPUT, FLAG, default=False)
DEBUG = Opt("debug", ("--debug",),
            "Show each request (its headers, and its body pretty-printed, gzip undone, "
            "cut to 4 KiB) and each answer (status, headers, the start of its body) on "
            "stderr, and tracebacks; the key and the headers' values stay masked.",
            OUTPUT, FLAG, default=False)  # fmt: skip
DRY_RUN = Opt("dry_run", ("--dry-run",), "Print the payload and send nothing.", OUTPUT, FLAG,
              default=False)  # fmt: skip
OUTPUT_OPTIONS = (OUTPUT_MODE, QUIET, DEBUG)

# The spool's own.

SPOOL = "Spool"
ALL = Opt("all", ("--all",), "Every payload set aside: refused, or failed on.", SPOOL, FLAG,
          default=False)  # fmt: skip

# The event: shared by `event send` and `event wrap`.

TITLE = Opt(
    "title", ("--title",), "Title of the event (required for one event).", EVENT, metavar="TEXT"
)
BODY_TEXT = Opt("text", ("--text", "-m"),
            "Body text. '-' reads stdin, '@PATH' reads a file. Default: the title.",
            EVENT, metavar="TEXT", at_file=True)  # fmt: skip
TAGS = Opt("tags", ("--tags", "-t"), "Tags, 'key:value' or plain: -t env:prod team:web.",
           EVENT, MANY, metavar="TAG...")  # fmt: skip
TIMESTAMP = Opt("timestamp", ("--timestamp",),
                "When it happened: epoch seconds or ISO-8601 (2024-05-01T12:00:00Z; no offset "
                "means local time). Default: now.",
                EVENT, metavar="TS")  # fmt: skip
SOURCE_TYPE_NAME = Opt(
    "source_type_name",
    ("--source-type-name",),
    "The source's own type name for the event.",
    EVENT,
    metavar="NAME",
)
NAME = Opt("name", ("--name",),
           "Key the event is filed under in the payload. Default: the event type.",
           EVENT, metavar="NAME")  # fmt: skip

IDENTIFIERS = Opt("identifiers", ("--identifier", "-i"),
                  "Topology element identifier(s) the event is about: -i urn:a urn:b.",
                  CONTEXT, MANY, metavar="ID...")  # fmt: skip
SOURCE = Opt("source", ("--source", "-s"), "System the event comes from. Default: stac-events.",
             CONTEXT, metavar="NAME")  # fmt: skip
CATEGORY = Opt("category", ("--category", "-c"),
               f"{', '.join(CATEGORIES[:-1])} or {CATEGORIES[-1]}, in any case. Default: Others.",
               CONTEXT, CHOICE, metavar="CATEGORY", choices=CATEGORIES,
               convert=canonical_category)  # fmt: skip
DATA = Opt("data", ("--data", "-d"),
           "Extra data: a JSON object, KEY=VALUE (give several) or @PATH to a JSON file.",
           CONTEXT, MANY, metavar="VALUE...", at_file=True)  # fmt: skip
LINKS = Opt("links", ("--links",),
            'Links, each "TITLE: URL" or a bare URL: --links "Run: https://ci/1".',
            CONTEXT, MANY, metavar="LINK...")  # fmt: skip
SOURCE_IDENTIFIER = Opt(
    "source_identifier",
    ("--source-identifier",),
    "The event's id in the source system.",
    CONTEXT,
    metavar="ID",
)
CI_CONTEXT = setting(specs.CI_CONTEXT, CONTEXT)

EVENT_OPTIONS = (TITLE, BODY_TEXT, TAGS, TIMESTAMP, SOURCE_TYPE_NAME, NAME)
CONTEXT_OPTIONS = (IDENTIFIERS, SOURCE, CATEGORY, DATA, LINKS, SOURCE_IDENTIFIER, CI_CONTEXT)

# Many events at once.

FILE = Opt("file", ("--file", "-f"),
           "Send many events: a JSON array, one event, NDJSON or a whole common JSON object; "
           "'-' reads stdin. The flags fill in what each event lacks.",
           BATCH, PATH, metavar="PATH")  # fmt: skip
MAX_REQUEST_BYTES = Opt(
    "max_request_bytes",
    ("--max-request-bytes",),
    "Split batches so that no request body is larger (1024 to 67108864). Default: 1048576.",
    BATCH,
    metavar="N",
    convert=count(1024, LARGEST_REQUEST_BYTES),
    default=1024 * 1024,
)
GZIP = Opt("gzip", ("--gzip",), "Compress request bodies (Content-Encoding: gzip).", BATCH,
           FLAG, default=False)  # fmt: skip
ALLOW_EMPTY = Opt("allow_empty", ("--allow-empty",),
                  "With --file: an input that holds no events sends nothing and exits 0, "
                  "with a note (without it, that is exit 2).",
                  BATCH, FLAG, default=False)  # fmt: skip
BATCH_OPTIONS = (FILE, MAX_REQUEST_BYTES, GZIP, ALLOW_EMPTY)

# `event wrap`'s own.

WRAP_EVENT_TYPE = Opt("event_type", ("--event-type",), "The event's type. Default: CommandEvent.",
                      COMMAND, metavar="TYPE", default="CommandEvent")  # fmt: skip
WRAP_ON = Opt("on", ("--on",), "'failure' sends only when the command fails. Default: always.",
              COMMAND, CHOICE, metavar="always|failure", choices=("always", "failure"),
              convert=choice("always", "failure"), default="always")  # fmt: skip
MOST_TAIL_LINES = 10_000  # more could never fit the 4 KiB kept of the output
TAIL_LINES = Opt("tail_lines", ("--tail-lines",),
                 "How many of the last output lines go into the event's text, at most 4 KiB "
                 "of them. Default: 20; at most 10000.",
                 COMMAND, metavar="N", convert=count(0, MOST_TAIL_LINES), default=20)  # fmt: skip
LONGEST_TIME_LIMIT_S = 366 * 86400.0  # a year: more is a typo (and beyond what timers take)


def _time_limit(text: str) -> float:
    return parse_duration(text, longest=LONGEST_TIME_LIMIT_S,
                          longest_said="a time limit may be (a year)")  # fmt: skip


TIME_LIMIT = Opt("time_limit", ("--time-limit",),
                 "Stop the command if it still runs after this long (30, 90s, 10m, 2h): "
                 "SIGTERM to it and what it started, SIGKILL 5 s later. The event then says "
                 "it timed out (category Alerts), and wrap exits 124, as timeout(1) does. "
                 "Default: no limit.",
                 COMMAND, metavar="SECONDS", convert=_time_limit)  # fmt: skip
WRAP_OPTIONS = (WRAP_EVENT_TYPE, WRAP_ON, TAIL_LINES, TIME_LIMIT)
WRAP_TITLE = TITLE._replace(
    help="Title of the event. Default: '<cmd> succeeded' or '<cmd> failed (exit N)'."
)
WRAP_TEXT = BODY_TEXT._replace(
    help="Body text; '@PATH' reads a file (stdin is the command's). Default: the command "
    "line, its exit code and duration, and the last lines of its output."
)
WRAP_CATEGORY = CATEGORY._replace(help=CATEGORY.help.replace("Others.", "Changes."),
                                  default="Changes")  # fmt: skip

# The local receiver's own.

LOCAL = "Local receiver"
PORT = Opt("port", ("--port",),
           "Port to listen on; 0 picks a free one (the first line printed says which). "
           "Default: 7077.",
           LOCAL, metavar="PORT", convert=parse_port, default=7077)  # fmt: skip
HOST = Opt("host", ("--host",),
           "Address to listen on. Default: 127.0.0.1, this machine only; another address "
           "lets other machines send, and a warning says so.",
           LOCAL, metavar="ADDRESS", default="127.0.0.1")  # fmt: skip
DB = Opt("db", ("--db",),
         "SQLite file the events are stored in; it is kept between runs. Default: "
         "receiver.db under the user state dir.",
         LOCAL, PATH, metavar="PATH")  # fmt: skip
REQUIRED_KEY = Opt("api_key", ("--api-key",),
                   "Require this API key, in the sts-api-key header or the api_key query "
                   "parameter, as StackState does; other requests get 401. The page at / "
                   "too: open /?api_key=KEY once, and a token the page keeps stands for the "
                   "key until the receiver stops. Also $STAC_EVENTS_RECEIVER_KEY, which "
                   "process lists do not show. Default: none required.",
                   LOCAL, metavar="KEY")  # fmt: skip
MAX_AGE = Opt("max_age", ("--max-age",),
              "Refuse events whose timestamp is older, as StackState drops events older than "
              "it keeps: 30d, 12h, 90m or seconds. Default: 30d.",
              LOCAL, metavar="AGE", convert=parse_duration, default=30 * 24 * 3600.0)  # fmt: skip
MAX_BODY = Opt("max_body", ("--max-body",),
               "Largest request body in bytes, as sent and once gzip is undone; larger ones "
               "get 413. 1024 to 1073741824. Default: 8388608 (8 MiB).",
               LOCAL, metavar="BYTES", convert=count(1024, maximum=1 << 30),
               default=8 * 1024 * 1024)  # fmt: skip
RECEIVER_QUIET = QUIET._replace(help="Print no line for each event received.", panel=LOCAL)
RECEIVER_SERVE_OPTIONS = (PORT, HOST, DB, REQUIRED_KEY, MAX_AGE, MAX_BODY, RECEIVER_QUIET)

STORED = "Stored events"
EVENTS_OUTPUT = Opt("output", ("--output", "-o"),
                    "'json' prints one JSON array, 'ndjson' one JSON object a line.",
                    OUTPUT, CHOICE, metavar="text|json|ndjson",
                    choices=("text", "json", "ndjson"),
                    convert=choice("text", "json", "ndjson"), default="text")  # fmt: skip
EVENT_TYPE_FILTER = Opt("type", ("--type",), "Only events of this event type.", STORED,
                        metavar="TYPE")  # fmt: skip
IDENTIFIER_FILTER = Opt("identifier", ("--identifier",),
                        "Only events about this topology element identifier.",
                        STORED, metavar="ID")  # fmt: skip
SINCE = Opt("since", ("--since",),
            "Only events received since then: a time ago (10m, 2h, 1d), epoch seconds or "
            "ISO-8601.",
            STORED, metavar="WHEN")  # fmt: skip
CLEAR = Opt("clear", ("--clear",),
            "Delete the stored events (all, or those the filters pick) and the refused "
            "payloads kept (all, or those --since picks; with --refused, only those).",
            STORED, FLAG, default=False)  # fmt: skip
REFUSED = Opt("refused", ("--refused",),
              "List the payloads the receiver refused with 400 instead: when, why, and the "
              "first 4 KiB of each body, API key masked. Takes --since.",
              STORED, FLAG, default=False)  # fmt: skip
WAITING = "Waiting for events"
FOLLOW = Opt("follow", ("--follow",),
             "Print the events that match, then each new one as it is stored (polling the "
             "database, also one another process writes), until Ctrl-C (exit 130).",
             WAITING, FLAG, default=False)  # fmt: skip
AT_LEAST = Opt("at_least", ("--count",),
               "With --wait: wait until this many stored events match the filters (those "
               "stored already count too). Default: 1.",
               WAITING, metavar="N", convert=count(1))  # fmt: skip
WAIT = Opt("wait", ("--wait",),
           "Wait up to this long for --count events to match, then print those that match: "
           "exit 0 once enough do, 124 (as timeout(1)) when the time ran out. 30s, 5m or "
           "seconds.",
           WAITING, metavar="TIME", convert=parse_duration)  # fmt: skip
RECEIVER_EVENTS_OPTIONS = (
    DB, EVENT_TYPE_FILTER, IDENTIFIER_FILTER, SINCE, REFUSED, CLEAR, FOLLOW, AT_LEAST, WAIT,
    EVENTS_OUTPUT, QUIET,
)  # fmt: skip

# The root command's own.

SHELLS = ("bash", "zsh", "fish", "powershell")
HELP = Opt("help", ("--help", "-h"), "Show this help and exit.", "Options", FLAG)
VERSION = Opt("version", ("--version",), "Print the version and exit.", SELECTION, FLAG,
              default=False)  # fmt: skip
INSTALL_COMPLETION = Opt(
    "install_completion", ("--install-completion",),
    "Install completion for your shell (bash, zsh, fish, powershell; default: from $SHELL).",
    SELECTION, CHOICE, metavar="[SHELL]", choices=(*SHELLS, "pwsh"), value_optional=True,
)  # fmt: skip
SHOW_COMPLETION = Opt(
    "show_completion", ("--show-completion",),
    "Print the completion script for your shell, to install it by hand.",
    SELECTION, CHOICE, metavar="[SHELL]", choices=(*SHELLS, "pwsh"), value_optional=True,
)  # fmt: skip
ROOT_OPTIONS = (VERSION, *SELECTION_OPTIONS, INSTALL_COMPLETION, SHOW_COMPLETION)
