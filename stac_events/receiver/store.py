"""The local receiver's events, in one SQLite file that outlives the receiver.

One request is one transaction: a payload is stored whole or not at all, and a 200 is
only answered once it is committed. WAL lets `receiver events` (another process) read
while the receiver writes; a crash of either loses nothing committed. A payload refused
with 400 is kept too, as its reasons and a bounded excerpt with the API key masked.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from stac_events.environment import make_private_folders
from stac_events.receiver.rules import Reason, Received
from stac_events.redact import Masker

# A payload's body is kept once, as it came; each event is a row that points into it.
# Writing each event's JSON apart would cost more than all the receiver's checks. What a
# payload's events share (its host, when it came) is kept with it, not in each row.
_SCHEMA_2 = """
CREATE TABLE payloads (
    id INTEGER PRIMARY KEY,
    received REAL NOT NULL,    -- epoch seconds, when the receiver stored it
    host TEXT NOT NULL,        -- its internalHostname
    body TEXT NOT NULL         -- the request's JSON, as it came (gzip undone)
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    payload INTEGER NOT NULL,  -- the event is payloads.body's events[name][position]
    name TEXT NOT NULL,        -- the key it was filed under in the payload
    position INTEGER NOT NULL,
    event_type TEXT,           -- what --type looks up
    identifiers TEXT NOT NULL  -- element_identifiers, each on a line (see _line_of)
);
"""
# Version 3 keeps each payload refused with 400: what a sender needs to see why, bounded
# (a refused body may be as large as an accepted one), and never the key.
_REFUSALS = """
CREATE TABLE refusals (
    id INTEGER PRIMARY KEY,
    received REAL NOT NULL,    -- epoch seconds, when the receiver refused it
    status INTEGER NOT NULL,   -- the answer's status
    error TEXT NOT NULL,       -- the answer's message
    reasons TEXT NOT NULL,     -- the answer's reasons: a JSON array of {"path", "reason"}
    size INTEGER NOT NULL,     -- the body's length in bytes, as read (gzip undone)
    truncated INTEGER NOT NULL,  -- 1 when the excerpt is not the whole body
    excerpt TEXT NOT NULL      -- the body's first EXCERPT_BYTES, keys masked (redact)
);
"""
# Version 4: ids are never used again (AUTOINCREMENT), so that one seen before a clear
# never stands for another event after it; and the clears are counted, so that a reader
# can tell its events were deleted under it. Version 3's tables are renamed, these made and
# filled from them with their ids (the sequences start at the greatest id kept), and
# dropped, in the transaction that opens the file.
_SCHEMA_4 = """
CREATE TABLE payloads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received REAL NOT NULL,    -- epoch seconds, when the receiver stored it
    host TEXT NOT NULL,        -- its internalHostname
    body TEXT NOT NULL         -- the request's JSON, as it came (gzip undone)
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payload INTEGER NOT NULL,  -- the event is payloads.body's events[name][position]
    name TEXT NOT NULL,        -- the key it was filed under in the payload
    position INTEGER NOT NULL,
    event_type TEXT,           -- what --type looks up
    identifiers TEXT NOT NULL  -- element_identifiers, each on a line (see _line_of)
);
CREATE TABLE refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received REAL NOT NULL,    -- epoch seconds, when the receiver refused it
    status INTEGER NOT NULL,   -- the answer's status
    error TEXT NOT NULL,       -- the answer's message
    reasons TEXT NOT NULL,     -- the answer's reasons: a JSON array of {"path", "reason"}
    size INTEGER NOT NULL,     -- the body's length in bytes, as read (gzip undone)
    truncated INTEGER NOT NULL,  -- 1 when the excerpt is not the whole body
    excerpt TEXT NOT NULL      -- the body's first EXCERPT_BYTES, keys masked (redact)
);
CREATE TABLE clears (
    count INTEGER NOT NULL     -- one row: how many clears deleted something
);
INSERT INTO clears (count) VALUES (0);
"""
_RENAME_VERSION_3 = """
ALTER TABLE payloads RENAME TO payloads_3;
ALTER TABLE events RENAME TO events_3;
ALTER TABLE refusals RENAME TO refusals_3;
"""
_COPY_VERSION_3 = """
INSERT INTO payloads SELECT * FROM payloads_3 ORDER BY id;
INSERT INTO events SELECT * FROM events_3 ORDER BY id;
INSERT INTO refusals SELECT * FROM refusals_3 ORDER BY id;
DROP TABLE events_3;
DROP TABLE payloads_3;
DROP TABLE refusals_3;
"""
_SCHEMA = _SCHEMA_4
# Version 1 kept the host and the time received in each event's row. Its tables are
# renamed, version 2's (_SCHEMA_2) filled from them, and they are dropped, all in the
# transaction that opens the file; then version 2 is brought up as any other.
_RENAME_VERSION_1 = """
ALTER TABLE payloads RENAME TO payloads_1;
ALTER TABLE events RENAME TO events_1;
"""
_COPY_VERSION_1 = """
INSERT INTO payloads (id, received, host, body)
    SELECT payloads_1.id, kept.received, kept.host, payloads_1.body
    FROM payloads_1 JOIN (SELECT payload, min(received) AS received, min(host) AS host
                          FROM events_1 GROUP BY payload) AS kept
                    ON kept.payload = payloads_1.id;
INSERT INTO events (id, payload, name, position, event_type, identifiers)
    SELECT id, payload, name, position, event_type, identifiers FROM events_1;
DROP TABLE events_1;
DROP TABLE payloads_1;
"""
# Where a version's events and what they were received with are read from: its columns
# id, received, host, name, payload, position, event_type and identifiers, each by name.
_EVENTS_OF = {
    1: "events",
    2: "events JOIN payloads ON payloads.id = events.payload",
    3: "events JOIN payloads ON payloads.id = events.payload",
    4: "events JOIN payloads ON payloads.id = events.payload",
}
_BUSY_TIMEOUT_S = 30.0  # another process writing, e.g. `receiver events --clear`
_APPLICATION_ID = 0x53544556  # "STEV" in the file's header: this is a receiver's database
_VERSION = 4
EXCERPT_BYTES = 4096  # of a refused body, kept with its reasons


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


def _identify(db: sqlite3.Connection, path: Path) -> int:
    """The version of the receiver's tables in `db`, 0 when it is new (empty); raises
    `NotAReceiverDatabase` unless it is ours."""
    (application,) = db.execute("PRAGMA application_id").fetchone()
    if application == _APPLICATION_ID:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > _VERSION:
            raise NotAReceiverDatabase(f"{path} was written by a newer stac-events")
        return int(version)
    (tables,) = db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if tables or db.execute("PRAGMA page_count").fetchone()[0]:
        raise NotAReceiverDatabase(
            f"{path} is not a stac-events receiver database; it is left as it is"
        )
    return 0


def _upgrade(db: sqlite3.Connection, path: Path, version: int) -> None:
    """Bring the tables of `version` to this one's, within the caller's transaction."""
    if version == 1:
        split = db.execute(
            "SELECT payload FROM events GROUP BY payload "
            "HAVING min(received) != max(received) OR min(host) != max(host) LIMIT 1"
        ).fetchone()
        if split is not None:  # never written so by stac-events: a hand's doing
            raise NotAReceiverDatabase(
                f"{path} cannot be brought up to date: the events of payload {split[0]} "
                f"differ in host or time received; it is left as it is"
            )
        for statement in _statements(_RENAME_VERSION_1 + _SCHEMA_2 + _COPY_VERSION_1):
            db.execute(statement)
        version = 2
    if version == 2:  # the refusals table is new: nothing to copy
        for statement in _statements(_REFUSALS):
            db.execute(statement)
        version = 3
    if version == 3:
        for statement in _statements(_RENAME_VERSION_3 + _SCHEMA_4 + _COPY_VERSION_3):
            db.execute(statement)


def _statements(script: str) -> List[str]:
    """A script's statements, to run one by one inside a transaction (`executescript`
    would commit it first)."""
    found, statement = [], ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            found.append(statement.strip())
            statement = ""
    return found


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


class StoredRefusal(NamedTuple):
    """A payload the receiver refused: when, its answer, and the start of its body."""

    id: int
    received: float
    status: int
    error: str
    reasons: List[Dict[str, str]]  # [{"path": ..., "reason": ...}], as the answer listed them
    size: int  # the body's length in bytes
    truncated: bool  # the excerpt is the first EXCERPT_BYTES of a longer body
    excerpt: str

    def to_json(self) -> str:
        """`{"id":..,"received":"<ISO-8601>","status":..,"error":..,"reasons":[..],"size":..,
        "truncated":..,"excerpt":".."}`, one line."""
        document = {**self._asdict(), "received": iso(self.received)}
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def excerpt_of(body: str, secrets: Iterable[Optional[str]]) -> Tuple[str, bool]:
    """The first EXCERPT_BYTES of `body` with every secret and `api_key=` value masked, and
    whether it was cut. Its JSON escapes are first written as `json.dumps` writes them
    (`\\/` as `/`, `\\u0026` as `&`), so that a key escaped in any way a sender's JSON
    library may choose is found. Masked before it is cut, so that no key is cut in two and
    kept in part; only as much is masked as can end up in the excerpt."""
    masker = Masker(secrets)
    room = EXCERPT_BYTES + max((len(form) for form in masker.text_forms), default=0)
    # An escape is 12 characters at most (a surrogate pair) for one of the excerpt's: so
    # much of the body is enough, and a margin leaves an escape cut at its end out of it.
    read = _ESCAPE_LONGEST * (room + 2)
    text = canonical_escapes(body[:read])
    cut_here = len(body) > read
    if cut_here:
        text = text[:room]
    masked = masker.text(text)
    cut = masked.encode("utf-8", "surrogatepass")[:EXCERPT_BYTES]
    excerpt = cut.decode("utf-8", "ignore")  # a character cut in two is left out
    return excerpt, excerpt != masked or cut_here


_ESCAPE_LONGEST = 12
_ESCAPE = re.compile(
    r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(.))",
    re.DOTALL,
)


def _canonical(match: re.Match[str]) -> str:
    high, low, single, other = match.groups()
    if high is not None:
        code = 0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00)
    elif single is not None:
        code = int(single, 16)
        if 0xD800 <= code <= 0xDFFF:  # a lone surrogate: left as it is
            return match.group(0)
    elif other == "/":
        return "/"
    else:  # `\\n`, `\\\\`, `\\"`, or not an escape at all: as it is
        return match.group(0)
    return json.dumps(chr(code), ensure_ascii=False)[1:-1]


def canonical_escapes(text: str) -> str:
    """`text` (JSON, or a part of it) with each `\\uXXXX` escape (a surrogate pair as one)
    and `\\/` written as `json.dumps(character, ensure_ascii=False)` writes it; lone
    surrogates and what is no escape are left as they are."""
    return _ESCAPE.sub(_canonical, text) if "\\" in text else text


def _lines_of(event: Dict[str, Any]) -> str:
    """The event's element_identifiers as the `identifiers` column has them."""
    context = event.get("context") or {}
    identifiers = context.get("element_identifiers") or ()
    lines = "\n".join(identifiers)
    if "\\" in lines or lines.count("\n") >= len(identifiers):  # one holds \ or a newline
        lines = "\n".join(map(_line_of, identifiers))
    return lines + "\n" if identifiers else ""


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
            version = _identify(db, path)  # before anything is written to it
            if not version:  # fewer, larger pages: a third less time to store a batch
                db.execute("PRAGMA page_size=16384")
            if not read_only:
                db.execute("PRAGMA journal_mode=WAL")
                # Committed transactions survive a crash of the process: in WAL mode a commit
                # is written to the log, which the system keeps when the process dies. Only
                # a power cut can take the last ones (the log is synced at checkpoints, not
                # at each commit), which a local stand-in can afford for the speed. OFF would
                # save only those syncs, and could leave a corrupt file after a power cut.
                db.execute("PRAGMA synchronous=NORMAL")
                # Checkpoints (the WAL copied into the database, and synced) every 40 MB
                # rather than every 4: fewer syncs in a large batch.
                db.execute("PRAGMA wal_autocheckpoint=10000")
                # Written to at once: a file that cannot be fails now, not at a request.
                db.execute("BEGIN IMMEDIATE")
                try:
                    (application,) = db.execute("PRAGMA application_id").fetchone()
                    if application == _APPLICATION_ID:  # another process may have been first
                        version = _identify(db, path)
                    if not version:
                        for statement in _statements(_SCHEMA):
                            db.execute(statement)
                        db.execute(f"PRAGMA application_id={_APPLICATION_ID}")
                    elif version < _VERSION:
                        _upgrade(db, path, version)
                    db.execute(f"PRAGMA user_version={_VERSION}")
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
                version = _VERSION
        except BaseException:
            self._db.close()
            raise
        self.version = version or _VERSION
        self._events_of = _EVENTS_OF[self.version]

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
        with self._transaction() as db:
            payload = db.execute(
                "INSERT INTO payloads (received, host, body) VALUES (?, ?, ?)",
                (received, host, body),
            ).lastrowid
            rows = [(payload, name, position, event.get("event_type"), _lines_of(event))
                    for name, event, position in events]  # fmt: skip
            db.executemany(
                "INSERT INTO events (payload, name, position, event_type, identifiers) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
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

    def events(
        self, filters: Filters = ALL, *, after: Optional[int] = None, limit: Optional[int] = None
    ) -> List[Stored]:
        """The stored events the filters pick, oldest first: read in one transaction, so
        that a `clear` beside it cannot take a payload away halfway. `after`: only those
        with a greater id (what came since the last look); `limit`: only the newest so many.
        """
        where, values = _after(filters.where(), "events.id", after)
        order, values = _newest(values, "events.id", limit)
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                rows = db.execute(
                    "SELECT events.id, received, host, name, payload, position "  # noqa: S608
                    f"FROM {self._events_of}{where}{order}",
                    values,
                ).fetchall()
                if limit is not None:
                    rows.reverse()
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

    def _number(self, query: str, values: Sequence[Any] = ()) -> int:
        """The one number `query` selects; 0 for NULL (the max of no rows)."""
        with self._lock:
            (found,) = self._db.execute(query, values).fetchone()
        return int(found or 0)

    def count(self, filters: Filters = ALL, *, after: Optional[int] = None) -> int:
        """How many stored events the filters pick (with an id above `after`)."""
        where, values = _after(filters.where(), "events.id", after)
        return self._number(f"SELECT count(*) FROM {self._events_of}{where}", values)  # noqa: S608

    def last_id(self) -> int:
        """The greatest event id stored, 0 when none. Ids only grow, and are never used
        again (in a database older than version 4, a `clear` let them start over)."""
        return self._number("SELECT max(id) FROM events")

    def clear(self, filters: Filters = ALL) -> int:
        """Delete the events the filters pick; returns how many. A clear that deleted
        something is counted (see `clears`)."""
        where, values = filters.where()
        with self._transaction() as db:
            if where:  # the filters may name columns of the payload's
                where = f" WHERE id IN (SELECT events.id FROM {self._events_of}{where})"  # noqa: S608
            deleted = db.execute(f"DELETE FROM events{where}", values).rowcount  # noqa: S608
            db.execute("DELETE FROM payloads WHERE id NOT IN (SELECT payload FROM events)")
            if deleted:
                self._count_clear(db)
        return int(deleted)

    def _count_clear(self, db: sqlite3.Connection) -> None:
        if self.version >= 4:
            db.execute("UPDATE clears SET count = count + 1")

    def clears(self) -> int:
        """How many clears (of events or refusals) deleted something, since the database
        was made: a reader that sees it change knows that what it saw may be gone. 0 in a
        database older than version 4."""
        if self.version < 4:
            return 0
        return self._number("SELECT count FROM clears")

    def add_refusal(
        self,
        *,
        received: float,
        status: int,
        error: str,
        reasons: List[Reason],
        body: str,
        secrets: Iterable[Optional[str]] = (),
    ) -> int:
        """Keep a refused payload: its answer, and an excerpt of `body` in which `secrets`
        (the keys it came with) and any `api_key=` value are masked; returns its id."""
        masker = Masker(secrets)
        excerpt, truncated = excerpt_of(body, secrets)
        listed = [{"path": masker.text(r.path), "reason": masker.text(r.reason)} for r in reasons]
        with self._transaction() as db:
            number = db.execute(
                "INSERT INTO refusals (received, status, error, reasons, size, truncated, "
                "excerpt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (received, status, masker.text(error), json.dumps(listed, ensure_ascii=False),
                 len(body.encode("utf-8", "surrogatepass")), int(truncated), excerpt),
            ).lastrowid  # fmt: skip
        return int(number or 0)

    def refusals(
        self,
        *,
        since: Optional[float] = None,
        after: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> List[StoredRefusal]:
        """The refused payloads kept, oldest first (received `since`, with an id above
        `after`, the newest `limit`); none in a database older than version 3."""
        if self.version < 3:
            return []
        where, values = _after(_since(since), "id", after)
        order, values = _newest(values, "id", limit)
        with self._lock:
            rows = self._db.execute(
                "SELECT id, received, status, error, reasons, size, truncated, excerpt "  # noqa: S608
                f"FROM refusals{where}{order}",
                values,
            ).fetchall()
        if limit is not None:
            rows.reverse()
        return [StoredRefusal(number, received, status, error, json.loads(reasons), size,
                              bool(truncated), excerpt)
                for number, received, status, error, reasons, size, truncated, excerpt
                in rows]  # fmt: skip

    def count_refusals(self, *, since: Optional[float] = None, after: Optional[int] = None) -> int:
        """How many refused payloads are kept (received `since`, with an id above `after`)."""
        if self.version < 3:
            return 0
        where, values = _after(_since(since), "id", after)
        return self._number(f"SELECT count(*) FROM refusals{where}", values)  # noqa: S608

    def last_refusal_id(self) -> int:
        """The greatest refusal id kept, 0 when none (as `last_id` for events)."""
        if self.version < 3:
            return 0
        return self._number("SELECT max(id) FROM refusals")

    def clear_refusals(self, *, since: Optional[float] = None) -> int:
        """Delete the refused payloads kept (received `since`); returns how many."""
        if self.version < 3:
            return 0
        where, values = _since(since)
        with self._transaction() as db:
            deleted = db.execute(f"DELETE FROM refusals{where}", values).rowcount  # noqa: S608
            if deleted:
                self._count_clear(db)
        return int(deleted)


def _since(since: Optional[float]) -> Tuple[str, List[Any]]:
    return (" WHERE received >= ?", [since]) if since is not None else ("", [])


def _newest(values: List[Any], column: str, limit: Optional[int]) -> Tuple[str, List[Any]]:
    """An ORDER BY clause, oldest first; with `limit`, the newest that many, newest first
    (the caller turns them round), and the values with the limit added."""
    if limit is None:
        return f" ORDER BY {column}", values
    return f" ORDER BY {column} DESC LIMIT ?", [*values, limit]


def _after(
    where: Tuple[str, List[Any]], column: str, after: Optional[int]
) -> Tuple[str, List[Any]]:
    """A WHERE clause with `column > after` added, when `after` is given."""
    clause, values = where
    if after is None:
        return clause, values
    joined = f"{clause} AND " if clause else " WHERE "
    return f"{joined}{column} > ?", [*values, after]
