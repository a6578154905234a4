"""Many events from a file or stdin: read, validate all, then pack into request bodies.

All or nothing: the first pass reads the input once, forward only (stdin, a pipe or a
FIFO is never copied first), validates each event as it is read and writes its wire form
to a temporary file; only when every event is valid does the second pass pack them into
common JSON objects of at most `max_bytes` and hand them out in order. Memory stays flat
whatever the input's size: one line, element or document is held at a time, bounded.

Inputs: a JSON array of events, one event object, NDJSON (an event a line), or a whole
common JSON object; which one is told from the first bytes.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import re
import struct
import tempfile
from array import array
from typing import (
    IO,
    Any,
    Dict,
    Generator,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Set,
    Tuple,
    Union,
)

from pydantic_core import ValidationError

from stac_events.blocks import BLOCK_CHARACTERS, BLOCK_LINES, Done, Run, json_key
from stac_events.bodies import Packer, Payload
from stac_events.errors import ConfigError, InvalidInput
from stac_events.events import EventDefaults, Filler, advisories, invalid_input
from stac_events.parse import (
    LARGEST_REQUEST_BYTES,
    MAX_DATA_DEPTH,
    InvalidValue,
    check_event_name,
    check_text,
    json_error_words,
    parse_timestamp,
    strict_constant,
    strict_float,
    strict_json,
)
from stac_events.redact import Masker
from stac_events.status import signals_held

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


# What the input gives: an event and where it stood, or a block of NDJSON lines.
Item = Union[Tuple[Where, Any], "Lines"]


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
_COMMON_FIELDS = frozenset(("events", *_OTHER_PARTS, *_HEAD_FIELDS))


def read_events(stream: IO[str], label: str, head: Optional[Head] = None) -> Iterator[Item]:
    """Yield `(where, event)` for every event of the input, `where` naming line or index;
    NDJSON lines of plain events come in blocks (`Lines`) of such pairs.

    The input is read once, forward only (stdin, a pipe and a FIFO alike), and an event
    is yielded as soon as it is read: the first bad one stops the reading. One line, one
    element or one document is held at a time, at most LARGEST_PIECE characters of it.
    A UTF-8 byte order mark at the start is skipped, as editors on Windows write one.
    `head`, when given, learns what a whole common JSON object says of itself.
    """
    label = label.replace("{", "{{").replace("}", "}}")
    first, lines_before = _first(stream)
    if first == "[":
        yield from _array(stream, label)
    elif first == "{":
        yield from _objects(stream, label, lines_before + 1, head or Head())
    elif first == "":
        return
    else:
        raise InvalidInput(f"neither JSON nor NDJSON (it starts with {first!r})", where=label)


# The most one piece of the input may hold, in characters: an NDJSON line, an element of
# an array, or one document over several lines. A piece may be a whole request of the
# largest size (a common JSON object), pretty-printed; anything longer (an endless line)
# is refused rather than held.
LARGEST_PIECE = 2 * LARGEST_REQUEST_BYTES

# The most that the validated events of one run (their wire form) may take in the
# temporary folder: far more than a pipeline sends at once, far less than a disk holds.
LARGEST_BATCH_BYTES = 1 << 30


def _first(stream: IO[str]) -> Tuple[str, int]:
    """The first character that is not white space (or a byte order mark), read; and how
    many lines came before it."""
    lines = 0
    while True:
        char = stream.read(1)
        if not char:
            return "", lines
        if not char.isspace() and char != _BOM:
            return char, lines
        lines += char == "\n"


_BOM = "\ufeff"


def _too_deep(where: str) -> InvalidInput:
    return InvalidInput(
        f"the JSON is nested too deep; an event's data may nest {MAX_DATA_DEPTH} levels",
        where=where,
    )


def _too_long(what: str, where: str) -> InvalidInput:
    return InvalidInput(
        f"{what} is longer than {LARGEST_PIECE >> 20} MiB, more than any request carries; "
        f"give one event a line (NDJSON) or a JSON array of events",
        where=where,
    )


def _objects(stream: IO[str], label: str, first_number: int, head: Head) -> Iterator[Item]:
    """NDJSON, or one JSON object (an event, or a whole common JSON object) over several
    lines; its first '{' is already read. After the first line, lines of plain events
    come in blocks (`Lines`), the others one by one."""
    line_at = label + " line {}"
    readline = stream.readline
    line = "{" + readline(LARGEST_PIECE)
    number = first_number
    if len(line) > LARGEST_PIECE:
        raise _too_long("the line", line_at.format(number))
    if _plain_event_line(line):  # a block of its own, yielded at once: a bad one stops now
        yield Lines([line], [number], line_at, head)
    else:
        whole = yield from _line(line, number, line_at, head, stream)
        if whole:
            return
    block: List[str] = []
    numbers: List[int] = []
    held = 0  # characters in the block
    while True:
        number += 1
        try:
            line = readline(LARGEST_PIECE + 1)
        except (UnicodeDecodeError, OSError) as error:
            if block:  # an error in the lines read before is the first one
                yield Lines(block, numbers, line_at, head)
            raise error from None
        if not line or len(line) > LARGEST_PIECE or '"events"' in line:
            if block:
                yield Lines(block, numbers, line_at, head)
                block, numbers, held = [], [], 0
            if not line:
                return
            if len(line) > LARGEST_PIECE:
                raise _too_long("the line", line_at.format(number))
            yield from _line(line, number, line_at, head)
        elif line[0] != "{" or line[1:2] == "}":
            if not line.isspace():  # `{}`, an object after spaces, anything but an object
                if block:
                    yield Lines(block, numbers, line_at, head)
                    block, numbers, held = [], [], 0
                yield from _line(line, number, line_at, head)
        else:
            block.append(line)
            numbers.append(number)
            held += len(line)
            if len(block) == BLOCK_LINES or held > BLOCK_CHARACTERS:
                yield Lines(block, numbers, line_at, head)
                block, numbers, held = [], [], 0


def _plain_event_line(line: str) -> bool:
    """Whether the input's first line is an object of its own that holds no common JSON
    object: a line of NDJSON events, which a block can take, rather than the start of one
    document over several lines, which `_line` reads whole. One over a block's size is
    left to `_line` too, rather than read twice."""
    from pydantic_core import from_json

    if '"events"' in line or line[1:2] == "}" or len(line) > BLOCK_CHARACTERS:
        return False  # a large one is read once, by `_line`
    try:
        return type(from_json(line, allow_inf_nan=False)) is dict
    except ValueError:
        return False


class Lines:
    """NDJSON lines of plain events (no common JSON object in sight), to be validated as
    one block; iterated, they are the events one by one, as any other line gives them."""

    def __init__(self, lines: List[str], numbers: List[int], line_at: str, head: Head) -> None:
        self.lines = lines
        self.numbers = numbers
        self.line_at = line_at
        self.head = head

    def __iter__(self) -> Iterator[Tuple[Where, Any]]:
        for line, number in zip(self.lines, self.numbers, strict=True):
            yield from _line(line, number, self.line_at, self.head)


def _line(
    line: str, number: int, line_at: str, head: Head, stream: Optional[IO[str]] = None
) -> Generator[Tuple[Where, Any], None, bool]:
    """The events of one line: none (a blank line), one, or those of a common JSON object.

    With the `stream`, the first line may be the start of one document over several
    lines: it is then read whole, and True returned."""
    from pydantic_core import from_json  # parses JSON about twice as fast as json.loads

    repeated: Optional[Repeated] = None
    try:
        if '"events"' in line:  # a common JSON object, likely: parsed once, with its names
            document, repeated = _with_names(line)
        else:
            document = from_json(line, allow_inf_nan=False)
    except (ValueError, RecursionError):
        try:
            document = from_json(line, allow_inf_nan=False)
        except ValueError as error:
            if stream is not None and str(error).startswith(_CUT):
                # the start of one object over several lines: the whole input is one document
                where = (line_at, number)
                text = _rest_of_document(line, stream, describe(where))
                yield from _expanded(*_document(text, where), where, head)
                return True
            if line.isspace():
                return False
            document = _by_json(line, error, line_at.format(number))
    if type(document) is dict and "events" in document:
        if repeated is None:  # `"ev\u0065nts"`: a name the look above did not see
            repeated = _names_of(line)
        yield from _expanded(document, repeated, (line_at, number), head)
    else:
        yield (line_at, number), document
    return False


_RECURSION = "recursion limit exceeded"  # pydantic-core's words for JSON nested too deep
_CUT = "EOF while parsing"  # and for JSON that goes on past the end of the text


def _by_json(line: str, error: ValueError, where: str) -> Any:
    """A line that pydantic-core refused (`error`), as Python's json reads it, or an error:
    json takes a `\\ud800` escape, which the event's checks then name by its field."""
    if _RECURSION in str(error):
        raise _too_deep(where)
    try:
        return strict_json(line)
    except RecursionError:
        raise _too_deep(where) from None
    except InvalidValue as refused:
        raise InvalidInput(f"not valid JSON: {refused}", where=where) from None
    except ValueError:
        raise _not_json(error, where) from None


def _not_json(error: ValueError, where: str) -> InvalidInput:
    """What the JSON parsers say of a piece that is not JSON, in a user's words."""
    if _RECURSION in str(error):
        return _too_deep(where)
    return InvalidInput(f"not valid JSON ({json_error_words(error)})", where=where)


def _rest_of_document(first_line: str, stream: IO[str], where: str) -> str:
    """A document over several lines, whole: at most LARGEST_PIECE characters of it."""
    text = first_line + stream.read(LARGEST_PIECE + 1 - len(first_line))
    if len(text) > LARGEST_PIECE:
        raise _too_long("the JSON document", where)
    return text


def _expanded(
    document: Any, repeated: Repeated, where: Where, head: Head
) -> Iterator[Tuple[Where, Any]]:
    """An event as it is; a whole common JSON object as the events in it, named (`repeated`:
    the objects in it that give a name twice)."""
    # A common JSON object names its host or time, or at least holds no event's field:
    # `{"events": {...}}` alone is one too, an event with a field `events` is not.
    is_common = (
        isinstance(document, dict)
        and isinstance(document.get("events"), dict)
        and (
            any(field in document for field in _HEAD_FIELDS)
            or all(field in _COMMON_FIELDS for field in document)
        )
    )
    if not is_common:
        yield where, document
        return
    _check_names_once(document, repeated, describe(where))
    _read_head(document, describe(where), head)
    prefix = describe(where).replace("{", "{{").replace("}", "}}")
    for name, events in document["events"].items():
        if not isinstance(events, list):
            raise InvalidInput(f"events.{name} must be a list of events", where=describe(where))
        at = prefix + f" events.{name}".replace("{", "{{").replace("}", "}}") + "[{}]"
        for index, event in enumerate(events):
            yield (at, index), {**event, "name": name} if isinstance(event, dict) else event


# The objects of a JSON document that give a name twice, each with the name.
Repeated = List[Tuple[Dict[str, Any], str]]


def _with_names(text: str) -> Tuple[Any, Repeated]:
    """`text` as strict JSON (see `strict_json`), and the objects in it that give a name
    twice: JSON parsers keep the last of a repeated name, and say nothing."""
    repeated: Repeated = []

    def pairs_hook(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
        found = dict(pairs)
        if len(found) < len(pairs):
            seen: Set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    repeated.append((found, key))  # `found` held: its identity is checked
                    break
                seen.add(key)
        return found

    document = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=strict_constant,
                          parse_float=strict_float)  # fmt: skip
    return document, repeated


def _names_of(text: str) -> Repeated:
    """The objects of `text` that give a name twice; none when json cannot read it (what
    pydantic-core took and json does not: nothing it could repeat)."""
    try:
        return _with_names(text)[1]
    except (ValueError, RecursionError):
        return []


def _check_names_once(top: Dict[str, Any], repeated: Repeated, where: str) -> None:
    """Refuse a common JSON object that gives a field, or an event name, twice: a repeated
    event name would drop every list of events but the last without a word. An event's
    own repeated field is left to the parsers (last wins), as for every other event."""
    for found, name in repeated:
        if found is top:
            raise InvalidInput(
                f"the common JSON object gives {name!r} twice, and only the last would be "
                f"kept; give it once",
                where=where,
            )
        if found is top.get("events"):
            raise InvalidInput(
                f"events.{name} is given twice, and only its last list of events would be "
                f"sent; put all its events in one list",
                where=where,
            )


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
    """The elements of a JSON array, decoded one at a time; its '[' is already read.

    Only the element being decoded is held, at most LARGEST_PIECE characters of it.
    """
    decoder = json.JSONDecoder(parse_constant=strict_constant, parse_float=strict_float)
    at = label + "[{}]"
    buffer, position = "", 0  # what was read, and how far it was decoded
    index = 0
    after_element = False  # else after '[' or ','
    while True:
        position = _past_space(buffer, position)
        while position == len(buffer):
            more = stream.read(_CHUNK)
            if not more:
                raise InvalidInput("the JSON array is not closed", where=label)
            buffer, position = more, _past_space(more, 0)
        char = buffer[position]
        if char == "]":
            if index and not after_element:
                raise InvalidInput("a ',' before ']'; remove it", where=at.format(index - 1))
            if buffer[position + 1 :].strip() or stream.read(_CHUNK).strip():
                raise InvalidInput("unexpected data after the JSON array", where=label)
            return
        if after_element:
            if char != ",":
                raise InvalidInput("a ',' is missing after it", where=at.format(index - 1))
            position, after_element = position + 1, False
            continue
        if char == ",":
            raise InvalidInput("an empty element (two ',' in a row, or one after '[')",
                               where=at.format(index))  # fmt: skip
        while True:
            cut: Optional[ValueError] = None
            try:
                value, end = decoder.raw_decode(buffer, position)
            except RecursionError:
                raise _too_deep(at.format(index)) from None
            except InvalidValue as error:
                raise InvalidInput(f"not valid JSON: {error}", where=at.format(index)) from None
            except json.JSONDecodeError as error:
                if not _maybe_cut(error, buffer):
                    raise _not_json(error, at.format(index)) from None
                cut = error
            except ValueError as error:  # a whole number too long to be one
                raise _not_json(error, at.format(index)) from None
            else:
                if end < len(buffer) or type(value) not in (int, float):
                    break  # else a number that may go on in the next chunk
            more = _more(stream, len(buffer) - position, at.format(index))
            if not more:
                if cut is None:
                    break
                raise _not_json(cut, at.format(index))
            buffer, position = buffer[position:] + more, 0
        yield (at, index), value
        index += 1
        after_element = True
        position = end


_JSON_SPACE = re.compile(r"[ \t\n\r]*")  # what JSON takes for white space, and no more


def _past_space(text: str, position: int) -> int:
    """Where the white space from `position` on ends in `text`."""
    found = _JSON_SPACE.match(text, position)
    return found.end() if found is not None else position


def _more(stream: IO[str], held: int, where: str) -> str:
    """More of an element that `held` characters are not yet all of: as many again (so
    that decoding it anew each time costs no more than twice in all), up to LARGEST_PIECE."""
    room = LARGEST_PIECE + 1 - held
    if room <= 0:
        raise _too_long("the element", where)
    return stream.read(min(max(_CHUNK, held), room))


def _maybe_cut(error: json.JSONDecodeError, text: str) -> bool:
    """Whether `error` may be only where `text` stops (a string, a number, a `true` cut
    short), so that more of the input could mend it; otherwise the element is not JSON."""
    return error.msg.startswith("Unterminated string") or error.pos >= len(text) - 9


def _document(text: str, where: Where) -> Tuple[Any, Repeated]:
    """One JSON document over several lines, and its objects that give a name twice; an
    error names its own line."""
    try:
        return _with_names(text)
    except RecursionError:
        raise _too_deep(describe(where)) from None
    except InvalidValue as error:
        raise InvalidInput(f"not valid JSON: {error}", where=describe(where)) from None
    except json.JSONDecodeError as error:
        at = (where[0], where[1] + error.lineno - 1)
        raise InvalidInput(
            f"not valid JSON ({error.msg} at column {error.colno})", where=describe(at)
        ) from None
    except ValueError as error:  # a whole number too long to be one
        raise _not_json(error, describe(where)) from None


def validate_all(
    events: Iterator[Item],
    defaults: EventDefaults,
    *,
    now: float,
    packer: Packer,
    mask: Optional[Masker] = None,
) -> Validated:
    """First pass: every event filled, validated and serialized (`mask`ed: no secret goes
    out in an event); the first problem stops all.

    Blocks of NDJSON lines (`Lines`) are validated whole when they can be (see `blocks`);
    any other event, and any block that cannot, one by one."""
    from stac_events.blocks import Blocks

    store = _Runs()
    keys: Dict[str, bytes] = {}  # event name -> its JSON key, checked once
    fast: Optional[Blocks] = None  # made for the first block: arrays never need it
    one = _Events(defaults, now=now, keys=keys, mask=mask, packer=packer, store=store)
    # What was made before this pass is none of its garbage: the collections that its
    # hundreds of thousands of short-lived objects set off need not walk it each time.
    frozen = gc.get_freeze_count() == 0
    if frozen:
        gc.freeze()
    try:
        for item in events:
            if type(item) is not Lines:
                one.take(*item)
                continue
            if fast is None:
                fast = Blocks(defaults, now=now, keys=keys, mask=mask)
            done = fast.validate(item.lines, noting=one.noting()) if fast.usable else None
            if done is None or not one.took(done, item.numbers, item.line_at):
                for where, raw in item:
                    one.take(where, raw)
        store.close_run()
    except BaseException:
        store.discard()
        raise
    finally:
        if frozen:
            gc.unfreeze()
    return one.validated()


class _Events:
    """The first pass's running state: the events taken so far, and their warnings."""

    def __init__(self, defaults: EventDefaults, *, now: float, keys: Dict[str, bytes],
                 mask: Optional[Masker], packer: Packer, store: _Runs) -> None:  # fmt: skip
        self.filler = Filler(defaults)
        self.now = now
        self.keys = keys
        self.mask = mask
        self.packer = packer
        self.store = store
        self.room = packer.max_bytes - packer.smallest_body(b"", b"")
        self.count = self.largest = self.stored = self.unshown = 0
        self.warnings: List[str] = []
        self.noted: Set[str] = set()

    def take(self, where: Where, raw: Any) -> None:
        """One event, validated and stored; or the first problem with it, raised."""
        if type(raw) is not dict:
            raise InvalidInput("an event must be a JSON object", where=describe(where))
        keys, now = self.keys, self.now
        # The models, for the events the blocks did not take: most of a start-up to import
        from stac_events.model import validate_event, wire

        try:
            name, fields = self.filler(raw, now=now)
            key = keys.get(name)
            if key is None:
                if not name:
                    raise InvalidValue("the event has no event_type; add one, or give EVENT_TYPE")
                check_event_name(name)
                key = keys[name] = json_key(name, self.mask)
            with signals_held():  # pydantic-core's calls: see `status.signals_held`
                event = validate_event(fields)
                serialized = wire(event)
            if self.mask is not None:
                serialized = self.mask(serialized)
        except InvalidValue as error:
            raise InvalidInput(str(error), where=describe(where)) from None
        except ValidationError as error:
            raise invalid_input(error, where=describe(where)) from None
        size = len(key) + len(serialized)
        if size > self.room:
            raise InvalidInput(
                f"the event alone makes a body of "
                f"{self.packer.smallest_body(key, serialized)} bytes, over the request size "
                f"limit of {self.packer.max_bytes}",
                where=describe(where),
            )
        self._count(size, where)
        for note in advisories(event, now=now):
            self._note(note, where)
        self.store.add(key, serialized)

    def took(self, done: Done, numbers: List[int], line_at: str) -> bool:
        """Whether a block the fast path took can be kept as it is: no event in it too
        large for a body, nor beyond the bound of a run (else the block is redone one by
        one, which names the event)."""
        sizes = [len(run.key) + size for run in done.runs for size in run.sizes]
        largest = max(sizes)
        stored = self.stored + sum(sizes) + 2 * len(sizes)  # as _count adds them, one by one
        if largest > self.room or stored > LARGEST_BATCH_BYTES:
            return False
        self.largest = max(self.largest, largest)
        self.stored = stored
        self.count += len(sizes)
        for index, note in done.notes:
            self._note(note, (line_at, numbers[index]))
        self.unshown += done.unnoted
        for run in done.runs:
            self.store.add_run(run)
        return True

    def _count(self, size: int, where: Where) -> None:
        self.largest = max(self.largest, size)
        self.stored += size + 2
        if self.stored > LARGEST_BATCH_BYTES:
            raise InvalidInput(
                f"the events up to here come to more than {LARGEST_BATCH_BYTES >> 30} GiB, "
                f"the most one run sends; split the input, and send the parts one by one",
                where=describe(where),
            )
        self.count += 1

    def noting(self) -> bool:
        """Whether a warning would still be shown: past the first few, they are counted."""
        return len(self.warnings) < _MAX_WARNINGS

    def _note(self, note: str, where: Where) -> None:
        """The first few warnings shown, the rest counted; a flag's fault shows once, not
        once an event."""
        if note not in self.noted and len(self.warnings) < _MAX_WARNINGS:
            self.noted.add(note)
            self.warnings.append(f"{describe(where)}: {note}")
        else:
            self.unshown += 1

    def validated(self) -> Validated:
        warnings = self.warnings
        if self.unshown:
            more = "warning" if self.unshown == 1 else "warnings"
            warnings.append(f"{self.unshown} more {more} not shown")
        return Validated(self.store.rewound(), self.count, warnings, self.largest)


class _Runs:
    """The validated events' wire form, in a temporary file, as runs of events filed
    under one name: a run is its name, its events' sizes and its events joined by commas,
    as a body holds them, so that packing bodies is cutting runs."""

    _PENDING = 1 << 20  # events taken one by one are joined into runs of about this much

    def __init__(self) -> None:
        try:
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the second pass
        except OSError as error:
            raise _no_room(error) from None
        self.key = b""
        self.pieces: List[bytes] = []
        self.held = 0

    def add(self, key: bytes, event: bytes) -> None:
        if key != self.key or self.held > self._PENDING:
            self.close_run()
            self.key = key
        self.pieces.append(event)
        self.held += len(event)

    def add_run(self, run: Run) -> None:
        self.close_run()
        self._write(run.key, run.data, run.sizes)

    def close_run(self) -> None:
        if self.pieces:
            self._write(self.key, b",".join(self.pieces), [len(p) for p in self.pieces])
            self.pieces, self.held = [], 0

    def _write(self, key: bytes, data: bytes, sizes: List[int]) -> None:
        head = _RUN_HEAD.pack(len(key), len(sizes), len(data))
        try:
            self.file.write(head + key + array("I", sizes).tobytes() + data)
        except OSError as error:
            raise _no_room(error) from None

    def rewound(self) -> IO[bytes]:
        try:
            self.file.seek(0)  # what is still buffered is written now: the disk may be full
        except OSError as error:
            self.discard()
            raise _no_room(error) from None
        return self.file

    def discard(self) -> None:
        with contextlib.suppress(OSError):  # closing writes what is buffered, and fails again
            self.file.close()


_RUN_HEAD = struct.Struct("<III")  # a run's name, event count and data, in bytes


def _no_room(error: OSError) -> ConfigError:
    """The temporary folder cannot hold the validated events: full, gone, not writable."""
    try:
        folder = tempfile.gettempdir()
    except OSError:
        folder = "the temporary folder"
    return ConfigError(
        f"cannot keep the events in {folder}: {error.strerror or error}",
        hint="free some room there, or set TMPDIR to a folder that has it",
    )


def bodies(validated: Validated, packer: Packer) -> Iterator[Payload]:
    """Second pass: the request bodies, in order, each with its event count."""
    with validated.store as store:
        while True:
            head = store.read(_RUN_HEAD.size)
            if not head:
                break
            key_bytes, count, data_bytes = _RUN_HEAD.unpack(head)
            key = store.read(key_bytes)
            sizes = array("I")
            sizes.frombytes(store.read(4 * count))
            yield from packer.add_run(key, store.read(data_bytes), sizes)
        last = packer.finish()
        if last is not None:
            yield last


def text_of(stream: Union[IO[str], IO[bytes]]) -> IO[str]:
    """Stdin (or another open stream) as UTF-8 text, read forward only; closing what this
    returns leaves `stream` itself open.

    Its bytes are read, so that no locale decodes them first (a `UnicodeDecodeError` when
    they are not UTF-8).
    """
    try:
        descriptor = stream.fileno()
    except (AttributeError, io.UnsupportedOperation):
        # in memory already (a test's StringIO): its lone surrogates stay invalid UTF-8
        text = stream.read()
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    return io.TextIOWrapper(open(os.dup(descriptor), "rb"), encoding="utf-8")
