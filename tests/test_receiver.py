"""The local receiver, as users run it: `stac-events receiver` in a process of its own on a
free port, `event send` against it, `receiver events` and GET /events to see what landed."""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import requests

from tests.conftest import API_KEY, DOCS_EXAMPLE, no_secret

pytestmark = pytest.mark.slow  # a real receiver process in most tests


def sender_env(receiver: Any, key: str = "any-key") -> Dict[str, str]:
    return {"STAC_EVENTS_RECEIVER_URL": receiver.url, "STAC_EVENTS_API_KEY": key}


def good_payload(**event_fields: Any) -> Dict[str, Any]:
    event = {
        "event_type": "DeployEvent",
        "msg_title": "Deployed 1.4",
        "msg_text": "Rolled out",
        "timestamp": int(time.time()),
        "context": {"category": "Changes", "source": "ci", "element_identifiers": ["urn:a"]},
        **event_fields,
    }
    return {
        "collection_timestamp": int(time.time()),
        "internalHostname": "builder",
        "events": {"DeployEvent": [event]},
        "metrics": [],
        "service_checks": [],
        "topologies": [],
        "health": [],
    }


def post(receiver: Any, body: Any, **kwargs: Any) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{receiver.url}/stsAgent/intake", data=data, timeout=30, **kwargs)


def test_the_docs_stac_line_lands_and_is_listed(local_receiver, run_script):
    sent = run_script("stac-events", *DOCS_EXAMPLE, env=sender_env(local_receiver))
    assert "sent 1 event" in sent.stderr

    (stored,) = local_receiver.events()
    assert stored["name"] == "event_type"
    event = stored["event"]
    assert event["msg_title"] == event["msg_text"] == "event_title"
    assert event["context"]["element_identifiers"] == ["element_identifier1",
                                                       "element_identifier2"]  # fmt: skip
    assert event["context"]["data"] == {"data_key1": "data_value1", "data_key2": "data_value2"}
    assert event["context"]["source_links"][1] == {"title": "link_title2", "url": "link_url2"}

    listed = run_script("stac-events", "receiver", "events", "--db", str(local_receiver.db),
                        "-o", "json")  # fmt: skip
    assert listed.json() == [stored]
    text = run_script("stac-events", "receiver", "events", "--db", str(local_receiver.db))
    day, _, rest = text.stdout.partition(" ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", day)  # dated: the database outlives the day
    assert rest.endswith(" event_type 'event_title' element_identifier1 element_identifier2\n")

    status, out, err = local_receiver.stop()
    assert status == 0, err
    assert "event_type 'event_title' element_identifier1 element_identifier2" in out
    assert "stopped; 1 event(s) received" in err


def test_both_intake_paths_and_the_linux_address_form(receiver_factory, run_script):
    receiver = receiver_factory()
    for path in ("/stsAgent/intake", "/receiver/stsAgent/intake"):
        answer = requests.post(receiver.url + path, json=good_payload(), timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 1
    run_script("stac-events", "event", "send", "DeployEvent", "--title", "by path",
               "--url", receiver.url + "/stsAgent/intake", env=sender_env(receiver))  # fmt: skip
    assert len(receiver.events()) == 3


def too_old() -> int:
    return int(time.time()) - 31 * 24 * 3600


def without(field: str) -> Any:
    def change(payload: Dict[str, Any]) -> None:
        payload["events"]["DeployEvent"][0].pop(field)

    return change


def set_event(**fields: Any) -> Any:
    def change(payload: Dict[str, Any]) -> None:
        payload["events"]["DeployEvent"][0].update(fields)

    return change


def set_context(**fields: Any) -> Any:
    def change(payload: Dict[str, Any]) -> None:
        payload["events"]["DeployEvent"][0]["context"].update(fields)

    return change


def renamed(name: str) -> Any:
    def change(payload: Dict[str, Any]) -> None:
        payload["events"] = {name: payload["events"]["DeployEvent"]}

    return change


def top(**fields: Any) -> Any:
    def change(payload: Dict[str, Any]) -> None:
        for key, value in fields.items():
            if value is None:
                payload.pop(key)
            else:
                payload[key] = value

    return change


# Each rule of the Receiver API docs, broken once: where the 400 says it is, and what.
RULES = [
    (without("msg_text"), "events.DeployEvent[0].msg_text", "required"),
    (set_event(msg_text=""), "events.DeployEvent[0].msg_text", "required"),
    (without("msg_title"), "events.DeployEvent[0].msg_title", "required"),
    (set_event(msg_title=" "), "events.DeployEvent[0].msg_title", "cannot be empty"),
    (without("event_type"), "events.DeployEvent[0].event_type", "required"),
    (without("timestamp"), "events.DeployEvent[0].timestamp", "required"),
    (set_event(timestamp="2024-01-01T00:00:00Z"), "events.DeployEvent[0].timestamp",
     "whole epoch seconds"),
    (set_event(timestamp=int(time.time()) * 1000), "events.DeployEvent[0].timestamp",
     "milliseconds"),
    (set_event(timestamp=too_old()), "events.DeployEvent[0].timestamp",
     "StackState drops events older than it keeps (here 30 days: the receiver's --max-age)"),
    (set_event(tags="env:prod"), "events.DeployEvent[0].tags", "must be a list, not a string"),
    (set_event(msg_title=5), "events.DeployEvent[0].msg_title", "must be a string, not a number"),
    (set_context(category="Deploys"), "events.DeployEvent[0].context.category",
     "not a category"),
    (set_context(category="changes"), "events.DeployEvent[0].context.category", "spelled so"),
    (set_context(source=None), "events.DeployEvent[0].context.source", "required in a context"),
    (set_context(element_identifiers=None), "events.DeployEvent[0].context.element_identifiers",
     "required in a context"),
    (set_context(element_identifiers="urn:a"),
     "events.DeployEvent[0].context.element_identifiers", "list"),
    (set_context(source_links=[{"title": "x"}]),
     "events.DeployEvent[0].context.source_links[0].url", "required"),
    (set_context(data=[1]), "events.DeployEvent[0].context.data",
     "must be an object, not an array"),
    (set_event(context="Changes"), "events.DeployEvent[0].context",
     "must be an object, not a string"),
    *[(renamed(prefix + "Deploy"), f"events.{prefix}Deploy", "reserves")
      for prefix in ("eventType", "host", "labels", "message", "name", "tags", "timeReceived",
                     "timestamp", "title")],
    (renamed(""), 'events[""]', "cannot be empty"),
    (top(events=[]), "events", "must be an object"),
    (top(events={"DeployEvent": {}}), "events.DeployEvent", "must be a list of events"),
    (top(internalHostname=None), "internalHostname", "required"),
    (top(collection_timestamp="now"), "collection_timestamp", "epoch seconds"),
    (top(metrics={}), "metrics", "must be a list"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "path", "reason"), RULES)
def test_every_rule_of_the_docs_gives_its_400_reason(local_receiver, change, path, reason):
    payload = good_payload()
    change(payload)
    answer = post(local_receiver, payload)
    assert answer.status_code == 400, answer.text
    reasons = answer.json()["reasons"]
    assert any(r["path"] == path and reason in r["reason"] for r in reasons), reasons
    assert local_receiver.events() == []  # a refused payload stores nothing, not even half


def test_every_reason_is_listed_not_only_the_first(local_receiver):
    payload = good_payload()
    payload["events"]["DeployEvent"].append({"event_type": "X", "timestamp": too_old()})
    answer = post(local_receiver, payload)
    paths = [r["path"] for r in answer.json()["reasons"]]
    assert paths == ["events.DeployEvent[1].msg_text", "events.DeployEvent[1].timestamp",
                     "events.DeployEvent[1].msg_title"]  # fmt: skip


def test_fields_stackstate_does_not_know_are_kept_and_noted(local_receiver):
    answer = post(local_receiver, good_payload(msg_txt="typo"))
    assert answer.status_code == 200
    assert answer.json()["notes"] == [
        {"path": "events.DeployEvent[0].msg_txt", "reason": "not a field StackState knows; ignored"}
    ]
    (stored,) = local_receiver.events()
    assert stored["event"]["msg_txt"] == "typo"
    _, out, _ = local_receiver.stop()
    assert "note: events.DeployEvent[0].msg_txt: not a field StackState knows" in out


def test_the_client_shows_the_reasons_of_a_400(local_receiver, run_script):
    sent = run_script("stac-events", "event", "send", "DeployEvent", "--title", "old news",
                      "--timestamp", "2001-01-01T00:00:00Z", env=sender_env(local_receiver),
                      expect=4)  # fmt: skip
    assert "400 Bad Request: events.DeployEvent[0].timestamp:" in sent.stderr
    assert (
        "StackState drops events older than it keeps (here 30 days: the receiver's --max-age)"
        in sent.stderr
    )
    assert len(sent.stderr.strip().splitlines()) <= 3  # the warning, the error, its hint

    as_json = run_script("stac-events", "event", "send", "DeployEvent", "--title", "old news",
                         "--timestamp", "2001-01-01T00:00:00Z", "-o", "json",
                         env=sender_env(local_receiver), expect=4)  # fmt: skip
    error = as_json.json()["error"]
    assert error["status"] == 400
    assert error["reasons"][0].startswith("events.DeployEvent[0].timestamp: ")
    _, _, err = local_receiver.stop()
    assert "refused (400) events.DeployEvent[0].timestamp:" in err


def test_max_age_is_the_users_to_choose(receiver_factory, run_script):
    receiver = receiver_factory("--max-age", "3650d")
    run_script("stac-events", "event", "send", "DeployEvent", "--title", "old news",
               "--timestamp", "2020-01-01T00:00:00Z", env=sender_env(receiver))  # fmt: skip
    assert len(receiver.events()) == 1


@pytest.mark.parametrize("where", ["header", "query"])
def test_the_key_is_checked_when_one_is_required(receiver_factory, run_script, where):
    receiver = receiver_factory("--api-key", API_KEY)
    refused = run_script("stac-events", "event", "send", "DeployEvent", "--title", "x",
                         env=sender_env(receiver, "wrong-key"), expect=4)  # fmt: skip
    assert "401" in refused.stderr
    assert "a wrong API key" in refused.stderr

    if where == "header":
        run_script("stac-events", "event", "send", "DeployEvent", "--title", "x",
                   env=sender_env(receiver, API_KEY))  # fmt: skip
    else:
        address = f"{receiver.url}/stsAgent/intake?api_key={requests.utils.quote(API_KEY)}"
        run_script("stac-events", "event", "send", "DeployEvent", "--title", "x",
                   env={"STAC_EVENTS_RECEIVER_URL": address})  # fmt: skip
    assert requests.get(f"{receiver.url}/events", timeout=30).status_code == 401
    assert len(receiver.events(api_key=API_KEY)) == 1
    assert post(receiver, good_payload()).status_code == 401

    _, out, err = receiver.stop()
    assert API_KEY not in out + err
    assert no_secret(refused)


def test_a_body_too_large_is_413_and_the_client_splits_its_batch(receiver_factory, run_script,
                                                                 tmp_path):  # fmt: skip
    receiver = receiver_factory("--max-body", "4096", "-q")
    lines = [json.dumps({"msg_title": f"event {n}", "context": {"data": {"n": n}}})
             for n in range(200)]  # fmt: skip
    (tmp_path / "batch.ndjson").write_text("\n".join(lines))
    sent = run_script("stac-events", "event", "send", "BatchEvent", "--file",
                      str(tmp_path / "batch.ndjson"), "-o", "json",
                      env=sender_env(receiver))  # fmt: skip
    assert sent.json()["delivered"] == 200
    stored = receiver.events()
    assert sorted(s["event"]["context"]["data"]["n"] for s in stored) == list(range(200))

    big = run_script("stac-events", "event", "send", "BigEvent", "--title", "x" * 5000,
                     env=sender_env(receiver), expect=4)  # fmt: skip
    assert "413" in big.stderr
    assert "more than the 4096 taken" in big.stderr


def test_gzip_bodies_are_taken_and_gzip_bombs_refused(receiver_factory, run_script, tmp_path):
    receiver = receiver_factory("--max-body", "1000000", "-q")
    lines = [json.dumps({"msg_title": f"event {n}"}) for n in range(50)]
    (tmp_path / "batch.ndjson").write_text("\n".join(lines))
    run_script("stac-events", "event", "send", "BatchEvent", "--file",
               str(tmp_path / "batch.ndjson"), "--gzip", env=sender_env(receiver))  # fmt: skip
    assert len(receiver.events()) == 50

    bomb = gzip.compress(b" " * 200_000_000)  # 200 MB of nothing, in about 200 KB
    assert len(bomb) < 1_000_000
    answer = post(receiver, bomb, headers={"Content-Encoding": "gzip"})
    assert answer.status_code == 413
    assert "once gzip is undone" in answer.json()["error"]
    cut_short = gzip.compress(json.dumps(good_payload()).encode())[:-12]
    broken = post(receiver, cut_short, headers={"Content-Encoding": "gzip"})
    assert broken.status_code == 400
    unknown = post(receiver, b"{}", headers={"Content-Encoding": "br"})
    assert unknown.status_code == 415
    assert len(receiver.events()) == 50


def test_bodies_that_are_not_a_common_object(local_receiver):
    for body, status in ((b"not json", 400), (b"[1, 2]", 400), (b"[" * 100_000, 400),
                         (b"\xff\xfe", 400), (b"{}", 400)):  # fmt: skip
        answer = post(local_receiver, body)
        assert answer.status_code == status, (body[:20], answer.text)
        assert answer.json()["reasons"]
    empty = {"collection_timestamp": 1, "internalHostname": "h", "events": {}}
    assert post(local_receiver, empty).status_code == 200  # what `stac-events check` sends
    chunked = requests.post(f"{local_receiver.url}/stsAgent/intake",
                            data=iter([b"{}"]), timeout=30)  # fmt: skip
    assert chunked.status_code == 411
    assert requests.get(f"{local_receiver.url}/nowhere", timeout=30).status_code == 404
    assert requests.get(f"{local_receiver.url}/stsAgent/intake", timeout=30).status_code == 405
    assert local_receiver.events() == []


def test_20_concurrent_senders_of_500_events_store_exactly_10000(receiver_factory, run_script,
                                                                 tmp_path):  # fmt: skip
    receiver = receiver_factory()
    files = []
    for sender in range(20):
        path = tmp_path / f"sender-{sender}.ndjson"
        path.write_text(
            "".join(
                json.dumps(
                    {
                        "msg_title": f"{sender}/{n}",
                        "context": {"element_identifiers": [f"urn:sender:{sender}"]},
                    }
                )
                + "\n"
                for n in range(500)
            )
        )
        files.append(path)

    def send(path: Path) -> Any:
        # 20 requests each (--max-request-bytes), all senders at once
        return run_script("stac-events", "event", "send", "LoadEvent", "--file", str(path),
                          "--max-request-bytes", "4096", "-o", "json",
                          env=sender_env(receiver))  # fmt: skip

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, files))
    assert all(r.json()["delivered"] == 500 for r in results)

    titles = [stored["event"]["msg_title"] for stored in receiver.events()]
    assert len(titles) == 10_000
    assert set(titles) == {f"{s}/{n}" for s in range(20) for n in range(500)}
    assert len(receiver.events("?identifier=urn:sender:7")) == 500
    status, out, _ = receiver.stop()
    assert status == 0
    assert out.count(" LoadEvent ") == 10_000  # one line each

    again = receiver_factory(db=receiver.db)  # a restart keeps what was stored
    assert len(again.events()) == 10_000
    listed = run_script("stac-events", "receiver", "events", "--db", str(receiver.db),
                        "-o", "ndjson")  # fmt: skip
    assert len(listed.stdout.splitlines()) == 10_000


def raw_request(receiver: Any, line: bytes) -> Tuple[bytes, bytes]:
    """Send `line` as the request line, as it is, and return the answer's head and body."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            line + f"\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("identifier", ["urn:café", "urn:voilà", "urn:Åland", "urn:ą"])
def test_a_query_in_raw_utf8_is_read_as_utf8(local_receiver, identifier: str):
    """curl sends `?identifier=urn:café` as it was typed, not percent-encoded; in `à`, `Å`
    and `ą` is a byte that ISO-8859-1 takes for white space."""
    context = {"category": "Changes", "source": "ci", "element_identifiers": [identifier]}
    assert post(local_receiver, good_payload(context=context)).status_code == 200
    assert post(local_receiver, good_payload()).status_code == 200
    head, body = raw_request(
        local_receiver, f"GET /events?identifier={identifier} HTTP/1.1".encode()
    )
    assert head.startswith(b"HTTP/1.1 200"), head
    (stored,) = json.loads(body)
    assert stored["event"]["context"]["element_identifiers"] == [identifier]


def test_a_request_line_refused_is_quoted_without_its_key(local_receiver):
    head, body = raw_request(local_receiver, b"POST /x?api_key=RecvK3y-Zq \xff\xfe HTTP/1.1")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert "api_key=***" in json.loads(body)["error"]
    assert b"RecvK3y" not in body


def test_filters_and_clear(local_receiver, run_script):
    env = sender_env(local_receiver)
    run_script("stac-events", "event", "send", "DeployEvent", "--title", "one", "-i", "urn:a",
               env=env)  # fmt: skip
    run_script("stac-events", "event", "send", "AlertEvent", "--title", "two", "-i", "urn:b",
               env=env)  # fmt: skip
    db = ["--db", str(local_receiver.db)]

    def titles(*args: str) -> List[str]:
        listed = run_script("stac-events", "receiver", "events", *db, "-o", "ndjson", *args)
        return [json.loads(line)["event"]["msg_title"] for line in listed.stdout.splitlines()]

    assert titles() == ["one", "two"]  # oldest first, newest last
    assert titles("--type", "AlertEvent") == ["two"]
    assert titles("--identifier", "urn:a") == ["one"]
    assert titles("--since", "10m") == ["one", "two"]
    assert titles("--since", str(int(time.time()) + 60)) == []
    assert [s["event"]["msg_title"] for s in local_receiver.events("?type=DeployEvent")] == ["one"]
    assert requests.get(f"{local_receiver.url}/events?since=soon", timeout=30).status_code == 400
    # a filter it does not know is refused, not ignored (which would list every event)
    for typo in ("event_type=NoSuchEvent", "type=DeployEvent&limt=1", "Type=AlertEvent"):
        refused = requests.get(f"{local_receiver.url}/events?{typo}", timeout=30)
        assert refused.status_code == 400, typo
        assert "unknown query parameter" in refused.json()["error"]
    cleared_none = requests.delete(f"{local_receiver.url}/events?tpye=DeployEvent", timeout=30)
    assert cleared_none.status_code == 400
    assert len(local_receiver.events()) == 2  # nothing deleted by a typo either

    bad = run_script("stac-events", "receiver", "events", *db, "--since", "soon", expect=2)
    assert "--since" in bad.stderr
    cleared = run_script("stac-events", "receiver", "events", *db, "--clear", "--type",
                         "DeployEvent")  # fmt: skip
    assert "deleted 1 event(s)" in cleared.stderr
    assert titles() == ["two"]
    assert requests.delete(f"{local_receiver.url}/events", timeout=30).json() == {
        "deleted": 1,
        "refusals_deleted": 0,
    }
    empty = run_script("stac-events", "receiver", "events", *db)
    assert empty.stdout == ""
    assert "no events stored" in empty.stderr


def test_events_of_a_receiver_never_run(run_script, tmp_path):
    # A mistyped --db is not "no events": a test suite would pass on it by mistake.
    for extra in ([], ["--clear"]):
        listed = run_script("stac-events", "receiver", "events", "--db",
                            str(tmp_path / "none.db"), "-o", "json", *extra, expect=3)  # fmt: skip
        assert (
            listed.json()["error"]["message"] == f"no receiver database at {tmp_path / 'none.db'}"
        )
    assert not (tmp_path / "none.db").exists()  # looking creates nothing
    junk = tmp_path / "junk.db"
    junk.write_text("not a database " * 100)
    broken = run_script("stac-events", "receiver", "events", "--db", str(junk), expect=3)
    assert str(junk) in broken.stderr
    assert "Traceback" not in broken.stderr


def test_quiet_prints_no_event_lines_but_the_address(receiver_factory, run_script):
    receiver = receiver_factory("-q")
    run_script("stac-events", "event", "send", "DeployEvent", "--title", "x",
               env=sender_env(receiver))  # fmt: skip
    status, out, _ = receiver.stop()
    assert status == 0
    assert out.splitlines()[0].startswith("Listening on http://127.0.0.1:")
    assert "DeployEvent" not in out


def test_lines_are_colored_for_a_terminal_or_force_color(receiver_factory):
    receiver = receiver_factory(env={"FORCE_COLOR": "1"})
    assert post(receiver, good_payload()).status_code == 200
    assert post(receiver, b"[]").status_code == 400
    _, out, err = receiver.stop()
    assert "\x1b[1;36mDeployEvent\x1b[0m 'Deployed 1.4' \x1b[2murn:a\x1b[0m" in out
    assert "\x1b[1;31mrefused (400)\x1b[0m" in err


def test_an_event_cannot_break_the_receivers_line(local_receiver):
    answer = post(local_receiver, good_payload(msg_title="two\nlines \x1b[31mred"))
    assert answer.status_code == 200
    _, out, _ = local_receiver.stop()
    (line,) = [x for x in out.splitlines() if "DeployEvent" in x]
    assert "two\\nlines \\x1b[31mred" in line


@pytest.mark.parametrize("signal_number", [2, 15])
def test_ctrl_c_and_sigterm_stop_it_cleanly(receiver_factory, signal_number):
    receiver = receiver_factory()
    status, _, err = receiver.stop(signal_number)
    assert status == 0
    assert "Traceback" not in err


def test_a_taken_port_is_a_clear_error(run_script, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        failed = run_script("stac-events", "receiver", "--port", str(port), "--db",
                            str(tmp_path / "x.db"), expect=3)  # fmt: skip
    assert f"cannot listen on 127.0.0.1 port {port}" in failed.stderr
    assert "--port 0" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "70000"], "not a port"),
        (["--port", "x"], "not a whole number"),
        (["--max-age", "soon"], "not a length of time"),
        (["--max-age", "0"], "above 0"),
        (["--max-body", "10"], "1024 or more"),
    ],
)
def test_bad_values_are_usage_errors(run_script, tmp_path, args, says):
    failed = run_script("stac-events", "receiver", *args, "--db", str(tmp_path / "x.db"),
                        expect=2)  # fmt: skip
    assert says in failed.stderr
    assert "Traceback" not in failed.stderr


def test_an_unusable_database_is_a_clear_error(run_script, tmp_path):
    failed = run_script("stac-events", "receiver", "--port", "0", "--db", str(tmp_path),
                        expect=3)  # fmt: skip
    assert "cannot use" in failed.stderr
    assert "--db" in failed.stderr


def test_another_host_than_loopback_is_warned_about(receiver_factory):
    receiver = receiver_factory("--host", "0.0.0.0")  # noqa: S104
    status, _, err = receiver.stop()
    assert status == 0
    assert "warning: listening on 0.0.0.0, not only this machine" in err


def test_a_sigterm_right_after_the_listening_line_stops_it_cleanly(receiver_factory):
    """A script that stops the receiver as soon as it said it listens: each time a clean
    stop, exit 0, never 143 for a signal that came before the stop was ready for it."""
    for _ in range(10):
        receiver = receiver_factory("--host", "0.0.0.0")  # noqa: S104
        status, _, err = receiver.stop()  # SIGTERM at once, the line just read
        assert status == 0, err
        assert "stopped; 0 event(s) received" in err


def test_the_default_database_is_under_the_user_state_dir(processes, home):
    receiver = processes.start(sys.executable, "-m", "stac_events", "receiver", "--port", "0",
                               "-q")  # fmt: skip
    first = receiver.wait_for(r"^Listening on .*").group(0)
    receiver.stop(expect=0)
    expected = home / ".local" / "state" / "stac-events" / "receiver.db"
    assert f"storing in {expected}" in first
    assert expected.exists()
    assert os.stat(expected.parent).st_mode & 0o077 == 0
