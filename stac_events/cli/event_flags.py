"""The event's flags, shared by `event send` and `event wrap`, read into `EventDefaults`.

Each value typed after a flag is parsed here, once; a value that cannot be used is a
usage error naming its flag.
"""

from __future__ import annotations

from typing import IO, Any, Callable, Optional, TypeVar

from stac_events.cli import options as o
from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError
from stac_events.events import EventDefaults
from stac_events.parse import (
    InvalidValue,
    check_event_name,
    parse_data,
    parse_link,
    parse_tag,
    parse_timestamp,
    read_text_file,
)

T = TypeVar("T")

# A context is added when any of these is given (SPEC section 3).
_CONTEXT_FLAGS = ("identifiers", "source", "category", "data", "links", "source_identifier")


def event_defaults(run: Run, *, event_type: Optional[str]) -> EventDefaults:
    """What the flags say about the event (or, with --file, about every event)."""
    given = run.given
    text = given.get("text")
    return EventDefaults(
        event_type=event_type,
        title=given.title,
        text=read_text(text, run.env.stdin) if text is not None else None,
        timestamp=_parsed(o.TIMESTAMP, parse_timestamp, given.get("timestamp")),
        source_type_name=given.source_type_name,
        name=_parsed(o.NAME, check_event_name, given.name),
        source=given.source,
        category=given.category,
        source_identifier=given.source_identifier,
        identifiers=tuple(given.identifiers),
        tags=tuple(_parsed(o.TAGS, parse_tag, tag) for tag in given.tags),
        links=tuple(_parsed(o.LINKS, parse_link, link) for link in given.links),
        data=_parsed(o.DATA, parse_data, given.data) if given.data else None,
        context=any(given.get(name) for name in _CONTEXT_FLAGS),
    )


def _parsed(opt: o.Opt, parse: Callable[[Any], T], value: Any) -> Optional[T]:
    if value is None:
        return None
    try:
        return parse(value)
    except InvalidValue as error:
        raise UsageError(str(error), option=opt.long) from None


def read_text(value: str, stdin: IO[str]) -> str:
    """`--text` values: '-' reads stdin, '@PATH' reads a file, anything else is the text.

    Trailing newlines of stdin and files are dropped, as shell `$(...)` does.
    """
    if value == "-":
        return stdin.read().rstrip("\n")
    if value.startswith("@"):
        text = _parsed(o.BODY_TEXT, lambda path: read_text_file(path, "text"), value[1:])
        return str(text).rstrip("\n")
    return value
