"""The parts of a batch that no design of stac-events can leave out, each timed alone.

Run: python benchmarks/parts.py EVENTS.ndjson URL   (URL: a receiver's intake, key included)

Prints one JSON object of seconds, each a median of 3 rounds, measured inside this
process after its imports (start-up is not counted):
- read: reading the file's lines as text, doing nothing with them;
- validate: the calls into pydantic-core that check the file's events, 256 NDJSON lines
  a call, with the schema `event send --file` uses (`blocks.Blocks`); the lines' joining
  is done before and not counted;
- serialize: the calls that write those events out again, a block a call;
- post: POSTing the finished bodies (packed before, as the bare sender packs them) over
  one `http.client` connection, the way the bare sender does;
- receive: the one call into pydantic-core with which `stac-events receiver` reads and
  checks each of those bodies (`receiver.rules`).

`benchmarks/run.py` sets these beside the bare sender's whole run: the first four
together are the least a sender that validates with pydantic-core and sends with
requests could take on this machine; the last is the receiver's checks, its largest part.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent / "floors"))
from batch_floor import bodies as floor_bodies
from batch_floor import post as floor_post

from stac_events.blocks import BLOCK_LINES as BLOCK
from stac_events.blocks import Blocks
from stac_events.events import EventDefaults
from stac_events.receiver.rules import _valid_body


def timed(action: Callable[[], None], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(path: str, url: str) -> None:
    with open(path, "rb") as stream:
        lines = stream.read().splitlines()
    now = int(time.time())
    blocks = Blocks(EventDefaults(), now=now, keys={})
    texts = [blocks.numbered([line.decode() for line in lines[start : start + BLOCK]])
             for start in range(0, len(lines), BLOCK)]  # fmt: skip

    def read() -> None:
        with open(path, encoding="utf-8") as stream:
            for _ in stream:
                pass

    def validate() -> None:
        for text in texts:
            blocks.validator.validate_json(text)

    validated = [blocks.validator.validate_json(text) for text in texts]

    def serialize() -> None:
        for events in validated:
            blocks.serializer.to_json(events, exclude_none=True)

    bodies = list(floor_bodies(lines, now))  # packed as the bare sender packs them
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")

    def post() -> None:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        for body in bodies:
            floor_post(connection, target, body)
        connection.close()

    checker = _valid_body()
    texts_received = [body.decode() for body in bodies]

    def receive() -> None:
        for text in texts_received:
            checker.validate_json(text)

    timings = {"read": read, "validate": validate, "serialize": serialize, "post": post,
               "receive": receive}  # fmt: skip
    print(json.dumps({name: timed(action) for name, action in timings.items()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
