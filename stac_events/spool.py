"""A folder of payloads that could not be delivered yet, delivered later oldest first.

Layout under the user state dir (`~/.local/state/stac-events/spool` on Linux):

    pending/   payloads waiting, named `<time ns>-<pid>-<random>.payload` so names sort by age
    rejected/  payloads the receiver refused (4xx): kept for a person to look at
    tmp/       files being written; renamed into pending/ when complete

A file is one JSON header line (address without the key, event count, encoding, time)
followed by the exact body bytes. Writes are atomic (temporary file, then rename), so a
crash or Ctrl-C never leaves a half-written payload in pending/. A flusher claims a file
by renaming it to `<name>.<pid>.claimed`: a rename succeeds for one process only, so
concurrent flushes deliver every payload once, with no lock daemon.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional

SUFFIX = ".payload"
CLAIM = ".claimed"
STALE_CLAIM_S = 600  # where liveness cannot be probed, a claim this old is abandoned
STALE_TMP_S = 3600


class Entry(NamedTuple):
    """One queued payload, as `spool list` shows it."""

    id: str
    state: str  # "pending", "claimed" or "rejected"
    address: str
    events: int
    created: float
    size: int
    reason: Optional[str] = None

    def as_dict(self, now: float) -> Dict[str, Any]:
        found = {
            "id": self.id,
            "state": self.state,
            "address": self.address,
            "events": self.events,
            "age_s": max(0, int(now - self.created)),
            "bytes": self.size,
        }
        if self.reason:
            found["reason"] = self.reason
        return found


class Claimed:
    """A payload this process has claimed; exactly one of the three ends must follow."""

    def __init__(self, spool: Spool, path: Path, name: str, header: Dict[str, Any]) -> None:
        self.spool, self.path, self.name, self.header = spool, path, name, header

    @property
    def address(self) -> str:
        return str(self.header.get("address", ""))

    @property
    def events(self) -> int:
        return int(self.header.get("events", 0))

    @property
    def encoding(self) -> Optional[str]:
        return self.header.get("encoding")

    def body(self) -> bytes:
        with self.path.open("rb") as stream:
            stream.readline()
            return stream.read()

    def delivered(self) -> None:
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        """Back to the queue, in its old place: it keeps its name, so its age."""
        os.replace(self.path, self.spool.pending / self.name)

    def reject(self, reason: str) -> None:
        """Out of the queue, kept in rejected/ with the receiver's answer."""
        self.spool.rejected.mkdir(parents=True, exist_ok=True)
        header = {**self.header, "reason": reason}
        self.spool.write_atomic(self.spool.rejected / self.name, header, self.body())
        self.path.unlink(missing_ok=True)


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.pending = root / "pending"
        self.rejected = root / "rejected"
        self.tmp = root / "tmp"

    def put(self, body: bytes, *, address: str, events: int, encoding: Optional[str]) -> str:
        """Queue a payload; returns its id. `address` must not hold the key."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        header = {"address": address, "events": events, "encoding": encoding,
                  "created": time.time()}  # fmt: skip
        self.write_atomic(self.pending / name, header, body)
        return name[: -len(SUFFIX)]

    def write_atomic(self, path: Path, header: Dict[str, Any], body: bytes) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.tmp / f"{path.name}.{os.getpid()}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as stream:
                stream.write(json.dumps(header).encode() + b"\n")
                stream.write(body)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)  # after a failure or Ctrl-C: no half file

    def claim(self) -> Iterator[Claimed]:
        """Claim pending payloads one at a time, oldest first, skipping others' claims."""
        self._recover_stale()
        for path in sorted(self.pending.glob(f"*{SUFFIX}")):
            claimed = path.with_name(f"{path.name}.{os.getpid()}{CLAIM}")
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another process claimed it first
            os.utime(claimed)  # the claim's age, for the rule in _claimant_alive
            try:
                header = _read_header(claimed)
            except (OSError, ValueError):
                header = {"address": "", "events": 0}
            yield Claimed(self, claimed, path.name, header)

    def entries(self) -> List[Entry]:
        found = []
        for state, folder, pattern in (
            ("pending", self.pending, f"*{SUFFIX}"),
            ("claimed", self.pending, f"*{CLAIM}"),
            ("rejected", self.rejected, f"*{SUFFIX}"),
        ):
            for path in sorted(folder.glob(pattern)):
                try:
                    header = _read_header(path)
                    size = path.stat().st_size
                except (OSError, ValueError):
                    continue  # gone meanwhile, or not ours
                found.append(
                    Entry(
                        id=path.name.split(SUFFIX, 1)[0],
                        state=state,
                        address=str(header.get("address", "")),
                        events=int(header.get("events", 0)),
                        created=float(header.get("created", 0)),
                        size=size,
                        reason=header.get("reason"),
                    )
                )
        return found

    def waiting(self) -> int:
        """How many payloads still wait to be delivered (refused ones do not)."""
        return sum(1 for entry in self.entries() if entry.state != "rejected")

    def clear(self) -> int:
        """Delete every queued and rejected payload; returns how many."""
        removed = 0
        for folder in (self.pending, self.rejected):
            for path in folder.glob(f"*{SUFFIX}"):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _recover_stale(self) -> None:
        """Give back claims of processes that died mid-flush, and drop abandoned temp files."""
        now = time.time()
        for path in self.pending.glob(f"*{CLAIM}"):
            name, _, pid = path.name[: -len(CLAIM)].rpartition(".")
            try:
                age = now - path.stat().st_mtime
            except OSError:
                continue
            if not _claimant_alive(pid, age):
                try:
                    os.rename(path, self.pending / name)
                except OSError:
                    continue
        for path in self.tmp.glob("*.tmp"):
            try:
                if now - path.stat().st_mtime > STALE_TMP_S:
                    path.unlink()
            except OSError:
                continue


def _read_header(path: Path) -> Dict[str, Any]:
    with path.open("rb") as stream:
        header = json.loads(stream.readline())
    if not isinstance(header, dict):
        raise ValueError("not a spool file")
    return header


def _claimant_alive(pid: str, age: float) -> bool:
    if not pid.isdigit():
        return False
    if os.name != "posix":  # no harmless liveness probe there: trust the claim's age
        return age < STALE_CLAIM_S
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, or cannot tell: leave it to the age rule
    return True
