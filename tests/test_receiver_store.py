"""The receiver's database of an earlier version: read as it is, and brought up to date in
place, losing nothing, by the first store that writes to it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Dict, List

import pytest

from stac_events.receiver import Filters, Store
from stac_events.receiver.rules import Received
from stac_events.receiver.store import ALL, NotAReceiverDatabase

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
    assert version_of(path) == 2
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
    assert version_of(path) == 2
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
