"""The receiver's database of an earlier version: read as it is, and brought up to date in
place, losing nothing, by the first store that writes to it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Dict, List

import pytest

from stac_events.receiver import Filters, Reason, Store
from stac_events.receiver.rules import Received
from stac_events.receiver.store import ALL, EXCERPT_BYTES, NotAReceiverDatabase, excerpt_of

# The tables as version 1 made them: the host and the time received in every event's row.
VERSION_1 = """
PRAGMA page_size=16384;
PRAGMA journal_mode=WAL;
BEGIN IMMEDIATE;
CREATE TABLE payloads (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    received REAL NOT NULL,
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    payload INTEGER NOT NULL,
    position INTEGER NOT NULL,
    event_type TEXT,
    identifiers TEXT NOT NULL
);
PRAGMA application_id=1398031702;
PRAGMA user_version=1;
COMMIT;
"""


def event(kind: str, *identifiers: str) -> Dict[str, Any]:
    return {"event_type": kind, "msg_title": kind, "msg_text": "x", "timestamp": 1_700_000_000,
            "context": {"category": "Changes", "source": "ci",
                        "element_identifiers": list(identifiers)}}  # fmt: skip


PAYLOADS = [  # (received, host, {name: [events]}), as version 1 stored them
    (1000.0, "builder", {"DeployEvent": [event("Deploy", "urn:a"), event("Deploy", "urn:b")]}),
    (
        2000.0,
        "runner",
        {"TestEvent": [event("Test", "urn:a", "line\nbreak")], "DeployEvent": [event("Deploy")]},
    ),
]


def version_1_database(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(VERSION_1)
    number = 0
    for received, host, groups in PAYLOADS:
        payload = db.execute("INSERT INTO payloads (body) VALUES (?)",
                             (json.dumps({"events": groups}),)).lastrowid  # fmt: skip
        for name, group in groups.items():
            for position, found in enumerate(group):
                number += 1
                ids = "".join(i.replace("\n", "\\n") + "\n"
                              for i in found["context"]["element_identifiers"])  # fmt: skip
                db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (number, received, host, name, payload, position,
                            found["event_type"], ids))  # fmt: skip
    db.close()


def listed(store: Store, filters: Filters = ALL) -> List[Any]:
    return [(s.id, s.received, s.host, s.name, s.event) for s in store.events(filters)]


EVERYTHING = [
    (1, 1000.0, "builder", "DeployEvent", PAYLOADS[0][2]["DeployEvent"][0]),
    (2, 1000.0, "builder", "DeployEvent", PAYLOADS[0][2]["DeployEvent"][1]),
    (3, 2000.0, "runner", "TestEvent", PAYLOADS[1][2]["TestEvent"][0]),
    (4, 2000.0, "runner", "DeployEvent", PAYLOADS[1][2]["DeployEvent"][0]),
]
FILTERED = [
    (Filters(), [1, 2, 3, 4]),
    (Filters(event_type="Deploy"), [1, 2, 4]),
    (Filters(identifier="urn:a"), [1, 3]),
    (Filters(identifier="line\nbreak"), [3]),
    (Filters(since=1500.0), [3, 4]),
    (Filters(event_type="Deploy", since=1500.0), [4]),
]


def check_everything_is_there(store: Store) -> None:
    assert listed(store) == EVERYTHING
    for filters, ids in FILTERED:
        assert [s.id for s in store.events(filters)] == ids, filters
        assert store.count(filters) == len(ids)


def version_of(path: Path) -> int:
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        (version,) = db.execute("PRAGMA user_version").fetchone()
    db.close()
    return int(version)


def test_a_version_1_database_is_read_as_it_is_and_left_so(tmp_path):
    path = tmp_path / "receiver.db"
    version_1_database(path)
    store = Store(path, read_only=True)
    check_everything_is_there(store)
    store.close()
    assert version_of(path) == 1


def test_a_version_1_database_is_brought_up_to_date_losing_nothing(tmp_path):
    path = tmp_path / "receiver.db"
    version_1_database(path)
    store = Store(path)
    check_everything_is_there(store)
    assert store.add([Received("LaterEvent", event("Later", "urn:c"), 0)], host="late",
                     received=3000.0) == 1  # fmt: skip
    assert listed(store, Filters(since=2500.0)) == [
        (5, 3000.0, "late", "LaterEvent", event("Later", "urn:c"))
    ]
    assert store.clear(Filters(since=1500.0)) == 3
    assert [s.id for s in store.events()] == [1, 2]
    store.close()
    assert version_of(path) == 4
    with sqlite3.connect(path) as db:
        columns = {table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
                   for table in ("payloads", "events")}  # fmt: skip
        (payloads,) = db.execute("SELECT count(*) FROM payloads").fetchone()
    db.close()
    assert columns == {
        "payloads": ["id", "received", "host", "body"],
        "events": ["id", "payload", "name", "position", "event_type", "identifiers"],
    }
    assert payloads == 1  # the other two went with their events


@pytest.mark.slow  # real processes
def test_the_receiver_lists_a_version_1_database_and_brings_it_up_to_date(tmp_path, run_script):
    path = tmp_path / "receiver.db"
    version_1_database(path)
    listed = run_script("stac-events", "receiver", "events", "--db", str(path), "-o", "json")
    assert [e["id"] for e in listed.json()] == [1, 2, 3, 4]
    assert version_of(path) == 1
    typed = run_script("stac-events", "receiver", "events", "--db", str(path), "--type", "Test",
                       "-o", "json")  # fmt: skip
    assert [(e["host"], e["event"]) for e in typed.json()] == [("runner", EVERYTHING[2][4])]
    cleared = run_script("stac-events", "receiver", "events", "--db", str(path), "--clear",
                         "--identifier", "urn:b")  # fmt: skip
    assert "deleted 1 event(s)" in cleared.stdout + cleared.stderr
    assert version_of(path) == 4
    after = run_script("stac-events", "receiver", "events", "--db", str(path), "-o", "json")
    assert [(e["id"], e["host"]) for e in after.json()] == [(1, "builder"), (3, "runner"),
                                                           (4, "runner")]  # fmt: skip


def test_a_version_1_payload_whose_events_disagree_is_left_as_it_is(tmp_path):
    path = tmp_path / "receiver.db"
    version_1_database(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE events SET host = 'elsewhere' WHERE id = 2")
    db.close()
    with pytest.raises(NotAReceiverDatabase, match="differ in host or time received"):
        Store(path)
    assert version_of(path) == 1
    store = Store(path, read_only=True)
    assert [s.host for s in store.events()] == ["builder", "elsewhere", "runner", "runner"]
    store.close()


# The tables as version 2 made them: no refusals kept.
VERSION_2 = """
PRAGMA page_size=16384;
PRAGMA journal_mode=WAL;
BEGIN IMMEDIATE;
CREATE TABLE payloads (
    id INTEGER PRIMARY KEY,
    received REAL NOT NULL,
    host TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    payload INTEGER NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    event_type TEXT,
    identifiers TEXT NOT NULL
);
PRAGMA application_id=1398031702;
PRAGMA user_version=2;
COMMIT;
"""


def version_2_database(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(VERSION_2)
    number = 0
    for received, host, groups in PAYLOADS:
        body = json.dumps({"events": groups})
        payload = db.execute("INSERT INTO payloads (received, host, body) VALUES (?, ?, ?)",
                             (received, host, body)).lastrowid  # fmt: skip
        for name, group in groups.items():
            for position, found in enumerate(group):
                number += 1
                ids = "".join(i.replace("\n", "\\n") + "\n"
                              for i in found["context"]["element_identifiers"])  # fmt: skip
                db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                           (number, payload, name, position, found["event_type"], ids))  # fmt: skip
    db.close()


def test_a_version_2_database_is_read_as_it_is_with_no_refusals(tmp_path):
    path = tmp_path / "receiver.db"
    version_2_database(path)
    store = Store(path, read_only=True)
    check_everything_is_there(store)
    assert store.refusals() == []
    store.close()
    assert version_of(path) == 2


def test_a_version_2_database_gains_the_refusals_table_losing_nothing(tmp_path):
    path = tmp_path / "receiver.db"
    version_2_database(path)
    store = Store(path)
    check_everything_is_there(store)
    store.add_refusal(received=3000.0, status=400, error="no", body='{"x": 1}',
                      reasons=[Reason("events", "empty")])  # fmt: skip
    (kept,) = store.refusals()
    assert (kept.received, kept.reasons, kept.excerpt) == (3000.0, [{"path": "events",
                                                                    "reason": "empty"}],
                                                          '{"x": 1}')  # fmt: skip
    store.close()
    assert version_of(path) == 4
    again = Store(path)  # brought up once: opened again, it is as it was left
    check_everything_is_there(again)
    assert [r.id for r in again.refusals()] == [kept.id]
    again.close()


# What version 3 added to version 2: the refusals kept.
VERSION_3 = """
BEGIN IMMEDIATE;
CREATE TABLE refusals (
    id INTEGER PRIMARY KEY,
    received REAL NOT NULL,
    status INTEGER NOT NULL,
    error TEXT NOT NULL,
    reasons TEXT NOT NULL,
    size INTEGER NOT NULL,
    truncated INTEGER NOT NULL,
    excerpt TEXT NOT NULL
);
INSERT INTO refusals VALUES (1, 2500.0, 400, 'no', '[]', 8, 0, '{"x": 1}');
PRAGMA user_version=3;
COMMIT;
"""


def version_3_database(path: Path) -> None:
    version_2_database(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(VERSION_3)
    db.close()


@pytest.mark.parametrize("version", [1, 2, 3])
def test_ids_are_never_used_again_after_an_older_database_is_brought_up(tmp_path, version):
    path = tmp_path / "receiver.db"
    {1: version_1_database, 2: version_2_database, 3: version_3_database}[version](path)
    store = Store(path)
    check_everything_is_there(store)
    refused = [r.id for r in store.refusals()]
    assert refused == ([1] if version == 3 else [])
    assert store.clears() == 0
    assert store.clear() == 4
    store.clear_refusals()
    assert store.clears() == (2 if version == 3 else 1)
    assert store.last_id() == 0
    store.add([Received("LaterEvent", event("Later"), 0)], host="late", received=3000.0)
    number = store.add_refusal(received=3000.0, status=400, error="no", body="{}", reasons=[])
    assert [s.id for s in store.events()] == [5]  # the sequence went on from the old ids
    assert number == (2 if version == 3 else 1)
    store.close()
    assert version_of(path) == 4
    again = Store(path)
    assert again.clears() == (2 if version == 3 else 1)
    again.add([Received("LaterEvent", event("Later"), 0)], host="late", received=3001.0)
    assert [s.id for s in again.events()] == [5, 6]
    again.close()


def test_ids_are_never_used_again_after_a_clear(tmp_path):
    store = Store(tmp_path / "receiver.db")
    for _ in range(3):
        store.add([Received("E", event("E"), 0)], host="h", received=1000.0)
    assert store.clear(Filters(event_type="E")) == 3
    assert store.clear() == 0  # nothing deleted: not counted
    assert store.clears() == 1
    store.add([Received("E", event("E"), 0)], host="h", received=1001.0)
    assert [s.id for s in store.events()] == [4]
    assert store.events(after=3)[0].id == 4
    store.close()


@pytest.mark.parametrize("where", [0, 100, EXCERPT_BYTES - 5, EXCERPT_BYTES - 1, EXCERPT_BYTES])
def test_an_excerpt_never_holds_the_key_or_a_part_of_it(where):
    key = "K3y-0f-thirty-two-characters-xyz"
    body = "é" * (where // 2) + "x" * (where % 2) + key + "y" * EXCERPT_BYTES
    excerpt, truncated = excerpt_of(body, [key])
    assert truncated
    assert len(excerpt.encode()) <= EXCERPT_BYTES
    assert not any(key[:n] in excerpt for n in range(4, len(key) + 1))
