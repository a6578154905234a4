"""Many events read, validated, completed and serialized in a few calls into pydantic-core.

The fast path of `batch.validate_all` for NDJSON: a block of lines is validated as one
JSON text by a schema compiled from the same rules as `model.Event`, with the run's
defaults as the schema's own; what a schema cannot say (a name's reserved prefixes, lists
the defaults add to, an event's data) is checked in a short loop; then the whole block is
serialized in one call and cut into runs of events filed under one name.

It takes only what it can give exactly as the per-event path would: any block it does
not take whole (an error in it, a null where a default goes, a category in another case,
an ISO timestamp, a line that is not one object) is done again by the per-event path, so
that what users see (bodies, warnings, errors and their line numbers) is the same either
way; `tests/test_blocks.py` holds the two paths to that.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from pydantic_core import (
    PydanticSerializationError,
    SchemaSerializer,
    SchemaValidator,
    ValidationError,
)
from pydantic_core import core_schema as cs

from stac_events.events import (
    FUTURE_TOLERANCE_S,
    HOUR_S,
    EventDefaults,
    advice,
    advice_count,
    merged,
)
from stac_events.parse import (
    CATEGORIES,
    LARGEST_EPOCH_SECONDS,
    InvalidValue,
    category_in_canonical_case,
    check_event_name,
    json_problem,
)
from stac_events.redact import Masker
from stac_events.status import signals_held

# pydantic-core imports these from its Rust code the first time it serializes, where an
# exception that a signal handler raises (`cli.signals`: Ctrl-C, SIGTERM) makes it panic
# rather than fail: imported before, they are found loaded, and no Python code runs there.
for _module in ("ipaddress", "pathlib", "uuid"):
    importlib.import_module(_module)

# Lines validated in one call: enough that a call's own cost is spread thin, few enough
# that a block redone event by event (one bad line in it) costs little more.
BLOCK_LINES = 256
BLOCK_CHARACTERS = 1 << 20  # and no more text than this in one block: memory stays flat


class Run(NamedTuple):
    """Events filed under one name, serialized and joined with commas as a body holds
    them; `sizes` gives each event's length, in order."""

    key: bytes  # the name, as JSON
    data: bytes
    sizes: List[int]


class Done(NamedTuple):
    """A block taken whole by the fast path."""

    runs: List[Run]
    notes: List[Tuple[int, str]]  # (index in the block, advice), in order
    unnoted: int  # advice only counted


def _required(schema: cs.CoreSchema) -> Any:
    return cs.typed_dict_field(schema)  # the per-event path names what lacks


def _optional(schema: cs.CoreSchema) -> Any:
    """A field that may be left out (then absent) or null (then not sent)."""
    return cs.typed_dict_field(cs.nullable_schema(schema), required=False)


def _default(schema: cs.CoreSchema, default: Any) -> Any:
    """A field that `default` fills when left out. The default is checked as a given value
    is: one that breaks a rule sends the block down the per-event path, as does null."""
    return cs.typed_dict_field(
        cs.with_default_schema(schema, default=default, validate_default=True), required=False
    )


def _placed(schema: cs.CoreSchema) -> Any:
    """A field that is None when left out: in its place, for the loop to fill in."""
    return cs.typed_dict_field(
        cs.with_default_schema(cs.nullable_schema(schema), default=None), required=False
    )


def _given(schema: cs.CoreSchema, default: Any) -> Any:
    return _optional(schema) if default is None else _default(schema, default)


def event_schema(defaults: EventDefaults, *, now: float) -> cs.CoreSchema:
    """`model.Event`'s rules for one event as it comes from the input, its fields filled
    from `defaults` when left out; fields in the order the model serializes them."""
    # Strict throughout, each schema saying so itself: a validator's strict config does
    # not reach the schemas inside a default (JSON's `true` would pass for 1).
    text = cs.str_schema(strict=True)
    non_empty = cs.str_schema(min_length=1, strict=True)
    link = cs.typed_dict_schema(
        {"title": _required(non_empty), "url": _required(non_empty)},
        extra_behavior="forbid",
        strict=True,
    )
    category = defaults.category
    category = "Others" if category is None else category_in_canonical_case(category)
    data = cs.dict_schema(text, cs.any_schema(), strict=True)
    context = cs.typed_dict_schema(
        {
            "category": _default(cs.literal_schema(list(CATEGORIES)), category),
            "data": _optional(data) if defaults.data is None else _placed(data),
            "element_identifiers": _default(cs.list_schema(text, strict=True), []),
            "source": _default(
                non_empty, "stac-events" if defaults.source is None else defaults.source
            ),
            "source_identifier": _given(text, defaults.source_identifier),
            "source_links": _default(cs.list_schema(link, strict=True), []),
        },
        extra_behavior="forbid",
        strict=True,
    )
    tags = cs.list_schema(text, strict=True)
    title = cs.str_schema(pattern=r"\S", strict=True)
    timestamp = defaults.timestamp if defaults.timestamp is not None else int(now)
    return cs.typed_dict_schema(
        {
            "context": _default(context, {}) if defaults.context else _optional(context),
            "event_type": _required(non_empty)
            if defaults.event_type is None
            else _default(non_empty, defaults.event_type),
            "msg_title": _required(title)
            if defaults.title is None
            else _default(title, defaults.title),
            "msg_text": _default(non_empty, defaults.text) if defaults.text else _placed(non_empty),
            "source_type_name": _given(text, defaults.source_type_name),
            "tags": _placed(tags) if defaults.tags else _optional(tags),
            "timestamp": _default(
                cs.int_schema(gt=0, le=LARGEST_EPOCH_SECONDS, strict=True), timestamp
            ),
            # the event's own name: what it is filed under, not a field of its own
            "name": cs.typed_dict_field(
                cs.nullable_schema(text), required=False, serialization_exclude=True
            ),
        },
        extra_behavior="forbid",
        strict=True,
    )


class Blocks:
    """Validates blocks of NDJSON lines for one run: its defaults and now, its names'
    keys (shared with the per-event path), and its secrets."""

    def __init__(
        self,
        defaults: EventDefaults,
        *,
        now: float,
        keys: Dict[str, bytes],
        mask: Optional[Masker] = None,
    ) -> None:
        event = event_schema(defaults, now=now)
        # Each line's object gets a first field of a name that no input can know, its
        # number in the block: a line that is not one JSON object on its own (`{"a": [1`
        # and `2]}` on the next, or two objects on one) cannot line up with the numbers.
        self.mark = f"\0{os.urandom(8).hex()}"
        self.opening = '{"' + json.dumps(self.mark)[1:-1] + '":'
        numbered = copy.deepcopy(event)
        numbered["fields"][self.mark] = cs.typed_dict_field(
            cs.int_schema(strict=True), serialization_exclude=True
        )
        with signals_held():  # pydantic-core's calls: see `status.signals_held`
            self.validator = SchemaValidator(cs.list_schema(numbered, strict=True))
            self.serializer = SchemaSerializer(cs.list_schema(numbered))
            self.one = SchemaSerializer(numbered)
        self.defaults = defaults
        self.now = now
        self.keys = keys
        self.mask = mask
        # what the defaults add to each event; taken only when they pass the rules
        # themselves (a Python caller's defaults are not checked before)
        self.adds = bool(defaults.tags or defaults.identifiers or defaults.links
                         or defaults.data is not None)  # fmt: skip
        with signals_held():
            self.usable = self._defaults_pass(event)

    def _defaults_pass(self, event: cs.CoreSchema) -> bool:
        defaults = self.defaults
        if any(list(link) != ["title", "url"] for link in defaults.links):
            return False  # added as they are, so serialized in their own order: not the model's
        probe = {
            "event_type": "ProbeEvent",
            "msg_title": "probe",
            "tags": list(defaults.tags),
            "context": {
                "element_identifiers": list(defaults.identifiers),
                "source_links": list(defaults.links),
                "data": defaults.data,
            },
        }
        try:
            SchemaValidator(event).validate_python(probe)
        except ValidationError:
            return False
        return defaults.data is None or json_problem(defaults.data) is None

    def numbered(self, lines: Sequence[str]) -> str:
        """The block as the one JSON array its validator reads: each line's object with
        its number in the block as its first field (see `mark`)."""
        opening = self.opening
        return "[" + ",".join([f"{opening}{i},{line[1:]}" for i, line in enumerate(lines)]) + "]"

    def validate(self, lines: Sequence[str], *, noting: bool = True) -> Optional[Done]:
        """The block's runs and advice, or None: the per-event path is to do it. Each line
        starts with the '{' of its object. Without `noting`, advice is only counted."""
        with signals_held():  # pydantic-core's calls: see `status.signals_held`
            return self._validate(lines, noting)

    def _validate(self, lines: Sequence[str], noting: bool) -> Optional[Done]:
        mark = self.mark
        text = self.numbered(lines)
        if "NaN" in text or "Infinity" in text:
            # pydantic-core reads them as numbers where the per-event path refuses them,
            # even where a name given twice throws the value away
            return None
        try:
            events = self.validator.validate_json(text)
        except ValidationError:
            return None
        count = len(events)
        if count != len(lines) or [event[mark] for event in events] != list(range(count)):
            return None
        defaults, keys = self.defaults, self.keys
        default_name = defaults.name
        names = [event.get("name") or default_name or event["event_type"] for event in events]
        for name in set(names).difference(keys):
            try:
                check_event_name(name)
            except InvalidValue:
                return None
            keys[name] = json_key(name, self.mask)
        for event in [event for event in events if event["msg_text"] is None]:
            event["msg_text"] = event["msg_title"]
        if self.adds:
            for event in events:
                self._add(event)
        contexts = [event["context"] for event in events if event.get("context") is not None]
        for data in [context.get("data") for context in contexts]:
            # JSON text read by pydantic-core holds no text that is not UTF-8: flat data of
            # plain values needs no walk (deep data does, and a float: NaN, 1e999)
            flat = not data or set(map(type, data.values())) <= _FLAT
            if not flat and json_problem(data) is not None:
                return None
        notes: List[Tuple[int, str]] = []
        unnoted = 0
        now = self.now
        recent, soon = now - HOUR_S, now + FUTURE_TOLERANCE_S  # no advice between them
        for index, event in enumerate(events):
            event_type, timestamp = event["event_type"], event["timestamp"]
            if event_type.endswith("Event") and recent <= timestamp <= soon:
                continue
            if noting:
                notes += [(index, note) for note in advice(event_type, timestamp, now=now)]
            else:
                unnoted += advice_count(event_type, timestamp, now=now)
        return self._runs(events, names, notes, unnoted)

    def _add(self, event: Dict[str, Any]) -> None:
        """What the defaults add to the event's lists and data, as `events.Filler` adds it."""
        defaults = self.defaults
        if defaults.tags:
            event["tags"] = merged(event["tags"], defaults.tags)
        context = event.get("context")
        if context is None:
            return
        context["element_identifiers"] = merged(context["element_identifiers"],
                                                defaults.identifiers)  # fmt: skip
        context["source_links"] = merged(context["source_links"], defaults.links)
        if defaults.data is not None:
            context["data"] = {**defaults.data, **(context["data"] or {})}

    def _runs(self, events: List[Dict[str, Any]], names: List[str],
              notes: List[Tuple[int, str]], unnoted: int) -> Optional[Done]:  # fmt: skip
        try:
            whole = self.serializer.to_json(events, exclude_none=True)
        except PydanticSerializationError:  # text that cannot be UTF-8: named event by event
            return None
        mask = self.mask
        if mask is not None and mask.needed(whole, compact_json=True):
            pieces = [mask(self.one.to_json(event, exclude_none=True)) for event in events]
            data, sizes = b",".join(pieces), [len(piece) for piece in pieces]
        else:
            data = whole[1:-1]
            found = _sizes(data, len(events))
            if found is None:
                pieces = [self.one.to_json(event, exclude_none=True) for event in events]
                data, found = b",".join(pieces), [len(piece) for piece in pieces]
            sizes = found
        runs, keys = [], self.keys
        start = offset = 0
        for index in range(1, len(names) + 1):
            if index == len(names) or names[index] != names[start]:
                length = sum(sizes[start:index]) + index - start - 1
                runs.append(Run(keys[names[start]], data[offset : offset + length],
                                sizes[start:index]))  # fmt: skip
                offset += length + 1
                start = index
        return Done(runs, notes, unnoted)


_FLAT = frozenset({str, int, bool, type(None)})


def _sizes(data: bytes, count: int) -> Optional[List[int]]:
    """Each event's length in `data` (serialized events joined by commas), or None when
    `},{` stands inside an event too (in its text, or in a list of objects) and the
    events cannot be told apart this way."""
    parts = data.split(b"},{")
    if len(parts) != count:
        return None
    sizes = [len(part) + 2 for part in parts]
    sizes[0] -= 1
    sizes[-1] -= 1
    return sizes


def json_key(name: str, mask: Optional[Masker]) -> bytes:
    """An event's name as its key in a body: JSON, masked."""
    return json.dumps(name if mask is None else mask.name(name)).encode()
