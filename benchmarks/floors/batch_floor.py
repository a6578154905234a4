"""Floor for `event send --file`: NDJSON packed into common objects under 1 MiB, POSTed
over one http.client connection, with no validation at all.

Run: python batch_floor.py events.ndjson http://127.0.0.1:PORT/receiver/stsAgent/intake
"""

import http.client
import json
import sys
import time
from typing import Dict, Iterable, Iterator, List
from urllib.parse import urlsplit

LIMIT = 1024 * 1024


def bodies(lines: Iterable[bytes], now: int) -> Iterator[bytes]:
    """The common JSON objects of the events on `lines`, each made as soon as it is full."""
    head = f'{{"collection_timestamp":{now},"internalHostname":"bench","events":{{'.encode()
    tail = b'},"metrics":[],"service_checks":[],"topologies":[],"health":[]}'
    groups: Dict[str, List[bytes]] = {}
    size = len(head) + len(tail)

    def body() -> bytes:
        return (
            head
            + b",".join(
                json.dumps(name).encode() + b":[" + b",".join(events) + b"]"
                for name, events in groups.items()
            )
            + tail
        )

    for line in lines:
        event = json.loads(line)
        name = event.pop("name", None) or event["event_type"]
        wire = json.dumps(event, separators=(",", ":")).encode()
        grown = len(wire) + len(name) + 6
        if groups and size + grown > LIMIT:
            yield body()
            groups.clear()
            size = len(head) + len(tail)
        groups.setdefault(name, []).append(wire)
        size += grown
    if groups:
        yield body()


def post(connection: http.client.HTTPConnection, target: str, body: bytes) -> None:
    connection.request("POST", target, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status >= 300:
        raise SystemExit(f"status {response.status}")


def main(path: str, url: str) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)
    target = parts.path + ("?" + parts.query if parts.query else "")
    with open(path, "rb") as stream:
        for body in bodies(stream, int(time.time())):
            post(connection, target, body)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
