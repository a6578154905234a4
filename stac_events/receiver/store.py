"""The local receiver's events, in one SQLite file that outlives the receiver.

One request is one transaction: a payload is stored whole or not at all, and a 202 is
only answered once it is committed. WAL lets `receiver events` (another process) read
while the receiver writes; a crash of either loses nothing committed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

from stac_events.environment import make_private_folders
from stac_events.receiver.rules import Received

# A payload's body is kept once, as it came; each event is a row that points into it.
# Writing each event's JSON apart would cost more than all the receiver's checks.
_SCHEMA = """
CREATE TABLE payloads (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL         -- the request's JSON, as it came (gzip undone)
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    received REAL NOT NULL,    -- epoch seconds, when the receiver stored it
    host TEXT NOT NULL,        -- the payload's internalHostname
    name TEXT NOT NULL,        -- the key it was filed under in the payload
    payload INTEGER NOT NULL,  -- the event is payloads.body's events[name][position]
    position INTEGER NOT NULL,
    event_type TEXT,           -- what --type looks up
    identifiers TEXT NOT NULL  -- element_identifiers, each on a line (see _line_of)
);
"""
_BUSY_TIMEOUT_S = 30.0  # another process writing, e.g. `receiver events --clear`
_APPLICATION_ID = 0x53544556  # "STEV" in the file's header: this is a receiver's database
_VERSION = 1


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    def opened(mode: str) -> sqlite3.Connection:
        return sqlite3.connect(f"{path.absolute().as_uri()}?{mode}", uri=True,
                               timeout=_BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)  # fmt: skip

    if read_only:
        try:
            return _checked(opened("mode=ro"))
        except sqlite3.OperationalError:
            # WAL readers make a -shm file beside it; in a folder they cannot write to (a
            # downloaded CI artifact), the file is read as it is, unchanging.
            return _checked(opened("mode=ro&immutable=1"))
    if not path.parent.exists():
        make_private_folders(path.parent)
    if not path.exists():  # SQLite gives its -wal and -shm files the database's mode
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return opened("mode=rw")


def _checked(db: sqlite3.Connection) -> sqlite3.Connection:
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the header
    except BaseException:
        db.close()
        raise
    return db


def _identify(db: sqlite3.Connection, path: Path) -> bool:
    """Whether `db` is new (empty); raises `NotAReceiverDatabase` unless it is ours."""
    (application,) = db.execute("PRAGMA application_id").fetchone()
    if application == _APPLICATION_ID:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > _VERSION:
            raise NotAReceiverDatabase(f"{path} was written by a newer stac-events")
        return False
    (tables,) = db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if tables or db.execute("PRAGMA page_count").fetchone()[0]:
        raise NotAReceiverDatabase(
            f"{path} is not a stac-events receiver database; it is left as it is"
        )
    return True


class Filters(NamedTuple):
    """Which stored events: all of them when nothing is set."""

    event_type: Optional[str] = None
    identifier: Optional[str] = None
    since: Optional[float] = None  # epoch seconds, against the time received

    def where(self) -> Tuple[str, List[Any]]:
        clauses: List[str] = []
        values: List[Any] = []
        if self.event_type is not None:
            clauses.append("event_type = ?")
            values.append(self.event_type)
        if self.identifier is not None:
            # A scan, not an index: a local receiver's thousands of rows take milliseconds,
            # and an index would halve the rate at which it takes events in.
            clauses.append("instr(char(10) || identifiers, char(10) || ? || char(10)) > 0")
            values.append(_line_of(self.identifier))
        if self.since is not None:
            clauses.append("received >= ?")
            values.append(self.since)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), values


ALL = Filters()


class Stored(NamedTuple):
    """One stored event, with what the receiver knows of its arrival."""

    id: int
    received: float
    host: str
    name: str
    event_json: str

    @property
    def event(self) -> Dict[str, Any]:
        found: Dict[str, Any] = json.loads(self.event_json)
        return found

    def to_json(self) -> str:
        """`{"id":..,"received":"<ISO-8601>","host":..,"name":..,"event":{...}}`, one line."""
        head = json.dumps(
            {"id": self.id, "received": iso(self.received), "host": self.host, "name": self.name},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return f'{head[:-1]},"event":{self.event_json}}}'


def _line_of(identifier: str) -> str:
    """An identifier as one line of the `identifiers` column: its own newlines escaped."""
    return identifier.replace("\\", "\\\\").replace("\n", "\\n")


def iso(seconds: float) -> str:
    """Epoch seconds as ISO-8601 UTC with milliseconds: `2026-11-27T11:22:33.123Z`."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class NotAReceiverDatabase(Exception):
    """A file that is not the local receiver's database (nor empty): it is left alone."""


class Store:
    """The database at `path`: created, with its folders (0700) and as a file of mode
    0600, when missing and `create`; or opened to read only (`read_only`). A missing
    database that is not to be created raises `FileNotFoundError`.

    Safe to share between threads: each transaction takes the store's lock. Raises
    `NotAReceiverDatabase` for another program's database, and `sqlite3.Error` or
    `OSError` when it cannot be used (a read-only file to write to, a folder, not SQLite).
    """

    def __init__(
        self, path: Union[str, os.PathLike[str]], *, read_only: bool = False, create: bool = True
    ) -> None:
        self.path = path = Path(path)
        self._lock = threading.Lock()
        if (read_only or not create) and not path.is_file():
            raise FileNotFoundError(f"no database at {path}")
        self._db = db = _connect(path, read_only=read_only)
        try:
            new = _identify(db, path)  # before anything is written to it
            if new:  # fewer, larger pages: a third less time to store a batch
                db.execute("PRAGMA page_size=16384")
            if not read_only:
                db.execute("PRAGMA journal_mode=WAL")
                # Committed transactions survive a crash of the process; only a power cut
                # can take the last ones, which a local stand-in can afford for the speed.
                db.execute("PRAGMA synchronous=NORMAL")
                # Checkpoints (the WAL copied into the database, and synced) every 40 MB
                # rather than every 4: fewer syncs in a large batch.
                db.execute("PRAGMA wal_autocheckpoint=10000")
                # Written to at once: a file that cannot be fails now, not at a request.
                schema = f"{_SCHEMA} PRAGMA application_id={_APPLICATION_ID};" if new else ""
                db.executescript(f"BEGIN IMMEDIATE; {schema} PRAGMA user_version={_VERSION}; "
                                 f"COMMIT;")  # fmt: skip
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, events: List[Received], *, host: str, received: float, body: str = "") -> int:
        """Store a payload's events in one transaction; returns how many. `body` is the
        payload's JSON, which holds them; without it, one is made of the events."""
        if not events:
            return 0
        if not body:  # a caller of its own: the events, filed again in a body of theirs
            groups: Dict[str, List[Any]] = {}
            for name, event, _ in events:
                groups.setdefault(name, []).append(event)
            body = json.dumps({"events": groups}, ensure_ascii=False)
            events = [Received(name, event, position) for name, group in groups.items()
                      for position, event in enumerate(group)]  # fmt: skip
        rows = []
        with self._transaction() as db:
            payload = db.execute("INSERT INTO payloads (body) VALUES (?)", (body,)).lastrowid
            (last,) = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
            for number, (name, event, position) in enumerate(events, start=last + 1):
                context = event.get("context") or {}
                identifiers = "".join(
                    _line_of(i) + "\n" for i in context.get("element_identifiers", ())
                )
                rows.append((number, received, host, name, payload, position,
                             event.get("event_type"), identifiers))  # fmt: skip
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite itself ends it on some errors (a full disk)
                    db.execute("ROLLBACK")
                raise

    def events(self, filters: Filters = ALL) -> List[Stored]:
        """The stored events the filters pick, oldest first: read in one transaction, so
        that a `clear` beside it cannot take a payload away halfway."""
        where, values = filters.where()
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                rows = db.execute(
                    "SELECT id, received, host, name, payload, position "  # noqa: S608
                    f"FROM events{where} ORDER BY id",
                    values,
                ).fetchall()
                return list(self._with_json(rows))
            finally:
                db.execute("COMMIT")

    def _with_json(self, rows: List[Tuple[Any, ...]]) -> Iterator[Stored]:
        """Each row's event, read from its payload; a payload is read once for its rows."""
        read: Tuple[int, Any] = (0, None)
        for number, received, host, name, payload, position in rows:
            if read[0] != payload:
                (body,) = self._db.execute(
                    "SELECT body FROM payloads WHERE id = ?", (payload,)
                ).fetchone()
                read = (payload, json.loads(body)["events"])
            event = json.dumps(read[1][name][position], ensure_ascii=False, separators=(",", ":"))
            yield Stored(number, received, host, name, event)

    def count(self, filters: Filters = ALL) -> int:
        where, values = filters.where()
        with self._lock:
            (found,) = self._db.execute(f"SELECT count(*) FROM events{where}", values).fetchone()  # noqa: S608
        return int(found)

    def clear(self, filters: Filters = ALL) -> int:
        """Delete the events the filters pick; returns how many."""
        where, values = filters.where()
        with self._transaction() as db:
            deleted = db.execute(f"DELETE FROM events{where}", values).rowcount  # noqa: S608
            db.execute("DELETE FROM payloads WHERE id NOT IN (SELECT payload FROM events)")
        return int(deleted)
