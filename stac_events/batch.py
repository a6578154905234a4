"""Many events from a file or stdin: read, validate all, then pack into request bodies.

All or nothing: the first pass reads the input once, validates every event and writes
its wire form to a temporary file; only when every event is valid does the second pass
pack them into common JSON objects of at most `max_bytes` and hand them out in order.
Memory stays flat whatever the input's size.

Inputs: a JSON array of events, one event object, NDJSON (an event a line), or a whole
common JSON object; which one is told from the first bytes.
"""

from __future__ import annotations

import io
import json
import tempfile
from typing import IO, Any, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

from pydantic import ValidationError

from stac_events.errors import InvalidInput
from stac_events.events import EventDefaults, Filler, advisories, invalid_input
from stac_events.model import Packer, Payload, validate_event, wire
from stac_events.parse import (
    MAX_DATA_DEPTH,
    InvalidValue,
    check_event_name,
    check_text,
    parse_timestamp,
    strict_constant,
    strict_float,
    strict_json,
)

_CHUNK = 1 << 16
_MAX_WARNINGS = 5


class Validated(NamedTuple):
    """The first pass's result: the events' wire form, in a temporary file."""

    store: IO[bytes]
    events: int
    warnings: List[str]
    largest: int = 0  # the largest event with its name's key, in bytes


# Where an event stood: a format with one {} and the number that goes in it. Formatting
# it for every event would cost more than reading some of them: only errors do.
Where = Tuple[str, int]


def describe(where: Where) -> str:
    return where[0].format(where[1])


class Head:
    """What a whole common JSON object in the input says of itself: its `internalHostname`
    and `collection_timestamp`, kept for the bodies unless `--hostname` says otherwise.

    Several such objects (NDJSON) must agree on the host name; the first one's collection
    timestamp is kept.
    """

    def __init__(self, *, hostname_given: bool = False) -> None:
        self.hostname_given = hostname_given  # a flag names the host: the objects' is moot
        self.hostname: Optional[str] = None
        self.collection_timestamp: Optional[int] = None
        self.where = ""


# What the common JSON object holds besides events; stac-events sends events only.
_OTHER_PARTS = ("metrics", "service_checks", "topologies", "health")
_HEAD_FIELDS = ("collection_timestamp", "internalHostname")


def read_events(
    stream: IO[str], label: str, head: Optional[Head] = None
) -> Iterator[Tuple[Where, Any]]:
    """Yield `(where, event)` for every event of the input, `where` naming line or index.

    A UTF-8 byte order mark at the start is skipped, as editors on Windows write one.
    `head`, when given, learns what a whole common JSON object says of itself.
    """
    label = label.replace("{", "{{").replace("}", "}}")
    first, lines_before = _peek(stream)
    if first == "[":
        yield from _array(stream, label)
    elif first == "{":
        yield from _objects(stream, label, lines_before + 1, head or Head())
    elif first == "":
        return
    else:
        raise InvalidInput(f"neither JSON nor NDJSON (it starts with {first!r})", where=label)


def _peek(stream: IO[str]) -> Tuple[str, int]:
    """The first character that is not white space (or a byte order mark), left unread;
    and how many lines came before it."""
    lines = 0
    while True:
        if not stream.seekable():
            raise AssertionError("read_events needs a seekable stream")  # see `buffered`
        position = stream.tell()
        char = stream.read(1)
        if not char:
            return "", lines
        if not char.isspace() and char != _BOM:
            stream.seek(position)
            return char, lines
        lines += char == "\n"


_BOM = "\ufeff"


def _too_deep(where: str) -> InvalidInput:
    return InvalidInput(
        f"the JSON is nested too deep; an event's data may nest {MAX_DATA_DEPTH} levels",
        where=where,
    )


def _objects(
    stream: IO[str], label: str, first_number: int, head: Head
) -> Iterator[Tuple[Where, Any]]:
    """NDJSON, or one JSON object (an event, or a whole common JSON object)."""
    from pydantic_core import from_json  # parses JSON about twice as fast as json.loads

    line_at = label + " line {}"
    start = stream.tell()
    first_line = stream.readline()
    try:
        from_json(first_line, allow_inf_nan=False)
        one_per_line = True
    except ValueError as error:
        # a line too deep to parse is still a whole line; anything else is the start
        # of an object over several lines: the whole input is one document
        one_per_line = _RECURSION in str(error)
    stream.seek(start)
    if not one_per_line:
        where = (line_at, first_number)
        yield from _expanded(_document(stream.read(), where), where, head)
        return
    for number, line in enumerate(stream, start=first_number):
        if not line.strip():
            continue
        try:
            document = from_json(line, allow_inf_nan=False)
        except ValueError as error:
            if _RECURSION in str(error):
                raise _too_deep(line_at.format(number)) from None
            raise InvalidInput(
                f"not valid JSON ({str(error)[:80]})", where=line_at.format(number)
            ) from None
        if type(document) is dict and "events" in document:
            yield from _expanded(document, (line_at, number), head)
        else:
            yield (line_at, number), document


_RECURSION = "recursion limit exceeded"  # pydantic-core's words for JSON nested too deep


def _expanded(document: Any, where: Where, head: Head) -> Iterator[Tuple[Where, Any]]:
    """An event as it is; a whole common JSON object as the events in it, named."""
    is_common = (
        isinstance(document, dict)
        and isinstance(document.get("events"), dict)
        and any(field in document for field in _HEAD_FIELDS)
    )
    if not is_common:
        yield where, document
        return
    _read_head(document, describe(where), head)
    prefix = describe(where).replace("{", "{{").replace("}", "}}")
    for name, events in document["events"].items():
        if not isinstance(events, list):
            raise InvalidInput(f"events.{name} must be a list of events", where=describe(where))
        at = prefix + f" events.{name}".replace("{", "{{").replace("}", "}}") + "[{}]"
        for index, event in enumerate(events):
            yield (at, index), {**event, "name": name} if isinstance(event, dict) else event


def _read_head(document: Dict[str, Any], where: str, head: Head) -> None:
    """Refuse what stac-events would not send as it is; learn the object's head."""
    unknown = [key for key in document if key not in ("events", *_HEAD_FIELDS, *_OTHER_PARTS)]
    if unknown:
        raise InvalidInput(
            f"the common JSON object has a field {unknown[0]!r} that the Receiver API does "
            f"not know; remove it",
            where=where,
        )
    held = []
    for part in _OTHER_PARTS:
        value = document.get(part, [])
        if not isinstance(value, list):
            raise InvalidInput(f"{part} must be a list", where=where)
        if value:
            held.append(f"{len(value)} {part}")
    if held:
        raise InvalidInput(
            f"stac-events sends events, and this object also holds {', '.join(held)}; "
            f"send the whole object with curl, or remove them",
            where=where,
        )
    hostname = document.get("internalHostname")
    if hostname is not None:
        if not isinstance(hostname, str) or not hostname.strip():
            raise InvalidInput("must be a host name (non-empty text)", field="internalHostname",
                               where=where)  # fmt: skip
        try:
            check_text(hostname)
        except InvalidValue as error:
            raise InvalidInput(str(error), field="internalHostname", where=where) from None
    if hostname is not None and not head.hostname_given:
        if head.hostname is not None and hostname != head.hostname:
            raise InvalidInput(
                f"internalHostname {hostname!r} differs from {head.hostname!r} ({head.where}); "
                f"send them separately, or give --hostname",
                where=where,
            )
        head.hostname, head.where = hostname, head.where or where
    if "collection_timestamp" in document:
        try:
            collected = parse_timestamp(document["collection_timestamp"])
        except InvalidValue as error:
            raise InvalidInput(str(error), field="collection_timestamp", where=where) from None
        if head.collection_timestamp is None:
            head.collection_timestamp = collected


def _array(stream: IO[str], label: str) -> Iterator[Tuple[Where, Any]]:
    """The elements of a JSON array, decoded one at a time."""
    decoder = json.JSONDecoder(parse_constant=strict_constant, parse_float=strict_float)
    at = label + "[{}]"
    buffer = stream.read(_CHUNK).lstrip()[1:]  # past the '['
    index = 0
    after_element = False  # else after '[' or ','
    while True:
        buffer = buffer.lstrip()
        while not buffer:
            more = stream.read(_CHUNK)
            if not more:
                raise InvalidInput("the JSON array is not closed", where=label)
            buffer = more.lstrip()
        if buffer[0] == "]":
            if index and not after_element:
                raise InvalidInput("a ',' before ']'; remove it", where=at.format(index - 1))
            if stream.read(_CHUNK).strip() or buffer[1:].strip():
                raise InvalidInput("unexpected data after the JSON array", where=label)
            return
        if after_element:
            if buffer[0] != ",":
                raise InvalidInput("a ',' is missing after it", where=at.format(index - 1))
            buffer, after_element = buffer[1:], False
            continue
        if buffer[0] == ",":
            raise InvalidInput("an empty element (two ',' in a row, or one after '[')",
                               where=at.format(index))  # fmt: skip
        while True:
            try:
                value, end = decoder.raw_decode(buffer)
                if end == len(buffer):  # a number may go on in the next chunk
                    more = stream.read(_CHUNK)
                    if more:
                        buffer += more
                        continue
                break
            except RecursionError:
                raise _too_deep(at.format(index)) from None
            except InvalidValue as error:
                raise InvalidInput(f"not valid JSON: {error}", where=at.format(index)) from None
            except ValueError as error:
                more = stream.read(_CHUNK)
                if not more:
                    raise InvalidInput(
                        f"not valid JSON ({error.args[0][:80]})", where=at.format(index)
                    ) from None
                buffer += more
        yield (at, index), value
        index += 1
        after_element = True
        buffer = buffer[end:]


def _document(text: str, where: Where) -> Any:
    """One JSON document over several lines; an error names its own line."""
    try:
        return strict_json(text)
    except RecursionError:
        raise _too_deep(describe(where)) from None
    except InvalidValue as error:
        raise InvalidInput(f"not valid JSON: {error}", where=describe(where)) from None
    except json.JSONDecodeError as error:
        at = (where[0], where[1] + error.lineno - 1)
        raise InvalidInput(
            f"not valid JSON ({error.msg} at column {error.colno})", where=describe(at)
        ) from None


def validate_all(
    events: Iterator[Tuple[Where, Any]],
    defaults: EventDefaults,
    *,
    now: float,
    packer: Packer,
) -> Validated:
    """First pass: every event filled, validated and serialized; the first problem stops all."""
    filler = Filler(defaults)
    store = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the second pass, closed there
    keys: Dict[str, bytes] = {}  # event name -> its JSON key, checked once
    count = largest = 0
    warnings: List[str] = []
    room = packer.max_bytes - packer.smallest_body(b"", b"")
    try:
        for where, raw in events:
            if type(raw) is not dict:
                raise InvalidInput("an event must be a JSON object", where=describe(where))
            try:
                name, fields = filler(raw, now=now)
                key = keys.get(name)
                if key is None:
                    if not name:
                        raise InvalidValue(
                            "the event has no event_type; add one, or give EVENT_TYPE"
                        )
                    check_event_name(name)
                    key = keys[name] = json.dumps(name).encode()
                event = validate_event(fields)
                serialized = wire(event)
            except InvalidValue as error:
                raise InvalidInput(str(error), where=describe(where)) from None
            except ValidationError as error:
                raise invalid_input(error, where=describe(where)) from None
            size = len(key) + len(serialized)
            largest = max(largest, size)
            if size > room:
                raise InvalidInput(
                    f"the event alone makes a body of {packer.smallest_body(key, serialized)} "
                    f"bytes, over the request size limit of {packer.max_bytes}",
                    where=describe(where),
                )
            if len(warnings) < _MAX_WARNINGS:
                warnings += [f"{describe(where)}: {note}" for note in advisories(event, now=now)]
            store.write(key + b"\t" + serialized + b"\n")
            count += 1
    except BaseException:
        store.close()
        raise
    store.seek(0)
    return Validated(store, count, warnings[:_MAX_WARNINGS], largest)


def bodies(validated: Validated, packer: Packer) -> Iterator[Payload]:
    """Second pass: the request bodies, in order, each with its event count."""
    with validated.store:
        for line in validated.store:
            key, _, serialized = line.rstrip(b"\n").partition(b"\t")
            body = packer.add(key, serialized)
            if body is not None:
                yield body
        last = packer.finish()
        if last is not None:
            yield last


def buffered(stream: Union[IO[str], IO[bytes]]) -> IO[str]:
    """Stdin, a pipe or a FIFO, copied to a temporary file (never to memory) so it can be
    read twice; decoded as UTF-8 when it is read (a `UnicodeDecodeError` then).

    The bytes are copied when the stream has them, so that no locale decodes them first.
    """
    copy = tempfile.TemporaryFile()  # noqa: SIM115 - returned open
    try:
        source: Any = getattr(stream, "buffer", stream)
        while True:
            chunk = source.read(_CHUNK)
            if not chunk:
                break
            if isinstance(chunk, str):  # text only (a test's StringIO): its lone surrogates
                chunk = chunk.encode("utf-8", "surrogatepass")  # stay invalid UTF-8
            copy.write(chunk)
        copy.seek(0)
    except BaseException:
        copy.close()
        raise
    return io.TextIOWrapper(copy, encoding="utf-8")
