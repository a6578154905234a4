"""From the values a user typed to a validated event, with advice on what looks wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any, Dict, List, Optional, Sequence, Tuple

from pydantic import ValidationError

from stac_events.errors import UsageError
from stac_events.model import Event
from stac_events.parse import (
    InvalidValue,
    check_event_name,
    parse_data,
    parse_link,
    parse_tag,
    parse_timestamp,
    read_text_file,
)

HOUR_S = 3600
FUTURE_TOLERANCE_S = 60  # clocks drift; only a minute ahead is worth a warning

# Which flag a field of the event came from, so validation errors name what to fix.
FLAG_FOR_FIELD = {
    "event_type": "EVENT_TYPE",
    "msg_title": "--title",
    "msg_text": "--text",
    "timestamp": "--timestamp",
    "tags": "--tags",
    "source_type_name": "--source-type-name",
    "category": "--category",
    "source": "--source",
    "element_identifiers": "--identifier",
    "data": "--data",
    "source_identifier": "--source-identifier",
    "source_links": "--links",
}


@dataclass
class EventFlags:
    """The event's part of `event send`'s flags, as typed (text already read from files)."""

    event_type: str
    title: Optional[str]
    text: Optional[str] = None
    identifiers: Sequence[str] = ()
    source: Optional[str] = None
    category: Optional[str] = None
    data: Sequence[str] = ()
    links: Sequence[str] = ()
    source_identifier: Optional[str] = None
    tags: Sequence[str] = ()
    source_type_name: Optional[str] = None
    timestamp: Optional[str] = None
    name: Optional[str] = None
    default_source: str = "stac-events"


def _parsed(option: str, parse: Any, *args: Any) -> Any:
    try:
        return parse(*args)
    except InvalidValue as error:
        raise UsageError(str(error), option=option) from None


def compose_event(flags: EventFlags, *, now: float) -> Tuple[str, Event, List[str]]:
    """Build `(name, event, warnings)` from flags; a `UsageError` names the flag at fault."""
    if flags.title is None:
        raise UsageError(
            "an event needs a title", option="--title", hint='e.g. --title "Deployed 1.4"'
        )
    name = _parsed("--name", check_event_name, flags.name or flags.event_type)
    timestamp = (
        int(now)
        if flags.timestamp is None
        else _parsed("--timestamp", parse_timestamp, flags.timestamp)
    )
    event_fields: Dict[str, Any] = {
        "event_type": flags.event_type,
        "msg_title": flags.title,
        "msg_text": flags.text or "",
        "timestamp": timestamp,
    }
    if flags.tags:
        event_fields["tags"] = [_parsed("--tags", parse_tag, tag) for tag in flags.tags]
    if flags.source_type_name is not None:
        event_fields["source_type_name"] = flags.source_type_name
    context = _context_fields(flags)
    if context is not None:
        event_fields["context"] = context
    try:
        event = Event.model_validate(event_fields)
    except ValidationError as error:
        raise usage_error_from(error) from None
    return name, event, advisories(event, now=now)


def _context_fields(flags: EventFlags) -> Optional[Dict[str, Any]]:
    given = (
        flags.identifiers,
        flags.source,
        flags.category,
        flags.data,
        flags.links,
        flags.source_identifier,
    )
    if not any(value for value in given):
        return None
    context: Dict[str, Any] = {
        "category": flags.category or "Others",
        "element_identifiers": list(flags.identifiers),
        "source": flags.source or flags.default_source,
        "source_links": [_parsed("--links", parse_link, link) for link in flags.links],
    }
    data = _parsed("--data", parse_data, flags.data)
    if data is not None:
        context["data"] = data
    if flags.source_identifier is not None:
        context["source_identifier"] = flags.source_identifier
    return context


def usage_error_from(error: ValidationError) -> UsageError:
    """The first problem pydantic found, named by the flag that set the field."""
    problem = error.errors(include_url=False)[0]
    names = [str(part) for part in problem["loc"] if isinstance(part, str)]
    option = next((FLAG_FOR_FIELD[n] for n in reversed(names) if n in FLAG_FOR_FIELD), None)
    message = str(problem["msg"]).removeprefix("Value error, ")
    return UsageError(message, option=option)


def advisories(event: Event, *, now: float) -> List[str]:
    """Things that are allowed but probably not meant; shown as warnings."""
    notes = []
    if not event.event_type.endswith("Event"):
        notes.append(
            f"event type {event.event_type!r} does not end in 'Event' "
            f"(StackState's convention, e.g. DeployEvent)"
        )
    if event.timestamp < now - HOUR_S:
        notes.append(
            f"the timestamp is {_age(now - event.timestamp)} old; "
            f"StackState may ignore events that old"
        )
    elif event.timestamp > now + FUTURE_TOLERANCE_S:
        notes.append(f"the timestamp is {_age(event.timestamp - now)} in the future")
    return notes


def _age(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * HOUR_S:
        return f"{seconds / HOUR_S:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


def read_text(value: str, stdin: IO[str]) -> str:
    """`--text` values: '-' reads stdin, '@PATH' reads a file, anything else is the text.

    Trailing newlines of stdin and files are dropped, as shell `$(...)` does.
    """
    if value == "-":
        return stdin.read().rstrip("\n")
    if value.startswith("@"):
        return _parsed("--text", read_text_file, value[1:], "text").rstrip("\n")
    return value
