"""What a stranger's attack on the local receiver found, each kept fixed: requests read as
HTTP says, JSON as RFC 8259 says, other programs' databases left alone, web pages kept
out, and nothing a sender writes reaching the terminal raw."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict

import pytest
import requests

from stac_events.receiver import Filters, Store

pytestmark = pytest.mark.slow  # a real receiver process in most tests


def good_payload(**event_fields: Any) -> Dict[str, Any]:
    event = {"event_type": "DeployEvent", "msg_title": "t", "msg_text": "x",
             "timestamp": int(time.time()), **event_fields}  # fmt: skip
    return {"collection_timestamp": 1, "internalHostname": "h", "events": {"DeployEvent": [event]}}


def raw(receiver: Any, request: bytes) -> bytes:
    """Send bytes as they are on one connection; everything answered until it closes."""
    host, port = receiver.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def post(receiver: Any, body: bytes, **headers: str) -> requests.Response:
    return requests.post(f"{receiver.url}/stsAgent/intake", data=body, headers=headers,
                         timeout=30)  # fmt: skip


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize(
    "head",
    [
        b"POST /stsAgent/intake HTTP/1.1\r\nsts-api-key: wrong\r\n",  # 401, body unread
        b"POST /elsewhere HTTP/1.1\r\n",  # 404
        b"PUT /stsAgent/intake HTTP/1.1\r\n",  # 405
        b"GET /events HTTP/1.1\r\n",  # 200, with a body a GET does not read
    ],
)
def test_a_body_left_unread_is_never_read_as_a_request(receiver_factory, head):
    receiver = receiver_factory("--api-key", "right-key1")
    answer = raw(receiver, head + b"Host: 127.0.0.1\r\nsts-api-key: right-key1\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED)  # fmt: skip
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert b"Connection: close" in answer
    assert b"smuggled" not in answer


def test_a_post_without_content_length_is_411(local_receiver):
    answer = raw(local_receiver, b"POST /stsAgent/intake HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                 + SMUGGLED)  # fmt: skip
    assert answer.startswith(b"HTTP/1.1 411 ")
    assert answer.count(b"HTTP/1.1 ") == 1


@pytest.mark.parametrize("length", ["1_0", "+2", "0x10", "2, 2"])
def test_content_length_is_digits_once(local_receiver, length):
    answer = raw(local_receiver, b"POST /stsAgent/intake HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Length: " + length.encode() + b"\r\n\r\n{}")  # fmt: skip
    assert answer.startswith(b"HTTP/1.1 400 "), answer


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"internalHostname": "h", "collection_timestamp": NaN, "events": {}}', "NaN"),
        (b'{"internalHostname": "h", "collection_timestamp": -Infinity, "events": {}}',
         "-Infinity"),
        (b'{"internalHostname": "h", "collection_timestamp": 1e999, "events": {}}', "too large"),
        (b'{"internalHostname": "h", "collection_timestamp": 1' + b"0" * 5000 + b"}",
         "more digits than any JSON reader takes"),
        (b'{"events": {"E": [1]}, "events": {"E": [2]}}', "'events' is given twice"),
        ('{"internalHostname": "h"}'.encode("utf-16"), "not UTF-8"),
        (b"\xef\xbb\xbf{}", "BOM"),
    ],
)  # fmt: skip
def test_json_as_rfc_8259_has_it(local_receiver, body, says):
    answer = post(local_receiver, body)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["error"]
    assert "sys.set_int_max_str_digits" not in answer.text
    assert local_receiver.events() == []


@pytest.mark.parametrize(
    ("event_fields", "path"),
    [
        ({"tags": ["\udc80"]}, "events.DeployEvent[0].tags[0]"),
        ({"context": {"category": "Changes", "source": "s", "element_identifiers": ["\ud800"]}},
         "events.DeployEvent[0].context.element_identifiers[0]"),
        ({"extra": "\udc80"}, "events.DeployEvent[0].extra"),
    ],
)  # fmt: skip
def test_text_that_is_not_utf8_is_400_not_503(local_receiver, event_fields, path):
    # Sent as JSON escapes (\udc80), which Python's JSON reads into lone surrogates.
    answer = post(local_receiver, json.dumps(good_payload(**event_fields)).encode())
    assert answer.status_code == 400, answer.text
    assert answer.json()["reasons"][0]["path"] == path
    assert "not UTF-8" in answer.json()["reasons"][0]["reason"]


def test_a_deep_unknown_field_is_noted_and_stored_not_503(local_receiver):
    deep: Any = 1
    for _ in range(300):
        deep = {"d": deep}
    answer = post(local_receiver, json.dumps(good_payload(extra=deep)).encode())
    assert answer.status_code == 200, answer.text
    assert answer.json()["notes"][0]["path"] == "events.DeployEvent[0].extra"
    (stored,) = local_receiver.events()
    assert stored["event"]["extra"] == deep


def test_another_programs_database_is_refused_untouched(run_script, tmp_path):
    foreign = tmp_path / "app.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE events (title TEXT, at INTEGER)")
        db.executemany("INSERT INTO events VALUES (?, ?)", [("a", 1), ("b", 2)])
    db.close()
    before = foreign.read_bytes()
    for args in (["receiver", "--port", "0"], ["receiver", "events"],
                 ["receiver", "events", "--clear"]):  # fmt: skip
        refused = run_script("stac-events", *args, "--db", str(foreign), expect=3)
        assert "is not a stac-events receiver database; it is left as it is" in refused.stderr
    assert foreign.read_bytes() == before
    assert not foreign.with_name("app.db-wal").exists()


def test_listing_does_not_write_to_the_database(local_receiver, run_script):
    assert post(local_receiver, json.dumps(good_payload()).encode()).status_code == 200
    local_receiver.stop()
    for leftover in ("-wal", "-shm"):
        Path(f"{local_receiver.db}{leftover}").unlink(missing_ok=True)
    before = local_receiver.db.stat().st_mtime_ns
    run_script("stac-events", "receiver", "events", "--db", str(local_receiver.db))
    assert local_receiver.db.stat().st_mtime_ns == before


def test_the_database_is_private_and_its_folders_are_made(tmp_path):
    path = tmp_path / "missing" / "sub" / "events.db"
    Store(path).close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_an_identifier_matches_only_itself(tmp_path):
    from stac_events.receiver.rules import Received

    store = Store(tmp_path / "events.db")
    for ids in (["a\nb"], ["b"], ["a\\nb"]):
        event = {"context": {"element_identifiers": ids}}
        store.add([Received("E", event, 0)], host="h", received=1.0)
    found = [
        s.event["context"]["element_identifiers"] for s in store.events(Filters(identifier="b"))
    ]
    assert found == [["b"]]
    assert store.count(Filters(identifier="a\nb")) == 1
    assert store.count(Filters(identifier="a\\nb")) == 1
    store.close()


def test_web_pages_are_kept_out(local_receiver):
    page = post(local_receiver, json.dumps(good_payload()).encode(),
                Origin="http://evil.example", **{"Content-Type": "text/plain"})  # fmt: skip
    assert page.status_code == 403
    port = local_receiver.url.rsplit(":", 1)[1]
    rebound = requests.get(f"{local_receiver.url}/events", headers={"Host": f"evil.example:{port}"},
                           timeout=30)  # fmt: skip
    assert rebound.status_code == 403
    named = requests.get(f"{local_receiver.url}/events", headers={"Host": f"localhost:{port}"},
                         timeout=30)  # fmt: skip
    assert named.status_code == 200
    assert local_receiver.events() == []


def test_nothing_a_sender_writes_reaches_the_terminal_raw(local_receiver):
    raw(local_receiver, b"GET /\x1b]0;PWNED\x07\x1b[2J HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    many = good_payload()
    (event,) = many["events"]["DeployEvent"]
    event.pop("msg_text")
    many["events"]["DeployEvent"] = [dict(event) for _ in range(1000)]
    post(local_receiver, json.dumps(many).encode())
    _, _, err = local_receiver.stop()
    assert "\x1b" not in err
    assert "\x07" not in err
    assert max(len(line) for line in err.splitlines()) < 1000  # 5 reasons and "and N more"
    assert "(and 995 more)" in err


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "PATCH"])
def test_every_method_gets_json(local_receiver, method):
    answer = requests.request(method, f"{local_receiver.url}/stsAgent/intake", timeout=30)
    assert answer.status_code == 405
    if method != "HEAD":
        assert answer.headers["Content-Type"] == "application/json"
        assert "is not answered" in answer.json()["error"]


def test_a_request_line_it_cannot_read_gets_json(local_receiver):
    answer = raw(local_receiver, b"NOT A REQUEST\r\n\r\n")  # a status line, not HTTP/0.9's none
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["error"] == (
        "'NOT A REQUEST' is not a request line; send METHOD PATH HTTP/1.1"
    )
    headers_too_long = raw(local_receiver, b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n")
    assert headers_too_long.startswith(b"HTTP/1.1 431 ")
    assert b'"error": "Too many headers"' in headers_too_long


def test_a_burst_of_senders_is_taken_not_reset(local_receiver):
    body = json.dumps(good_payload()).encode()

    def one(_: int) -> int:
        return post(local_receiver, body).status_code

    with ThreadPoolExecutor(max_workers=150) as pool:
        statuses = list(pool.map(one, range(150)))
    assert statuses == [200] * 150
    assert len(local_receiver.events()) == 150


def test_the_key_can_come_from_the_environment_out_of_process_lists(receiver_factory):
    receiver = receiver_factory(env={"STAC_EVENTS_RECEIVER_KEY": "env-key-123"})
    command_line = Path(f"/proc/{receiver.process.pid}/cmdline").read_bytes()
    assert b"env-key-123" not in command_line
    body = json.dumps(good_payload()).encode()
    assert post(receiver, body).status_code == 401
    assert post(receiver, body, **{"sts-api-key": "env-key-123"}).status_code == 200


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--api-key", ""], "an empty key would refuse every sender"),
        (["--api-key", "clé"], "characters an HTTP header cannot carry"),
        (["--max-body", "99999999999999999999"], "too large; give 1073741824 or less"),
        (["--host", ""], "give an address to listen on"),
        (["--max-age", "1e400"], "is not a length of time"),
        (["--max-age", "99999999999999d"], "is longer than 3000 years"),
    ],
)
def test_values_no_receiver_could_use_are_usage_errors(run_script, tmp_path, args, says):
    failed = run_script("stac-events", "receiver", "--port", "0", "--db", str(tmp_path / "x.db"),
                        *args, expect=2)  # fmt: skip
    assert says in failed.stderr
    assert "clé" not in failed.stderr


def test_timestamps_and_since_as_users_write_them(local_receiver, run_script):
    answer = post(local_receiver, json.dumps(good_payload(timestamp=time.time())).encode())
    assert "must be a whole number of epoch seconds, not " in answer.json()["reasons"][0]["reason"]
    assert post(local_receiver, json.dumps(good_payload()).encode()).status_code == 200
    everything = run_script("stac-events", "receiver", "events", "--db", str(local_receiver.db),
                            "--since", "0", "-o", "json")  # fmt: skip
    assert len(everything.json()) == 1
    assert len(local_receiver.events("?since=0")) == 1


def test_a_405_says_which_methods_are_answered(local_receiver):
    for method, path, allowed in [
        ("GET", "/stsAgent/intake", "POST"),
        ("PUT", "/receiver/stsAgent/intake", "POST"),
        ("PATCH", "/events", "GET, HEAD, DELETE"),
        ("POST", "/refusals", "GET, HEAD, DELETE"),
        ("DELETE", "/page.js", "GET, HEAD"),
        ("OPTIONS", "/", "GET, HEAD"),
    ]:
        answer = requests.request(method, local_receiver.url + path, timeout=30)
        assert answer.status_code == 405, (method, path)
        assert answer.headers["Allow"] == allowed, (method, path)
    assert requests.put(local_receiver.url + "/nowhere", timeout=30).status_code == 404


def test_head_is_answered_as_get_without_a_body(local_receiver):
    assert post(local_receiver, json.dumps(good_payload()).encode()).status_code == 200
    for path in ("/", "/page.js", "/page.css", "/favicon.svg", "/events", "/refusals"):
        got = requests.get(local_receiver.url + path, timeout=30)
        head = raw(local_receiver, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   f"Connection: close\r\n\r\n".encode())  # fmt: skip
        status, _, rest = head.partition(b"\r\n")
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert status == b"HTTP/1.1 200 OK", path
        assert body == b"", path
        assert f"Content-Length: {len(got.content)}".encode() in headers, path
        assert f"Content-Type: {got.headers['Content-Type']}".encode() in headers, path


def test_a_query_parameter_given_twice_is_refused(receiver_factory):
    receiver = receiver_factory("--api-key", "right-key1")
    key = {"sts-api-key": "right-key1"}
    for query in ("after=1&after=2", "api_key=right-key1&api_key=wrong", "type=a&type=b"):
        answer = requests.get(f"{receiver.url}/events?{query}", headers=key, timeout=30)
        assert answer.status_code == 400, query
        assert "more than once" in answer.json()["error"]
    sent = requests.post(f"{receiver.url}/stsAgent/intake?api_key=right-key1&api_key=wrong",
                         data=json.dumps(good_payload()), timeout=30)  # fmt: skip
    assert sent.status_code == 400
    assert requests.get(f"{receiver.url}/?api_key=a&api_key=b", timeout=30,
                        allow_redirects=False).status_code == 400  # fmt: skip
    assert requests.get(f"{receiver.url}/events?after=1", headers=key, timeout=30).ok
    _, out, err = receiver.stop()
    assert "right-key1" not in out + err
