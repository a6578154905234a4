"""What goes on the wire: events, as the Receiver API names their fields, and the body.

`Event` is the one schema of an event, for the command line and for Python callers.
Optional fields that are not given are left out of the body, never sent as null. Two
values are normalized as they are checked, as the command line reads them: a category
in any case, a timestamp as epoch seconds, ISO-8601 or a datetime. Defaults are filled
in before (see `stac_events.events`). A body is assembled from events serialized once
(`bodies.Packer`): one event or a hundred thousand take the same path.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Dict, List, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticSerializationError

from stac_events.bodies import Packer
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


def envelope(events: Dict[str, List[Event]], *, hostname: str, collection_timestamp: int) -> bytes:
    """The exact body that is POSTed for these named (and validated) events."""
    packer = Packer(hostname=hostname, collection_timestamp=collection_timestamp, max_bytes=0)
    return packer.body(
        {json.dumps(name).encode(): [wire(e) for e in group] for name, group in events.items()}
    )
