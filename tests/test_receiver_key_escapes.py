"""A refused payload's excerpt never keeps the API key, however the sender's JSON library
escapes it: `\\/` (PHP), `\\u003c` and `\\u0026` (Go), any character as `\\uXXXX`."""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from typing import Any, List
from urllib.parse import quote, quote_plus

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stac_events.receiver.store import canonical_escapes

pytestmark = pytest.mark.slow  # a real receiver process

_KEY_CHARACTERS = st.one_of(
    st.sampled_from(list("/<>&\"\\'+%# =;?:")),
    # filters rather than `exclude_*` arguments, which the oldest hypothesis allowed lacks
    st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(lambda c: c != "*"),
    st.characters(min_codepoint=0xA1, max_codepoint=0x10FFFF).filter(
        lambda c: unicodedata.category(c) not in ("Cs", "Zs")
    ),
)
# Each holds a character the receiver's own JSON never has, so that the key is never found
# in what is the receiver's (`"reasons":`, its terminal lines) rather than the sender's.
KEYS = st.builds(
    lambda a, b, c: a + b + c,
    st.text(_KEY_CHARACTERS, max_size=8),
    st.sampled_from(list("<>&'+%#")),
    st.text(_KEY_CHARACTERS, max_size=8),
)


def escaped(text: str, styles: List[int]) -> str:
    """`text` as a JSON string's inside, each character written in its style: 0 as
    `json.dumps` writes it, 1 as `\\uxxxx`, 2 as `\\uXXXX`; 3 writes `/` as `\\/`."""
    written = []
    for character, style in zip(text, styles, strict=True):
        if style in (1, 2):
            units = character.encode("utf-16-be")
            hexes = [units[i : i + 2].hex() for i in range(0, len(units), 2)]
            written.append("".join(f"\\u{h.upper() if style == 2 else h}" for h in hexes))
        elif style == 3 and character == "/":
            written.append("\\/")
        else:
            written.append(json.dumps(character, ensure_ascii=False)[1:-1])
    return "".join(written)


def decoded(text: str) -> str:
    """`text` with its JSON escapes read (a surrogate pair as one character)."""
    return re.sub(r'(?:\\u[0-9a-fA-F]{4})+|\\["\\/bfnrt]',
                  lambda m: json.loads(f'"{m.group(0)}"'), text)  # fmt: skip


def forms(key: str) -> List[str]:
    return [key, quote(key, safe=""), quote_plus(key), json.dumps(key)[1:-1],
            json.dumps(key, ensure_ascii=False)[1:-1],
            repr(f"{key}\"'")[1:-4]]  # as a message quotes it with !r  # fmt: skip


def assert_no_key(text: str, key: str) -> None:
    for seen in (text, decoded(text), canonical_escapes(text)):
        for form in forms(key):
            assert form not in seen, (form, text)


def refused_body(key: str, styles: List[int]) -> bytes:
    text = f"before {key} after"
    body = ('{"collection_timestamp":1,"internalHostname":"h","events":{"E":[{'
            '"event_type":"E","msg_title":"t","msg_text":"' + escaped(text, styles)
            + '","timestamp":"bad"}]}}')  # fmt: skip
    assert json.loads(body)["events"]["E"][0]["msg_text"] == text
    return body.encode("utf-8")


def test_a_key_escaped_as_php_writes_it_is_masked(receiver_factory, tmp_path):
    key = 'a&b#c%d e+/?=;"<'
    receiver = receiver_factory(env={"STAC_EVENTS_RECEIVER_KEY": key})
    body = refused_body(key, [3] * len(f"before {key} after"))
    assert b"\\/" in body
    answer = requests.post(f"{receiver.url}/stsAgent/intake", data=body,
                           headers={"sts-api-key": key}, timeout=30)  # fmt: skip
    assert answer.status_code == 400
    listed = requests.get(f"{receiver.url}/refusals", headers={"sts-api-key": key}, timeout=30)
    assert listed.status_code == 200
    (refusal,) = listed.json()
    assert "***" in refusal["excerpt"]
    assert_no_key(refusal["excerpt"], key)
    assert_no_key(listed.text, key)
    with sqlite3.connect(receiver.db) as db:
        (excerpt,) = db.execute("SELECT excerpt FROM refusals").fetchone()
    assert_no_key(excerpt, key)
    _, out, err = receiver.stop()
    assert_no_key(out + err, key)


@pytest.mark.parametrize("key", ["k'e\"y\\/<&", "it's/a<key>", "a&b#c%d e+/?=;"])
def test_a_key_in_a_reason_is_masked_in_the_answer_kept_and_the_terminal(receiver_factory, key):
    receiver = receiver_factory(env={"STAC_EVENTS_RECEIVER_KEY": key})
    payload = {"collection_timestamp": 1, "internalHostname": "h", "events": {"E": [
        {"event_type": "E", "msg_title": key, "msg_text": "x", "timestamp": 1,
         "context": {"category": f"c {key}", "source": "s", "element_identifiers": [],
                     "source_links": [], "data": {}}}]}}  # fmt: skip
    answer = requests.post(f"{receiver.url}/stsAgent/intake", json=payload,
                           headers={"sts-api-key": key}, timeout=30)  # fmt: skip
    assert answer.status_code == 400
    listed = requests.get(f"{receiver.url}/refusals", headers={"sts-api-key": key}, timeout=30)
    (refusal,) = listed.json()
    assert any("category" in r["path"] for r in refusal["reasons"])
    assert_no_key(listed.text, key)
    assert_no_key(json.dumps(refusal, ensure_ascii=False), key)
    _, out, err = receiver.stop()
    assert "refused (400)" in err
    assert_no_key(out + err, key)


def test_a_key_escaped_in_any_way_is_never_kept(receiver_factory):
    """The receiver asks no key; each request is sent with its own (in `api_key=`), which
    its refusal's excerpt masks whatever escapes hold it."""
    receiver = receiver_factory()
    sent: List[str] = []

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(key=KEYS, data=st.data())
    def check(key: str, data: Any) -> None:  # fmt: skip
        key = key.strip()  # as a key is taken
        text = f"before {key} after"
        styles = data.draw(st.lists(st.integers(0, 3), min_size=len(text), max_size=len(text)))
        sent.append(key)
        answer = requests.post(f"{receiver.url}/stsAgent/intake?api_key={quote(key, safe='')}",
                               data=refused_body(key, styles), timeout=30)  # fmt: skip
        assert answer.status_code == 400, answer.text
        listed = requests.get(f"{receiver.url}/refusals?limit=1", timeout=30)
        (refusal,) = listed.json()
        assert "***" in refusal["excerpt"]
        assert_no_key(refusal["excerpt"], key)
        assert_no_key(listed.text, key)
        with sqlite3.connect(receiver.db) as db:
            (excerpt,) = db.execute("SELECT excerpt FROM refusals ORDER BY id DESC").fetchone()
        assert_no_key(excerpt, key)

    check()
    _, out, err = receiver.stop()
    for key in sent:
        assert_no_key(out + err, key)
