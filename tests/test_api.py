"""`import stac_events`: the same work as the command line, with typed errors, against
real local receivers."""

from __future__ import annotations

import json
import time
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List

import pytest
from pytest_httpserver import HTTPServer

import stac_events
from stac_events import (
    ConfigError,
    Event,
    EventContext,
    ExitStatus,
    InvalidInput,
    QueuedError,
    RejectedError,
    Setting,
    SourceLink,
)
from tests.conftest import API_KEY, INTAKE, received_events

DOWN = "http://127.0.0.1:9/receiver"


@pytest.fixture
def environ(home: Path) -> Dict[str, str]:
    return {
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "STAC_EVENTS_API_KEY": API_KEY,
    }


def settings_for(environ: Dict[str, str], url: str, **more: Any) -> stac_events.Settings:
    return stac_events.resolve_settings(url=url, environ=environ, **more)


def test_send_one_event(receiver: HTTPServer, environ: Dict[str, str]) -> None:
    event = Event(
        event_type="DeployEvent",
        msg_title="Deployed checkout 1.4.2",
        context=EventContext(
            category="Changes",
            element_identifiers=["urn:service:/checkout"],
            source_links=[SourceLink(title="Release", url="https://example.com/r/1.4.2")],
            data={"version": "1.4.2"},
        ),
        tags=["env:prod"],
    )
    before = int(time.time())
    outcome = stac_events.send(event, settings=settings_for(environ, receiver.url_for("/receiver")))
    assert (outcome.events, outcome.status, outcome.queued) == (1, 202, 0)
    (sent,) = received_events(receiver)
    assert sent["_name"] == "DeployEvent"
    assert sent["msg_text"] == "Deployed checkout 1.4.2"  # the title, as the CLI does
    assert before <= sent["timestamp"] <= int(time.time())
    assert sent["context"] == {
        "category": "Changes",
        "data": {"version": "1.4.2"},
        "element_identifiers": ["urn:service:/checkout"],
        "source": "stac-events",
        "source_links": [{"title": "Release", "url": "https://example.com/r/1.4.2"}],
    }
    ((request, _),) = receiver.log
    assert request.headers["sts-api-key"] == API_KEY


def test_send_many_events_and_mappings_with_names(
    receiver: HTTPServer, environ: Dict[str, str]
) -> None:
    events = [
        Event(
            event_type="VersionChangedEvent", msg_title="checkout 1.4.2", timestamp=int(time.time())
        ),
        {"event_type": "VersionChangedEvent", "msg_title": "cart 2.0.1", "name": "versions"},
    ]
    settings = settings_for(environ, receiver.url_for("/receiver"))
    outcome = stac_events.send(events, settings=settings, gzip=True)
    assert (outcome.events, len(outcome.receipts)) == (2, 1)
    assert [(e["_name"], e["msg_title"]) for e in received_events(receiver)] == [
        ("VersionChangedEvent", "checkout 1.4.2"),
        ("versions", "cart 2.0.1"),
    ]
    assert events[1] == {  # the caller's mapping is left as it was
        "event_type": "VersionChangedEvent",
        "msg_title": "cart 2.0.1",
        "name": "versions",
    }


def test_prepare_gives_the_exact_bodies_and_sends_nothing(
    receiver: HTTPServer, environ: Dict[str, str]
) -> None:
    settings = settings_for(environ, receiver.url_for("/receiver"), hostname="web-1")
    events = [
        {"event_type": "AEvent", "msg_title": f"n{i}", "msg_text": "x" * 400} for i in range(20)
    ]
    prepared = stac_events.prepare(events, settings=settings, max_request_bytes=2048)
    bodies = [body for body, _ in prepared.payloads]
    assert prepared.events == 20
    assert len(bodies) > 1
    assert all(len(body) <= 2048 for body in bodies)
    assert {json.loads(body)["internalHostname"] for body in bodies} == {"web-1"}
    assert receiver.log == []


def test_an_invalid_event_raises_invalid_input_naming_the_field(environ: Dict[str, str]) -> None:
    settings = settings_for(environ, DOWN)
    with pytest.raises(InvalidInput) as raised:
        stac_events.send({"event_type": "AEvent", "msg_title": "a", "context": {"category": "X"}},
                         settings=settings)  # fmt: skip
    assert raised.value.field == "context.category"
    assert raised.value.status == ExitStatus.USAGE
    assert "'X' is not a category" in str(raised.value)
    with pytest.raises(InvalidInput, match="events\\[1\\]: msg_title: Field required"):
        stac_events.send([{"event_type": "A", "msg_title": "a"}, {"event_type": "B"}],
                         settings=settings)  # fmt: skip
    with pytest.raises(Exception, match="msg_title"):
        Event(event_type="AEvent", msg_title=" ")  # the model itself refuses a blank title


def test_receiver_down_queues_then_flush_delivers(
    httpserver: HTTPServer, environ: Dict[str, str]
) -> None:
    down = settings_for(environ, DOWN, retries=0)
    with pytest.raises(QueuedError) as raised:
        stac_events.send(Event(event_type="AEvent", msg_title="queued"), settings=down)
    assert raised.value.status == ExitStatus.QUEUED
    assert raised.value.queued == 1
    spool = Path(environ["XDG_STATE_HOME"]) / "stac-events" / "spool" / "pending"
    (queued,) = spool.iterdir()
    header, _, body = queued.read_bytes().partition(b"\n")
    assert API_KEY.encode() not in queued.read_bytes()
    # the receiver comes back at that address: point the queued payload at the live one
    live = httpserver.url_for(INTAKE)
    queued.write_bytes(json.dumps({**json.loads(header), "address": live}).encode() + b"\n" + body)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    outcome = stac_events.flush_spool(settings_for(environ, httpserver.url_for("/receiver")))
    assert (outcome.flushed.delivered, outcome.flushed.events) == (1, 1)
    assert [e["msg_title"] for e in received_events(httpserver)] == ["queued"]
    assert list(spool.iterdir()) == []


def test_a_refusal_raises_rejected_error(httpserver: HTTPServer, environ: Dict[str, str]) -> None:
    httpserver.expect_request(INTAKE).respond_with_data("bad key", status=401)
    settings = settings_for(environ, httpserver.url_for("/receiver"), spool=False)
    with pytest.raises(RejectedError) as raised:
        stac_events.send(Event(event_type="AEvent", msg_title="a"), settings=settings)
    assert raised.value.status_code == 401
    assert raised.value.status == ExitStatus.REJECTED
    assert API_KEY not in str(raised.value)


def test_settings_resolve_as_the_cli_does_with_origins(home: Path) -> None:
    conf = home / "conf.yaml"
    conf.write_text("instances:\n  default:\n    receiver_api:\n      url: sts.example.com\n")
    conf.chmod(0o600)
    settings = stac_events.resolve_settings(
        config=str(conf), timeout=2.5, environ={"HOME": str(home), "STS_API_KEY": "agent-key"}
    )
    assert settings.address == stac_events.Setting(
        "https://sts.example.com/receiver/stsAgent/intake", f"{conf}:4"
    )
    assert settings.api_key == stac_events.Setting("agent-key", "$STS_API_KEY")
    assert settings.read_timeout == stac_events.Setting(2.5, "the timeout argument")
    assert settings.retries.origin == "default"
    with pytest.raises(InvalidInput) as raised:
        stac_events.resolve_settings(timeout=0, environ={"HOME": str(home)})
    assert raised.value.field == "timeout"


def test_no_receiver_is_a_config_error_that_says_how(home: Path) -> None:
    settings = stac_events.resolve_settings(environ={"HOME": str(home)})
    with pytest.raises(ConfigError, match="pass the url argument"):
        stac_events.send(Event(event_type="AEvent", msg_title="a"), settings=settings)


def test_warnings_go_through_the_warnings_module(
    receiver: HTTPServer, environ: Dict[str, str]
) -> None:
    settings = settings_for(environ, receiver.url_for("/receiver"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stac_events.send(Event(event_type="deploy", msg_title="a"), settings=settings)
    assert [str(w.message) for w in caught] == [
        "the event: event type 'deploy' does not end in 'Event' (StackState's convention, "
        "e.g. DeployEvent)"
    ]
    assert all(issubclass(w.category, stac_events.StacEventsWarning) for w in caught)


def test_the_public_api_is_what_all_says_and_is_typed() -> None:
    for name in stac_events.__all__:
        assert getattr(stac_events, name) is not None
    assert sorted(dir(stac_events)) == sorted(stac_events.__all__)
    with pytest.raises(AttributeError):
        stac_events.no_such_thing  # noqa: B018
    assert resources.files("stac_events").joinpath("py.typed").is_file()


def test_the_model_reads_categories_and_timestamps_as_the_cli_does() -> None:
    from datetime import datetime, timezone

    assert EventContext(category="changes").category == "Changes"
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    for given in (moment, "2024-05-01T12:00:00Z", 1714564800.0, 1714564800):
        assert Event(event_type="AEvent", msg_title="a", timestamp=given).timestamp == 1714564800
    with pytest.raises(Exception, match="looks like epoch milliseconds; use seconds"):
        Event(event_type="AEvent", msg_title="a", timestamp=1714564800000)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"url": 5}, "url"),
        ({"retries": "3"}, "retries"),
        ({"retries": True}, "retries"),
        ({"timeout": "soon"}, "timeout"),
        ({"timeout": 1e14}, "timeout"),
        ({"insecure": "yes"}, "insecure"),
    ],
)
def test_arguments_of_the_wrong_kind_are_invalid_input(
    home: Path, arguments: Dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        stac_events.resolve_settings(environ={"HOME": str(home)}, **arguments)
    assert raised.value.field == field


@pytest.mark.parametrize("events", ["hello", 5, None, b"{}"])
def test_what_is_not_events_is_invalid_input(environ: Dict[str, str], events: Any) -> None:
    with pytest.raises(InvalidInput, match="give an Event, a mapping of its fields, or an"):
        stac_events.prepare(events, settings=settings_for(environ, DOWN))


def test_prepared_is_a_context_manager_and_too_small_a_limit_is_refused(
    environ: Dict[str, str],
) -> None:
    settings = settings_for(environ, DOWN)
    with stac_events.prepare([{"event_type": "AEvent", "msg_title": "a"}],
                             settings=settings) as prepared:  # fmt: skip
        store = prepared.store
        assert store is not None
        assert not store.closed
    assert store.closed
    with pytest.raises(InvalidInput) as raised:
        stac_events.prepare({"event_type": "AEvent", "msg_title": "a"}, settings=settings,
                            max_request_bytes=100)  # fmt: skip
    assert raised.value.field == "max_request_bytes"


def test_settings_never_show_the_key(environ: Dict[str, str]) -> None:
    settings = settings_for(environ, DOWN, api_key="abcdefgh-the-key")
    assert "abcdefgh-the-key" not in repr(settings)
    assert repr(settings.api_key) == "Setting('***', 'the api_key argument')"
    assert settings.api_key.value == "abcdefgh-the-key"


def test_ci_context_is_read_from_the_given_environment(
    receiver: HTTPServer, environ: Dict[str, str]
) -> None:
    ci = {**environ, "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "42"}
    settings = stac_events.resolve_settings(url=receiver.url_for("/receiver"), ci_context=True,
                                            environ=ci)  # fmt: skip
    stac_events.send(Event(event_type="AEvent", msg_title="a"), settings=settings, environ=ci)
    (sent,) = received_events(receiver)
    assert sent["context"]["data"]["ci.run_id"] == "42"
    assert "ci_provider:github-actions" in sent["tags"]


@pytest.mark.slow
def test_a_terminated_send_queues_and_carries_its_outcome(
    own_server: HTTPServer, environ: Dict[str, str]
) -> None:
    """A program's own SIGTERM handler raises `Terminated`: the event is queued first."""
    import signal
    import threading

    arrived = threading.Event()

    def stall(request: Any) -> Any:
        from werkzeug import Response

        arrived.set()
        time.sleep(3)
        return Response("", status=202)

    def terminate(signum: int, frame: Any) -> None:
        raise stac_events.Terminated()

    own_server.expect_request(INTAKE).respond_with_handler(stall)
    settings = settings_for(environ, own_server.url_for("/receiver"), max_time=30)
    assert settings.max_time == Setting(30.0, "the max_time argument")

    def alarm_once_it_arrived() -> None:
        if arrived.wait(10):
            signal.alarm(1)  # SIGALRM reaches the main thread, blocked waiting for the answer

    previous = signal.signal(signal.SIGALRM, terminate)
    threading.Thread(target=alarm_once_it_arrived).start()
    try:
        with pytest.raises(stac_events.Terminated) as raised:
            stac_events.send(Event(event_type="AEvent", msg_title="t"), settings=settings)
    finally:
        signal.signal(signal.SIGALRM, previous)
    outcome = raised.value.outcome  # type: ignore[attr-defined]
    assert outcome.counts() == {"delivered": 0, "refused": 0, "queued": 1, "not_sent": 0}
    assert outcome.problem().status == ExitStatus.TERMINATED


def test_an_event_made_in_python_has_the_command_lines_defaults(tmp_path: Path) -> None:
    """A title alone makes an event the receiver takes, posted as it is: its text is the
    title and its timestamp now; and `Store` takes a path given as text."""
    import requests

    from stac_events.receiver import LocalReceiver, Store

    before = int(time.time())
    event = Event(event_type="XEvent", msg_title="t")
    assert event.msg_text == "t"
    assert event.timestamp is not None
    assert before <= event.timestamp <= int(time.time())
    body = {"collection_timestamp": before, "internalHostname": "h",
            "events": {"XEvent": [event.model_dump(exclude_none=True)]},
            "metrics": [], "service_checks": [], "topologies": [], "health": []}  # fmt: skip
    with LocalReceiver(Store(str(tmp_path / "events.db")), port=0) as receiver:
        answer = requests.post(f"{receiver.url}/stsAgent/intake", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        (stored,) = receiver.store.events()
    assert stored.event["msg_text"] == "t"


def test_an_outcome_says_what_it_holds(receiver: HTTPServer, environ: Dict[str, str]) -> None:
    settings = settings_for(environ, receiver.url_for("/receiver"))
    outcome = stac_events.send(Event(event_type="XEvent", msg_title="t"), settings=settings)
    assert repr(outcome) == (
        "Outcome(delivered=1, refused=0, queued=0, not_sent=0, status=202, "
        "flushed=FlushReport(delivered=0, events=0, rejected=0, failed=0, passed_over=0, "
        "elsewhere=0, corrupt=0))"
    )


def test_send_reports_progress_as_the_receiver_takes_each_body(
    receiver: HTTPServer, environ: Dict[str, str]
) -> None:
    seen: List[int] = []
    events = [Event(event_type="AEvent", msg_title=f"n{i}", msg_text="x" * 600) for i in range(5)]
    settings = settings_for(environ, receiver.url_for("/receiver"))
    outcome = stac_events.send(events, settings=settings, max_request_bytes=2048,
                               progress=seen.append)  # fmt: skip
    assert len(receiver.log) == len(seen) > 1  # one call a request body
    assert sum(seen) == outcome.events == 5


def _five_events_in_bodies_of_two_or_fewer() -> List[Event]:
    return [Event(event_type="AEvent", msg_title=f"n{i}", msg_text="x" * 600) for i in range(5)]


def test_what_a_progress_function_raises_comes_once_every_event_went(
    receiver: HTTPServer, environ: Dict[str, str]
) -> None:
    def broken(events: int) -> None:
        raise RuntimeError("the progress bar broke")

    settings = settings_for(environ, receiver.url_for("/receiver"))
    with pytest.raises(RuntimeError, match="progress bar broke") as raised:
        stac_events.send(_five_events_in_bodies_of_two_or_fewer(), settings=settings,
                         max_request_bytes=2048, progress=broken)  # fmt: skip
    assert len(received_events(receiver)) == 5
    assert raised.value.outcome.counts()["delivered"] == 5  # type: ignore[attr-defined]


def test_a_ctrl_c_in_the_progress_function_queues_what_was_not_sent(
    receiver: HTTPServer, environ: Dict[str, str]
) -> None:
    def interrupted(events: int) -> None:
        raise KeyboardInterrupt

    settings = settings_for(environ, receiver.url_for("/receiver"))
    with pytest.raises(KeyboardInterrupt) as raised:
        stac_events.send(_five_events_in_bodies_of_two_or_fewer(), settings=settings,
                         max_request_bytes=2048, progress=interrupted)  # fmt: skip
    counts = raised.value.outcome.counts()  # type: ignore[attr-defined]
    sent = len(received_events(receiver))
    assert 0 < sent < 5
    assert counts == {"delivered": sent, "refused": 0, "queued": 5 - sent, "not_sent": 0}
    spool = Path(environ["XDG_STATE_HOME"]) / "stac-events" / "spool" / "pending"
    assert len(list(spool.iterdir())) >= 1


def test_a_progress_that_is_not_a_function_is_refused_before_anything_is_sent(
    receiver: HTTPServer, environ: Dict[str, str]
) -> None:
    settings = settings_for(environ, receiver.url_for("/receiver"))
    with pytest.raises(InvalidInput, match="give a function, not int") as raised:
        stac_events.send(Event(event_type="AEvent", msg_title="t"), settings=settings,
                         progress=5)  # type: ignore[arg-type]  # fmt: skip
    assert raised.value.field == "progress"
    assert received_events(receiver) == []


def test_warnings_point_at_the_callers_line_and_none_comes_with_an_error(
    httpserver: HTTPServer, environ: Dict[str, str]
) -> None:
    old = Event(event_type="AEvent", msg_title="t", timestamp=int(time.time()) - 90 * 86400)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    settings = settings_for(environ, httpserver.url_for("/receiver"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stac_events.send(old, settings=settings)
        stac_events.prepare(old, settings=settings).close()
    assert len(caught) == 2
    assert {Path(warning.filename) for warning in caught} == {Path(__file__)}
    # queued and then refused by the receiver: the error says so, and no warning repeats it
    down = settings_for(environ, DOWN, retries=0)
    with pytest.raises(QueuedError):
        stac_events.send(Event(event_type="AEvent", msg_title="t"), settings=down)
    httpserver.clear()
    httpserver.expect_request(INTAKE).respond_with_data("no", status=400)
    spool = Path(environ["XDG_STATE_HOME"]) / "stac-events" / "spool" / "pending"
    (queued,) = spool.iterdir()
    header, _, body = queued.read_bytes().partition(b"\n")
    live = httpserver.url_for(INTAKE)
    queued.write_bytes(json.dumps({**json.loads(header), "address": live}).encode() + b"\n" + body)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        with pytest.raises(RejectedError):
            stac_events.flush_spool(settings)


def test_an_empty_host_name_is_refused_as_the_command_line_refuses_it(
    environ: Dict[str, str],
) -> None:
    with pytest.raises(InvalidInput, match="is empty") as raised:
        stac_events.resolve_settings(environ=environ, url=DOWN, hostname=" ")
    assert raised.value.field == "hostname"
