"""Waiting for events and keeping refusals, through the HTTP API of a real local receiver
(in this process, on a free port): GET /events with `limit`, `count` and `wait`, and
GET /refusals; the refused payloads kept with their reasons, the key never stored."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests

from stac_events.receiver import LocalReceiver, Store
from stac_events.receiver.store import EXCERPT_BYTES
from tests.conftest import API_KEY

ANSWER_WAIT_S = 30.0  # a safety net for a request that should answer at once


def payload(title: str = "t", kind: str = "DeployEvent", **fields: Any) -> Dict[str, Any]:
    event = {"event_type": kind, "msg_title": title, "msg_text": "x",
             "timestamp": int(time.time()), **fields}  # fmt: skip
    return {"collection_timestamp": int(time.time()), "internalHostname": "h",
            "events": {kind: [event]}, "metrics": [], "service_checks": [], "topologies": [],
            "health": []}  # fmt: skip


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[LocalReceiver]:
    with LocalReceiver(Store(tmp_path / "events.db"), port=0) as running:
        yield running
    running.store.close()


def send(receiver: LocalReceiver, body: Any, **params: str) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{receiver.url}/stsAgent/intake", data=data, params=params,
                         timeout=ANSWER_WAIT_S)  # fmt: skip


def get(receiver: LocalReceiver, path: str, status: int = 200) -> Any:
    answer = requests.get(receiver.url + path, timeout=ANSWER_WAIT_S)
    assert answer.status_code == status, answer.text
    return answer.json()


def titles(found: List[Dict[str, Any]]) -> List[str]:
    return [stored["event"]["msg_title"] for stored in found]


class Waiting(threading.Thread):
    """A GET that waits, in a thread of its own: its answer, and how long it took."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.answer: Any = None
        self.took = 0.0
        self.start()

    def run(self) -> None:
        began = time.monotonic()
        self.answer = requests.get(self.url, timeout=ANSWER_WAIT_S + 300)
        self.took = time.monotonic() - began


def test_a_successful_post_is_answered_200(receiver):
    answer = send(receiver, payload())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1, "notes": []}


def test_a_wait_answers_as_the_count_is_reached_not_when_it_runs_out(receiver):
    waiting = Waiting(f"{receiver.url}/events?type=DeployEvent&count=3&wait=15")
    for title in ("one", "two"):
        assert send(receiver, payload(title)).status_code == 200
    send(receiver, payload("other", kind="OtherEvent"))  # does not match: no answer yet
    waiting.join(0.5)
    assert waiting.is_alive()  # two of three: it still waits
    assert send(receiver, payload("three")).status_code == 200
    waiting.join(ANSWER_WAIT_S)
    assert not waiting.is_alive()
    assert waiting.answer.status_code == 200
    assert titles(waiting.answer.json()) == ["one", "two", "three"]
    assert waiting.took < 15  # it answered as the third came, before the wait ran out


def test_a_wait_that_runs_out_answers_what_matched(receiver):
    send(receiver, payload("only"))
    began = time.monotonic()
    assert titles(get(receiver, "/events?count=2&wait=0.5")) == ["only"]
    assert time.monotonic() - began >= 0.5
    assert titles(get(receiver, "/events?wait=5")) == ["only"]  # count 1: there already


def test_a_waiting_request_does_not_hold_up_others(receiver):
    waiting = [Waiting(f"{receiver.url}/events?type=NeverEvent&wait=20") for _ in range(5)]
    for number in range(3):  # posts and listings go on beside them
        assert send(receiver, payload(f"e{number}")).status_code == 200
        assert len(get(receiver, "/events")) == number + 1
    assert all(thread.is_alive() for thread in waiting)
    began = time.monotonic()
    receiver.stop()  # answers them now, with what they have: nothing
    for thread in waiting:
        thread.join(ANSWER_WAIT_S)
        assert thread.answer.status_code == 200
        assert thread.answer.json() == []
    assert time.monotonic() - began < 5  # before stop's grace for requests ran out


def test_a_wait_sees_what_another_store_writes_to_the_same_file(receiver, tmp_path):
    waiting = Waiting(f"{receiver.url}/events?count=1&wait=20")
    other = Store(tmp_path / "events.db")  # as another process's receiver would
    try:
        from stac_events.receiver.rules import Received

        other.add([Received("DeployEvent", payload("elsewhere")["events"]["DeployEvent"][0], 0)],
                  host="other", received=time.time())  # fmt: skip
    finally:
        other.close()
    waiting.join(ANSWER_WAIT_S)
    assert not waiting.is_alive()
    assert titles(waiting.answer.json()) == ["elsewhere"]
    assert waiting.took < 20


def test_limit_gives_the_newest_oldest_first(receiver):
    for title in ("a", "b", "c", "d"):
        send(receiver, payload(title))
    assert titles(get(receiver, "/events?limit=2")) == ["c", "d"]
    assert titles(get(receiver, "/events?limit=10")) == ["a", "b", "c", "d"]
    assert titles(get(receiver, "/events?limit=99999999999999999999999")) == ["a", "b", "c", "d"]
    assert titles(get(receiver, "/events?limit=1&count=2&wait=1")) == ["d"]


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("limit=0", "limit: '0' is not a whole number of 1 or more"),
        ("limit=-1", "limit: '-1' is not a whole number"),
        ("limit=two", "limit: 'two' is not a whole number"),
        ("count=3", "count needs wait"),
        ("count=0&wait=1", "count: '0' is not a whole number"),
        ("wait=301", "wait: '301' is not a number of seconds from 0 to 300"),
        ("wait=-1", "from 0 to 300"),
        ("wait=nan", "from 0 to 300"),
        ("wait=inf", "from 0 to 300"),
        ("wait=soon", "from 0 to 300"),
        ("waiting=3", "unknown query parameter(s) 'waiting'"),
    ],
)
def test_bad_parameters_are_400_saying_which(receiver, query, said):
    answer = get(receiver, f"/events?{query}", status=400)
    assert said in answer["error"]


def test_refusals_take_only_what_a_refusal_has(receiver):
    assert "'type'" in get(receiver, "/refusals?type=DeployEvent", status=400)["error"]
    assert "'identifier'" in get(receiver, "/refusals?identifier=x", status=400)["error"]
    assert "after: '-1'" in get(receiver, "/refusals?after=-1", status=400)["error"]


def test_after_lists_only_what_is_newer_and_waits_for_it(receiver):
    for title in ("a", "b"):
        send(receiver, payload(title))
    first, second = get(receiver, "/events")
    assert titles(get(receiver, "/events?after=0")) == ["a", "b"]
    assert titles(get(receiver, f"/events?after={first['id']}")) == ["b"]
    assert get(receiver, f"/events?after={second['id']}") == []
    waiting = Waiting(f"{receiver.url}/events?after={second['id']}&wait=20")
    waiting.join(0.5)
    assert waiting.is_alive()  # the two stored already do not count
    send(receiver, payload("c"))
    waiting.join(ANSWER_WAIT_S)
    assert titles(waiting.answer.json()) == ["c"]
    assert waiting.took < 20


def test_a_wait_after_ids_that_were_cleared_answers_at_once(receiver):
    send(receiver, payload("a"))
    (seen,) = get(receiver, "/events")
    requests.delete(f"{receiver.url}/events", timeout=ANSWER_WAIT_S)
    began = time.monotonic()
    # what was seen is gone: looking again beats waiting for an id above it
    assert get(receiver, f"/events?after={seen['id']}&wait=20") == []
    assert time.monotonic() - began < 10
    send(receiver, b"[]")
    (refused,) = get(receiver, "/refusals")
    requests.delete(f"{receiver.url}/refusals", timeout=ANSWER_WAIT_S)
    began = time.monotonic()
    assert get(receiver, f"/refusals?after={refused['id']}&wait=20") == []
    assert time.monotonic() - began < 10


def test_a_refusals_wait_answers_as_a_payload_is_refused(receiver):
    send(receiver, b"[]")
    (first,) = get(receiver, "/refusals")
    waiting = Waiting(f"{receiver.url}/refusals?after={first['id']}&count=2&wait=20")
    send(receiver, b"{")
    waiting.join(0.5)
    assert waiting.is_alive()  # one of two
    send(receiver, payload("fine"))  # taken, not refused: still one of two
    waiting.join(0.5)
    assert waiting.is_alive()
    send(receiver, b"null")
    waiting.join(ANSWER_WAIT_S)
    assert [r["excerpt"] for r in waiting.answer.json()] == ["{", "null"]
    assert waiting.took < 20


def database_bytes(path: Path) -> bytes:
    """The database and its -wal and -shm files, as they are on disk."""
    return b"".join(f.read_bytes() for f in sorted(path.parent.glob(path.name + "*")))


def test_a_refused_payload_is_kept_served_and_cleared_and_its_key_never_stored(tmp_path):
    from stac_events.receiver import Limits

    db = tmp_path / "events.db"
    with LocalReceiver(Store(db), port=0, limits=Limits(api_key=API_KEY)) as receiver:
        bad = payload("no text")
        del bad["events"]["DeployEvent"][0]["msg_text"]
        bad["events"]["DeployEvent"][0]["msg_title"] = f"key {API_KEY} and api_key=other-one"
        bad["filler"] = "x" * (3 * EXCERPT_BYTES)
        refused = send(receiver, bad, api_key=API_KEY)
        assert refused.status_code == 400
        assert send(receiver, b"{not json", api_key=API_KEY).status_code == 400
        assert send(receiver, payload("fine"), api_key=API_KEY).status_code == 200
        assert send(receiver, payload("no key")).status_code == 401  # not a refusal of 400

        answer = requests.get(f"{receiver.url}/refusals", params={"api_key": API_KEY},
                              timeout=ANSWER_WAIT_S)  # fmt: skip
        kept = answer.json()
        assert [r["status"] for r in kept] == [400, 400]
        first, second = kept
        assert first["reasons"] == refused.json()["reasons"]
        assert first["reasons"][0]["path"] == "events.DeployEvent[0].msg_text"
        assert first["truncated"] is True
        assert first["size"] == len(json.dumps(bad).encode())
        assert len(first["excerpt"].encode()) <= EXCERPT_BYTES
        assert '"msg_title": "key *** and api_key=***"' in first["excerpt"]
        assert (second["excerpt"], second["truncated"]) == ("{not json", False)
        assert "not JSON" in second["error"]

        latest = requests.get(f"{receiver.url}/refusals?limit=1", params={"api_key": API_KEY},
                              timeout=ANSWER_WAIT_S).json()  # fmt: skip
        assert [r["id"] for r in latest] == [second["id"]]
    receiver.store.close()
    store = Store(db)
    try:
        assert [r.error for r in store.refusals()] == [first["error"], second["error"]]
        raw = database_bytes(db)
        assert API_KEY.encode() not in raw
        assert b"other-one" not in raw
        assert b"key *** and api_key=***" in raw  # the masked excerpt is there
    finally:
        store.close()


def test_delete_events_clears_events_and_refusals_alike(receiver):
    send(receiver, payload("kept"))
    send(receiver, payload("gone", kind="GoneEvent"))
    send(receiver, b"[]")
    by_type = requests.delete(f"{receiver.url}/events?type=GoneEvent", timeout=ANSWER_WAIT_S)
    assert by_type.json() == {"deleted": 1, "refusals_deleted": 0}  # a refusal has no type
    assert len(get(receiver, "/refusals")) == 1
    everything = requests.delete(f"{receiver.url}/events", timeout=ANSWER_WAIT_S)
    assert everything.json() == {"deleted": 1, "refusals_deleted": 1}
    assert (get(receiver, "/events"), get(receiver, "/refusals")) == ([], [])
    send(receiver, b"[]")
    only = requests.delete(f"{receiver.url}/refusals", timeout=ANSWER_WAIT_S)
    assert only.json() == {"deleted": 0, "refusals_deleted": 1}


# `receiver events`, asked to wait wrongly: told before any database is opened.
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--count", "2"], "--count: needs --wait"),
        (["--clear", "--follow"], "--clear: deletes at once; it does not take --follow"),
        (["--refused", "--identifier", "x"], "it does not take --identifier"),
        (["--refused", "--wait", "5"], "it does not take --wait"),
        (["--wait", "0"], "--wait: '0' is not a length of time above 0"),
        (["--count", "0", "--wait", "1"], "--count: 0 is too small"),
    ],
)
def test_waits_asked_for_wrongly_are_usage_errors(cli, tmp_path, args, said):
    done = cli("receiver", "events", "--db", str(tmp_path / "none.db"), *args, expect=2)
    assert said in done.stderr
