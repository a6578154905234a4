"""Blocks of NDJSON lines validated in one call give what the per-event path gives: the
same bodies, byte for byte, the same warnings, the same errors at the same lines.

The per-event path is had by handing `prepare_many` the same input's events one by one
(a block, iterated, is its lines' events): nothing in the code under test is switched off.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stac_events.batch import Item, Lines
from stac_events.blocks import BLOCK_LINES, Blocks
from stac_events.bodies import Packer
from stac_events.errors import StacEventsError
from stac_events.events import EventDefaults, advice, advice_count
from stac_events.redact import STRUCTURE, Masker
from stac_events.sending import prepare_many, read_many
from tests.conftest import NOW

HOUR = 3600
EXAMPLES = int(os.environ.get("STAC_EVENTS_FUZZ_EXAMPLES", "400"))  # `make fuzz` runs more


def one_by_one(items: Iterator[Item]) -> Iterator[Item]:
    for item in items:
        if isinstance(item, Lines):
            yield from item
        else:
            yield item


def outcome(
    text: str,
    defaults: EventDefaults,
    *,
    blocks: bool,
    secrets: Sequence[str] = (),
    max_bytes: int = 1 << 20,
) -> Tuple[Any, ...]:
    """What `event send --file` would get from `text`: bodies and warnings, or the error."""
    items = read_many(io.StringIO(text), "the input")
    try:
        prepared = prepare_many(items if blocks else one_by_one(items), defaults,
                                hostname="host", now=NOW, max_bytes=max_bytes,
                                secrets=secrets)  # fmt: skip
        with prepared:
            return ("sent", list(prepared.payloads), prepared.events, prepared.warnings)
    except StacEventsError as error:
        return ("refused", type(error).__name__, str(error), vars(error))


NO_DEFAULTS = EventDefaults()


def same_both_ways(text: str, defaults: EventDefaults = NO_DEFAULTS, **kwargs: Any) -> Tuple:
    fast = outcome(text, defaults, blocks=True, **kwargs)
    assert fast == outcome(text, defaults, blocks=False, **kwargs)
    return fast


def taken_whole(lines: List[str], defaults: EventDefaults = NO_DEFAULTS, **kwargs: Any) -> bool:
    """Whether the fast path takes these lines as one block (else it hands them on)."""
    blocks = Blocks(defaults, now=NOW, keys={}, **kwargs)
    return blocks.usable and blocks.validate([line + "\n" for line in lines]) is not None


EVENT = {
    "event_type": "DeployEvent",
    "msg_title": "checkout 1.4.2 deployed",
    "msg_text": "Rolled out by pipeline run 7",
    "timestamp": int(NOW) - 60,
    "tags": ["env:prod", "team:shop"],
    "context": {
        "category": "Changes",
        "element_identifiers": ["urn:service:/checkout"],
        "source": "release-train",
        "data": {"version": "1.4.2", "run": 7},
        "source_links": [{"title": "Pipeline", "url": "https://ci.example/7"}],
    },
}


def ndjson(*events: Any) -> str:
    return "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events)


# The common cases go the fast way: a test of the fallback alone would not say it works.


@pytest.mark.parametrize(
    "event",
    [
        EVENT,
        {"event_type": "DeployEvent", "msg_title": "bare"},
        {**EVENT, "name": "deploys"},
        {**EVENT, "context": {"data": {"a": [1, {"b": None}], "c": 1.5}}},
        {**EVENT, "msg_text": 'text with "quotes", },{ and a \\ backslash\nand a line'},
        {**EVENT, "source_type_name": "ci", "context": {"source_identifier": "run-7"}},
    ],
    ids=["full", "bare", "named", "deep data", "escapes", "optional fields"],
)
def test_plain_events_are_taken_whole_and_come_out_as_one_by_one(event: Dict[str, Any]) -> None:
    lines = [json.dumps(event)] * 3
    assert taken_whole(lines)
    sent = same_both_ways(ndjson(EVENT, *lines))
    assert sent[0] == "sent"
    assert sent[2] == 4


DEFAULTS = EventDefaults(
    event_type="FlagEvent", title="from flags", text="flag text", timestamp=int(NOW) - 5,
    source_type_name="cli", name="flagged", source="flags", category="alerts",
    source_identifier="id-1", identifiers=("urn:a", "urn:b"), tags=("from:flag",),
    links=({"title": "Run", "url": "https://ci.example/run"},), data={"ci": True},
    context=True,
)  # fmt: skip


def test_the_flags_defaults_fill_each_event_as_one_by_one() -> None:
    lines = [
        json.dumps({}),
        json.dumps({"msg_title": "own title", "tags": ["from:flag", "own"]}),
        json.dumps({"context": {"element_identifiers": ["urn:b", "urn:c"], "data": {"x": 1}}}),
        json.dumps({**EVENT, "context": None}),
    ]
    assert taken_whole(lines[1:3], DEFAULTS)
    sent = same_both_ways(ndjson(EVENT, *lines), DEFAULTS)
    assert sent[0] == "sent"


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"event_type": "DeployEvent", "msg_title": "t", "timestamp": "2024-05-01T12:00:00Z"}',
         "an ISO timestamp"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "context": {"category": "changes"}}',
         "a category in another case"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "msg_text": ""}', "an empty text"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "context": {"source": null}}', "null"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "context": {"data": {"a": NaN}}}',
         "NaN"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "context": {"data": {"a": 1e999}}}',
         "1e999"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "context": {"data": {"a": NaN, "a": 1}}}',
         "NaN behind a name given twice"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "msg_text": -Infinity, "msg_text": "x"}',
         "-Infinity behind a name given twice"),
        ('{"event_type": "DeployEvent", "msg_title": "t\\ud800"}', "a lone surrogate"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "name": "hostEvents"}',
         "a reserved name"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "extra": 1}', "an unknown field"),
        ('{"event_type": "DeployEvent", "msg_title": "t"} {"event_type": "AEvent"}',
         "two objects on a line"),
        ('{"event_type": "DeployEvent", "msg_title": "t", "tags": ["a"', "a line cut short"),
    ],
)  # fmt: skip
def test_what_the_fast_path_cannot_say_goes_one_by_one(line: str, why: str) -> None:
    assert not taken_whole([json.dumps(EVENT), line]), why
    same_both_ways(ndjson(EVENT, EVENT, line, EVENT))


def test_a_value_that_spans_lines_cannot_pass_for_events() -> None:
    # Each piece alone is not JSON, and the pieces together hold as many objects as lines:
    # the per-line numbers the fast path adds cannot line up with them.
    two = '{"event_type": "BEvent", "msg_title": "b"},{"event_type": "CEvent", "msg_title": "c"}'
    lines = ['{"event_type": "AEvent", "msg_title": "a", "tags": ["x"', '"y"]}', two]
    assert not taken_whole(lines)
    refused = same_both_ways(ndjson(EVENT, *lines))
    assert refused[0] == "refused"
    assert "line 2" in refused[2]


def test_deep_data_is_refused_at_its_line_as_one_by_one() -> None:
    deep: Any = 1
    for _ in range(70):
        deep = {"d": deep}
    refused = same_both_ways(ndjson(EVENT, EVENT, {**EVENT, "context": {"data": deep}}))
    assert refused[0] == "refused"
    assert "line 3" in refused[2]
    assert "nest" in refused[2]


def test_an_event_over_the_request_size_is_named_at_its_line() -> None:
    big = {**EVENT, "msg_text": "x" * ((1 << 20) + 10)}
    refused = same_both_ways(ndjson(EVENT, EVENT, big, EVENT))
    assert refused[0] == "refused"
    assert "line 3" in refused[2]


def test_many_blocks_cut_into_bodies_as_one_by_one() -> None:
    events = []
    for number in range(3 * BLOCK_LINES + 17):
        event = {
            **EVENT,
            "msg_title": f"event {number}",
            "timestamp": int(NOW) - 7200 * (number % 3),
        }
        if number % 5 == 0:
            event["name"] = "other"
        if number % 97 == 0:
            event["event_type"] = "NoSuffix"
        events.append(event)
    for max_bytes in (1024, 4096, 1 << 20):
        sent = same_both_ways(ndjson(*events), max_bytes=max_bytes)
        assert sent[0] == "sent"
        assert sent[2] == len(events)
        assert sent[3][-1].endswith("more warnings not shown")


@pytest.mark.parametrize("secret", ["k", "e", "bench-key", 'a"b', "12345678", "checkout"])
def test_secrets_are_masked_as_one_by_one(secret: str) -> None:
    lines = [EVENT, {**EVENT, "msg_title": f"holds {secret} here", "name": f"n{secret}"}]
    sent = same_both_ways(ndjson(EVENT, *lines, *lines), secrets=[secret])
    assert sent[0] == "sent"
    for body, _ in sent[1]:
        assert secret.encode() not in body.replace(b"source_links", b"").replace(
            b"service_checks", b""
        ) or secret in ("e", "k")


def test_empty_defaults_from_python_are_refused_as_one_by_one() -> None:
    line = json.dumps({"event_type": "AEvent", "msg_title": "a", "context": {}})
    for defaults in (EventDefaults(source=""), EventDefaults(category="")):
        assert not taken_whole([line], defaults)
        assert same_both_ways(ndjson(EVENT, line), defaults)[0] == "refused"


# Generated inputs: any line, any defaults, any secret


def _text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=12),
        st.sampled_from(["", " ", "DeployEvent", "changes", "Changes", "hostX", "},{", 'a"b',
                         "\\", "\r", "\u2028", "api_key=abc", "https://u:p@h/"]),
    )  # fmt: skip


def _value(depth: int = 0) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False), _text(),
    )  # fmt: skip
    if depth > 2:
        return scalars
    return st.one_of(
        scalars,
        st.lists(st.deferred(lambda: _value(depth + 1)), max_size=3),
        st.dictionaries(_text(), st.deferred(lambda: _value(depth + 1)), max_size=3),
    )


TIMESTAMPS = st.one_of(
    st.sampled_from([int(NOW), int(NOW) - 2 * HOUR, int(NOW) + 2 * HOUR, 0, -5, 1.0e9, 1.5e9 + 0.5,
                     99_999_999_999, 100_000_000_000, "1700000000", "2024-05-01T12:00:00Z",
                     True, None, 10**30]),
    st.integers(min_value=1, max_value=10**12),
)  # fmt: skip
NAMES = st.sampled_from([None, "", "deploys", "hostEvents", "name", "tags", "source", 5, "a b"])
CATEGORIES = st.sampled_from([None, "Changes", "changes", " alerts ", "Nope", 3, "Others"])


SOME_TEXT = st.text(min_size=1, max_size=12).filter(str.strip)


@st.composite
def events(draw: st.DrawFn) -> Any:
    """An event as a file holds it: mostly valid, else wrong in one way or another."""
    event: Dict[str, Any] = {
        "event_type": draw(st.one_of(st.sampled_from(["DeployEvent", "Deploy"]), SOME_TEXT)),
        "msg_title": draw(SOME_TEXT),
    }
    valid = {
        "msg_text": SOME_TEXT,
        "timestamp": st.sampled_from([int(NOW), int(NOW) - 30, int(NOW) - 2 * HOUR,
                                      int(NOW) + 2 * HOUR, 1, 99_999_999_999]),
        "tags": st.lists(_text(), max_size=3),
        "source_type_name": _text(),
        "name": st.sampled_from(["deploys", "Deploy Event", "ünï"]),
        "context": st.fixed_dictionaries({}, optional={
            "category": st.sampled_from(["Changes", "Alerts", "Others"]),
            "data": st.dictionaries(_text(), _value(), max_size=4),
            "element_identifiers": st.lists(_text(), max_size=3),
            "source": SOME_TEXT,
            "source_identifier": _text(),
            "source_links": st.lists(st.fixed_dictionaries(
                {"title": SOME_TEXT, "url": SOME_TEXT}), max_size=2),
        }),
    }  # fmt: skip
    for key, strategy in valid.items():
        if draw(st.booleans()):
            event[key] = draw(strategy)
    if draw(st.integers(0, 2)) == 0:  # one thing wrong, or odd
        odd = {
            "event_type": st.sampled_from(["", None, 1, " "]),
            "msg_title": st.sampled_from(["", " ", None, 5]),
            "msg_text": st.sampled_from(["", None, 5]),
            "timestamp": TIMESTAMPS,
            "tags": st.sampled_from([None, [1], "a", ["a", None]]),
            "source_type_name": st.sampled_from([None, 1]),
            "name": NAMES,
            "context": st.one_of(st.sampled_from([None, [], "x", {"other": 1}]),
                                 st.fixed_dictionaries({}, optional={
                    "category": CATEGORIES,
                    "data": st.sampled_from([None, [1], {"a": float("nan")}, {"a": [[[]]]}]),
                    "element_identifiers": st.sampled_from([None, [1], "x"]),
                    "source": st.sampled_from([None, "", 1]),
                    "source_identifier": st.sampled_from([None, 1]),
                    "source_links": st.sampled_from(
                        [None, [{"title": "t"}], [{"title": "", "url": "u"}],
                         [{"title": "t", "url": "u", "x": 1}]]),
                })),
            "unknown": st.just("x"),
        }  # fmt: skip
        key = draw(st.sampled_from(sorted(odd)))
        event[key] = draw(odd[key])
    return event


@st.composite
def lines(draw: st.DrawFn) -> str:
    """A line of NDJSON: an event, an event's JSON bent by hand, or something else."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        event = json.dumps(EVENT)
        return draw(st.sampled_from(["", "   ", "[1]", "5", "{}", "{", "oops", " " + event,
                                     event + " " + event]))  # fmt: skip
    text = json.dumps(draw(events()), ensure_ascii=draw(st.booleans()))  # NaN as Python writes it
    if kind == 1:  # a name given twice: the last one wins, either way
        text = '{"msg_title": "first", ' + text[1:] if len(text) > 2 else text
    elif kind == 2:
        text = text.replace('"t"', '"t\\ud800"').replace("true", "NaN")
    elif kind == 3:
        text = text.replace('"x"', '"x\ry"')  # a lone CR: a line break, as a file is read
    elif kind == 4:
        text = text.replace("1", "1e999", 1)
    elif kind == 5 and len(text) > 2:  # a value the parsers differ on, then thrown away
        text = '{"msg_title": NaN, ' + text[1:]
    return text


DEFAULTS_ANY = st.builds(
    EventDefaults,
    event_type=st.sampled_from([None, "FlagEvent", ""]),
    title=st.sampled_from([None, "flag title", " "]),
    text=st.sampled_from([None, "flag text", ""]),
    timestamp=st.sampled_from([None, int(NOW) - 30, int(NOW) - 3 * HOUR, 0]),
    source_type_name=st.sampled_from([None, "cli"]),
    name=st.sampled_from([None, "flagged", "hostNo"]),
    source=st.sampled_from([None, "flags"]),
    category=st.sampled_from([None, "Changes", "alerts"]),
    source_identifier=st.sampled_from([None, "id"]),
    identifiers=st.sampled_from([(), ("urn:a",)]),
    tags=st.sampled_from([(), ("t:1", "t:2")]),
    links=st.sampled_from([(), ({"title": "Run", "url": "https://ci/1"},)]),
    data=st.sampled_from([None, {}, {"ci": True, "n": 1.5}]),
    context=st.booleans(),
)
SECRETS = st.sampled_from([(), ("k",), ("e",), ("bench-key",), ('a"b',), ("12345678",), ("t",)])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(lines(), min_size=1, max_size=12),
    DEFAULTS_ANY,
    SECRETS,
    st.sampled_from([1024, 1 << 20]),
)
def test_generated_inputs_come_out_the_same_either_way(
    body: List[str], defaults: EventDefaults, secrets: Tuple[str, ...], max_bytes: int
) -> None:
    # the first line is always read alone (it may begin a document over several lines)
    text = "\n".join([json.dumps(EVENT), *body]) + "\n"
    same_both_ways(text, defaults, secrets=secrets, max_bytes=max_bytes)


# The parts the fast path is made of


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([b'"a"', b'"bb"', b'"c"']),
                       st.binary(min_size=1, max_size=40)), max_size=40),
    st.integers(min_value=60, max_value=400),
)  # fmt: skip
def test_runs_are_cut_where_events_one_by_one_would_be(
    events: List[Tuple[bytes, bytes]], limit: int
) -> None:
    one = Packer(hostname="h", collection_timestamp=1, max_bytes=limit)
    by_one = [body for key, event in events if (body := one.add(key, event)) is not None]
    runs = Packer(hostname="h", collection_timestamp=1, max_bytes=limit)
    by_runs: List[Any] = []
    start = 0
    for end in range(1, len(events) + 1):
        if end == len(events) or events[end][0] != events[start][0]:
            part = events[start:end]
            by_runs += runs.add_run(part[0][0], b",".join(e for _, e in part),
                                    [len(e) for _, e in part])  # fmt: skip
            start = end
    assert [*by_runs, runs.finish()] == [*by_one, one.finish()]


@given(st.text(max_size=30), st.integers(min_value=-(10**11), max_value=10**11))
def test_advice_is_counted_as_it_is_given(event_type: str, offset: int) -> None:
    timestamp = int(NOW) + offset
    assert advice_count(event_type, timestamp, now=NOW) == len(
        advice(event_type, timestamp, now=NOW)
    )


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.one_of(st.sampled_from(sorted(STRUCTURE)), _text()), _value(), max_size=6),
    st.sampled_from(["k", "e", "s", "t_", "ce", "source", 'a"b', "1", "x"]),
)
def test_a_document_said_to_need_no_masking_has_nothing_to_mask(
    document: Dict[str, Any], secret: str
) -> None:
    from pydantic_core import to_json

    masker = Masker([secret])
    compact = to_json(document)
    if not masker.needed(compact, compact_json=True):
        assert masker.value(json.loads(compact)) == json.loads(compact)


def test_masking_looks_past_a_name_that_only_ends_like_the_receivers() -> None:
    masker = Masker(["k"])
    assert not masker.needed(b'{"source_links":[],"service_checks":[]}', compact_json=True)
    assert masker.needed(b'{"a\\"source_links":[]}', compact_json=True)
    assert masker.needed(b'{"source_links":["k"]}', compact_json=True)
    assert masker.needed(b'{"source_links":[]}')  # any text: every k counts
