"""Parsers for the values typed after flags: links, data, tags and timestamps.

Each takes text and returns a plain value, or raises `InvalidValue` with a message a
person can act on. They never raise anything else, whatever the input.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

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


def parse_count(text: str, *, minimum: int = 0) -> int:
    """A whole number of at least `minimum`."""
    try:
        number = int(text.strip())
    except ValueError:
        raise InvalidValue(f"{text!r} is not a whole number") from None
    if number < minimum:
        raise InvalidValue(f"{number} is too small; give {minimum} or more")
    return number


def check_event_name(name: str) -> str:
    """Return `name` when the Receiver API accepts it as a key under `events`."""
    if not name.strip():
        raise InvalidValue("an event name cannot be empty")
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


def _json_object(text: str, what: str) -> Dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InvalidValue(f"{what} is not valid JSON ({_short(error)})") from None
    if not isinstance(value, dict):
        raise InvalidValue(
            f"{what} holds a JSON {_json_kind(value)}; data must be a JSON object like "
            f'\'{{"key": "value"}}\''
        )
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _short(error: Exception) -> str:
    return str(error).split("\n", 1)[0][:120]


def read_text_file(path: str, what: str) -> str:
    """Read a file named after `@`, turning OS errors into `InvalidValue`."""
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = getattr(error, "strerror", None) or _short(error)
        raise InvalidValue(f"cannot read {what} file {path!r}: {reason}") from None


def parse_data_item(text: str) -> Dict[str, Any]:
    """One `--data` value: a JSON object, `@PATH` to a JSON object, or `KEY=VALUE`."""
    stripped = text.strip()
    if stripped.startswith("@"):
        path = stripped[1:]
        return _json_object(read_text_file(path, "data"), f"data file {path!r}")
    if stripped.startswith(("{", "[")) or stripped in ("null", "true", "false"):
        return _json_object(stripped, "the value")
    key, separator, value = text.partition("=")
    if not separator:
        raise InvalidValue(
            f"{text!r} is neither a JSON object, KEY=VALUE nor @PATH; "
            f'e.g. -d version=1.2 or -d \'{{"version": "1.2"}}\''
        )
    if not key.strip():
        raise InvalidValue(f"{text!r} has no key before '='; write KEY=VALUE")
    return {key.strip(): value}


def parse_data(items: Iterable[str]) -> Optional[Dict[str, Any]]:
    """Merge every `--data` value, later keys winning; None when none was given."""
    merged: Optional[Dict[str, Any]] = None
    for item in items:
        merged = {**(merged or {}), **parse_data_item(item)}
    return merged


def parse_timestamp(value: Any) -> int:
    """Epoch seconds (number or digits), ISO-8601 text or a datetime -> whole epoch seconds.

    Epoch milliseconds are refused with a hint. An ISO time without an offset is local time.
    """
    if type(value) is int and 0 < value <= LARGEST_EPOCH_SECONDS:
        return value  # the common case, first: batches validate one per event
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.astimezone()
        return _epoch_seconds(moment.timestamp(), value.isoformat())
    if isinstance(value, bool):
        raise InvalidValue(f"{value!r} is not a timestamp; use epoch seconds or ISO-8601")
    if isinstance(value, (int, float)):
        return _epoch_seconds(value, str(value))
    if not isinstance(value, str):
        raise InvalidValue(f"{value!r} is not a timestamp; use epoch seconds or ISO-8601")
    text = value.strip()
    number = _as_number(text)
    if number is not None:
        return _epoch_seconds(number, text)
    return _iso_seconds(text)


def _as_number(text: str) -> Optional[float]:
    if not text or not (text[0].isdigit() or text[0] in "+-."):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _epoch_seconds(number: float, text: str) -> int:
    if not math.isfinite(number) or number < 1:
        raise InvalidValue(f"{text!r} is not a timestamp; use epoch seconds after 1970")
    if number > LARGEST_EPOCH_SECONDS:
        raise InvalidValue(
            f"{text!r} looks like epoch milliseconds; use seconds "
            f"({int(number // 1000)}) or ISO-8601"
        )
    return int(number)


def _iso_seconds(text: str) -> int:
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise InvalidValue(
            f"{text!r} is not a timestamp; use epoch seconds (1700000000) "
            f"or ISO-8601 (2024-05-01T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # no offset given: the user's local time
    try:
        seconds = moment.astimezone(timezone.utc).timestamp()
    except (OverflowError, OSError, ValueError):
        raise InvalidValue(f"{text!r} is out of range for a timestamp") from None
    return _epoch_seconds(seconds, text)
