"""The receiver's two ways to judge a body give one verdict: the one call into pydantic-core
(`check_valid_body`) takes a body only when the Python path (`check_payload`, after the
server's strict JSON reading) finds no reason and no note in it, and then finds what it
finds: the same events, each where it was, and the same host."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Callable, Dict, List, Optional

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stac_events.parse import CATEGORIES, LARGEST_EPOCH_SECONDS, RESERVED_NAME_PREFIXES
from stac_events.receiver.rules import Checked, check_payload, check_valid_body
from stac_events.receiver.server import _json, _Problem

NOW = 1_800_000_000.0
MAX_AGE = 30 * 24 * 3600.0
MARK = "@@mark@@"  # a string that a change to the body's text replaces


def python_path(text: str) -> Optional[Checked]:
    """Today's verdict: None when the body is not JSON as the receiver reads it (a 400)."""
    try:
        document = _json(text)
    except _Problem:
        return None
    return check_payload(document, now=NOW, max_age=MAX_AGE, text=text)


def both(text: str) -> Optional[Checked]:
    """The one-call verdict, checked against today's; None when it left the body to it."""
    fast = check_valid_body(text, now=NOW, max_age=MAX_AGE)
    if fast is not None:
        slow = python_path(text)
        assert slow is not None, "taken in one call, not JSON to the receiver"
        assert not slow.reasons, slow
        assert not slow.notes, slow
        assert fast == slow
        assert [r.event for r in fast.events] == [r.event for r in slow.events]
    return fast


words = st.text(max_size=12)
names = st.text(min_size=1, max_size=12).filter(
    lambda n: n.strip() and not n.startswith(RESERVED_NAME_PREFIXES)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    words,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(words, inner, max_size=3)),
    max_leaves=12,
)
links = st.fixed_dictionaries({"title": st.text(min_size=1, max_size=8),
                               "url": st.text(min_size=1, max_size=8)})  # fmt: skip
contexts = st.fixed_dictionaries(
    {
        "category": st.sampled_from(CATEGORIES),
        "element_identifiers": st.lists(words, max_size=3),
        "source": st.text(min_size=1, max_size=8),
    },
    optional={
        "data": st.one_of(st.none(), st.dictionaries(words, json_values, max_size=4)),
        "source_identifier": st.one_of(st.none(), words),
        "source_links": st.lists(links, max_size=2),
    },
)
events = st.fixed_dictionaries(
    {
        "event_type": st.text(min_size=1, max_size=12),
        "msg_title": st.text(min_size=1, max_size=12).filter(str.strip),
        "msg_text": st.text(min_size=1, max_size=12),
        "timestamp": st.integers(min_value=int(NOW - MAX_AGE) + 1, max_value=int(NOW) + 3600),
    },
    optional={
        "context": st.one_of(st.none(), contexts),
        "source_type_name": st.one_of(st.none(), words),
        "tags": st.one_of(st.none(), st.lists(words, max_size=3)),
    },
)
payloads = st.fixed_dictionaries(
    {
        "collection_timestamp": st.one_of(
            st.integers(min_value=0, max_value=2**40),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        "internalHostname": st.text(min_size=1, max_size=12).filter(str.strip),
    },
    optional={
        "events": st.dictionaries(names, st.lists(events, max_size=3), max_size=3),
        **{field: st.just([]) for field in ("metrics", "service_checks", "topologies", "health")},
    },
)


def written(payload: Dict[str, Any], ascii_only: bool, compact: bool) -> str:
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(payload, ensure_ascii=ascii_only, separators=separators)


@pytest.mark.slow  # many generated bodies
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads, st.booleans(), st.booleans())
def test_a_valid_body_is_taken_in_one_call_with_todays_verdict(payload, ascii_only, compact):
    text = written(payload, ascii_only, compact)
    if "\\u003" in text or any(not -(2**63) < n < 2**64 for n in numbers(payload)):
        return  # left to the Python path: a colon in an escape, a number beyond 64 bits
    assert both(text) is not None


def numbers(value: Any) -> List[float]:
    if isinstance(value, dict):
        return [n for inner in value.values() for n in numbers(inner)]
    if isinstance(value, list):
        return [n for inner in value for n in numbers(inner)]
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return [value] if is_number else []


def event_of(payload: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The first event, when there is one and it is an object (the changes make odd ones)."""
    groups = payload.get("events")
    for group in groups.values() if isinstance(groups, dict) else ():
        for found in group if isinstance(group, list) else ():
            return found if isinstance(found, dict) else None
    return None


def context_of(payload: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    event = event_of(payload)
    context = event.get("context") if event else None
    return context if isinstance(context, dict) else None


Change = Callable[[Dict[str, Any], Any], None]


def in_event(field: str) -> Change:
    def change(payload: Dict[str, Any], value: Any) -> None:
        event = event_of(payload)
        if event is not None:
            event[field] = value

    return change


def in_context(field: str) -> Change:
    def change(payload: Dict[str, Any], value: Any) -> None:
        context = context_of(payload)
        if context is not None:
            context[field] = value

    return change


def without(field: str, *, context: bool = False) -> Change:
    def change(payload: Dict[str, Any], value: Any) -> None:
        where = context_of(payload) if context else event_of(payload)
        if where is not None:
            where.pop(field, None)

    return change


def at_top(field: str) -> Change:
    def change(payload: Dict[str, Any], value: Any) -> None:
        payload[field] = value

    return change


def renamed(payload: Dict[str, Any], value: Any) -> None:
    groups = payload.get("events")
    if isinstance(groups, dict) and groups:
        first = next(iter(groups))
        groups[str(value)] = groups.pop(first)


def in_data(payload: Dict[str, Any], value: Any) -> None:
    context = context_of(payload)
    if context is not None:
        context["data"] = {"k": value}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"d": value}
    return value


FIELDS = ["event_type", "msg_title", "msg_text", "timestamp", "tags", "source_type_name",
          "context"]  # fmt: skip
CONTEXT_FIELDS = ["category", "element_identifiers", "source", "data", "source_identifier",
                  "source_links"]  # fmt: skip
odd_values = st.one_of(
    json_values,
    st.sampled_from(["", " ", "\t", "changes", "CHANGES", " Changes", "Other"]),
    st.sampled_from(
        [
            0,
            -1,
            1.5,
            float(int(NOW)),
            True,
            LARGEST_EPOCH_SECONDS + 1,
            int(NOW - MAX_AGE) - 1,
            int(NOW * 1000),
            10**30,
            "1700000000",
        ]
    ),
    st.sampled_from(RESERVED_NAME_PREFIXES).map(lambda p: p + "X"),
    st.just(nested(70)),
    st.just(nested(9)),
    st.just([nested(3)]),
    st.just({"title": "t", "url": "u", "more": 1}),
)
changes = st.one_of(
    st.sampled_from(FIELDS).map(in_event),
    st.sampled_from(FIELDS).map(without),
    st.sampled_from(CONTEXT_FIELDS).map(in_context),
    st.sampled_from(CONTEXT_FIELDS).map(lambda f: without(f, context=True)),
    st.sampled_from(["unknown", "name", "msg_title"]).map(in_event),
    st.sampled_from(["unknown", "extra"]).map(in_context),
    st.sampled_from(["internalHostname", "collection_timestamp", "events", "metrics", "more"]).map(
        at_top
    ),
    st.just(renamed),
    st.just(in_data),
)

# Changes to the text itself, for what no dict can hold: a text written for MARK.
TEXT_CHANGES = [
    '"\\ud800"', '"\\udfff x"', '"\\ud83d\\ude00"', "NaN", "-Infinity", "1e999", "1" * 4400,
    '"a\\u003ab"', '"a\\u003Ab"', '"a\\":b"', "1.0", "-0", "[]", "{}", '{"a": 1, "a": 2}',
]  # fmt: skip


def duplicated(text: str, key: str, value: str) -> str:
    """`key` given twice in the first object that has it: once with `value`, then as it was."""
    quoted = json.dumps(key)
    for colon in (": ", ":"):
        at = text.find(quoted + colon)
        if at >= 0:
            return text[:at] + f"{quoted}{colon}{value}, " + text[at:]
    return text


@pytest.mark.slow  # many generated bodies
@settings(
    max_examples=int(os.environ.get("RULES_EXAMPLES", 600)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    payloads,
    st.lists(st.tuples(changes, odd_values), max_size=3),
    st.sampled_from([None, *TEXT_CHANGES]),
    st.sampled_from(
        [None, "msg_text", "timestamp", "category", "events", "internalHostname", "k", "title"]
    ),
    st.sampled_from(['"x"', "1", "null", "[]"]),
    st.booleans(),
    st.booleans(),
)
def test_any_body_gets_todays_verdict(payload, edits, text_change, twice, value, ascii_only,
                                      compact):  # fmt: skip
    for change, odd in edits:
        change(payload, odd)
    if text_change is not None:
        in_event("msg_text")(payload, MARK)
        in_data(payload, MARK)
    try:
        text = written(payload, ascii_only, compact)
    except ValueError:  # an int too long for Python to write
        return
    if text_change is not None:
        text = text.replace(json.dumps(MARK), text_change)
    if twice is not None:
        text = duplicated(text, twice, value)
    hypothesis.event("taken in one call" if both(text) is not None else "left to the Python path")


@pytest.mark.parametrize(
    "text",
    [
        '{"collection_timestamp": 1, "internalHostname": "h", "events": {"E": [{"event_type": '
        '"t", "msg_title": "t", "msg_text": "x", "msg_text": "y", "timestamp": 1799999999}]}}',
        '{"collection_timestamp": 1, "internalHostname": "h", "events": {"E": [], "E": []}}',
        '{"collection_timestamp": 1, "internalHostname": "h", "internalHostname": "i"}',
        '{"collection_timestamp": 1, "internalHostname": "h", "events": {"E": [{"event_type": '
        '"t", "msg_title": "t", "msg_text": "x", "timestamp": 1799999999, "context": {"category"'
        ': "Changes", "source": "s", "element_identifiers": [], "data": {"a": 1, "a": 2}}}]}}',
        '{"collection_timestamp": 1, "internalHostname": "h:\\u003a", "internalHostname": "h"}',
    ],
)
def test_a_name_given_twice_is_never_taken_in_one_call(text):
    assert check_valid_body(text, now=NOW, max_age=MAX_AGE) is None
    assert python_path(text) is None  # not JSON to the receiver: 400


def test_a_common_body_is_taken_in_one_call():
    event = {"event_type": "Deploy", "msg_title": "t: 1", "msg_text": "x", "timestamp": int(NOW),
             "context": {"category": "Changes", "source": "ci", "element_identifiers": ["a:b"],
                         "data": {"n": 1.5, "deep": {"list": [1, "x:y", None]}}}}  # fmt: skip
    payload = {"collection_timestamp": NOW, "internalHostname": "h", "events": {"E": [event]},
               "metrics": [], "service_checks": [], "topologies": [], "health": []}  # fmt: skip
    checked = both(json.dumps(payload))
    assert checked is not None
    assert checked.host == "h"
    (received,) = checked.events
    assert (received.name, received.event, received.position) == ("E", event, 0)
    assert not math.isnan(received.event["context"]["data"]["n"])


def test_an_event_older_than_max_age_is_left_to_the_python_path():
    event = {"event_type": "t", "msg_title": "t", "msg_text": "x",
             "timestamp": int(NOW - MAX_AGE) - 1}  # fmt: skip
    text = json.dumps({"collection_timestamp": 1, "internalHostname": "h",
                       "events": {"E": [event]}})  # fmt: skip
    assert check_valid_body(text, now=NOW, max_age=MAX_AGE) is None
    slow = python_path(text)
    assert slow is not None
    assert [r.path for r in slow.reasons] == ["events.E[0].timestamp"]


def test_reserved_and_blank_names_are_left_to_the_python_path():
    for name in ["hostname", "timestampX", " "]:
        text = json.dumps({"collection_timestamp": 1, "internalHostname": "h",
                           "events": {name: []}})  # fmt: skip
        assert check_valid_body(text, now=NOW, max_age=MAX_AGE) is None
        slow = python_path(text)
        assert slow is not None
        assert slow.reasons
