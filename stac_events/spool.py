"""A folder of payloads that could not be delivered yet, delivered later oldest first.

Layout under the user state dir (`~/.local/state/stac-events/spool` on Linux), every
folder mode 0700 whatever the umask:

    pending/   payloads waiting, named `<time ns>-<pid>-<random>.payload` so names sort by age
    rejected/  payloads the receiver refused (400, 422, 413 of one event), with its answer
    failed/    payloads the receiver failed on (5xx) in 5 runs while it took the ones after
    corrupt/   files whose header cannot be read: kept as they were, for a person to look at
    tmp/       files being written; renamed into place when complete

A file is one JSON header line (address without the key, event count, encoding, time,
how often it was passed over) followed by the exact body bytes. Files move between the
folders by atomic renames, and a file is deleted only after the receiver said yes, so a
crash or a signal never loses one nor leaves half of one. A flusher claims a file by
renaming it to `<name>.<pid>.claimed`: a rename succeeds for one process only, so
concurrent flushes deliver every payload once, with no lock daemon. A claim whose process
died, or that is older than `STALE_CLAIM_S` whatever its PID now belongs to, is taken over.

Nothing in it is trusted blindly, as ssh trusts nothing in `~/.ssh` that others could
change: a folder of the spool that belongs to another user, or that others may write to,
makes it unusable (`Spool.trusted`: a configuration error); a file that belongs to another
user, that others may write to, that cannot be read or that is larger than any request is
set aside to corrupt/ on the way, so that the payloads behind it still flow.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Any, Dict, Generator, List, NamedTuple, Optional, Sequence, Tuple, TypeGuard

from stac_events.environment import make_private_folders
from stac_events.errors import ConfigError
from stac_events.parse import LARGEST_REQUEST_BYTES
from stac_events.redact import redact

SUFFIX = ".payload"
CLAIM = ".claimed"
# A live flusher holds a claim for one payload's delivery, which --max-time bounds (60 s
# by default); a claim this old is abandoned even when its PID was reused by another process.
STALE_CLAIM_S = 600
STALE_TMP_S = 3600
LARGEST_PID = 2**31 - 1  # a pid_t's; Linux gives at most 2**22
PASSED_OVER_LIMIT = 5  # runs in which a payload failed while the one after it got through
ASIDE = ("rejected", "failed", "corrupt")  # states out of the queue, kept for a person
ENCODINGS = (None, "gzip")
HEADER_BYTES = 64 * 1024  # the most a header line may take; ours take about 200 bytes


class Corrupt(ValueError):
    """A spool file whose header cannot be read."""


class Header(NamedTuple):
    """What a spool file says about its payload."""

    address: str
    events: int
    encoding: Optional[str]
    created: float
    passed_over: int = 0
    reason: Optional[str] = None

    def as_json(self) -> bytes:
        found = {"address": self.address, "events": self.events, "encoding": self.encoding,
                 "created": self.created, "passed_over": self.passed_over}  # fmt: skip
        if self.reason:
            found["reason"] = self.reason
        return json.dumps(found).encode() + b"\n"

    @classmethod
    def parse(cls, line: bytes) -> Header:
        """The header of a spool file; `Corrupt` for anything but the one this module writes."""
        try:
            found = json.loads(line)
        except (ValueError, RecursionError):
            raise Corrupt("its header is not JSON") from None
        if not isinstance(found, dict):
            raise Corrupt("its header is not a JSON object")
        address, events = found.get("address"), found.get("events")
        encoding, created = found.get("encoding"), found.get("created")
        passed_over, reason = found.get("passed_over", 0), found.get("reason")
        if not isinstance(address, str) or not address:
            raise Corrupt("its header has no address")
        if not _count(events) or events < 1:
            raise Corrupt("its header has no event count")
        if encoding not in ENCODINGS:
            raise Corrupt("its header names an unknown encoding")
        if not _number(created):
            raise Corrupt("its header has no creation time")
        if not _count(passed_over):
            raise Corrupt("its header has a bad passed_over count")
        if reason is not None and not isinstance(reason, str):
            raise Corrupt("its header has a bad reason")
        return cls(address, events, encoding, float(created), passed_over, reason)


class Entry(NamedTuple):
    """One spool file, as `spool list` shows it."""

    id: str
    state: str  # "pending", "claimed", or one of ASIDE
    address: str
    events: int
    created: float
    size: Optional[int]  # None when it cannot be looked at
    passed_over: int = 0
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
        if self.passed_over:
            found["passed_over"] = self.passed_over
        if self.reason:
            found["reason"] = self.reason
        return found


class Claimed:
    """A payload this process has claimed; one of the ends below must follow.

    Every end may raise `OSError` (a full or read-only disk): the file then stays claimed,
    and is taken over as stale later, so it is sent again rather than lost.
    """

    def __init__(self, spool: Spool, path: Path, name: str, header: Header) -> None:
        self.spool, self.path, self.name, self.header = spool, path, name, header

    @property
    def id(self) -> str:
        return self.name[: -len(SUFFIX)]

    def body(self) -> bytes:
        """The payload; `Corrupt` when it is larger than any request."""
        return _body(self.path)

    def delivered(self) -> None:
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        """Back to the queue, in its old place: it keeps its name, so its age."""
        _rename_if_there(self.path, self.spool.pending / self.name)

    def passed_over(self) -> str:
        """Back to the queue, one more pass-over counted; to failed/ at the limit.
        Returns the state it is now in."""
        header = self.header._replace(passed_over=self.header.passed_over + 1)
        if header.passed_over >= PASSED_OVER_LIMIT:
            last = self.header.reason or "a 5xx"
            self.set_aside("failed", f"failed in {header.passed_over} runs while later "
                                     f"payloads got through; last: {last}")  # fmt: skip
            return "failed"
        self.spool.write_atomic(self.spool.pending / self.name, header, self.body())
        self.path.unlink(missing_ok=True)
        return "pending"

    def set_corrupt(self, reason: str) -> None:
        """Out of the queue to corrupt/: its payload cannot be sent as it stands."""
        self.spool._set_corrupt(self.path, self.name, reason)

    def note(self, reason: str) -> None:
        """Remember the latest failure, for `spool list` and a later move to failed/."""
        self.header = self.header._replace(reason=reason)

    def set_aside(self, state: str, reason: str) -> None:
        """Out of the queue, kept in `state`/ (rejected/ or failed/) with the reason."""
        header = self.header._replace(reason=reason)
        self.spool.write_atomic(self.spool.folder(state) / self.name, header, self.body())
        self.path.unlink(missing_ok=True)

    def split(self, halves: Sequence[Tuple[bytes, int]]) -> List[Claimed]:
        """Replace this payload by smaller ones in its place in the queue, claimed by us.

        The halves are written before this one is removed: a crash in between sends some
        events twice, never none.
        """
        stem = self.id
        claimed = []
        for number, (body, events) in enumerate(halves, 1):
            name = f"{stem}-{number}{SUFFIX}"
            path = self.spool.pending / f"{name}.{os.getpid()}{CLAIM}"
            header = self.header._replace(events=events, passed_over=0, reason=None)
            self.spool.write_atomic(path, header, body)
            claimed.append(Claimed(self.spool, path, name, header))
        self.path.unlink(missing_ok=True)
        return claimed


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.pending = root / "pending"
        self.tmp = root / "tmp"
        self.corrupted = 0  # files this process set aside to corrupt/
        self.unclaimable: List[OSError] = []  # why files could not be claimed: left as they are

    @classmethod
    def trusted(cls, root: Path) -> Spool:
        """The spool at `root`, once its folders are known to be this user's alone; else a
        `ConfigError` naming the folder and its owner (another user could add payloads to
        it, to be sent with this user's key, or remove this user's)."""
        for folder in (root.parent, root, *(root / state for state in ("pending", "tmp", *ASIDE))):
            problem = _untrusted(folder)
            if problem is not None:
                raise ConfigError(
                    f"the spool folder {folder} {problem}: another user could add payloads "
                    f"to it, to be sent with your key, or remove yours",
                    hint=f"make it yours alone (chown -R {_user(os.geteuid(), named=True)} "
                    f"{root.parent}; chmod -R go-w {root.parent}), or send with --no-spool",
                )
        return cls(root)

    def folder(self, state: str) -> Path:
        return self.pending if state in ("pending", "claimed") else self.root / state

    @property
    def rejected(self) -> Path:
        return self.folder("rejected")

    def put(
        self, body: bytes, *, address: str, events: int, encoding: Optional[str],
        passed_over: int = 0,
    ) -> str:  # fmt: skip
        """Queue a payload; returns its id. `address` must not hold the key.

        Raises `OSError` when it cannot be written (a full or read-only disk): then
        nothing of it is left behind.
        """
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        header = Header(address, events, encoding, time.time(), passed_over)
        self.write_atomic(self.pending / name, header, body)
        return name[: -len(SUFFIX)]

    def write_atomic(self, path: Path, header: Header, body: bytes) -> None:
        make_private_folders(self.tmp)
        make_private_folders(path.parent)
        temporary = self.tmp / f"{path.name}.{os.getpid()}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as stream:
                stream.write(header.as_json())
                stream.write(body)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)  # after a failure or a signal: no half file

    def claim(self) -> Generator[Claimed, None, None]:
        """Claim pending payloads one at a time, oldest first, skipping others' claims.

        Unreadable files go to corrupt/ on the way; one that cannot be claimed (renamed: an
        immutable file, a read-only disk) is passed over, with why in `unclaimable`. Raises
        `OSError` when the queue cannot be read.
        """
        self._recover_stale()
        for path in _listed(self.pending, SUFFIX):
            found = self._claim(path)
            if found is not None:
                yield found

    def claim_newest(self) -> Optional[Claimed]:
        """Claim the newest pending payload that can be read, if any (an unreadable one is
        set aside on the way); `OSError` as `claim` raises it."""
        for path in reversed(_listed(self.pending, SUFFIX)):
            found = self._claim(path)
            if found is not None:
                return found
        return None

    def _claim(self, path: Path) -> Optional[Claimed]:
        """Claim one pending file by renaming it; None when another process took it first,
        when it cannot be renamed (in `unclaimable`) or read (set aside to corrupt/)."""
        claimed = path.with_name(f"{path.name}.{os.getpid()}{CLAIM}")
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            return None  # another process claimed it first
        except OSError as error:
            self.unclaimable.append(error)
            return None
        try:
            header = _read_header(claimed)
            os.utime(claimed, follow_symlinks=False)  # the claim's age, for the stale rule
        except Corrupt as why:
            self._set_corrupt(claimed, path.name, str(why))
            return None
        except FileNotFoundError:
            return None  # taken over meanwhile
        except OSError:
            _rename_if_there(claimed, path)
            raise
        return Claimed(self, claimed, path.name, header)

    def entries(self) -> List[Entry]:
        """Every file in the spool: pending and claimed ones oldest first, then those set
        aside. Raises `OSError` when a folder cannot be read."""
        found = []
        listing = [("pending", self.pending, SUFFIX), ("claimed", self.pending, CLAIM)]
        listing += [(state, self.folder(state), SUFFIX) for state in ASIDE]
        for state, folder, suffix in listing:
            for path in _listed(folder, suffix):
                size: Optional[int] = None  # unknown when the file cannot even be looked at
                try:
                    size = path.lstat().st_size
                    header = _read_header(path)
                except FileNotFoundError:
                    continue  # delivered or moved meanwhile
                except (OSError, Corrupt) as why:
                    reason = str(why) if isinstance(why, Corrupt) else why.strerror
                    header = Header("", 0, None, _mtime(path), reason=reason)
                    state_shown = "corrupt"
                else:
                    state_shown = state
                found.append(
                    Entry(
                        id=id_of(path),
                        state=state_shown,
                        address=redact(header.address),  # one written before it was masked
                        events=header.events,
                        created=header.created,
                        size=size,
                        passed_over=header.passed_over,
                        reason=header.reason,
                    )
                )
        return found

    def waiting(self) -> int:
        """How many payloads still wait to be delivered (those set aside do not)."""
        try:
            return sum(1 for entry in self.entries() if entry.state in ("pending", "claimed"))
        except OSError:
            return 0

    def find(self, prefix: str) -> List[Tuple[str, Path]]:
        """The files (state, path) whose id starts with `prefix`; claimed ones included,
        as "stale" when their claimant is gone."""
        found = []
        now = time.time()
        for state in ("pending", *ASIDE):
            for path in _listed(self.folder(state), ""):
                if not path.name.startswith(prefix):
                    continue
                if path.name.endswith(SUFFIX):
                    found.append((state, path))
                elif path.name.endswith(CLAIM) and state == "pending":
                    found.append(("stale" if _stale(path, now) else "claimed", path))
        return found

    def retry(self, path: Path) -> None:
        """Put a payload set aside back at its place in the queue; `Corrupt` when it still
        cannot be read."""
        header = _read_header(path)._replace(passed_over=0, reason=None)
        self.write_atomic(self.pending / path.name, header, _body(path))
        path.unlink(missing_ok=True)

    def clear(self) -> Tuple[int, int]:
        """Delete every payload, queued or set aside, but those being delivered right now;
        returns how many were deleted, and how many are being delivered."""
        self._recover_stale()
        removed = 0
        for state in ("pending", *ASIDE):
            for path in _listed(self.folder(state), SUFFIX):
                if path.is_dir() and not path.is_symlink():
                    continue  # not a payload; `spool list` shows it as corrupt
                path.unlink(missing_ok=True)
                removed += 1
        return removed, len(_listed(self.pending, CLAIM))

    def _set_corrupt(self, path: Path, name: str, reason: str) -> None:
        """Out of the queue as it is (it may not even be ours to read): `spool list` reads
        the reason again from the file itself."""
        try:
            make_private_folders(self.folder("corrupt"))
            os.replace(path, self.folder("corrupt") / name)
        except OSError:
            _rename_if_there(path, self.pending / name)  # left for `spool list` to show
            return
        self.corrupted += 1

    def release_own_claims(self) -> None:
        """Give back every claim this process still holds: one a signal interrupted between
        its rename and its hand-over is no one's to give back otherwise, and would wait
        until another run judged it stale."""
        own = f".{os.getpid()}{CLAIM}"
        for path in _listed(self.pending, own):
            _rename_if_there(path, self.pending / path.name[: -len(own)])

    def _recover_stale(self) -> None:
        """Give back claims of processes that died or hung mid-flush; drop old temp files."""
        now = time.time()
        for path in _listed(self.pending, CLAIM):
            if _stale(path, now):
                name = path.name[: -len(CLAIM)].rpartition(".")[0]
                _rename_if_there(path, self.pending / name)
        for path in _listed(self.tmp, ".tmp"):
            try:
                if now - path.stat().st_mtime > STALE_TMP_S:
                    path.unlink()
            except OSError:
                continue


def _listed(folder: Path, suffix: str) -> List[Path]:
    """The files of `folder` whose names end in `suffix`, sorted (so oldest first); none
    when the folder does not exist. Raises `OSError` when it cannot be read: an unreadable
    queue must not look empty."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return [folder / name for name in sorted(names) if name.endswith(suffix)]


def _rename_if_there(source: Path, destination: Path) -> None:
    with contextlib.suppress(FileNotFoundError):  # taken over as stale: another process owns it
        os.replace(source, destination)


def _read_header(path: Path) -> Header:
    """The header of a spool file; `FileNotFoundError` when it is gone, and `Corrupt` for
    anything but a regular file of this user's that others cannot write to, that can be
    read, is no larger than a request and starts with a header of ours. A symbolic link,
    a folder or a FIFO (which would block the reader) is never opened."""
    try:
        status = os.lstat(path)
        if stat.S_ISLNK(status.st_mode):
            raise Corrupt("it is a symbolic link")
        if not stat.S_ISREG(status.st_mode):
            raise Corrupt("it is not a regular file")
        problem = _not_ours(status)
        if problem is not None:
            raise Corrupt(f"it {problem}")
        if status.st_size > HEADER_BYTES + LARGEST_REQUEST_BYTES:
            raise Corrupt(f"it is larger than any request ({status.st_size} bytes)")
        # no link, no FIFO: what was looked at is what is read
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        try:
            line = os.read(fd, HEADER_BYTES).partition(b"\n")[0]
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise Corrupt(f"it cannot be read: {error.strerror or error}") from None
    return Header.parse(line)


def _body(path: Path) -> bytes:
    """The payload of a spool file: what follows its header line, at most a request."""
    with path.open("rb") as stream:
        stream.readline(HEADER_BYTES)
        body = stream.read(LARGEST_REQUEST_BYTES + 1)
    if len(body) > LARGEST_REQUEST_BYTES:
        raise Corrupt(f"its payload is larger than any request ({LARGEST_REQUEST_BYTES} bytes)")
    return body


def _untrusted(folder: Path) -> Optional[str]:
    """What makes a folder of the spool unsafe to use; None when it is safe, or is no
    folder at all (one that is missing is made, a file where it should be is told of
    where it is used)."""
    try:
        status = folder.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(status.st_mode):
        return None
    return _not_ours(status)


def _not_ours(status: os.stat_result) -> Optional[str]:
    """Why a spool file or folder may have been changed by another user; None when only
    this user (or root) could have. POSIX only: elsewhere nothing is told."""
    if not hasattr(os, "geteuid"):
        return None
    if status.st_uid != os.geteuid():
        return (f"belongs to {_user(status.st_uid)}, not to you "
                f"({_user(os.geteuid())})")  # fmt: skip
    if status.st_mode & 0o022:
        return f"is writable by others (mode {stat.S_IMODE(status.st_mode):04o})"
    return None


def _user(uid: int, *, named: bool = False) -> str:
    """A user as a person knows them: `nobody (uid 65534)`; `named`: the name alone."""
    try:
        import pwd

        name = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid) if named else f"uid {uid}"
    return name if named else f"{name} (uid {uid})"


def id_of(path: Path) -> str:
    """A spool file's id, as `spool list` shows it, whatever its state or claim."""
    return path.name.split(SUFFIX, 1)[0]


def _stale(claim: Path, now: float) -> bool:
    """Whether a claim was abandoned: its process is gone, or it is too old to be live."""
    pid = claim.name[: -len(CLAIM)].rpartition(".")[2]
    try:
        age = now - claim.lstat().st_mtime
    except OSError:
        return False
    return age > STALE_CLAIM_S or not _claimant_alive(pid)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _claimant_alive(pid: str) -> bool:
    """Whether the process a claim names may still hold it. A suffix that is no PID (not
    ASCII digits, as `²` is not; 0; or more than a pid_t holds, which `os.kill` cannot
    even ask about) was never a process's: its claim is taken over at once."""
    if not (pid.isascii() and pid.isdigit()) or not 0 < int(pid) <= LARGEST_PID:
        return False
    if int(pid) == os.getpid():
        # Not a claim of this flush, which has made none yet: one left by an earlier
        # process with the same PID, as every command run as PID 1 in a container has.
        return False
    if os.name != "posix":  # no harmless liveness probe there: the age rule alone decides
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, or cannot tell: leave it to the age rule
    return True
