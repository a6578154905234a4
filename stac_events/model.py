"""What crosses the wire: events, their context, and the Receiver API's common JSON object.

Events are TypedDicts validated by pydantic (`EVENT`), not BaseModel instances: a batch
validates one per event, and checking a plain dict in pydantic-core is several times
faster than building model objects (a BaseModel envelope also cost ~18 ms of every
start-up to define). Optional fields are simply absent, never null.
Values are normalized before validation (see `compose.fill`): the schema checks, it
does not rewrite.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Dict, List, Literal, Optional, Tuple

from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import Annotated, NotRequired, TypedDict

from stac_events.parse import LARGEST_EPOCH_SECONDS

_STRICT = ConfigDict(extra="forbid")

Category = Literal["Activities", "Alerts", "Anomalies", "Changes", "Others"]
NonEmpty = Annotated[str, Field(min_length=1)]


@with_config(_STRICT)
class SourceLink(TypedDict):
    """A link shown with the event: a dashboard, a pipeline run, a ticket."""

    title: NonEmpty
    url: NonEmpty


@with_config(_STRICT)
class Context(TypedDict):
    """Binds the event to topology; without one the event is only a log stream."""

    category: Category
    data: NotRequired[Dict[str, Any]]
    element_identifiers: List[str]
    source: NonEmpty
    source_identifier: NotRequired[str]
    source_links: List[SourceLink]


@with_config(_STRICT)
class Event(TypedDict):
    """One event, with the Receiver API's own field names."""

    context: NotRequired[Context]
    event_type: NonEmpty
    msg_title: Annotated[str, Field(pattern=r"\S")]
    msg_text: NonEmpty
    source_type_name: NotRequired[str]
    tags: NotRequired[List[str]]
    timestamp: Annotated[int, Field(gt=0, le=LARGEST_EPOCH_SECONDS, strict=True)]


EVENT: TypeAdapter[Event] = TypeAdapter(Event)


@with_config(_STRICT)
class CommonObject(TypedDict):
    """The Receiver API's envelope; `events` maps an event name to its events."""

    collection_timestamp: int
    internalHostname: NonEmpty
    events: Dict[str, List[Event]]
    metrics: List[Any]
    service_checks: List[Any]
    topologies: List[Any]
    health: List[Any]


@cache
def common_object_adapter() -> TypeAdapter[CommonObject]:
    """A validator for a whole common object; built on first use, as it is rarely needed."""
    return TypeAdapter(CommonObject)


class Packer:
    """Writes common JSON objects from serialized events, each at most `max_bytes`.

    Bodies are assembled from bytes that `EVENT` serialized once: one event or a
    hundred thousand take the same path, and nothing is encoded twice.
    """

    def __init__(self, *, hostname: str, collection_timestamp: int, max_bytes: int) -> None:
        head = {"collection_timestamp": collection_timestamp, "internalHostname": hostname}
        self.prefix = json.dumps(head, separators=(",", ":"))[:-1].encode() + b',"events":{'
        self.suffix = b'},"metrics":[],"service_checks":[],"topologies":[],"health":[]}'
        self.max_bytes = max_bytes
        self._groups: Dict[bytes, List[bytes]] = {}
        self._size = 0
        self.events_in_body = 0

    def smallest_body(self, key: bytes, event: bytes) -> int:
        """The size of a body holding only this event."""
        return len(self.prefix) + len(self.suffix) + len(key) + 3 + len(event)

    def add(self, key: bytes, event: bytes) -> Optional[Tuple[bytes, int]]:
        """Add one event (`key` is its JSON-quoted name); returns a full body when one is."""
        grown = len(event) + (1 if key in self._groups else len(key) + 3 + bool(self._groups))
        done = None
        if self._groups and self._base() + self._size + grown > self.max_bytes:
            done = self.finish()
            grown = len(key) + 3 + len(event)
        self._groups.setdefault(key, []).append(event)
        self._size += grown
        self.events_in_body += 1
        return done

    def finish(self) -> Optional[Tuple[bytes, int]]:
        """The last body, or None when nothing is left."""
        if not self._groups:
            return None
        body = (self.body(self._groups), self.events_in_body)
        self._groups, self._size, self.events_in_body = {}, 0, 0
        return body

    def body(self, groups: Dict[bytes, List[bytes]]) -> bytes:
        inner = b",".join(key + b":[" + b",".join(events) + b"]" for key, events in groups.items())
        return self.prefix + inner + self.suffix

    def _base(self) -> int:
        return len(self.prefix) + len(self.suffix)


def envelope(events: Dict[str, List[Event]], *, hostname: str, collection_timestamp: int) -> bytes:
    """The exact body that is POSTed for these named (and validated) events."""
    packer = Packer(hostname=hostname, collection_timestamp=collection_timestamp, max_bytes=0)
    return packer.body(
        {
            json.dumps(name).encode(): [EVENT.dump_json(e) for e in group]
            for name, group in events.items()
        }
    )
