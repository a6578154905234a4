"""`event send --file`: every input shape, all or nothing, packing under the size limit."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from stac_events.bodies import Packer
from tests.conftest import (
    INTAKE,
    NOW,
    Cli,
    env_for,
    no_secret,
    received_events,
    valid_common_object,
)

EVENTS = [
    {"event_type": "DeployEvent", "msg_title": "one", "timestamp": int(NOW)},
    {"event_type": "DeployEvent", "msg_title": "two", "timestamp": int(NOW)},
    {"event_type": "AlertEvent", "msg_title": "three", "timestamp": int(NOW), "name": "alerts"},
]

SHAPES = {
    "array": json.dumps(EVENTS, indent=2),
    "ndjson": "\n".join(json.dumps(e) for e in EVENTS) + "\n\n",
    "common object": json.dumps(
        {"collection_timestamp": 1, "internalHostname": "h",
         "events": {"DeployEvent": EVENTS[:2], "alerts": [EVENTS[2]]}}, indent=1,
    ),
    "common object, one line": json.dumps(
        {"collection_timestamp": 1, "internalHostname": "h",
         "events": {"DeployEvent": EVENTS[:2], "alerts": [EVENTS[2]]}}
    ),
}  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_each_input_shape(cli: Cli, receiver: HTTPServer, tmp_path: Path, shape: str, via: str):
    text = SHAPES[shape]
    if via == "file":
        path = tmp_path / "events.json"
        path.write_text(text)
        result = cli("event", "send", "--file", str(path), "-o", "json", env=env_for(receiver))
    else:
        result = cli("event", "send", "--file", "-", "-o", "json", stdin=text,
                     env=env_for(receiver))  # fmt: skip
    assert result.json()["events"] == 3
    assert result.json()["requests"] == 1
    titles = [e["msg_title"] for e in received_events(receiver)]
    assert titles == ["one", "two", "three"]
    assert [e["_name"] for e in received_events(receiver)] == [
        "DeployEvent",
        "DeployEvent",
        "alerts",
    ]
    assert all("name" not in e for e in received_events(receiver))
    assert no_secret(result)


def test_one_event_object(cli: Cli, receiver: HTTPServer):
    multi_line = json.dumps(EVENTS[0], indent=2)
    cli("event", "send", "--file", "-", stdin=multi_line, env=env_for(receiver))
    assert [e["msg_title"] for e in received_events(receiver)] == ["one"]


@pytest.mark.parametrize(("count", "last"), [(5, None), (6, "1 more warning not shown"),
                                            (40, "35 more warnings not shown")])  # fmt: skip
def test_warnings_stop_after_five_and_say_how_many_more(
    cli: Cli, receiver: HTTPServer, count: int, last: str
) -> None:
    lines = "".join(
        json.dumps({"event_type": f"deploy{n}", "msg_title": "t"}) + "\n" for n in range(count)
    )
    result = cli("event", "send", "--file", "-", stdin=lines, env=env_for(receiver))
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert [w.split("stdin line ")[1].split(":")[0] for w in warnings[:5]] == list("12345")
    assert len(warnings) == (5 if last is None else 6)
    assert last is None or warnings[-1].endswith(f"warning: {last}")
    assert len(received_events(receiver)) == count  # warned about, sent all the same


def test_a_warning_the_flags_cause_shows_once_not_once_an_event(
    cli: Cli, receiver: HTTPServer
) -> None:
    lines = "".join(json.dumps({"msg_title": f"t{n}"}) + "\n" for n in range(40))
    old = str(int(NOW) - 7200)
    result = cli("event", "send", "Deploy", "--file", "-", "--timestamp", old, stdin=lines,
                 env=env_for(receiver))  # fmt: skip
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert [w.split("warning: ")[1] for w in warnings] == [
        "stdin line 1: event type 'Deploy' does not end in 'Event' (StackState's convention, "
        "e.g. DeployEvent)",
        "stdin line 1: the timestamp is 2 hours old; StackState may ignore events that old",
        "78 more warnings not shown",
    ]
    assert len(received_events(receiver)) == 40


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"event_type": "AEvent", "msg_title": "a"}\n{"event_type": "BEvent"}\n',
         "stdin line 2: msg_title: Field required"),
        ('[{"event_type": "AEvent", "msg_title": "a"}, {"msg_title": "b"}]',
         "stdin[1]: the event has no event_type"),
        ('[{"event_type": "AEvent", "msg_title": "a"}, 5]',
         "stdin[1]: an event must be a JSON object"),
        ('{"event_type": "AEvent", "msg_title": "a", "timestamp": 1700000000000}',
         "timestamp: 1700000000000 looks like epoch milliseconds"),
        ('{"event_type": "AEvent", "msg_title": "a", "context": {"category": "Nope"}}',
         "context.category: 'Nope' is not a category"),
        ('{"event_type": "AEvent", "msg_title": "a", "context": {"data": [1]}}',
         "context.data: Input should be a valid dictionary"),
        ('{"event_type": "AEvent", "msg_title": "a", "name": "hostX"}', "starts with 'host'"),
        ('{"event_type": "AEvent", "msg_title": "a", "colour": "red"}',
         "colour: Extra inputs are not permitted"),
        ('[{"event_type": "AEvent", "msg_title": "a"}, {oops}]', "stdin[1]: not valid JSON"),
        ('[{"event_type": "AEvent", "msg_title": "a"}', "the JSON array is not closed"),
        ("event_type=AEvent", "stdin: neither JSON nor NDJSON"),
        ("  \n", "stdin: no events in it"),
    ],
)  # fmt: skip
def test_all_or_nothing(cli: Cli, receiver: HTTPServer, text: str, message: str):
    result = cli("event", "send", "--file", "-", stdin=text, env=env_for(receiver), expect=2)
    assert message.replace("'", "") in result.stderr.replace("'", "")
    assert len(result.stderr.strip().splitlines()) == 1
    assert receiver.log == []


def test_flags_fill_in_what_events_lack(cli: Cli, receiver: HTTPServer):
    events = [
        {"msg_title": "bare"},
        {"event_type": "OwnEvent", "msg_title": "own", "tags": ["mine"],
         "source_type_name": "own-type",
         "context": {"source": "own-source", "category": "Alerts", "element_identifiers": ["x"],
                     "data": {"k": "event"}}},
    ]  # fmt: skip
    cli(
        "event", "send", "DefaultEvent", "--file", "-", "-s", "ci", "-c", "changes",
        "-i", "urn:svc", "-t", "team:web", "--source-type-name", "flag-type",
        "-d", "k=flag", "extra=1", "--hostname", "runner-1", "--timestamp", "1700000100",
        stdin="\n".join(json.dumps(e) for e in events), env=env_for(receiver),
    )  # fmt: skip
    bare, own = received_events(receiver)
    assert bare["event_type"] == "DefaultEvent"
    assert bare["_name"] == "DefaultEvent"
    assert bare["timestamp"] == 1700000100
    assert bare["tags"] == ["team:web"]
    assert bare["source_type_name"] == "flag-type"
    assert bare["context"] == {
        "category": "Changes", "source": "ci", "element_identifiers": ["urn:svc"],
        "source_links": [], "data": {"k": "flag", "extra": "1"},
    }  # fmt: skip
    assert own["event_type"] == "OwnEvent"
    assert own["tags"] == ["mine", "team:web"]
    assert own["source_type_name"] == "own-type"
    assert own["context"]["source"] == "own-source"
    assert own["context"]["category"] == "Alerts"
    assert own["context"]["element_identifiers"] == ["x", "urn:svc"]
    assert own["context"]["data"] == {"k": "event", "extra": "1"}
    assert json.loads(receiver.log[0][0].get_data())["internalHostname"] == "runner-1"


def test_batches_split_under_the_limit_in_order(cli: Cli, receiver: HTTPServer):
    lines = [json.dumps({"event_type": f"E{i % 3}Event", "msg_title": f"event {i}",
                         "msg_text": "x" * (i % 50)}) for i in range(400)]  # fmt: skip
    result = cli("event", "send", "--file", "-", "--max-request-bytes", "4096", "-o", "json",
                 stdin="\n".join(lines), env=env_for(receiver))  # fmt: skip
    for request, _ in receiver.log:
        valid_common_object(request.get_data())
    sizes = [len(request.get_data()) for request, _ in receiver.log]
    assert all(size <= 4096 for size in sizes)
    assert len(sizes) == result.json()["requests"] > 10
    assert result.json()["events"] == 400
    titles = [e["msg_title"] for e in received_events(receiver)]
    assert sorted(titles, key=lambda t: int(t.split()[1])) == [f"event {i}" for i in range(400)]
    # bodies go in order: every event of a body comes before every event of the next
    per_body = [[int(e["msg_title"].split()[1]) for g in json.loads(r.get_data())["events"].values()
                 for e in g] for r, _ in receiver.log]  # fmt: skip
    assert all(max(a) < min(b) for a, b in itertools.pairwise(per_body))


def test_an_event_larger_than_the_limit_is_named(cli: Cli, receiver: HTTPServer):
    lines = [
        json.dumps({"event_type": "AEvent", "msg_title": "small"}),
        json.dumps({"event_type": "AEvent", "msg_title": "big", "msg_text": "x" * 5000}),
    ]
    result = cli("event", "send", "--file", "-", "--max-request-bytes", "4096",
                 stdin="\n".join(lines), env=env_for(receiver), expect=2)  # fmt: skip
    assert "stdin line 2: the event alone makes a body of" in result.stderr
    assert "over the request size limit of 4096" in result.stderr
    assert receiver.log == []


def test_gzip(cli: Cli, receiver: HTTPServer):
    lines = "\n".join(json.dumps({"event_type": "AEvent", "msg_title": f"t{i}"}) for i in range(50))
    cli("event", "send", "--file", "-", "--gzip", stdin=lines, env=env_for(receiver))
    ((request, _),) = receiver.log
    assert request.headers["Content-Encoding"] == "gzip"
    assert len(received_events(receiver)) == 50


def test_dry_run_prints_every_body(cli: Cli):
    lines = "\n".join(
        json.dumps({"event_type": "AEvent", "msg_title": "t" * 300}) for _ in range(20)
    )
    result = cli("event", "send", "--file", "-", "--dry-run", "--max-request-bytes", "2048",
                 stdin=lines)  # fmt: skip
    bodies = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(bodies) > 1
    assert sum(len(g) for b in bodies for g in b["events"].values()) == 20
    assert "dry run: 20 event(s) in" in result.stderr


def test_a_batch_that_fails_midway_is_queued_then_flushed(cli: Cli, httpserver: HTTPServer):
    answers = iter([202] + [503] * 100)
    httpserver.expect_request(INTAKE).respond_with_handler(
        lambda request: __import__("werkzeug").Response("", status=next(answers))
    )
    lines = "\n".join(json.dumps({"event_type": "AEvent", "msg_title": f"event {i}",
                                  "msg_text": "x" * 200}) for i in range(60))  # fmt: skip
    cli("event", "send", "--file", "-", "--max-request-bytes", "4096", "--retries", "0",
                 stdin=lines, env=env_for(httpserver), expect=75)  # fmt: skip
    first_body = json.loads(httpserver.log[0][0].get_data())
    delivered = [e["msg_title"] for g in first_body["events"].values() for e in g]
    # the first body (202); the second (503) is held while the next ones are tried, once
    # each, to tell a payload the receiver fails on from an outage; after 3 held and a
    # fourth failing too, it is an outage: the rest is queued
    assert len(httpserver.log) == 5
    queued = cli("spool", "list", "-o", "json").json()
    assert sum(entry["events"] for entry in queued) == 60 - len(delivered)
    httpserver.clear()
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    cli("spool", "flush", env=env_for(httpserver))
    titles = delivered + [e["msg_title"] for e in received_events(httpserver)]
    assert titles == [f"event {i}" for i in range(60)]  # each once, in order


def test_missing_file(cli: Cli):
    result = cli("event", "send", "--file", "/nonexistent/events.json", "--dry-run", expect=2)
    assert "--file: cannot read /nonexistent/events.json: No such file or directory" in (
        result.stderr
    )


def test_not_utf8(cli: Cli, tmp_path: Path):
    path = tmp_path / "events.json"
    path.write_bytes(b'[{"event_type": "A\xff"}]')
    result = cli("event", "send", "--file", str(path), "--dry-run", expect=2)
    assert f"--file: {path}: not UTF-8 text" in result.stderr


# Packing, as a property: nothing lost, nothing reordered, nothing over the limit.


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 900)), max_size=200),
    st.integers(1500, 6000),
)
def test_packer_keeps_every_event_and_the_limit(events: list, limit: int) -> None:
    packer = Packer(hostname="h", collection_timestamp=1, max_bytes=limit)
    bodies = []
    for index, (name, size) in enumerate(events):
        wire = json.dumps({"i": index, "pad": "x" * size}, separators=(",", ":")).encode()
        key = json.dumps(name).encode()
        assert packer.smallest_body(key, wire) <= limit
        body = packer.add(key, wire)
        if body is not None:
            bodies.append(body)
    last = packer.finish()
    if last is not None:
        bodies.append(last)
    seen = []
    for body, count in bodies:
        assert len(body) <= limit
        document = json.loads(body)
        indexes = [event["i"] for group in document["events"].values() for event in group]
        assert len(indexes) == count
        seen.append(sorted(indexes))
    assert [i for chunk in seen for i in chunk] == list(range(len(events)))


def test_a_last_line_of_one_brace_is_an_error_at_its_line(cli: Cli):
    text = json.dumps(EVENTS[0]) + "\n{"
    result = cli("event", "send", "--file", "-", "--dry-run", stdin=text, expect=2)
    assert "stdin line 2: not valid JSON" in result.stderr


def test_an_invalid_event_is_named_before_text_further_on_that_is_not_utf8(
    cli: Cli, tmp_path: Path
):
    path = tmp_path / "events.ndjson"
    lines = [json.dumps(EVENTS[0]), json.dumps({"event_type": "AEvent"})]
    lines += [json.dumps(EVENTS[1])] * 150
    path.write_bytes("\n".join(lines).encode() + b'\n{"msg_title": "\xff"}\n')
    result = cli("event", "send", "--file", str(path), "--dry-run", expect=2)
    assert "events.ndjson line 2: msg_title: Field required" in result.stderr
