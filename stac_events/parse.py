"""Parsers for the values typed after flags: links, data, tags and timestamps.

Each takes text and returns a plain value, or raises `InvalidValue` with a message a
person can act on. They never raise anything else, whatever the input.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Tuple, TypeVar

CATEGORIES = ("Activities", "Alerts", "Anomalies", "Changes", "Others")

# The Receiver API keeps these for its own fields; an event name must not start with one.
RESERVED_NAME_PREFIXES = (
    "eventType",
    "host",
    "labels",
    "message",
    "name",
    "tags",
    "timeReceived",
    "timestamp",
    "title",
)

# Epoch seconds stay below this until the year 5138; a larger number is milliseconds.
LARGEST_EPOCH_SECONDS = 99_999_999_999

# The most --max-request-bytes takes, and so the bound of every request body, of a payload
# read back from the spool and of a text read from a file or stdin: a receiver behind a
# proxy rarely takes more than a few MiB.
LARGEST_REQUEST_BYTES = 64 * 1024 * 1024

# How deep an event's data may nest, the data object itself being level 1. The receiver's
# JSON tools and ours have limits of their own (pydantic serializes ~250 levels, Python's
# json reads ~1000); a limit well below them is one message for every way in.
MAX_DATA_DEPTH = 64

JSON = TypeVar("JSON")  # a decoded JSON value, given back as it came


class InvalidValue(ValueError):
    """A value that cannot be used; the message says what would be valid."""


_CANONICAL = {category.lower(): category for category in CATEGORIES}


def canonical_category(text: str) -> str:
    """Return the category in its canonical case: `changes` -> `Changes`."""
    found = _CANONICAL.get(text) or _CANONICAL.get(text.strip().lower())
    if found:
        return found
    raise InvalidValue(f"{text!r} is not a category; use one of {', '.join(CATEGORIES)}")


def category_in_canonical_case(value: Any) -> Any:
    """The category in its canonical case when it is one; anything else as it is.

    For events read from files, whose validation then names what is wrong.
    """
    if isinstance(value, str) and value not in CATEGORIES:
        return _CANONICAL.get(value.strip().lower(), value)
    return value


def parse_seconds(text: str) -> float:
    """A duration in seconds above 0: `30`, `0.5`."""
    try:
        seconds = float(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidValue(f"{text!r} is not a time limit; give seconds above 0")
    return seconds


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


# ASCII digits: not `1_0`, `inf`, `1e3`, nor what else float() takes
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")


def parse_duration(
    text: str, *, longest: float = LARGEST_EPOCH_SECONDS, longest_said: str = "3000 years"
) -> float:
    """A length of time above 0 and at most `longest` seconds: `30d`, `12h`, `90m`, `45s`,
    or plain seconds, in ASCII digits."""
    given = text.strip().lower()
    unit = _UNITS.get(given[-1:]) if given else None
    number = given[:-1] if unit else given
    if not _DECIMAL.match(number):
        raise InvalidValue(
            f"{shortened(text)!r} is not a length of time; give e.g. 30d, 12h, 90m or seconds"
        )
    seconds = float(number) * (unit or 1)
    if not seconds > 0:
        raise InvalidValue(f"{shortened(text)!r} is not a length of time above 0")
    if not (math.isfinite(seconds) and seconds <= longest):
        raise InvalidValue(f"{shortened(text)!r} is longer than {longest_said}")
    return seconds


def parse_since(text: str, *, now: float) -> float:
    """A moment as epoch seconds: a time ago (`10m`, `2h`, `1d`), epoch seconds or ISO-8601."""
    given = text.strip()
    if not given.isascii():  # "١٢٣" is digits to Python, and no time to anyone here
        raise InvalidValue(f"{shortened(text)!r} is not a time; give a time ago (10m, 2h, 1d), "
                           f"epoch seconds or ISO-8601")  # fmt: skip
    if given[-1:].lower() in _UNITS and given[:-1].replace(".", "", 1).isdigit():
        return max(0.0, now - parse_duration(given))
    if given.isdigit() and not given.strip("0"):
        return 0.0  # the epoch itself: everything (never int(): a digit string may be endless)
    try:
        return float(parse_timestamp(given))
    except InvalidValue:
        raise InvalidValue(
            f"{shortened(text)!r} is not a time; give a time ago (10m, 2h, 1d), epoch seconds "
            f"or ISO-8601"
        ) from None


def parse_port(text: str) -> int:
    """A TCP port, 0 to 65535; 0 asks the system for a free one."""
    port = parse_count(text, minimum=0)
    if port > 65535:
        raise InvalidValue(f"{port} is not a port; give 0 to 65535 (0 picks a free one)")
    return port


def parse_count(text: str, *, minimum: int = 0) -> int:
    """A whole number of at least `minimum`."""
    try:
        number = int(text.strip())
    except ValueError:
        raise InvalidValue(f"{shortened(text)!r} is not a whole number") from None
    if number < minimum:
        raise InvalidValue(f"{number} is too small; give {minimum} or more")
    return number


def check_event_name(name: str) -> str:
    """Return `name` when the Receiver API accepts it as a key under `events`."""
    if not name.strip():
        raise InvalidValue("an event name cannot be empty")
    check_text(name)
    if name.startswith(RESERVED_NAME_PREFIXES):
        prefix = next(p for p in RESERVED_NAME_PREFIXES if name.startswith(p))
        raise InvalidValue(
            f"event name {name!r} starts with {prefix!r}, which the receiver reserves"
        )
    return name


def parse_link(text: str) -> Dict[str, str]:
    """`"TITLE: URL"` -> `{"title": ..., "url": ...}`; a bare URL is its own title."""
    title, separator, url = text.partition(": ")
    if not separator:
        title = url = text
    title, url = title.strip(), url.strip()
    if not title or not url:
        raise InvalidValue(f'{text!r} is not a link; write "TITLE: URL" or a bare URL')
    return {"title": title, "url": url}


def parse_tag(text: str) -> str:
    """A tag is `key:value` or a plain word; blank tags are refused."""
    tag = text.strip()
    if not tag:
        raise InvalidValue("a tag cannot be empty; write key:value or a plain word")
    return tag


def check_text(text: str) -> str:
    """`text`, when it can be sent as UTF-8: a lone surrogate (from bytes that were not
    UTF-8, as Python decodes argv, or from a JSON `\\ud800` escape) cannot."""
    if text.isascii() or _is_utf8(text):
        return text
    raise InvalidValue(NOT_UTF8)


def check_json_value(value: JSON, *, max_depth: int = MAX_DATA_DEPTH) -> JSON:
    """`value` (decoded JSON), when it can be sent: nested at most `max_depth` levels, text
    in UTF-8, numbers finite (the receiver's JSON has no NaN or Infinity)."""
    problem = json_problem(value, max_depth=max_depth)
    if problem is not None:
        path, reason = problem
        raise InvalidValue(f"{path}: {reason}" if path else reason)
    return value


def json_problem(value: Any, *, max_depth: int = MAX_DATA_DEPTH) -> Optional[Tuple[str, str]]:
    """`(path, reason)` for the first part of `value` that cannot be sent, `path` like
    `a.b[2]` ('' for `value` itself); None when all of it can."""
    if type(value) is dict and _plainly_sendable(value):
        return None  # most data, at a fraction of the walk's cost: batches check every event
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        reason = None
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                return "", (
                    f"nested deeper than {max_depth} levels, the most an event's data may "
                    f"nest; flatten it"
                )
            if isinstance(item, dict):
                for key in item:
                    if isinstance(key, str) and not key.isascii() and not _is_utf8(key):
                        return _path_to(value, key) + " (a key)", NOT_UTF8
                stack.extend((inner, depth + 1) for inner in item.values())
            else:
                stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            reason = None if item.isascii() or _is_utf8(item) else NOT_UTF8
        elif isinstance(item, float) and not math.isfinite(item):
            reason = f"{item} is not a JSON number the receiver accepts; send it as text"
        if reason is not None:
            return _path_to(value, item), reason
    return None


NOT_UTF8 = "not UTF-8 text; give it in UTF-8 (check the terminal's or the file's encoding)"
_PLAIN = (int, bool, type(None))


def _plainly_sendable(flat: Dict[Any, Any]) -> bool:
    """Whether a dict holds only ASCII keys and ASCII text, whole numbers, booleans and
    nulls: sendable at once. False says only "walk it", not that anything is wrong."""
    for key, item in flat.items():
        if not (type(key) is str and key.isascii()):
            return False
        if type(item) is str:
            if not item.isascii():
                return False
        elif type(item) not in _PLAIN:
            return False
    return True


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _path_to(value: Any, found: Any) -> str:
    """Where `found` (that very object) is in `value`: `a.b[2]`; '' for `value` itself.

    Called only for a message, on data no deeper than the depth limit."""

    def walk(item: Any, path: str) -> Optional[str]:
        if item is found:
            return path
        pairs = (
            item.items()
            if isinstance(item, dict)
            else enumerate(item)
            if isinstance(item, list)
            else ()
        )
        for key, inner in pairs:
            here = (
                f"{path}[{key}]"
                if isinstance(item, list)
                else f"{path}.{key}"
                if path
                else str(key)
            )
            if key is found:
                return here
            got = walk(inner, here)
            if got is not None:
                return got
        return None

    path = walk(value, "") or ""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")


def strict_constant(text: str) -> Any:
    """For `json`'s `parse_constant`: NaN and Infinity are not JSON."""
    raise InvalidValue(f"{text} is not a JSON number the receiver accepts")


def strict_float(text: str) -> float:
    """For `json`'s `parse_float`: a number too large for a float (1e999) is refused."""
    number = float(text)
    if not math.isfinite(number):
        raise InvalidValue(f"{shortened(text)} is too large for a JSON number the receiver accepts")
    return number


def strict_json(text: str) -> Any:
    """`json.loads`, without what Python's json allows beyond JSON: NaN, Infinity, and
    numbers too large to be a number anywhere else."""
    return json.loads(text, parse_constant=strict_constant, parse_float=strict_float)


def one_line(text: str) -> str:
    """Control characters escaped: what someone else wrote (a sender's event, a path with a
    newline in it) cannot break a line, forge one, or move a terminal's cursor. A byte
    that was not UTF-8 (kept as a surrogate) shows as typed: `\\xff`."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _escaped(character: str) -> str:
    shown = printable(character)  # a byte that was not UTF-8: `\xff`, as `printable` says it
    return shown if shown != character else repr(character)[1:-1]


_SURROGATE_REPR = re.compile(r"\\udc([89a-f][0-9a-f])")


def as_typed(message: str) -> str:
    """A message with the bytes that were not UTF-8 in what it quotes as they were typed,
    `\\xff`: quoted with repr(), Python writes them `\\udcff`."""
    return _SURROGATE_REPR.sub(r"\\x\1", one_line(message))


def shortened(text: str, limit: int = 40) -> str:
    """`text` as a message quotes it: long ones cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_object(text: str, what: str) -> Dict[str, Any]:
    try:
        value = strict_json(text)
    except RecursionError:
        raise InvalidValue(
            f"{what} is nested deeper than {MAX_DATA_DEPTH} levels, the most an event's data "
            f"may nest; flatten it"
        ) from None  # Python's json gives up near 1000 levels
    except InvalidValue as error:
        raise InvalidValue(f"{what} is not valid JSON: {error}") from None
    except ValueError as error:
        raise InvalidValue(f"{what} is not valid JSON ({json_error_words(error)})") from None
    if not isinstance(value, dict):
        raise InvalidValue(
            f"{what} holds a JSON {json_kind(value)}; data must be a JSON object like "
            f'\'{{"key": "value"}}\''
        )
    try:
        return check_json_value(value)
    except InvalidValue as error:
        raise InvalidValue(
            f"{what}: {error}" if what.startswith("data file") else str(error)
        ) from None


def json_error_words(error: ValueError) -> str:
    """What a JSON parser says of text that is not JSON, in a user's words, one short line:
    not Python's advice about Python (`sys.set_int_max_str_digits()`)."""
    said = str(error.msg if isinstance(error, json.JSONDecodeError) else error)
    if said.startswith(("number out of range", "Exceeds the limit")):
        # pydantic-core's and Python's words for a whole number of more than 4300 digits
        return "a number longer than 4300 digits; send it as text"
    return said.split("\n", 1)[0][:80]


def json_kind(value: Any) -> str:
    """What kind of JSON value `value` is, in JSON's words: `object`, `array`, ..."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def short_reason(error: Exception) -> str:
    return str(error).split("\n", 1)[0][:120]


def parse_timestamp(value: Any) -> int:
    """Epoch seconds (number or digits), ISO-8601 text or a datetime -> whole epoch seconds.

    Epoch milliseconds are refused with a hint. An ISO time without an offset is local time.
    """
    if type(value) is int and 0 < value <= LARGEST_EPOCH_SECONDS:
        return value  # the common case, first: batches validate one per event
    if isinstance(value, datetime):
        return _moment_seconds(value, value.isoformat())
    if isinstance(value, bool):
        raise InvalidValue(f"{value!r} is not a timestamp; use epoch seconds or ISO-8601")
    if isinstance(value, (int, float)):
        shown = repr(str(value)) if isinstance(value, float) else _digits(value)
        return _epoch_seconds(value, shown)
    if not isinstance(value, str):
        raise InvalidValue(
            f"{shortened(repr(value))} is not a timestamp; use epoch seconds or ISO-8601"
        )
    text = value.strip()
    number = _as_number(text)
    if number is not None:
        return _epoch_seconds(number, repr(shortened(text)))
    return _iso_seconds(text)


def _digits(number: int) -> str:
    """A whole number as a message shows it: a long one by its length."""
    if abs(number) < 10**30:
        return repr(str(number))
    return f"a {len(str(abs(number)))}-digit number"


def _as_number(text: str) -> Optional[float]:  # an int for digits: exact, however many
    if not text or not (text[0].isdigit() or text[0] in "+-."):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def _epoch_seconds(number: float, shown: str) -> int:
    if isinstance(number, float) and math.isnan(number):
        raise InvalidValue(f"{shown} is not a timestamp; use epoch seconds or ISO-8601")
    if number < 1:
        raise InvalidValue(f"{shown} is not a timestamp; use epoch seconds after 1970")
    if number > LARGEST_EPOCH_SECONDS * 1000:
        raise InvalidValue(
            f"{shown} is too large for a timestamp; use epoch seconds (1700000000) or "
            f"ISO-8601 (2024-05-01T12:00:00Z)"
        )
    if number > LARGEST_EPOCH_SECONDS:
        raise InvalidValue(
            f"{shown} looks like epoch milliseconds; use seconds "
            f"({int(number // 1000)}) or ISO-8601"
        )
    return int(number)


def _iso_seconds(text: str) -> int:
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise InvalidValue(
            f"{shortened(text)!r} is not a timestamp; use epoch seconds (1700000000) "
            f"or ISO-8601 (2024-05-01T12:00:00Z)"
        ) from None
    return _moment_seconds(moment, repr(shortened(text)))


def _moment_seconds(moment: datetime, shown: str) -> int:
    """A moment as epoch seconds, when it is between 1970 and the largest the receiver
    takes (in 5138); without an offset it is the user's local time."""
    try:
        if moment.tzinfo is None:
            moment = moment.astimezone()
        seconds = moment.astimezone(timezone.utc).timestamp()
    except (OverflowError, OSError, ValueError):
        seconds = math.nan  # too far from now for the platform's clock: out of range below
    latest = datetime.fromtimestamp(LARGEST_EPOCH_SECONDS, timezone.utc).date()
    if not 1 <= seconds <= LARGEST_EPOCH_SECONDS:
        raise InvalidValue(
            f"{shown} is out of range for a timestamp; give a time after 1970 and before {latest}"
        )
    return int(seconds)


def hostname_of(netloc: str) -> str:
    """The host a URL's `netloc` (or a `Host` header) names, as `urlsplit` gives it:
    lowercased, without brackets, "" for none. `ValueError` when it cannot be taken apart,
    brackets that hold no IPv6 address (`[zz]`) included: checked here, since `urlsplit`
    lets those through on Python 3.10 and refuses them on 3.11."""
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit("//" + netloc).hostname or ""
    if netloc.rpartition("@")[2].startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} does not appear to be an IPv4 or IPv6 address") from None
    return host


def printable(text: str) -> str:
    """Text that can be shown and sent: bytes of an argument that were not UTF-8 (which
    Python keeps as surrogates) shown as escapes, `caf\\xe9`, rather than refused."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no byte made: as its code point
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
