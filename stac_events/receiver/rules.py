"""What StackState drops without a word, checked on every payload the local receiver gets.

The rules are the Receiver API docs' (docs/.../push-events-over-http, "Common JSON
object" and "JSON property: events"): the common object's fields and types, event names
that do not start with a reserved prefix, the fields the docs call required (`msg_text`
and `msg_title`; in a context `category`, `element_identifiers` and `source`), the five
categories, and timestamps newer than what StackState keeps. The fields themselves are
checked by the project's own `Event` model, so the receiver and the client agree.

A field the docs do not name is no reason to drop an event: it is noted, not refused.

A body that breaks no rule and holds no such field, as senders' bodies nearly all are, is
read and checked in one call into pydantic-core (`check_valid_body`); anything else takes
the Python path (`check_payload`), which tells every reason and note.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

from pydantic import ValidationError
from pydantic_core import (
    CoreConfig,
    ErrorDetails,
    PydanticSerializationError,
    SchemaValidator,
    to_json,
)
from pydantic_core import core_schema as schema

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


def check_valid_body(text: str, *, now: float, max_age: float) -> Optional[Checked]:
    """The verdict `check_payload` gives a body that breaks no rule and holds no field
    StackState ignores, reached in one call into pydantic-core rather than a Python step
    for each field; None for any other body, whose reasons and notes only it can tell.

    Its events are equal to `check_payload`'s, their fields in the model's order."""
    try:
        # Refused too: a lone surrogate (`\ud800`), which pydantic-core does not read, so
        # that no text this path takes is what `_unwritable` finds.
        document = _valid_body().validate_json(text)
    except ValidationError:
        return None
    host: str = document["internalHostname"]
    # A name given twice in one object is refused by the receiver's JSON reading; pydantic
    # keeps the last without a word. Each name has its colon, so the body then holds more
    # colons than the document written out again (unless one hides in a \u003a escape).
    if not host.strip() or "\\u003" in text or text.count(":") != to_json(document).count(b":"):
        return None
    oldest = now - max_age
    events: List[Received] = []
    for name, group in document.get("events", {}).items():
        try:
            check_event_name(name)
        except InvalidValue:
            return None
        for position, event in enumerate(group):
            if event["timestamp"] < oldest:
                return None
            events.append(Received(name, event, position))
    return Checked(events, [], [], host)


# Containers within an event's data that the one-call path takes, data itself the first:
# deeper data (up to MAX_DATA_DEPTH) is rare, and left to the Python path.
_VALID_DATA_DEPTH = 8


@cache
def _valid_body() -> SchemaValidator:
    """A common JSON object that passes every check of `check_payload` but the timestamps'
    age and the event names (which `check_valid_body` makes), and has no field that would
    be noted. Strict: JSON's types as they are, no conversion."""
    strict = CoreConfig(strict=True)  # each object's fields are built with its own config
    text = schema.str_schema()
    nonempty = schema.str_schema(min_length=1)
    # Numbers as every reader takes them: finite, and whole ones of a size none refuses
    # (Python's json stops at 4300 digits). A float takes a whole number too, even in
    # strict mode: its bounds keep the whole ones beyond the int's from passing as floats.
    scalars: List[Union[schema.CoreSchema, Tuple[schema.CoreSchema, str]]] = [
        text,
        schema.int_schema(ge=-(2**63), lt=2**64),
        schema.float_schema(allow_inf_nan=False, gt=-(2**63), lt=2**64),
        schema.bool_schema(),
        schema.none_schema(),
    ]
    value = schema.union_schema(scalars)
    for _ in range(_VALID_DATA_DEPTH - 1):
        value = schema.union_schema(
            [*scalars, schema.list_schema(value), schema.dict_schema(text, value)]
        )

    def fields(
        required: Dict[str, schema.CoreSchema], optional: Dict[str, schema.CoreSchema]
    ) -> schema.TypedDictSchema:
        given = {
            **{name: schema.typed_dict_field(s, required=True) for name, s in required.items()},
            **{name: schema.typed_dict_field(s, required=False) for name, s in optional.items()},
        }
        # In the model's order, which is the order `stac-events` writes them in.
        return schema.typed_dict_schema(
            dict(sorted(given.items())), extra_behavior="forbid", config=strict
        )

    link = fields({"title": nonempty, "url": nonempty}, {})
    context = fields(
        {
            "category": schema.literal_schema(list(CATEGORIES)),
            "element_identifiers": schema.list_schema(text),
            "source": nonempty,
        },
        {
            "data": schema.nullable_schema(schema.dict_schema(text, value)),
            "source_identifier": schema.nullable_schema(text),
            "source_links": schema.list_schema(link),
        },
    )
    event = fields(
        {
            "event_type": nonempty,
            "msg_text": nonempty,
            "msg_title": schema.str_schema(pattern=r"\S"),  # as the model has it
            "timestamp": schema.int_schema(gt=0, le=LARGEST_EPOCH_SECONDS),
        },
        {
            "context": schema.nullable_schema(context),
            "source_type_name": schema.nullable_schema(text),
            "tags": schema.nullable_schema(schema.list_schema(text)),
        },
    )
    body = schema.typed_dict_schema(
        {
            "collection_timestamp": schema.typed_dict_field(schema.union_schema(scalars[1:3])),
            "internalHostname": schema.typed_dict_field(nonempty),
            "events": schema.typed_dict_field(
                schema.dict_schema(text, schema.list_schema(event)), required=False
            ),
            **{
                name: schema.typed_dict_field(schema.list_schema(value), required=False)
                for name in _LIST_FIELDS
            },
        },
        extra_behavior="forbid",
        config=strict,
    )
    return SchemaValidator(body, strict)


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
