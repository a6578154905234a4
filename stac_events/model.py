"""What crosses the wire: events, their context, and the Receiver API's common JSON object.

Events are TypedDicts validated by pydantic (`EVENT`), not BaseModel instances: a batch
validates one per event, and checking a plain dict in pydantic-core is several times
faster than building model objects. Optional fields are simply absent, never null.
Values are normalized before validation (see `compose.fill`): the schema checks, it
does not rewrite.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, with_config
from typing_extensions import Annotated, NotRequired, TypedDict

from stac_events.parse import LARGEST_EPOCH_SECONDS, check_event_name

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


class CommonObject(BaseModel):
    """The Receiver API's envelope; `events` maps an event name to its events."""

    model_config = _STRICT

    collection_timestamp: int
    internalHostname: str = Field(min_length=1)
    events: Dict[str, List[Event]]
    metrics: List[Any] = Field(default_factory=list)
    service_checks: List[Any] = Field(default_factory=list)
    topologies: List[Any] = Field(default_factory=list)
    health: List[Any] = Field(default_factory=list)

    @field_validator("events")
    @classmethod
    def _names_allowed(cls, events: Dict[str, List[Event]]) -> Dict[str, List[Event]]:
        for name in events:
            check_event_name(name)
        return events

    def to_json(self) -> bytes:
        """The exact body that is POSTed: compact JSON."""
        return self.model_dump_json().encode()


def common_object(
    events: Dict[str, List[Event]], *, hostname: str, collection_timestamp: int
) -> CommonObject:
    """Put named events into one common JSON object."""
    return CommonObject(
        collection_timestamp=collection_timestamp, internalHostname=hostname, events=events
    )
