"""Many events from a file or stdin: read, validate all, then pack into request bodies.

All or nothing: the first pass reads the input once, validates every event and writes
its wire form to a temporary file; only when every event is valid does the second pass
pack them into common JSON objects of at most `max_bytes` and hand them out in order.
Memory stays flat whatever the input's size.

Inputs: a JSON array of events, one event object, NDJSON (an event a line), or a whole
common JSON object; which one is told from the first bytes.
"""

from __future__ import annotations

import json
import tempfile
from typing import IO, Any, Dict, Iterator, List, NamedTuple, Tuple

from pydantic import ValidationError

from stac_events.errors import InvalidInput
from stac_events.events import EventDefaults, Filler, advisories, invalid_input
from stac_events.model import Packer, Payload, validate_event, wire
from stac_events.parse import InvalidValue, check_event_name

_CHUNK = 1 << 16
_MAX_WARNINGS = 5


class Validated(NamedTuple):
    """The first pass's result: the events' wire form, in a temporary file."""

    store: IO[bytes]
    events: int
    warnings: List[str]


# Where an event stood: a format with one {} and the number that goes in it. Formatting
# it for every event would cost more than reading some of them: only errors do.
Where = Tuple[str, int]


def describe(where: Where) -> str:
    return where[0].format(where[1])


def read_events(stream: IO[str], label: str) -> Iterator[Tuple[Where, Any]]:
    """Yield `(where, event)` for every event of the input, `where` naming line or index."""
    label = label.replace("{", "{{").replace("}", "}}")
    first = _peek(stream)
    if first == "[":
        yield from _array(stream, label)
    elif first == "{":
        yield from _objects(stream, label)
    elif first == "":
        return
    else:
        raise InvalidInput(f"neither JSON nor NDJSON (it starts with {first!r})", where=label)


def _peek(stream: IO[str]) -> str:
    """The first character that is not white space, left unread."""
    while True:
        position = stream.tell() if stream.seekable() else None
        char = stream.read(1)
        if not char:
            return ""
        if not char.isspace():
            if position is not None:
                stream.seek(position)
                return char
            raise AssertionError("read_events needs a seekable stream")  # buffered by callers


def _objects(stream: IO[str], label: str) -> Iterator[Tuple[Where, Any]]:
    """NDJSON, or one JSON object (an event, or a whole common JSON object)."""
    from pydantic_core import from_json  # parses JSON about twice as fast as json.loads

    start = stream.tell()
    first_line = ""
    for first_line in stream:
        if first_line.strip():
            break
    try:
        from_json(first_line)
        one_per_line = True
    except ValueError:
        one_per_line = False  # an object over several lines: the whole input is one document
    stream.seek(start)
    if not one_per_line:
        yield from _expanded(_loads(stream.read(), (label + "{}", 0)), (label + "{}", 0))
        return
    line_at = label + " line {}"
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            document = from_json(line)
        except ValueError as error:
            raise InvalidInput(
                f"not valid JSON ({str(error)[:80]})", where=line_at.format(number)
            ) from None
        if type(document) is dict and "events" in document:
            yield from _expanded(document, (line_at, number))
        else:
            yield (line_at, number), document


def _expanded(document: Any, where: Where) -> Iterator[Tuple[Where, Any]]:
    """An event as it is; a whole common JSON object as the events in it, named."""
    is_common = (
        isinstance(document, dict)
        and isinstance(document.get("events"), dict)
        and ("collection_timestamp" in document or "internalHostname" in document)
    )
    if not is_common:
        yield where, document
        return
    prefix = describe(where).replace("{", "{{").replace("}", "}}")
    for name, events in document["events"].items():
        if not isinstance(events, list):
            raise InvalidInput(f"events.{name} must be a list of events", where=describe(where))
        at = prefix + f" events.{name}".replace("{", "{{").replace("}", "}}") + "[{}]"
        for index, event in enumerate(events):
            yield (at, index), {**event, "name": name} if isinstance(event, dict) else event


def _array(stream: IO[str], label: str) -> Iterator[Tuple[Where, Any]]:
    """The elements of a JSON array, decoded one at a time."""
    decoder = json.JSONDecoder()
    at = label + "[{}]"
    buffer = stream.read(_CHUNK).lstrip()[1:]  # past the '['
    index = 0
    while True:
        buffer = buffer.lstrip()
        while not buffer:
            more = stream.read(_CHUNK)
            if not more:
                raise InvalidInput("the JSON array is not closed", where=label)
            buffer = more.lstrip()
        if buffer[0] == "]":
            if stream.read(_CHUNK).strip() or buffer[1:].strip():
                raise InvalidInput("unexpected data after the JSON array", where=label)
            return
        if index and buffer[0] == ",":
            buffer = buffer[1:]
            continue
        while True:
            try:
                value, end = decoder.raw_decode(buffer)
                if end == len(buffer):  # a number may go on in the next chunk
                    more = stream.read(_CHUNK)
                    if more:
                        buffer += more
                        continue
                break
            except ValueError as error:
                more = stream.read(_CHUNK)
                if not more:
                    raise InvalidInput(
                        f"not valid JSON ({error.args[0][:80]})", where=at.format(index)
                    ) from None
                buffer += more
        yield (at, index), value
        index += 1
        buffer = buffer[end:]


def _loads(text: str, where: Where) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise InvalidInput(f"not valid JSON ({str(error)[:80]})", where=describe(where)) from None


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
    count = 0
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
            except InvalidValue as error:
                raise InvalidInput(str(error), where=describe(where)) from None
            except ValidationError as error:
                raise invalid_input(error, where=describe(where)) from None
            serialized = wire(event)
            if len(key) + len(serialized) > room:
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
    return Validated(store=store, events=count, warnings=warnings[:_MAX_WARNINGS])


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


def buffered(stream: IO[str]) -> IO[str]:
    """Stdin, copied to a temporary file (never to memory) so it can be read twice."""
    copy = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - returned open
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        copy.write(chunk)
    copy.seek(0)
    return copy
