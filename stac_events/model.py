"""What goes on the wire: events, as the Receiver API names their fields, and the body.

`Event` is the one schema of an event, for the command line and for Python callers.
Optional fields that are not given are left out of the body, never sent as null. Two
values are normalized as they are checked, as the command line reads them: a category
in any case, a timestamp as epoch seconds, ISO-8601 or a datetime. Defaults are filled
in before (see `stac_events.events`). A body is assembled from events serialized once
(`Packer`): one event or a hundred thousand take the same path.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticSerializationError

from stac_events.parse import (
    LARGEST_EPOCH_SECONDS,
    MAX_DATA_DEPTH,
    InvalidValue,
    category_in_canonical_case,
    check_json_value,
    json_problem,
    parse_timestamp,
)


def _epoch_seconds(value: Any) -> Any:
    if type(value) is int and 0 < value <= LARGEST_EPOCH_SECONDS:
        return value  # the common case, first: batches check one per event
    return value if value is None else parse_timestamp(value)


Category = Annotated[
    Literal["Activities", "Alerts", "Anomalies", "Changes", "Others"],
    BeforeValidator(category_in_canonical_case),
]
NonEmpty = Annotated[str, Field(min_length=1)]
EpochSeconds = Annotated[
    int, BeforeValidator(_epoch_seconds), Field(gt=0, le=LARGEST_EPOCH_SECONDS, strict=True)
]

_STRICT = ConfigDict(extra="forbid")


class SourceLink(BaseModel):
    """A link shown with the event: a dashboard, a pipeline run, a ticket."""

    model_config = _STRICT

    title: NonEmpty
    url: NonEmpty


class EventContext(BaseModel):
    """Binds the event to topology; without one the event is only a log stream."""

    model_config = _STRICT

    category: Category = "Others"
    # nested at most MAX_DATA_DEPTH levels, no NaN, UTF-8 text: what the receiver can read
    data: Optional[Annotated[Dict[str, Any], AfterValidator(check_json_value)]] = None
    element_identifiers: List[str] = Field(default_factory=list)
    source: NonEmpty = "stac-events"
    source_identifier: Optional[str] = None
    source_links: List[SourceLink] = Field(default_factory=list)


class Event(BaseModel):
    """One event. `msg_text` defaults to the title and `timestamp` to now, as on the
    command line: an event made without them is one the receiver takes."""

    model_config = _STRICT

    context: Optional[EventContext] = None
    event_type: NonEmpty
    msg_title: Annotated[str, Field(pattern=r"\S")]
    msg_text: Optional[NonEmpty] = None
    source_type_name: Optional[str] = None
    tags: Optional[List[str]] = None
    timestamp: Optional[EpochSeconds] = None

    @model_validator(mode="after")
    def _defaults(self) -> Event:
        # the command line fills both in before it validates: this costs a batch nothing
        if self.msg_text is None:
            self.msg_text = self.msg_title
        if self.timestamp is None:
            self.timestamp = int(time.time())
        return self


# Batches validate and serialize one event at a time: straight to pydantic-core, past the
# model methods' own work (about a fifth of the time per event).
validate_event = Event.__pydantic_validator__.validate_python


def wire(event: Event) -> bytes:
    """The event's JSON as it goes into a body: fields not given left out.

    Raises `InvalidValue` for text that cannot be UTF-8 (a lone surrogate), naming its field.
    """
    try:
        return Event.__pydantic_serializer__.to_json(event, exclude_none=True)
    except PydanticSerializationError:
        raise _unsendable(event) from None


def _unsendable(event: Event) -> InvalidValue:
    for field, value in event.model_dump(exclude_none=True).items():
        problem = json_problem(value, max_depth=MAX_DATA_DEPTH + 2)  # context > data > ...
        if problem is not None:
            path, reason = problem
            separator = "" if path.startswith("[") or not path else "."
            return InvalidValue(f"{field}{separator}{path}: {reason}")
    return InvalidValue("the event cannot be written as JSON")  # not met: every cause is above


Payload = Tuple[bytes, int]  # a request body, and how many events it holds


class Packer:
    """Writes common JSON objects from serialized events, each at most `max_bytes`."""

    def __init__(
        self,
        *,
        hostname: str,
        collection_timestamp: int,
        max_bytes: int,
        mask: Optional[Callable[[bytes], bytes]] = None,
    ) -> None:
        head = {"collection_timestamp": collection_timestamp, "internalHostname": hostname}
        start = json.dumps(head, separators=(",", ":")).encode()
        if mask is not None:
            start = mask(start)
        self.prefix = start[:-1] + b',"events":{'
        self.suffix = b'},"metrics":[],"service_checks":[],"topologies":[],"health":[]}'
        self.max_bytes = max_bytes
        self._groups: Dict[bytes, List[bytes]] = {}
        self._size = 0
        self.events_in_body = 0

    def smallest_body(self, key: bytes, event: bytes) -> int:
        """The size of a body holding only this event."""
        return len(self.prefix) + len(self.suffix) + len(key) + 3 + len(event)

    def add(self, key: bytes, event: bytes) -> Optional[Payload]:
        """Add one event (`key` is its JSON-quoted name); returns a full body when one is."""
        done = self.add_run(key, event, [len(event)])
        return done[0] if done else None

    def add_run(self, key: bytes, data: bytes, sizes: Sequence[int]) -> List[Payload]:
        """Add events filed under one name (`data`: serialized, joined by commas, each
        `sizes[i]` long); returns the bodies they fill, cut where adding them one by one
        would cut them."""
        done = []
        groups = self._groups
        room = self.max_bytes - self._base()
        first = position = 0  # where this run's events in the body being filled begin
        pending = 0  # how many of them there are
        for size in sizes:
            # after a comma; or the first of its name: `"key":[...]`, after a comma or not
            grown = size + 1 if pending or key in groups else size + len(key) + 3 + bool(groups)
            if (groups or pending) and self._size + grown > room:
                if pending:
                    groups.setdefault(key, []).append(data[first : position - 1])
                done.append(self._finished())
                groups = self._groups
                first, pending, grown = position, 0, size + len(key) + 3
            self._size += grown
            self.events_in_body += 1
            pending += 1
            position += size + 1
        if pending:
            groups.setdefault(key, []).append(data[first : position - 1])
        return done

    def finish(self) -> Optional[Payload]:
        """The last body, or None when nothing is left."""
        return self._finished() if self._groups else None

    def _finished(self) -> Payload:
        body = (self.body(self._groups), self.events_in_body)
        self._groups, self._size, self.events_in_body = {}, 0, 0
        return body

    def body(self, groups: Dict[bytes, List[bytes]]) -> bytes:
        """A body of these events (by key, each list's items one event or several joined
        by commas)."""
        inner = b",".join(key + b":[" + b",".join(events) + b"]" for key, events in groups.items())
        return self.prefix + inner + self.suffix

    def _base(self) -> int:
        return len(self.prefix) + len(self.suffix)


def envelope(events: Dict[str, List[Event]], *, hostname: str, collection_timestamp: int) -> bytes:
    """The exact body that is POSTed for these named (and validated) events."""
    packer = Packer(hostname=hostname, collection_timestamp=collection_timestamp, max_bytes=0)
    return packer.body(
        {json.dumps(name).encode(): [wire(e) for e in group] for name, group in events.items()}
    )


# Level 1: measured on 100,000 events in 46 bodies of 1 MiB, it costs 1.0 us an event for
# 6.7% of the raw size, where level 6 (zlib's default) costs 2.7 us for 5.6%; level 6's
# smaller bodies win its time back in the transfer only below ~26 Mbit/s.
GZIP_LEVEL = 1


def gzip_body(body: bytes) -> bytes:
    """`body` compressed for `Content-Encoding: gzip`."""
    import gzip

    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def split(body: bytes) -> Optional[Tuple[Payload, Payload]]:
    """The body's events in two bodies of half each, for a receiver that found it too
    large; None when it holds fewer than two (or is not a common object)."""
    try:
        document = json.loads(body)
        pairs = [(name, event) for name, group in document["events"].items() for event in group]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    if len(pairs) < 2:
        return None
    middle = len(pairs) // 2

    def rebuilt(part: List[Tuple[str, Any]], first: bool) -> Payload:
        groups: Dict[str, List[Any]] = {}
        for name, event in part:
            groups.setdefault(name, []).append(event)
        # metrics, topologies and the like go with the first half only: never twice
        fields = {key: groups if key == "events" else value if first or not isinstance(value, list)
                  else [] for key, value in document.items()}  # fmt: skip
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode(), len(part)

    return rebuilt(pairs[:middle], True), rebuilt(pairs[middle:], False)
