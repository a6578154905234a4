"""`receiver events --follow` and `--count/--wait`, as scripts run them: each a process of
its own, reading the database that a receiver in another process writes."""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.conftest import API_KEY

pytestmark = pytest.mark.slow  # real processes: a receiver, and the commands that wait


def payload(title: str, kind: str = "DeployEvent") -> bytes:
    context = {"category": "Changes", "source": "ci", "element_identifiers": ["urn:a"]}
    event = {"event_type": kind, "msg_title": title, "msg_text": "x",
             "timestamp": int(time.time()), "context": context}  # fmt: skip
    return json.dumps({"collection_timestamp": int(time.time()), "internalHostname": "h",
                       "events": {kind: [event]}}).encode()  # fmt: skip


def post(receiver: Any, body: bytes, **params: str) -> int:
    answer = requests.post(f"{receiver.url}/stsAgent/intake", data=body, params=params,
                           timeout=30)  # fmt: skip
    return answer.status_code


def titles(documents: Any) -> list:
    return [stored["event"]["msg_title"] for stored in documents]


def test_count_and_wait_exit_0_once_enough_match(local_receiver, processes):
    waiting = processes.start_cli("receiver", "events", "--db", str(local_receiver.db),
                                  "--type", "DeployEvent", "--count", "2", "--wait", "120",
                                  "-o", "json")  # fmt: skip
    assert post(local_receiver, payload("one")) == 200
    assert post(local_receiver, payload("other", kind="OtherEvent")) == 200
    assert post(local_receiver, payload("two")) == 200
    began = time.monotonic()
    done = waiting.finish(expect=0)
    assert time.monotonic() - began < 120  # it ended as they came, not when the wait ran out
    assert titles(json.loads(done.stdout)) == ["one", "two"]


def test_a_wait_that_runs_out_prints_what_matched_and_exits_124(local_receiver, run_script):
    assert post(local_receiver, payload("lonely")) == 200
    done = run_script("stac-events", "receiver", "events", "--db", str(local_receiver.db),
                      "--count", "3", "--wait", "1", "-o", "json", expect=124)  # fmt: skip
    assert titles(json.loads(done.stdout)) == ["lonely"]
    assert "waited 1 s: 1 of 3 event(s) matched" in done.stderr
    text = run_script("stac-events", "receiver", "events", "--db", str(local_receiver.db),
                      "--count", "2", "--wait", "0.5", expect=124)  # fmt: skip
    assert text.stdout.endswith(" DeployEvent 'lonely' urn:a\n")


def test_follow_prints_each_event_as_it_comes_until_ctrl_c(local_receiver, processes):
    assert post(local_receiver, payload("before")) == 200
    following = processes.start_cli("receiver", "events", "--db", str(local_receiver.db),
                                    "--follow", "--identifier", "urn:a",
                                    "-o", "ndjson")  # fmt: skip
    following.wait_for(r'"msg_title":"before"')
    assert post(local_receiver, payload("first")) == 200
    following.wait_for(r'"msg_title":"first"')
    assert post(local_receiver, payload("second")) == 200
    following.wait_for(r'"msg_title":"second"')
    done = following.stop(signal.SIGINT, expect=130)
    found = [json.loads(line) for line in done.stdout.splitlines()]
    assert titles(found) == ["before", "first", "second"]
    assert "Traceback" not in done.stderr


def test_follow_prints_the_events_stored_after_a_clear(local_receiver, processes):
    for title in ("old1", "old2", "old3"):
        assert post(local_receiver, payload(title)) == 200
    following = processes.start_cli("receiver", "events", "--db", str(local_receiver.db),
                                    "--follow", "-o", "ndjson")  # fmt: skip
    following.wait_for(r'"msg_title":"old3"')
    cleared = requests.delete(f"{local_receiver.url}/events", timeout=30)
    assert cleared.json()["deleted"] == 3
    # fewer than were deleted, at once: ids that start over would hide them all
    assert post(local_receiver, payload("new1")) == 200
    assert post(local_receiver, payload("new2")) == 200
    following.wait_for(r'"msg_title":"new2"')
    done = following.stop(signal.SIGINT, expect=130)
    found = [json.loads(line) for line in done.stdout.splitlines()]
    assert titles(found) == ["old1", "old2", "old3", "new1", "new2"]
    assert [e["id"] for e in found] == [1, 2, 3, 4, 5]


def test_answers_count_the_clears_and_a_waiting_request_wakes_on_one(local_receiver):
    assert post(local_receiver, payload("one")) == 200
    listed = requests.get(f"{local_receiver.url}/events", timeout=30)
    assert listed.headers["X-Receiver-Clears"] == "0"
    assert requests.get(f"{local_receiver.url}/refusals", timeout=30
                        ).headers["X-Receiver-Clears"] == "0"  # fmt: skip
    with ThreadPoolExecutor(1) as pool:
        # a long wait for one newer than what is there: only the clear ends it (whether it
        # comes while the request waits or before it is read)
        waiting = pool.submit(requests.get, f"{local_receiver.url}/events",
                              params={"after": "1", "wait": "300"},
                              timeout=600)  # fmt: skip
        began = time.monotonic()
        assert requests.delete(f"{local_receiver.url}/events", timeout=30).status_code == 200
        woken = waiting.result()
    assert time.monotonic() - began < 300
    assert woken.status_code == 200
    assert woken.headers["X-Receiver-Clears"] == "1"
    assert woken.json() == []
    assert post(local_receiver, payload("two")) == 200
    assert [e["id"] for e in requests.get(f"{local_receiver.url}/events", timeout=30).json()
            ] == [2]  # fmt: skip


def test_follow_as_json_is_one_array_once_it_ends(local_receiver, processes):
    following = processes.start_cli("receiver", "events", "--db", str(local_receiver.db),
                                    "--follow", "-o", "json")  # fmt: skip
    assert post(local_receiver, payload("a")) == 200
    following.wait_for(r'"msg_title":"a"')
    assert post(local_receiver, payload("b")) == 200
    following.wait_for(r'"msg_title":"b"')
    done = following.stop(signal.SIGTERM, expect=143)
    assert titles(json.loads(done.stdout)) == ["a", "b"]  # closed as it ended: one array


def test_follow_with_count_ends_once_enough_came(local_receiver, processes):
    following = processes.start_cli("receiver", "events", "--db", str(local_receiver.db),
                                    "--follow", "--count", "2", "--wait", "120")  # fmt: skip
    assert post(local_receiver, payload("x1")) == 200
    following.wait_for(r"DeployEvent 'x1'")
    assert post(local_receiver, payload("x2")) == 200
    done = following.finish(expect=0)
    assert done.stdout.count("DeployEvent 'x") == 2


def test_a_wait_on_a_database_the_receiver_has_not_made_yet(receiver_factory, processes,
                                                            tmp_path):  # fmt: skip
    db = tmp_path / "later.db"
    waiting = processes.start_cli("receiver", "events", "--db", str(db), "--count", "1",
                                  "--wait", "120", "-o", "json")  # fmt: skip
    waiting.wait_for(r"waiting for .*later\.db", stream="stderr")
    receiver = receiver_factory(db=db)
    assert post(receiver, payload("at last")) == 200
    assert titles(json.loads(waiting.finish(expect=0).stdout)) == ["at last"]
    missing = processes.cli("receiver", "events", "--db", str(tmp_path / "never.db"),
                            "--wait", "0.3", expect=3)  # fmt: skip
    assert "no receiver database at" in missing.stderr


def test_refusals_are_listed_and_cleared_and_the_key_is_never_stored(receiver_factory,
                                                                     run_script):  # fmt: skip
    receiver = receiver_factory("--api-key", API_KEY)
    old = json.loads(payload("too old"))
    old["events"]["DeployEvent"][0]["timestamp"] = 1_600_000_000
    old["events"]["DeployEvent"][0]["context"]["data"] = {"token": API_KEY}
    assert post(receiver, json.dumps(old).encode(), api_key=API_KEY) == 400
    assert post(receiver, payload("fine"), api_key=API_KEY) == 200
    db = str(receiver.db)

    listed = run_script("stac-events", "receiver", "events", "--db", db, "--refused",
                        "-o", "json")  # fmt: skip
    (kept,) = listed.json()
    assert kept["status"] == 400
    assert kept["reasons"][0]["path"] == "events.DeployEvent[0].timestamp"
    assert '"token": "***"' in kept["excerpt"]
    text = run_script("stac-events", "receiver", "events", "--db", db, "--refused")
    assert "refused (400) events.DeployEvent[0].timestamp:" in text.stdout
    served = requests.get(f"{receiver.url}/refusals", headers={"sts-api-key": API_KEY},
                          timeout=30).json()  # fmt: skip
    assert served == [kept]

    run_script("stac-events", "receiver", "events", "--db", db, "--refused", "--type", "X",
               expect=2)  # fmt: skip
    cleared = run_script("stac-events", "receiver", "events", "--db", db, "--clear", "-o", "json")
    assert cleared.json() == {"ok": True, "deleted": 1, "refusals_deleted": 1}
    assert run_script("stac-events", "receiver", "events", "--db", db, "--refused",
                      "-o", "json").json() == []  # fmt: skip
    receiver.stop()
    raw = b"".join(path.read_bytes() for path in receiver.db.parent.glob(receiver.db.name + "*"))
    assert API_KEY.encode() not in raw
