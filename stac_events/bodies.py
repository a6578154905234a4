"""Request bodies: common JSON objects packed from events already serialized, and their
compression. Free of pydantic, so that sending a body (and the spool) imports no models."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

Payload = Tuple[bytes, int]  # a request body, and how many events it holds


class Packer:
    """Writes common JSON objects from serialized events, each at most `max_bytes`."""

    def __init__(
        self,
        *,
        hostname: str,
        collection_timestamp: int,
        max_bytes: int,
        mask: Optional[Callable[[bytes], bytes]] = None,
    ) -> None:
        head = {"collection_timestamp": collection_timestamp, "internalHostname": hostname}
        start = json.dumps(head, separators=(",", ":")).encode()
        if mask is not None:
            start = mask(start)
        self.prefix = start[:-1] + b',"events":{'
        self.suffix = b'},"metrics":[],"service_checks":[],"topologies":[],"health":[]}'
        self.max_bytes = max_bytes
        self._groups: Dict[bytes, List[bytes]] = {}
        self._size = 0
        self.events_in_body = 0

    def smallest_body(self, key: bytes, event: bytes) -> int:
        """The size of a body holding only this event."""
        return len(self.prefix) + len(self.suffix) + len(key) + 3 + len(event)

    def add(self, key: bytes, event: bytes) -> Optional[Payload]:
        """Add one event (`key` is its JSON-quoted name); returns a full body when one is."""
        done = self.add_run(key, event, [len(event)])
        return done[0] if done else None

    def add_run(self, key: bytes, data: bytes, sizes: Sequence[int]) -> List[Payload]:
        """Add events filed under one name (`data`: serialized, joined by commas, each
        `sizes[i]` long); returns the bodies they fill, cut where adding them one by one
        would cut them."""
        done = []
        groups = self._groups
        room = self.max_bytes - self._base()
        first = position = 0  # where this run's events in the body being filled begin
        pending = 0  # how many of them there are
        for size in sizes:
            # after a comma; or the first of its name: `"key":[...]`, after a comma or not
            grown = size + 1 if pending or key in groups else size + len(key) + 3 + bool(groups)
            if (groups or pending) and self._size + grown > room:
                if pending:
                    groups.setdefault(key, []).append(data[first : position - 1])
                done.append(self._finished())
                groups = self._groups
                first, pending, grown = position, 0, size + len(key) + 3
            self._size += grown
            self.events_in_body += 1
            pending += 1
            position += size + 1
        if pending:
            groups.setdefault(key, []).append(data[first : position - 1])
        return done

    def finish(self) -> Optional[Payload]:
        """The last body, or None when nothing is left."""
        return self._finished() if self._groups else None

    def _finished(self) -> Payload:
        body = (self.body(self._groups), self.events_in_body)
        self._groups, self._size, self.events_in_body = {}, 0, 0
        return body

    def body(self, groups: Dict[bytes, List[bytes]]) -> bytes:
        """A body of these events (by key, each list's items one event or several joined
        by commas)."""
        inner = b",".join(key + b":[" + b",".join(events) + b"]" for key, events in groups.items())
        return self.prefix + inner + self.suffix

    def _base(self) -> int:
        return len(self.prefix) + len(self.suffix)


# Level 1: measured on 100,000 events in 46 bodies of 1 MiB, it costs 1.0 us an event for
# 6.7% of the raw size, where level 6 (zlib's default) costs 2.7 us for 5.6%; level 6's
# smaller bodies win its time back in the transfer only below ~26 Mbit/s.
GZIP_LEVEL = 1


def gzip_body(body: bytes) -> bytes:
    """`body` compressed for `Content-Encoding: gzip`."""
    import gzip

    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def split(body: bytes) -> Optional[Tuple[Payload, Payload]]:
    """The body's events in two bodies of half each, for a receiver that found it too
    large; None when it holds fewer than two (or is not a common object)."""
    try:
        document = json.loads(body)
        pairs = [(name, event) for name, group in document["events"].items() for event in group]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    if len(pairs) < 2:
        return None
    middle = len(pairs) // 2

    def rebuilt(part: List[Tuple[str, Any]], first: bool) -> Payload:
        groups: Dict[str, List[Any]] = {}
        for name, event in part:
            groups.setdefault(name, []).append(event)
        # metrics, topologies and the like go with the first half only: never twice
        fields = {key: groups if key == "events" else value if first or not isinstance(value, list)
                  else [] for key, value in document.items()}  # fmt: skip
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode(), len(part)

    return rebuilt(pairs[:middle], True), rebuilt(pairs[middle:], False)
