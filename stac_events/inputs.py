"""Reading what a user names as input (a file, a FIFO, a device, stdin) so that nothing
waits or reads without bound: a FIFO no program writes to is not waited for forever, and
/dev/zero is not read to its end."""

from __future__ import annotations

import codecs
import errno
import io
import os
import stat
from typing import IO, Any, BinaryIO, Dict, Iterable, Optional

from stac_events.environment import expand_user
from stac_events.parse import (
    LARGEST_REQUEST_BYTES,
    InvalidValue,
    check_json_value,
    json_object,
    short_reason,
)

# How long a FIFO named as an input waits for a program to open it for writing: with none,
# reading it would wait forever (as `cat` does), which no script would notice.
FIFO_WAIT_S = 10.0


def open_input(path: str) -> BinaryIO:
    """`path` opened to read its bytes; a FIFO waits at most FIFO_WAIT_S for a writer.

    Every failure is an `OSError` whose `strerror` says why, a directory's too.
    """
    # Non-blocking, so that opening a FIFO does not wait for its writer unbounded
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        taken = b""
        if _NONBLOCK:  # POSIX; Windows has no FIFOs to wait for
            taken = _wait_for_writer(fd) if stat.S_ISFIFO(mode) else b""
            os.set_blocking(fd, True)
        raw = io.FileIO(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return io.BufferedReader(_Prefixed(taken, raw) if taken else raw)


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _wait_for_writer(fd: int) -> bytes:
    """Wait until a program opened the FIFO `fd` for writing; the byte that telling so
    took from it, if any."""
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    # Woken by bytes, or by a writer that came and went; one that holds the FIFO open
    # without writing wakes no one, and is found below
    if poller.poll(FIFO_WAIT_S * 1000):
        return b""
    try:
        taken = os.read(fd, 1)  # with no writer at all, reading says "end of file" at once
    except BlockingIOError:
        return b""  # a writer holds it open, and has written nothing yet
    if not taken:
        raise OSError(errno.ETIMEDOUT, f"it is a FIFO that no program opened for writing "
                                       f"within {FIFO_WAIT_S:g} s")  # fmt: skip
    return taken  # written between the two looks


class _Prefixed(io.RawIOBase):
    """Bytes already taken from a stream, then the rest of it."""

    def __init__(self, taken: bytes, rest: io.FileIO) -> None:
        super().__init__()
        self._taken = taken
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, into: Any) -> Optional[int]:
        if not self._taken:
            return self._rest.readinto(into)
        size = min(len(into), len(self._taken))
        into[:size] = self._taken[:size]
        self._taken = self._taken[size:]
        return size

    def close(self) -> None:
        self._rest.close()
        super().close()


_READ_CHUNK = 1 << 16


def read_bounded_text(source: IO[bytes], what: str, limit: int = LARGEST_REQUEST_BYTES) -> str:
    """All of `source` as UTF-8 text, when it holds at most `limit` bytes; no more is read
    (a device such as /dev/zero never ends). `UnicodeDecodeError` at the first byte that is
    not UTF-8, so that random bytes stop it at once."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts = []
    size = 0
    while True:
        chunk = source.read(_READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise InvalidValue(f"{what} holds more than {_mib(limit)}, more than any request "
                               f"can carry")  # fmt: skip
        parts.append(decoder.decode(chunk))
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB" if size >= 2**20 else f"{size} bytes"


def read_text_file(path: str, what: str) -> str:
    """Read a file named after `@`, at most LARGEST_REQUEST_BYTES of it, turning OS errors
    into `InvalidValue`."""
    if not path.strip():
        raise InvalidValue(f"no {what} file is named after '@'; e.g. @{what}.txt")
    try:
        with open_input(str(expand_user(path))) as source:
            return read_bounded_text(source, f"{what} file {path!r}")
    except UnicodeDecodeError:
        raise InvalidValue(f"cannot read {what} file {path!r}: not UTF-8 text") from None
    except InvalidValue:
        raise
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        reason = getattr(error, "strerror", None) or short_reason(error)
        raise InvalidValue(f"cannot read {what} file {path!r}: {reason}") from None


def parse_data_item(text: str) -> Dict[str, Any]:
    """One `--data` value: a JSON object, `@PATH` to a JSON object, or `KEY=VALUE`."""
    stripped = text.strip()
    if stripped.startswith("@"):
        path = stripped[1:]
        return json_object(read_text_file(path, "data"), f"data file {path!r}")
    if stripped.startswith(("{", "[")) or stripped in ("null", "true", "false"):
        return json_object(stripped, "the value")
    key, separator, value = text.partition("=")
    if not separator:
        raise InvalidValue(
            f"{text!r} is neither a JSON object, KEY=VALUE nor @PATH; "
            f'e.g. -d version=1.2 or -d \'{{"version": "1.2"}}\''
        )
    if not key.strip():
        raise InvalidValue(f"{text!r} has no key before '='; write KEY=VALUE")
    return check_json_value({key.strip(): value})


def parse_data(items: Iterable[str]) -> Optional[Dict[str, Any]]:
    """Merge every `--data` value, later keys winning; None when none was given."""
    merged: Optional[Dict[str, Any]] = None
    for item in items:
        merged = {**(merged or {}), **parse_data_item(item)}
    return merged
