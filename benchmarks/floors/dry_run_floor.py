"""Floor for `event send --dry-run`: Typer, pydantic models of the payload, one event printed.

The least a Typer + pydantic tool can do for the same job; stac-events is measured
against it. Run: python dry_run_floor.py DeployEvent --title "Deployed"
"""

import time
from typing import Any, Dict, List, Optional

import typer
from pydantic import BaseModel, Field


class SourceLink(BaseModel):
    title: str
    url: str


class Context(BaseModel):
    category: str = "Others"
    data: Optional[Dict[str, Any]] = None
    element_identifiers: List[str] = Field(default_factory=list)
    source: str = "stac-events"
    source_links: List[SourceLink] = Field(default_factory=list)


class Event(BaseModel):
    context: Optional[Context] = None
    event_type: str
    msg_title: str
    msg_text: str
    timestamp: int


class CommonObject(BaseModel):
    collection_timestamp: int
    internalHostname: str
    events: Dict[str, List[Event]]
    metrics: List[Any] = Field(default_factory=list)
    service_checks: List[Any] = Field(default_factory=list)
    topologies: List[Any] = Field(default_factory=list)
    health: List[Any] = Field(default_factory=list)


def build(event_type: str, title: str) -> CommonObject:
    now = int(time.time())
    event = Event(event_type=event_type, msg_title=title, msg_text=title, timestamp=now)
    return CommonObject(
        collection_timestamp=now, internalHostname="bench", events={event_type: [event]}
    )


def main(event_type: str, title: str = typer.Option(...)) -> None:
    print(build(event_type, title).model_dump_json(exclude_none=True))


if __name__ == "__main__":
    typer.run(main)
