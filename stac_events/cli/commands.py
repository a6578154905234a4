"""The command tree: every command, its help, its options and the function that runs it.

This table is the command line's single description. `cli.typer_app` builds Typer
commands from it, `cli.argv` reads which flags take values from it, and the completion
scripts are generated from it. A command's function lives in the module named after
the command and is imported only when that command runs.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

from stac_events.cli import options as o
from stac_events.cli.argv import Shape, shape_of
from stac_events.cli.options import PROG, Opt
from stac_events.status import ExitStatus


class Arg(NamedTuple):
    """A positional argument."""

    name: str
    metavar: str
    help: str
    rest: bool = False  # takes the rest of the line: a command and its own arguments


class Group(NamedTuple):
    path: str  # "" for the root, then "event", "config", ...
    help: str
    epilog: Optional[str] = None

    @property
    def short_help(self) -> str:
        return self.help.split("\n\n", 1)[0]


class Command(NamedTuple):
    path: str  # "event send"
    handler: str  # "module:function", called with the Run
    help: str  # the first paragraph is the short help in lists
    options: Tuple[Opt, ...]
    arguments: Tuple[Arg, ...] = ()
    epilog: Optional[str] = None
    record: str = ""  # the record of its arguments and options, in the handler's module

    @property
    def short_help(self) -> str:
        return self.help.split("\n\n", 1)[0]

    @property
    def runs_a_command(self) -> bool:
        """From its first argument on, the line belongs to another command (`event wrap`)."""
        return any(argument.rest for argument in self.arguments)


def _command(
    path: str,
    handler: str,
    help: str,
    *groups: Tuple[Opt, ...],
    record: str,
    arguments: Tuple[Arg, ...] = (),
    epilog: Optional[str] = None,
) -> Command:
    """A command taking these option groups, and the configuration options after its name."""
    declared = tuple(opt for group in groups for opt in group)
    return Command(path, handler, help, (*declared, *o.SELECTION_OPTIONS), arguments, epilog,
                   record)  # fmt: skip


# What each exit status means to a caller (SPEC section 6), for the help.
EXIT_CODES: Tuple[Tuple[int, str], ...] = (
    (ExitStatus.SUCCESS, "sent, or printed with --dry-run"),
    (ExitStatus.INTERNAL_ERROR, "a bug: the message says where to report it"),
    (ExitStatus.USAGE, "usage error: a bad flag or an invalid event"),
    (ExitStatus.CONFIG, "configuration error: no address or key, an unreadable config"),
    (ExitStatus.REJECTED, "the receiver rejected it: a 4xx other than 408/429, or a 3xx"),
    (ExitStatus.DELIVERY_FAILED, "delivery failed and nothing was queued (--no-spool, TLS)"),
    (ExitStatus.QUEUED, "delivery failed for now; the events are queued in the spool"),
    (
        ExitStatus.TIMED_OUT,
        "event wrap --time-limit: the command ran out of time and was "
        "stopped; receiver events --wait: the time ran out",
    ),
    (ExitStatus.INTERRUPTED, "interrupted (Ctrl-C)"),
    (ExitStatus.BROKEN_PIPE, "stdout was closed early, e.g. piped into head -1"),
    (ExitStatus.TERMINATED, "terminated by SIGTERM (128+N by signal N): the rest is queued first"),
)
# One code a line, the numbers right-aligned: a block Rich prints as it is.
EXIT_CODES_HELP = "Exit codes:\n" + "\n".join(
    f"{int(code):>3}  {text}" for code, text in EXIT_CODES
)


def examples(*lines: str) -> str:
    """A help paragraph of example command lines, one a line, none wider than 80 columns.

    Not a help's first paragraph: Typer dedents that one, and these lines are indented."""
    return "\n".join(("Examples:" if len(lines) > 1 else "Example:", *("  " + x for x in lines)))


ROOT = Group(
    "",
    "Push events into StackState's Receiver API from a terminal, a script or a CI pipeline. "
    "A drop-in for the old `stac event send`.\n\n"
    f"Start with '{PROG} config init', which saves the receiver address and key, or set "
    "$STAC_EVENTS_RECEIVER_URL and $STAC_EVENTS_API_KEY. Every command has its own --help."
    "\n\n" + examples(f'{PROG} event send DeployEvent --title "Deployed 1.4" --dry-run'),
    epilog=EXIT_CODES_HELP,
)

RECEIVER_HELP = (
    "Run a local stand-in for the StackState receiver, to send real events without "
    "StackState.\n\n"
    "It answers POST /stsAgent/intake and /receiver/stsAgent/intake with 200, the status "
    "that integrations posting to StackState's receiver check for (StackState documents "
    "none), checks every event against StackState's rules and answers 400 with the reasons "
    "for one StackState would drop (and keeps them), stores what it accepts in SQLite and "
    "prints a line for each. Ctrl-C stops it. Open its address in a browser for a page of "
    "the events as they arrive and the refused payloads with their reasons. GET /events "
    "serves the stored events as JSON for test suites (count and wait hold the answer until "
    "enough arrived), GET /refusals the refused payloads."
)
RECEIVER_EPILOG = "Start it in one terminal; send to it from another, or from a script:\n\n" + (
    examples(
        f"{PROG} receiver",
        "export STAC_EVENTS_RECEIVER_URL=http://127.0.0.1:7077",
        "export STAC_EVENTS_API_KEY=any-key",
        f'{PROG} event send DeployEvent --title "Deployed 1.4"',
        f"{PROG} receiver events -o json",
    )
)

GROUPS: Tuple[Group, ...] = (
    ROOT,
    Group("event", "Send events to StackState: one from flags, many from a file, or one "
                   "about a command."),
    Group("config", "Show, locate and create the configuration (the stac CLI's conf.yaml "
                    "format)."),
    Group("spool", "Events queued while the receiver was unreachable: list, deliver or drop "
                   "them."),
    Group("receiver", RECEIVER_HELP, epilog=RECEIVER_EPILOG),
)  # fmt: skip

EVENT_TYPE = Arg(
    "event_type",
    "EVENT_TYPE",
    "What happened, e.g. DeployEvent. By convention it ends in 'Event'. It comes before "
    "the flags that take several values (-i a b). With --file, the type of events that "
    "have none.",
)
CMD = Arg("command", "CMD [ARG]...",
          "The command to run, after '--'. Its output streams live.", rest=True)  # fmt: skip

SPOOL_ID = Arg("id", "ID", "A payload's id as 'spool list' shows it, or the start of it.")

COMMANDS: Tuple[Command, ...] = (
    _command(
        "event send",
        "stac_events.cli.event_send:send",
        "Send one event, built from flags, or many from a file, to the StackState receiver."
        "\n\nAccepts every `stac event send` command line unchanged.",
        o.EVENT_OPTIONS,
        o.CONTEXT_OPTIONS,
        o.BATCH_OPTIONS,
        o.RECEIVER_OPTIONS,
        o.DELIVERY_OPTIONS,
        (o.DRY_RUN,),
        o.OUTPUT_OPTIONS,
        arguments=(EVENT_TYPE,),
        epilog="Flags that take several values (-i, -t, --links, -d) take them as `stac` "
        "did, up to the next option: -i a b, or repeated: -i a -i b. EVENT_TYPE goes "
        "before them.\n\n"
        + examples(
            f'{PROG} event send DeployEvent --title "Deployed 1.4" --dry-run',
            f'{PROG} event send DeployEvent --title "Deployed 1.4" \\',
            "    -i urn:service:/checkout -c Changes -d version=1.4",
            f"{PROG} event send --file events.ndjson -s ci",
        )
        + "\n\n"
        + EXIT_CODES_HELP,
        record="SendOptions",
    ),
    _command(
        "event wrap",
        "stac_events.cli.event_wrap:wrap",
        "Run a command, then send an event saying whether it succeeded, with its output's "
        "tail.\n\nExits with the command's exit code: a failed delivery is reported, and "
        "queued in the spool, but never changes it. Flags and settings are checked before "
        "the command runs.",
        o.WRAP_OPTIONS,
        (o.WRAP_TITLE, o.WRAP_TEXT, o.TAGS, o.SOURCE_TYPE_NAME, o.NAME),
        (
            o.IDENTIFIERS,
            o.SOURCE,
            o.WRAP_CATEGORY,
            o.DATA,
            o.LINKS,
            o.SOURCE_IDENTIFIER,
            o.CI_CONTEXT,
        ),
        o.RECEIVER_OPTIONS,
        o.DELIVERY_OPTIONS,
        (o.DRY_RUN,),
        o.OUTPUT_OPTIONS,
        arguments=(CMD,),
        epilog="Exit code: the command's own; 124 when --time-limit stopped it, as "
        "timeout(1) exits; 2 or 3 when a flag or a setting is wrong, and then the command "
        "does not run.\n\n"
        + examples(
            f"{PROG} event wrap -i urn:service:/checkout -- ./deploy.sh 1.4.2",
            f"{PROG} event wrap --time-limit 10m -- ./migrate.sh",
        ),
        record="WrapOptions",
    ),
    _command(
        "config show",
        "stac_events.cli.config:show",
        "Show every setting, its value (the key masked) and where it came from.\n\n"
        "The same flags as 'event send' can be given, to see what they would change.",
        o.RECEIVER_OPTIONS,
        o.DELIVERY_OPTIONS,
        (o.OUTPUT_MODE,),
        record="ConfigShowOptions",
    ),
    _command(
        "config path",
        "stac_events.cli.config:path",
        "List the places a config file is looked for, in order; '*' marks the one in use.",
        record="ConfigPathOptions",
    ),
    _command(
        "config init",
        "stac_events.cli.config:init",
        "Write the receiver address and key into the config file that is read (mode 0600)."
        "\n\nThat is --config, else $STAC_EVENTS_CONFIG, else the first config file that "
        "exists, else a new one in the user config dir. Everything else in it (instances, "
        "comments, quotes) is kept. The address comes from --url or "
        "$STAC_EVENTS_RECEIVER_URL, the key from --api-key, $STAC_EVENTS_API_KEY or stdin "
        "(--api-key -); on a terminal it asks for what is missing, the key without echo.",
        o.RECEIVER_OPTIONS,
        record="ConfigInitOptions",
    ),
    _command(
        "spool list",
        "stac_events.cli.spool:list_entries",
        "List queued payloads, oldest first, then those set aside: refused by the receiver "
        "(rejected), failed on in 5 runs while later ones got through (failed), or "
        "unreadable (corrupt).",
        (o.OUTPUT_MODE,),
        record="SpoolListOptions",
    ),
    _command(
        "spool flush",
        "stac_events.cli.spool:flush",
        "Deliver queued payloads to the receiver, oldest first.\n\nEach is removed only once "
        "the receiver accepted it. Payloads queued for another receiver address wait for a "
        "flush that uses that address.",
        (o.URL, o.API_KEY),
        (o.TIMEOUT, o.RETRIES, o.MAX_TIME, o.INSECURE, o.CA_CERT, o.HEADER),
        o.OUTPUT_OPTIONS,
        record="SpoolFlushOptions",
    ),
    _command(
        "spool retry",
        "stac_events.cli.spool:retry",
        "Put payloads set aside back in the queue: those the receiver refused (rejected) "
        "or kept failing on (failed).\n\nThey go back to their place, oldest first; the next "
        "'event send' or 'spool flush' delivers them. Fix what the receiver said first.",
        (o.ALL,),
        o.OUTPUT_OPTIONS,
        arguments=(SPOOL_ID,),
        record="SpoolRetryOptions",
    ),
    _command(
        "spool drop",
        "stac_events.cli.spool:drop",
        "Delete one payload from the spool, whatever its state. It will never be sent.",
        o.OUTPUT_OPTIONS,
        arguments=(SPOOL_ID,),
        record="SpoolDropOptions",
    ),
    _command(
        "spool clear",
        "stac_events.cli.spool:clear",
        "Delete every payload in the spool, queued or set aside. They will never be sent.",
        o.OUTPUT_OPTIONS,
        record="SpoolClearOptions",
    ),
    # `receiver` runs the receiver itself; `receiver events` looks at what it stored.
    Command(
        "receiver",
        "stac_events.cli.receiver:serve",
        RECEIVER_HELP,
        o.RECEIVER_SERVE_OPTIONS,
        epilog=RECEIVER_EPILOG,
        record="ReceiverOptions",
    ),
    Command(
        "receiver events",
        "stac_events.cli.receiver:events",
        "Print the events the local receiver stored, oldest first, newest last.\n\n"
        "Reads the receiver's database (--db), whether the receiver runs or not. --follow "
        "prints new events as they come; --count N --wait TIME waits for N to match, for a "
        "script: exit 0 once they do, 124 with what matched when the time ran out.",
        o.RECEIVER_EVENTS_OPTIONS,
        epilog="Filters given together must all match; --clear deletes what they pick."
        "\n\n"
        + examples(
            f"{PROG} receiver events --type DeployEvent --since 10m",
            f"{PROG} receiver events -o ndjson | jq .event.msg_title",
            f"{PROG} receiver events --follow --type DeployEvent",
            f"{PROG} receiver events --type DeployEvent --count 2 --wait 60s",
            f"{PROG} receiver events --refused --since 1h",
            f"{PROG} receiver events --clear",
        ),
        record="ReceiverEventsOptions",
    ),
    _command(
        "check",
        "stac_events.cli.check:check",
        "Check the receiver: POST a common JSON object with no events, report what happened."
        "\n\nResolves the address and key as 'event send' does, and exits as it would; it "
        "does not retry, so the answer is the receiver's first.",
        o.RECEIVER_OPTIONS,
        (o.TIMEOUT, o.INSECURE, o.CA_CERT, o.HEADER),
        o.OUTPUT_OPTIONS,
        record="CheckOptions",
    ),
)

COMMANDS_BY_PATH: Dict[str, Command] = {command.path: command for command in COMMANDS}
GROUPS_BY_PATH: Dict[str, Group] = {group.path: group for group in GROUPS}


def children(path: str) -> Tuple[str, ...]:
    """The names of the commands and groups directly under a group, in the table's order."""
    depth = len(path.split()) + 1 if path else 1
    found: List[str] = []
    for entry_path in [group.path for group in GROUPS] + [command.path for command in COMMANDS]:
        words = entry_path.split()
        if len(words) == depth and " ".join(words[:-1]) == path and words[-1] not in found:
            found.append(words[-1])
    return tuple(found)


def shapes() -> Dict[str, Shape]:
    """What `cli.argv` needs to know of every command and group, by path."""
    found = {
        group.path: shape_of(
            o.ROOT_OPTIONS if group is ROOT else (), subcommands=children(group.path)
        )
        for group in GROUPS
    }
    for command in COMMANDS:
        found[command.path] = shape_of(
            command.options,
            subcommands=children(command.path),  # a group that runs too has some
            rest=command.runs_a_command,
            help_when_bare=False,  # a command given nothing says what it lacks, in one line
            runnable=True,
        )
    return found
