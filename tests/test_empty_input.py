"""`--allow-empty`: an input of many events that holds none sends nothing and exits 0;
without it, an empty input stays a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import Cli, env_for

EMPTY_INPUTS = ["", "\n\n", "[]", "[ ]\n", '{"events": {}}', '{"events": {}, "metrics": []}\n']


@pytest.mark.parametrize("text", EMPTY_INPUTS)
def test_an_empty_input_is_a_usage_error_without_allow_empty(
    cli: Cli, receiver: HTTPServer, tmp_path: Path, text: str
):
    changes = tmp_path / "changes.ndjson"
    changes.write_text(text)
    result = cli("event", "send", "--file", str(changes), env=env_for(receiver), expect=2)
    assert f"{changes}: no events in it" in result.stderr
    assert "--allow-empty sends nothing and exits 0" in result.stderr
    piped = cli("event", "send", "--file", "-", "-o", "json", stdin=text, env=env_for(receiver),
                expect=2)  # fmt: skip
    assert piped.json()["error"]["kind"] == "usage"
    assert receiver.log == []


@pytest.mark.parametrize("text", EMPTY_INPUTS)
def test_an_empty_input_with_allow_empty_sends_nothing_and_exits_0(
    cli: Cli, receiver: HTTPServer, tmp_path: Path, text: str
):
    changes = tmp_path / "changes.ndjson"
    changes.write_text(text)
    env = env_for(receiver)
    result = cli("event", "send", "--file", str(changes), "--allow-empty", env=env)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"no events in {changes}; nothing was sent (--allow-empty)"
    ]
    as_json = cli("event", "send", "--file", "-", "--allow-empty", "-o", "json", stdin=text,
                  env=env).json()  # fmt: skip
    assert as_json == {
        "ok": True,
        "events": 0,
        "requests": 0,
        "address": f"{receiver.url_for('/receiver/stsAgent/intake')}?api_key=***",
        "empty": True,
    }
    quiet = cli("event", "send", "--file", str(changes), "--allow-empty", "-q", env=env)
    assert quiet.output == ""
    dry = cli("event", "send", "--file", str(changes), "--allow-empty", "--dry-run")
    assert "nothing was sent" in dry.stderr
    assert receiver.log == []


def test_allow_empty_changes_nothing_for_an_input_with_events(
    cli: Cli, receiver: HTTPServer, tmp_path: Path
):
    changes = tmp_path / "changes.ndjson"
    changes.write_text('{"event_type": "ChangeEvent", "msg_title": "one"}\n')
    result = cli("event", "send", "--file", str(changes), "--allow-empty", "-o", "json",
                 env=env_for(receiver))  # fmt: skip
    assert result.json()["events"] == 1
    assert len(receiver.log) == 1
    invalid = tmp_path / "invalid.ndjson"
    invalid.write_text('{"event_type": "ChangeEvent"}\n')  # no title: still all or nothing
    cli("event", "send", "--file", str(invalid), "--allow-empty", env=env_for(receiver), expect=2)
    assert len(receiver.log) == 1


def test_allow_empty_still_needs_a_receiver_and_a_file(cli: Cli, tmp_path: Path):
    changes = tmp_path / "changes.ndjson"
    changes.write_text("")
    unset = cli("event", "send", "--file", str(changes), "--allow-empty", expect=3)
    assert "no receiver address is set" in unset.stderr
    alone = cli("event", "send", "DeployEvent", "--title", "t", "--allow-empty", expect=2)
    assert "--allow-empty: only an input of many events can be empty" in alone.stderr


def test_a_common_json_object_without_host_or_time_is_one_still(
    cli: Cli, receiver: HTTPServer, tmp_path: Path
):
    """`{"events": {...}}` alone is read as the common JSON object it is (the host and
    time are the run's); an event that holds a field `events` stays an event, refused."""
    body = tmp_path / "body.json"
    body.write_text('{"events": {"deploys": [{"event_type": "DeployEvent", "msg_title": "t"}]}}')
    cli("event", "send", "--file", str(body), "-q", env=env_for(receiver))
    (sent,) = [request.get_json() for request, _ in receiver.log]
    assert list(sent["events"]) == ["deploys"]
    assert [event["msg_title"] for event in sent["events"]["deploys"]] == ["t"]
    assert sent["internalHostname"]
    assert sent["collection_timestamp"] > 0

    event = tmp_path / "event.json"
    event.write_text('{"event_type": "DeployEvent", "msg_title": "t", "events": {}}')
    refused = cli("event", "send", "--file", str(event), env=env_for(receiver), expect=2)
    assert "events: Extra inputs are not permitted" in refused.stderr
    assert len(receiver.log) == 1
