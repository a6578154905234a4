"""Floor for `event send --file`: NDJSON packed into common objects under 1 MiB, POSTed
over one http.client connection, with no validation at all.

Run: python batch_floor.py events.ndjson http://127.0.0.1:PORT/receiver/stsAgent/intake
"""

import http.client
import json
import sys
import time
from urllib.parse import urlsplit

LIMIT = 1024 * 1024


def main(path: str, url: str) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)
    target = parts.path + ("?" + parts.query if parts.query else "")
    now = int(time.time())
    head = f'{{"collection_timestamp":{now},"internalHostname":"bench","events":{{'.encode()
    tail = b'},"metrics":[],"service_checks":[],"topologies":[],"health":[]}'
    groups = {}
    size = len(head) + len(tail)

    def post() -> None:
        body = (
            head
            + b",".join(
                json.dumps(name).encode() + b":[" + b",".join(events) + b"]"
                for name, events in groups.items()
            )
            + tail
        )
        connection.request("POST", target, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status >= 300:
            raise SystemExit(f"status {response.status}")

    with open(path, "rb") as stream:
        for line in stream:
            event = json.loads(line)
            name = event.pop("name", None) or event["event_type"]
            wire = json.dumps(event, separators=(",", ":")).encode()
            grown = len(wire) + len(name) + 6
            if groups and size + grown > LIMIT:
                post()
                groups.clear()
                size = len(head) + len(tail)
            groups.setdefault(name, []).append(wire)
            size += grown
    if groups:
        post()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
