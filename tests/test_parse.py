"""The value parsers, table-driven, plus properties: only `InvalidValue` ever escapes."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stac_events.inputs import parse_data, parse_data_item
from stac_events.parse import (
    CATEGORIES,
    InvalidValue,
    canonical_category,
    check_event_name,
    parse_link,
    parse_tag,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("link_title1: link_url1", {"title": "link_title1", "url": "link_url1"}),
        ("Run: https://ci.example.com/1", {"title": "Run", "url": "https://ci.example.com/1"}),
        (
            "https://example.com/x",
            {"title": "https://example.com/x", "url": "https://example.com/x"},
        ),
        ("A: B: C", {"title": "A", "url": "B: C"}),  # split at the first ": " only
        ("  Spaced :  https://x  ", {"title": "Spaced", "url": "https://x"}),
        ("Grafana:https://g", {"title": "Grafana:https://g", "url": "Grafana:https://g"}),
    ],
)
def test_parse_link(text: str, expected: dict) -> None:
    assert parse_link(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "Title: ", ": https://x"])
def test_parse_link_rejects(text: str) -> None:
    with pytest.raises(InvalidValue, match="TITLE: URL"):
        parse_link(text)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], None),
        (['{"a": 1, "b": {"c": [1, 2]}}'], {"a": 1, "b": {"c": [1, 2]}}),
        (["version=1.4"], {"version": "1.4"}),
        (["url=https://x/?a=b"], {"url": "https://x/?a=b"}),  # split at the first '='
        (["a=1", "b=2", "a=3"], {"a": "3", "b": "2"}),  # merged, later wins
        (['{"a": 1}', "b=2"], {"a": 1, "b": "2"}),
        (["empty="], {"empty": ""}),
        (['{"n": null}'], {"n": None}),
    ],
)
def test_parse_data(items: list, expected: object) -> None:
    assert parse_data(items) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "JSON array"),
        ('"text"', "neither"),
        ("42", "neither"),
        ("true", "JSON boolean"),
        ("null", "JSON null"),
        ("{not json", "not valid JSON"),
        ("novalue", "neither a JSON object, KEY=VALUE nor @PATH"),
        ("=value", "no key"),
        ("@/nonexistent/data.json", "cannot read data file"),
    ],
)
def test_parse_data_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        parse_data_item(text)


def test_parse_data_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"from": "file"}))
    assert parse_data_item(f"@{path}") == {"from": "file"}
    path.write_text("[1]")
    with pytest.raises(InvalidValue, match="JSON array"):
        parse_data_item(f"@{path}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("env:prod", "env:prod"), ("plain", "plain"), ("  k:v ", "k:v"), ("a:b:c", "a:b:c")],
)
def test_parse_tag(text: str, expected: str) -> None:
    assert parse_tag(text) == expected


def test_parse_tag_rejects_blank() -> None:
    with pytest.raises(InvalidValue, match="cannot be empty"):
        parse_tag("  ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700000000", 1_700_000_000),
        (" 1700000000 ", 1_700_000_000),
        ("1700000000.9", 1_700_000_000),
        (1_700_000_000, 1_700_000_000),
        (1_700_000_000.5, 1_700_000_000),
        ("2023-11-14T22:13:20Z", 1_700_000_000),
        ("2023-11-14T22:13:20+00:00", 1_700_000_000),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000),
        ("2023-11-14T22:13:20.250Z", 1_700_000_000),
        ("99999999999", 99_999_999_999),
    ],
)
def test_parse_timestamp(value: object, expected: int) -> None:
    assert parse_timestamp(value) == expected


def test_parse_timestamp_without_offset_is_local_time() -> None:
    local = datetime(2023, 11, 14, 22, 13, 20).astimezone()
    assert parse_timestamp("2023-11-14T22:13:20") == int(local.timestamp())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1700000000000", r"milliseconds; use seconds \(1700000000\)"),
        (1_700_000_000_000, "milliseconds"),
        ("0", "after 1970"),
        ("-5", "after 1970"),
        ("nan", "not a timestamp"),
        ("inf", "ISO-8601"),
        ("0.5", "after 1970"),
        ("yesterday", "ISO-8601"),
        ("", "ISO-8601"),
        ("2023-13-01T00:00:00Z", "ISO-8601"),
        (True, "not a timestamp"),
        (None, "not a timestamp"),
        ("1969-12-31T00:00:00Z", "after 1970"),
    ],
)
def test_parse_timestamp_rejects(value: object, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        parse_timestamp(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(c.lower(), c) for c in CATEGORIES]
    + [(c.upper(), c) for c in CATEGORIES]
    + [("Changes", "Changes")],
)
def test_canonical_category(text: str, expected: str) -> None:
    assert canonical_category(text) == expected


def test_canonical_category_lists_the_choices() -> None:
    with pytest.raises(InvalidValue, match="Activities, Alerts, Anomalies, Changes, Others"):
        canonical_category("Deploys")


@pytest.mark.parametrize(
    "name",
    [
        "eventType",
        "hostChanged",
        "labelsX",
        "message",
        "nameX",
        "tagsY",
        "timeReceived",
        "timestampZ",
        "titleW",
    ],
)
def test_reserved_event_names(name: str) -> None:
    with pytest.raises(InvalidValue, match="which the receiver reserves"):
        check_event_name(name)


@pytest.mark.parametrize("name", ["DeployEvent", "event.test01", "Hosting", "Names", "MyTitle"])
def test_allowed_event_names(name: str) -> None:
    assert check_event_name(name) == name


# Properties: whatever is typed, a parser returns a value or raises InvalidValue.

_anything = st.text() | st.text(alphabet='{}[]":,=@ 0123456789.-+eEtrufalsn')


@given(_anything)
def test_parse_link_total(text: str) -> None:
    try:
        link = parse_link(text)
    except InvalidValue:
        return
    assert link["title"]
    assert link["url"]


@given(_anything)
def test_parse_data_item_total(text: str) -> None:
    try:
        data = parse_data_item(text)
    except InvalidValue:
        return
    assert isinstance(data, dict)


@given(st.dictionaries(st.text(), st.none() | st.integers() | st.text() | st.booleans()))
def test_parse_data_round_trips_json_objects(data: dict) -> None:
    assert parse_data([json.dumps(data)]) == data


@given(_anything | st.floats() | st.integers() | st.none() | st.booleans())
def test_parse_timestamp_total(value: object) -> None:
    try:
        seconds = parse_timestamp(value)
    except InvalidValue:
        return
    assert 0 < seconds <= 99_999_999_999


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2999, 1, 1),
        timezones=st.just(timezone.utc),
    )
)
def test_parse_timestamp_iso_matches_epoch(moment: datetime) -> None:
    assert parse_timestamp(moment.isoformat()) == int(moment.timestamp())


@given(st.text())
def test_parse_tag_total(text: str) -> None:
    try:
        assert parse_tag(text) == text.strip()
    except InvalidValue:
        assert not text.strip()
