"""One event from flags is validated by the block path's compiled schema (`blocks`), which
needs no pydantic models; whenever it takes an event, the body and the warnings are those
the `Event` model gives, byte for byte. What it does not take goes to the model, whose
errors users see. Generated events, odd ones included, hold the two paths to that.
"""

from __future__ import annotations

import math
from typing import Any, Dict

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from stac_events.errors import StacEventsError
from stac_events.events import EventDefaults
from stac_events.sending import one_by_block, one_by_model, prepare_one
from tests.conftest import NOW

HOUR = 3600
TEXT = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["", " ", "DeployEvent", "Deploy", "\ud800", "a\"b", "\\", "\u2028",
                     "changes", "Changes", "},{", "hostEvents", "name", "tags"]),
)  # fmt: skip
MAYBE_TEXT = st.one_of(st.none(), TEXT)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
              st.floats(allow_nan=True, allow_infinity=True), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)  # fmt: skip


TIMESTAMPS = [int(NOW), int(NOW) - 2 * HOUR, int(NOW) + 2 * HOUR, 0, -5, 99_999_999_999,
              100_000_000_000]  # fmt: skip


@st.composite
def defaults(draw: st.DrawFn) -> EventDefaults:
    return EventDefaults(
        event_type=draw(st.one_of(st.sampled_from(["DeployEvent", "Deploy"]), TEXT)),
        title=draw(st.one_of(st.just("Deployed 1.4"), MAYBE_TEXT)),
        text=draw(MAYBE_TEXT),
        timestamp=draw(
            st.one_of(
                st.none(),
                st.sampled_from(TIMESTAMPS),
                st.integers(1, 10**12),
            )
        ),
        source_type_name=draw(MAYBE_TEXT),
        name=draw(
            st.one_of(st.none(), st.sampled_from(["deploys", "hostEvents", "", "tags"]), TEXT)
        ),
        source=draw(MAYBE_TEXT),
        category=draw(st.one_of(st.none(), st.sampled_from(["Changes", "Alerts", "Others"]))),
        source_identifier=draw(MAYBE_TEXT),
        identifiers=tuple(draw(st.lists(TEXT, max_size=3))),
        tags=tuple(draw(st.lists(TEXT, max_size=3))),
        links=tuple(
            draw(st.lists(st.fixed_dictionaries({"title": TEXT, "url": TEXT}), max_size=2))
        ),
        data=draw(st.one_of(st.none(), st.dictionaries(TEXT, JSON_VALUE, max_size=3))),
        context=draw(st.booleans()),
    )


def by_model(given: EventDefaults) -> Any:
    try:
        return one_by_model(given, hostname="host", now=NOW)
    except StacEventsError as error:
        return ("refused", str(error))


@settings(max_examples=500, deadline=None)
@given(given=defaults())
def test_an_event_the_block_path_takes_is_the_models_to_the_byte(given: EventDefaults) -> None:
    fast = one_by_block(given, hostname="host", now=NOW)
    event("taken" if fast is not None else "left to the model")
    if fast is not None:
        assert fast == by_model(given)


COMMON = [
    EventDefaults(event_type="DeployEvent", title="Deployed 1.4", timestamp=int(NOW)),
    EventDefaults(
        event_type="Deploy",
        title="t",
        text="body",
        timestamp=int(NOW) - 2 * HOUR,
        tags=("env:prod", "web"),
        name="deploys",
    ),
    EventDefaults(
        event_type="DeployEvent",
        title="t",
        timestamp=int(NOW),
        source="ci",
        category="Changes",
        identifiers=("urn:a", "urn:b"),
        context=True,
        links=({"title": "Run", "url": "https://ci/1"},),
        data={"version": "1.4", "n": 1, "deep": {"a": [1, 2.5, None]}},
        source_identifier="42",
        source_type_name="ci",
    ),
    EventDefaults(event_type="DeployEvent", title="t", timestamp=None, context=True),
]


@pytest.mark.parametrize("given", COMMON)
def test_the_events_flags_make_are_taken_by_the_block_path(given: EventDefaults) -> None:
    fast = one_by_block(given, hostname="host", now=NOW)
    assert fast is not None
    assert fast == by_model(given)


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"title": " "}, "a title of spaces alone"),
        ({"name": "hostEvents"}, "a reserved name"),
        ({"text": "\ud800"}, "text that cannot be UTF-8"),
        ({"data": {"x": math.nan}}, "NaN in the data"),
        ({"links": ({"title": "", "url": "u"},)}, "a link with no title"),
        ({"timestamp": 100_000_000_000}, "epoch milliseconds"),
    ],
)
def test_what_is_wrong_is_said_by_the_model(changes: Dict[str, Any], why: str) -> None:
    given = COMMON[2]._replace(**changes)
    assert one_by_block(given, hostname="host", now=NOW) is None, why
    with pytest.raises(StacEventsError) as by_the_model:
        prepare_one(given, hostname="host", now=NOW)
    assert by_model(given) == ("refused", str(by_the_model.value))


def test_secrets_are_masked_in_the_one_body_either_way() -> None:
    given = COMMON[2]._replace(title="key s3cr3t-key here")
    assert one_by_block(given, hostname="host", now=NOW) is not None
    prepared = prepare_one(given, hostname="host", now=NOW, secrets=("s3cr3t-key",))
    body, _ = next(iter(prepared.payloads))
    assert b"s3cr3t-key" not in body
    assert b"key *** here" in body
