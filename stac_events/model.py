"""What crosses the wire: events, their context, and the Receiver API's common JSON object."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stac_events.parse import canonical_category, check_event_name, parse_timestamp

_FIELDS = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SourceLink(BaseModel):
    """A link shown with the event: a dashboard, a pipeline run, a ticket."""

    model_config = _FIELDS

    title: str = Field(min_length=1)
    url: str = Field(min_length=1)


class Context(BaseModel):
    """Binds the event to topology; without one the event is only a log stream."""

    model_config = _FIELDS

    category: str = "Others"
    data: Optional[Dict[str, Any]] = None
    element_identifiers: List[str] = Field(default_factory=list)
    source: str = Field(default="stac-events", min_length=1)
    source_identifier: Optional[str] = None
    source_links: List[SourceLink] = Field(default_factory=list)

    @field_validator("category", mode="before")
    @classmethod
    def _canonical_category(cls, value: Any) -> Any:
        return canonical_category(value) if isinstance(value, str) else value


class Event(BaseModel):
    """One event, with the Receiver API's own field names."""

    model_config = _FIELDS

    context: Optional[Context] = None
    event_type: str = Field(min_length=1)
    msg_title: str
    msg_text: str = ""
    source_type_name: Optional[str] = None
    tags: Optional[List[str]] = None
    timestamp: int

    @field_validator("timestamp", mode="before")
    @classmethod
    def _epoch_seconds(cls, value: Any) -> int:
        return parse_timestamp(value)

    @field_validator("msg_title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the title cannot be empty")
        return value

    @model_validator(mode="after")
    def _text_defaults_to_title(self) -> Event:
        # The receiver refuses an event without text; the title is the best stand-in.
        if not self.msg_text:
            self.msg_text = self.msg_title
        return self


class CommonObject(BaseModel):
    """The Receiver API's envelope; `events` maps an event name to its events."""

    model_config = _FIELDS

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
        """The exact body that is POSTed: compact JSON, optional fields left out."""
        return self.model_dump_json(exclude_none=True).encode()


def common_object(
    events: Dict[str, List[Event]], *, hostname: str, collection_timestamp: int
) -> CommonObject:
    """Put named events into one common JSON object."""
    return CommonObject(
        collection_timestamp=collection_timestamp, internalHostname=hostname, events=events
    )
