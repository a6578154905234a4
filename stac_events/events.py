"""From given values to validated events, with advice on what looks wrong.

`EventDefaults` is what a caller says about every event: for one event it is the
whole event, for many it fills in what each lacks (the event's own fields win).
`Filler` completes an event's fields; `Event` then validates and normalizes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from stac_events.errors import InvalidInput
from stac_events.parse import (
    CATEGORIES,
    NOT_UTF8,
    InvalidValue,
    check_event_name,
    json_kind,
)

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails, ValidationError

    from stac_events.ci import CiRun
    from stac_events.model import Event

HOUR_S = 3600
FUTURE_TOLERANCE_S = 60  # clocks drift; only a minute ahead is worth a warning


class EventDefaults(NamedTuple):
    """Values to fill in, and lists to add to, for every event; already parsed."""

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
    context: bool = False  # every event gets a context, even one that has none

    def with_ci(self, ci: CiRun) -> EventDefaults:
        """Add what the CI system tells: a link to the run, ci.* data, a tag, the source."""
        link = ci.link
        return self._replace(
            source=self.source or ci.provider,
            links=self.links + ((link,) if link and link not in self.links else ()),
            data={**ci.data, **(self.data or {})},
            tags=self.tags + ((ci.tag,) if ci.tag not in self.tags else ()),
            context=True,
        )


class Filler:
    """Completes events from defaults and normalizes them; built once per batch.

    It fills in what the schema does not: the defaults, the title as the text when
    there is none, now as the timestamp. A batch calls it once per event, so the
    defaults' own work is done here, once.
    """

    def __init__(self, defaults: EventDefaults) -> None:
        self.defaults = defaults
        self.fields = [
            (key, value)
            for key, value in (
                ("event_type", defaults.event_type),
                ("msg_title", defaults.title),
                ("msg_text", defaults.text),
                ("source_type_name", defaults.source_type_name),
            )
            if value is not None
        ]
        self.context_fields = [
            (key, value)
            for key, value in (
                ("category", defaults.category),
                ("source", defaults.source),
                ("source_identifier", defaults.source_identifier),
            )
            if value is not None
        ]

    def __call__(self, event: Dict[str, Any], *, now: float) -> Tuple[str, Dict[str, Any]]:
        """`(name, fields)`: `event` itself, completed in place."""
        defaults = self.defaults
        name = event.pop("name", None)
        if name is not None and not isinstance(name, str):
            raise InvalidValue(f'"name" must be text (a JSON string), not a JSON {json_kind(name)}')
        name = name or defaults.name or event.get("event_type") or defaults.event_type
        for key, value in self.fields:
            if event.get(key) is None:
                event[key] = value
        if event.get("timestamp") is None:
            event["timestamp"] = defaults.timestamp if defaults.timestamp is not None else int(now)
        if not event.get("msg_text") and isinstance(event.get("msg_title"), str):
            event["msg_text"] = event["msg_title"]  # the receiver requires a text
        if defaults.tags:
            event["tags"] = merged(event.get("tags"), defaults.tags)
        context = event.get("context")
        if context is not None or defaults.context:
            event["context"] = self._context(context)
        return str(name) if name is not None else "", event

    def _context(self, context: Any) -> Any:
        if context is None:
            context = {}
        elif not isinstance(context, dict):
            return context  # wrong as it is: validation says so
        for key, value in self.context_fields:
            if context.get(key) is None:
                context[key] = value
        defaults = self.defaults
        context["element_identifiers"] = merged(
            context.get("element_identifiers"), defaults.identifiers
        )
        context["source_links"] = merged(context.get("source_links"), defaults.links)
        if defaults.data is not None:
            data = context.get("data")
            if data is None or isinstance(data, dict):
                context["data"] = {**defaults.data, **(data or {})}
        return context


def merged(own: Any, extra: Sequence[Any]) -> Any:
    """An event's own list with what the defaults add that it lacks, in order."""
    if own is None:
        return list(extra)
    if not extra or not isinstance(own, list):
        return own  # nothing to add; or wrong as it is, and validation says so
    return own + [item for item in extra if item not in own]


def build_event(
    defaults: EventDefaults, *, now: float, ci: Optional[CiRun] = None
) -> Tuple[str, Event, List[str]]:
    """`(name, event, warnings)` for the one event the defaults describe."""
    if not defaults.event_type:
        raise InvalidInput("an event needs an event type", field="event_type")
    if defaults.title is None:
        raise InvalidInput("an event needs a title", field="msg_title")
    if ci is not None:
        defaults = defaults.with_ci(ci)
    from pydantic_core import ValidationError  # pydantic's own, imported when needed

    from stac_events.model import Event  # the models cost most of a start-up to import

    name, fields = Filler(defaults)({}, now=now)
    try:
        check_event_name(name)
        event = Event.model_validate(fields)
    except InvalidValue as error:
        raise InvalidInput(str(error), field="name") from None
    except ValidationError as error:
        raise invalid_input(error) from None
    return name, event, advisories(event, now=now)


def invalid_input(error: ValidationError, *, where: Optional[str] = None) -> InvalidInput:
    """The first problem pydantic found, named by the field at fault."""
    problem = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in problem["loc"]) or None
    return InvalidInput(problem_message(problem), field=field, where=where)


def problem_message(problem: ErrorDetails) -> str:
    """Pydantic's message for one problem, in words a person expects."""
    field_name = problem["loc"][-1] if problem["loc"] else None
    if problem["type"] == "string_pattern_mismatch" and field_name == "msg_title":
        return "the title cannot be empty"
    if problem["type"] == "string_unicode":
        return NOT_UTF8
    if problem["type"] == "literal_error" and field_name == "category":
        return f"{problem['input']!r} is not a category; use one of {', '.join(CATEGORIES)}"
    return str(problem["msg"]).removeprefix("Value error, ")


def advisories(event: Event, *, now: float) -> List[str]:
    """Things that are allowed but probably not meant; shown as warnings."""
    return advice(event.event_type, event.timestamp or int(now), now=now)


def advice(event_type: str, timestamp: int, *, now: float) -> List[str]:
    """`advisories`, from an event's type and timestamp alone."""
    notes = []
    if not event_type.endswith("Event"):
        notes.append(
            f"event type {event_type!r} does not end in 'Event' "
            f"(StackState's convention, e.g. DeployEvent)"
        )
    if timestamp < now - HOUR_S:
        notes.append(
            f"the timestamp is {duration_in_words(now - timestamp)} old; "
            f"StackState may ignore events that old"
        )
    elif timestamp > now + FUTURE_TOLERANCE_S:
        notes.append(f"the timestamp is {duration_in_words(timestamp - now)} in the future")
    return notes


def advice_count(event_type: str, timestamp: int, *, now: float) -> int:
    """How many `advice` would give, without the words: once the first few are shown, the
    rest are only counted."""
    return (not event_type.endswith("Event")) + (
        timestamp < now - HOUR_S or timestamp > now + FUTURE_TOLERANCE_S
    )


def duration_in_words(seconds: float) -> str:
    """`90` -> "90 seconds", `7300` -> "2 hours": the largest unit that gives 2 or more."""
    for unit, size in (("days", 86400), ("hours", HOUR_S), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} seconds"
