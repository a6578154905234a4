"""What StackState drops without a word, checked on every payload the local receiver gets.

The rules are the Receiver API docs' (docs/.../push-events-over-http, "Common JSON
object" and "JSON property: events"): the common object's fields and types, event names
that do not start with a reserved prefix, the fields the docs call required (`msg_text`
and `msg_title`; in a context `category`, `element_identifiers` and `source`), the five
categories, and timestamps newer than what StackState keeps. The fields themselves are
checked by the project's own `Event` model, so the receiver and the client agree.

A field the docs do not name is no reason to drop an event: it is noted, not refused.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, NamedTuple, Optional

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticSerializationError, to_json

from stac_events.events import duration_in_words, problem_message
from stac_events.model import validate_event
from stac_events.parse import (
    CATEGORIES,
    LARGEST_EPOCH_SECONDS,
    NOT_UTF8,
    InvalidValue,
    check_event_name,
    json_kind,
    json_problem,
)

# StackState keeps events 30 days by default ("Retention of events, traces and logs",
# docs.stackstate.com/self-hosted-setup/data-management/data_retention).
DEFAULT_MAX_AGE_S = 30 * 24 * 3600

_LIST_FIELDS = ("metrics", "service_checks", "topologies", "health")
_CONTEXT_REQUIRED = ("category", "element_identifiers", "source")
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class Reason(NamedTuple):
    """Why (part of) a payload would be dropped: `path` is where, as `events.X[0].msg_text`."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class Received(NamedTuple):
    """An event that passed: its name in the payload, its fields as they came, and where
    it is in its name's list (`events[name][position]`)."""

    name: str
    event: Dict[str, Any]
    position: int


class Checked(NamedTuple):
    """A payload's verdict: accept `events` when there are no `reasons`."""

    events: List[Received]
    reasons: List[Reason]
    notes: List[Reason]  # fields StackState ignores: kept, and shown
    host: str


def check_payload(
    document: Any, *, now: float, max_age: float, text: Optional[str] = None
) -> Checked:
    """Check a decoded body against the rules; every reason found, not only the first.

    `text`, the JSON it was decoded from, spares the search for text that is not UTF-8
    (a lone surrogate, which only a `\\udXXX` escape can give) when it holds none."""
    escapes = text is None or _SURROGATE_ESCAPE.search(text) is not None
    reasons: List[Reason] = []
    notes: List[Reason] = []
    events: List[Received] = []
    if not isinstance(document, dict):
        reasons.append(Reason("", f"the body must be a JSON object (the common JSON object), "
                                  f"not {_a(document)}"))  # fmt: skip
        return Checked(events, reasons, notes, "")
    host = document.get("internalHostname")
    if not isinstance(host, str) or not host.strip():
        reasons.append(Reason("internalHostname", "required: the name of the host that sends"))
        host = ""
    elif json_problem(host) is not None:
        reasons.append(Reason("internalHostname", NOT_UTF8))
        host = ""
    stamp = document.get("collection_timestamp")
    if not _is_number(stamp):
        reasons.append(Reason("collection_timestamp", "required: epoch seconds, a number"))
    for field in _LIST_FIELDS:
        if field in document and not isinstance(document[field], list):
            reasons.append(Reason(field, f"must be a list, not {_a(document[field])}"))
    groups = document.get("events", {})
    if not isinstance(groups, dict):
        reasons.append(Reason("events", f"must be an object of event names, "
                                        f"not {_a(groups)}"))  # fmt: skip
        return Checked(events, reasons, notes, host)
    oldest = now - max_age
    for name, group in groups.items():
        where = event_path(name)
        try:
            check_event_name(name)
        except InvalidValue as error:
            reasons.append(Reason(where, str(error)))
        if not isinstance(group, list):
            reasons.append(Reason(where, f"must be a list of events, not {_a(group)}"))
            continue
        for index, event in enumerate(group):
            path = f"{where}[{index}]"
            found = _event_reasons(event, path, oldest=oldest, max_age=max_age, notes=notes)
            if not found and escapes:
                found = _unwritable(event, path)
            if found:
                reasons.extend(found)
            else:
                events.append(Received(name, event, index))
    return Checked(events if not reasons else [], reasons, notes, host)


def event_path(name: str) -> str:
    """`events.DeployEvent`, or `events["a name"]` for one that needs quoting."""
    return _dotted(("events", name))


def _event_reasons(
    event: Any, path: str, *, oldest: float, max_age: float, notes: List[Reason]
) -> List[Reason]:
    if not isinstance(event, dict):
        return [Reason(path, f"an event must be a JSON object, not {_a(event)}")]
    found: Dict[str, str] = {}  # by path: one reason for each place
    text, stamp, context = event.get("msg_text"), event.get("timestamp"), event.get("context")
    # The common case first, in few steps: a receiver checks every event of every payload.
    if not (text and type(text) is str):
        found["msg_text"] = "required: the event's text (StackState drops events without one)"
    if not (type(stamp) is int and oldest <= stamp <= LARGEST_EPOCH_SECONDS):
        found.update(_timestamp_reason(stamp, oldest=oldest, max_age=max_age))
    if type(context) is dict and not (
        context.get("category") in CATEGORIES
        and context.get("source") is not None
        and context.get("element_identifiers") is not None
    ):
        found.update(_context_reasons(context))
    try:
        validate_event(event)
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            where = _dotted(problem["loc"])
            if problem["type"] == "extra_forbidden":
                notes.append(Reason(_joined(path, where), "not a field StackState knows; ignored"))
            else:
                found.setdefault(where, _reason(problem))
    return [Reason(_joined(path, where), reason) for where, reason in found.items()]


def _joined(path: str, where: str) -> str:
    return f"{path}{where}" if where.startswith("[") else f"{path}.{where}"


def _unwritable(event: Dict[str, Any], path: str) -> List[Reason]:
    """Text that is not UTF-8 where the model does not look (tags, identifiers, fields it
    does not know): StackState could not store it."""
    try:
        to_json(event)
    except (ValueError, PydanticSerializationError):
        found = json_problem(event, max_depth=1000)
        where, reason = found if found is not None else ("", NOT_UTF8)
        separator = "" if where.startswith("[") or not where else "."
        return [Reason(f"{path}{separator}{where}", reason)]
    return []


def _context_reasons(context: Dict[str, Any]) -> Dict[str, str]:
    found = {f"context.{field}": "required in a context"
             for field in _CONTEXT_REQUIRED if context.get(field) is None}  # fmt: skip
    category = context.get("category")
    if isinstance(category, str) and category not in CATEGORIES:
        found["context.category"] = (
            f"{category!r} is not a category; StackState takes {', '.join(CATEGORIES)}, spelled so"
        )
    return found


def _timestamp_reason(stamp: Any, *, oldest: float, max_age: float) -> Dict[str, str]:
    if stamp is None:
        return {"timestamp": "required: when it happened, in epoch seconds"}
    if isinstance(stamp, float):
        return {"timestamp": f"must be a whole number of epoch seconds, not {stamp!r}"}
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        return {"timestamp": f"must be whole epoch seconds, a number, not {_a(stamp)}"}
    if stamp > LARGEST_EPOCH_SECONDS:
        return {"timestamp": f"{stamp} is too large for epoch seconds; milliseconds?"}
    if stamp < oldest:
        age = duration_in_words(oldest + max_age - stamp)
        return {"timestamp": f"{age} old; StackState drops events older than it keeps "
                             f"(here {duration_in_words(max_age)}: the receiver's "
                             f"--max-age)"}  # fmt: skip
    return {}


# Pydantic's words for a value of the wrong kind, in JSON's.
_WANTED = {"model_type": "an object", "dict_type": "an object", "list_type": "a list",
           "string_type": "a string", "int_type": "a whole number"}  # fmt: skip


def _reason(problem: ErrorDetails) -> str:
    if problem["type"] == "missing":
        return "required"
    wanted = _WANTED.get(problem["type"])
    if wanted is not None:
        return f"must be {wanted}, not {_a(problem['input'])}"
    return problem_message(problem)


def _dotted(location: Any) -> str:
    """`context.source_links[0].url`; a name that is no identifier as `["a b"]`."""
    parts = ""
    for part in location:
        if isinstance(part, int) or not _PLAIN_NAME.match(str(part)):
            parts += f"[{json.dumps(part, ensure_ascii=False)}]"
        else:
            parts += f".{part}" if parts else str(part)
    return parts


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _a(value: Any) -> str:
    kind = json_kind(value)
    return kind if kind == "null" else f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def summary(reasons: List[Reason], limit: Optional[int] = None) -> str:
    """The reasons in one line: `a: x; b: y (and 3 more)`."""
    shown = reasons if limit is None else reasons[:limit]
    line = "; ".join(str(r) for r in shown)
    if len(reasons) > len(shown):
        line += f" (and {len(reasons) - len(shown)} more)"
    return line
