"""From the values a user typed to a validated event, with advice on what looks wrong."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from pydantic import ValidationError

from stac_events.errors import UsageError
from stac_events.model import EVENT, Event
from stac_events.parse import (
    CATEGORIES,
    LARGEST_EPOCH_SECONDS,
    InvalidValue,
    check_event_name,
    parse_data,
    parse_link,
    parse_tag,
    parse_timestamp,
    read_text_file,
)

if TYPE_CHECKING:
    from stac_events.ci import CiContext

_CANONICAL_CATEGORY = {category.lower(): category for category in CATEGORIES}
_CANONICAL_CATEGORIES = frozenset(CATEGORIES)
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


class EventFlags(NamedTuple):
    """The event's part of `event send`'s flags, as typed (text already read from files)."""

    event_type: Optional[str]
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


class Template(NamedTuple):
    """What the command line says about every event: values to fill in, lists to add to.

    For one event from flags it is the whole event; for events from a file it fills in
    what each lacks. The event's own fields always win.
    """

    event_type: Optional[str] = None
    title: Optional[str] = None
    text: Optional[str] = None
    timestamp: Optional[int] = None
    source_type_name: Optional[str] = None
    name: Optional[str] = None
    source: Optional[str] = None
    category: Optional[str] = None
    source_identifier: Optional[str] = None
    identifiers: Tuple[str, ...] = ()
    tags: Tuple[str, ...] = ()
    links: Tuple[Dict[str, str], ...] = ()
    data: Optional[Dict[str, Any]] = None
    context: bool = False  # a context flag was given, so every event gets a context

    def with_ci(self, ci: CiContext) -> Template:
        """Add what the CI system tells: a link to the run, ci.* data, a tag, the source."""
        links = self.links + ((ci.link,) if ci.link and ci.link not in self.links else ())
        return self._replace(
            source=self.source or ci.provider,
            links=links,
            data={**ci.data, **(self.data or {})},
            tags=self.tags + ((ci.tag,) if ci.tag not in self.tags else ()),
            context=True,
        )


def template_from_flags(flags: EventFlags) -> Template:
    """Parse the flags once; a `UsageError` names the flag at fault."""
    return Template(
        event_type=flags.event_type,
        title=flags.title,
        text=flags.text,
        timestamp=None
        if flags.timestamp is None
        else _parsed("--timestamp", parse_timestamp, flags.timestamp),
        source_type_name=flags.source_type_name,
        name=None if flags.name is None else _parsed("--name", check_event_name, flags.name),
        source=flags.source,
        category=flags.category,
        source_identifier=flags.source_identifier,
        identifiers=tuple(flags.identifiers),
        tags=tuple(_parsed("--tags", parse_tag, tag) for tag in flags.tags),
        links=tuple(_parsed("--links", parse_link, link) for link in flags.links),
        data=_parsed("--data", parse_data, flags.data),
        context=any(
            (flags.identifiers, flags.source, flags.category, flags.data, flags.links,
             flags.source_identifier)
        ),
    )  # fmt: skip


def _parsed(option: str, parse: Any, *args: Any) -> Any:
    try:
        return parse(*args)
    except InvalidValue as error:
        raise UsageError(str(error), option=option) from None


class Filler:
    """Completes events from a template and normalizes them; built once per command.

    Normalizing is what the schema does not: timestamps to epoch seconds, the title as
    the text when there is none, categories in their canonical case. It does not
    validate; `EVENT` does. A batch calls it once per event, so the template's
    defaults are worked out here, once.
    """

    def __init__(self, template: Template) -> None:
        self.template = template
        self.defaults = [
            (key, value)
            for key, value in (
                ("event_type", template.event_type),
                ("msg_title", template.title),
                ("msg_text", template.text),
                ("source_type_name", template.source_type_name),
            )
            if value is not None
        ]
        self.context_defaults = [
            (key, value)
            for key, value in (
                ("category", template.category or "Others"),
                ("source", template.source or "stac-events"),
                ("source_identifier", template.source_identifier),
            )
            if value is not None
        ]

    def __call__(self, event: Dict[str, Any], *, now: float) -> Tuple[str, Dict[str, Any]]:
        """`(name, fields)`: `event` itself, completed in place. An unusable timestamp
        raises `InvalidValue`."""
        template = self.template
        name = event.pop("name", None) or template.name or event.get("event_type")
        name = name or template.event_type
        for key, value in self.defaults:
            if event.get(key) is None:
                event[key] = value
        timestamp = event.get("timestamp")
        if timestamp is None:
            event["timestamp"] = template.timestamp if template.timestamp is not None else int(now)
        elif not (type(timestamp) is int and 0 < timestamp <= LARGEST_EPOCH_SECONDS):
            try:
                event["timestamp"] = parse_timestamp(timestamp)
            except InvalidValue as error:
                raise InvalidValue(f"timestamp: {error}") from None
        if not event.get("msg_text") and isinstance(event.get("msg_title"), str):
            event["msg_text"] = event["msg_title"]  # the receiver requires a text
        if template.tags:
            event["tags"] = _added(event.get("tags"), template.tags)
        context = event.get("context")
        if context is not None or template.context:
            event["context"] = self._context(context)
        return str(name) if name is not None else "", event

    def _context(self, context: Any) -> Any:
        if context is None:
            context = {}
        elif not isinstance(context, dict):
            return context  # wrong as it is: validation says so
        category = context.get("category")
        if isinstance(category, str) and category not in _CANONICAL_CATEGORIES:
            context["category"] = _CANONICAL_CATEGORY.get(category.strip().lower(), category)
        for key, value in self.context_defaults:
            if context.get(key) is None:
                context[key] = value
        template = self.template
        context["element_identifiers"] = _added(
            context.get("element_identifiers"), template.identifiers
        )
        context["source_links"] = _added(context.get("source_links"), template.links)
        if template.data is not None:
            data = context.get("data")
            if data is None or isinstance(data, dict):
                context["data"] = {**template.data, **(data or {})}
        return context


def fill(event: Dict[str, Any], template: Template, *, now: float) -> Tuple[str, Dict[str, Any]]:
    """`Filler(template)` applied once, to a copy of `event`."""
    return Filler(template)(dict(event), now=now)


def _added(own: Any, extra: Sequence[Any]) -> Any:
    if own is None:
        return list(extra)
    if not extra or not isinstance(own, list):
        return own  # nothing to add; or wrong as it is, and validation says so
    return own + [item for item in extra if item not in own]


def compose_event(
    flags: EventFlags, *, now: float, ci: Optional[CiContext] = None
) -> Tuple[str, Event, List[str]]:
    """Build `(name, event, warnings)` from flags; a `UsageError` names the flag at fault."""
    if not flags.event_type:
        raise UsageError("Missing argument 'EVENT_TYPE'", hint="e.g. DeployEvent")
    if flags.title is None:
        raise UsageError(
            "an event needs a title", option="--title", hint='e.g. --title "Deployed 1.4"'
        )
    template = template_from_flags(flags)
    if ci is not None:
        template = template.with_ci(ci)
    name, fields = fill({}, template, now=now)
    name = _parsed("--name", check_event_name, name)
    try:
        event = EVENT.validate_python(fields)
    except ValidationError as error:
        raise usage_error_from(error) from None
    return name, event, advisories(event, now=now)


def usage_error_from(error: ValidationError) -> UsageError:
    """The first problem pydantic found, named by the flag that set the field."""
    problem = error.errors(include_url=False)[0]
    names = [str(part) for part in problem["loc"] if isinstance(part, str)]
    option = next((FLAG_FOR_FIELD[n] for n in reversed(names) if n in FLAG_FOR_FIELD), None)
    return UsageError(problem_message(problem), option=option)


def problem_message(problem: Dict[str, Any]) -> str:
    """Pydantic's message for one problem, in words a person typing flags expects."""
    field_name = problem["loc"][-1] if problem["loc"] else None
    if problem["type"] == "string_pattern_mismatch" and field_name == "msg_title":
        return "the title cannot be empty"
    if problem["type"] == "literal_error" and field_name == "category":
        return f"{problem['input']!r} is not a category; use one of {', '.join(CATEGORIES)}"
    return str(problem["msg"]).removeprefix("Value error, ")


def advisories(event: Event, *, now: float) -> List[str]:
    """Things that are allowed but probably not meant; shown as warnings."""
    notes = []
    event_type, timestamp = event["event_type"], event["timestamp"]
    if not event_type.endswith("Event"):
        notes.append(
            f"event type {event_type!r} does not end in 'Event' "
            f"(StackState's convention, e.g. DeployEvent)"
        )
    if timestamp < now - HOUR_S:
        notes.append(
            f"the timestamp is {_age(now - timestamp)} old; StackState may ignore events that old"
        )
    elif timestamp > now + FUTURE_TOLERANCE_S:
        notes.append(f"the timestamp is {_age(timestamp - now)} in the future")
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
