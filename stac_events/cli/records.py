"""What each command receives: a typed record of its options, converted, defaults filled in.

A record's fields are the command's arguments and options, named as `cli.options`
declares them (`tests/test_commands.py` keeps the two equal); `cli.typer_app` makes the
record from what Typer parsed, and the command reads `run.options.title`, typed.
"""

from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional, Protocol, Tuple, Union

Values = Tuple[str, ...]  # a flag that takes several values: -i a b, or -i a -i b


class Record(Protocol):
    """What every record is: a NamedTuple of options."""

    def _asdict(self) -> Dict[str, Any]: ...


class NoOptions(NamedTuple):
    """Before a command runs, or for a line that names none."""


class SendOptions(NamedTuple):
    event_type: Optional[str]
    title: Optional[str]
    text: Optional[str]
    tags: Values
    timestamp: Optional[str]
    source_type_name: Optional[str]
    name: Optional[str]
    identifiers: Values
    source: Optional[str]
    category: Optional[str]
    data: Values
    links: Values
    source_identifier: Optional[str]
    ci_context: bool
    file: Optional[str]
    max_request_bytes: int
    gzip: bool
    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    timeout: Optional[float]
    retries: Optional[int]
    max_time: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    spool: bool
    dry_run: bool
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class WrapOptions(NamedTuple):
    command: Values
    event_type: str
    on: str
    tail_lines: int
    title: Optional[str]
    text: Optional[str]
    tags: Values
    source_type_name: Optional[str]
    name: Optional[str]
    identifiers: Values
    source: Optional[str]
    category: str
    data: Values
    links: Values
    source_identifier: Optional[str]
    ci_context: bool
    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    timeout: Optional[float]
    retries: Optional[int]
    max_time: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    spool: bool
    dry_run: bool
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


# The options that describe an event, which `event send` and `event wrap` share.
EventOptions = Union[SendOptions, WrapOptions]


class ConfigShowOptions(NamedTuple):
    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    timeout: Optional[float]
    retries: Optional[int]
    max_time: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    spool: bool
    output: str
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class ConfigPathOptions(NamedTuple):
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class ConfigInitOptions(NamedTuple):
    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class SpoolListOptions(NamedTuple):
    output: str
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class SpoolFlushOptions(NamedTuple):
    url: Optional[str]
    api_key: Optional[str]
    timeout: Optional[float]
    retries: Optional[int]
    max_time: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class SpoolRetryOptions(NamedTuple):
    id: Optional[str]
    all: bool
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class SpoolDropOptions(NamedTuple):
    id: Optional[str]
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class SpoolClearOptions(NamedTuple):
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class ReceiverOptions(NamedTuple):
    port: int
    host: str
    db: Optional[str]
    api_key: Optional[str]
    max_age: float
    max_body: int
    quiet: bool


class ReceiverEventsOptions(NamedTuple):
    db: Optional[str]
    type: Optional[str]
    identifier: Optional[str]
    since: Optional[str]
    clear: bool
    output: str
    quiet: bool


class CheckOptions(NamedTuple):
    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    timeout: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]
