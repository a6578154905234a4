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

from stac_events.compose import Filler, Template, advisories, problem_message
from stac_events.errors import UsageError
from stac_events.model import EVENT, Packer
from stac_events.parse import InvalidValue, check_event_name

DEFAULT_MAX_BYTES = 1024 * 1024
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
        raise UsageError(
            f"{label} is neither JSON nor NDJSON (it starts with {first!r})",
            option="--file",
        )


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
            raise UsageError(
                f"{line_at.format(number)}: not valid JSON ({str(error)[:80]})", option="--file"
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
            raise UsageError(
                f"{describe(where)}: events.{name} must be a list of events", option="--file"
            )
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
                raise UsageError(f"{label}: the JSON array is not closed", option="--file")
            buffer = more.lstrip()
        if buffer[0] == "]":
            if stream.read(_CHUNK).strip() or buffer[1:].strip():
                raise UsageError(f"{label}: unexpected data after the JSON array", option="--file")
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
                    raise UsageError(
                        f"{at.format(index)}: not valid JSON ({error.args[0][:80]})",
                        option="--file",
                    ) from None
                buffer += more
        yield (at, index), value
        index += 1
        buffer = buffer[end:]


def _loads(text: str, where: Where) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise UsageError(
            f"{describe(where)}: not valid JSON ({str(error)[:80]})", option="--file"
        ) from None


def validate_all(
    events: Iterator[Tuple[Where, Any]],
    template: Template,
    *,
    now: float,
    packer: Packer,
) -> Validated:
    """First pass: every event filled, validated and serialized; the first problem stops all."""
    filler = Filler(template)
    store = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the second pass, closed there
    keys: Dict[str, bytes] = {}  # event name -> its JSON key, checked once
    count = 0
    warnings: List[str] = []
    room = packer.max_bytes - packer.smallest_body(b"", b"")
    try:
        for where, raw in events:
            if type(raw) is not dict:
                raise UsageError(
                    f"{describe(where)}: an event must be a JSON object", option="--file"
                )
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
                event = EVENT.validate_python(fields)
            except InvalidValue as error:
                raise UsageError(f"{describe(where)}: {error}", option="--file") from None
            except ValidationError as error:
                raise UsageError(
                    f"{describe(where)}: {_first_problem(error)}", option="--file"
                ) from None
            wire = EVENT.dump_json(event)
            if len(key) + len(wire) > room:
                raise UsageError(
                    f"{describe(where)}: the event alone makes a body of "
                    f"{packer.smallest_body(key, wire)} bytes, over --max-request-bytes "
                    f"{packer.max_bytes}",
                    option="--file",
                )
            if len(warnings) < _MAX_WARNINGS:
                warnings += [f"{describe(where)}: {note}" for note in advisories(event, now=now)]
            store.write(key + b"\t" + wire + b"\n")
            count += 1
    except BaseException:
        store.close()
        raise
    store.seek(0)
    return Validated(store=store, events=count, warnings=warnings[:_MAX_WARNINGS])


def bodies(validated: Validated, packer: Packer) -> Iterator[Tuple[bytes, int]]:
    """Second pass: the request bodies, in order, each with its event count."""
    with validated.store:
        for line in validated.store:
            key, _, wire = line.rstrip(b"\n").partition(b"\t")
            body = packer.add(key, wire)
            if body is not None:
                yield body
        last = packer.finish()
        if last is not None:
            yield last


def _first_problem(error: ValidationError) -> str:
    problem = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in problem["loc"])
    message = problem_message(problem)
    return f"{where}: {message}" if where else message


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
