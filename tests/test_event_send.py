"""`event send` end to end: flags in, the exact payload out, against a real local receiver."""

from __future__ import annotations

import json
import time
from typing import List

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from stac_events import __version__
from tests.conftest import (
    API_KEY,
    DOCS_EXAMPLE,
    INTAKE,
    NOW,
    Cli,
    env_for,
    isolated_environment,
    no_secret,
    single_event,
    valid_common_object,
)

DOCS_EVENT = {
    "context": {
        "category": "Changes",
        "data": {"data_key1": "data_value1", "data_key2": "data_value2"},
        "element_identifiers": ["element_identifier1", "element_identifier2"],
        "source": "source_system",
        "source_links": [
            {"title": "link_title1", "url": "link_url1"},
            {"title": "link_title2", "url": "link_url2"},
        ],
    },
    "event_type": "event_type",
    "msg_title": "event_title",
    "msg_text": "event_title",
}


def bodies(server: HTTPServer) -> List[dict]:
    return [json.loads(request.get_data()) for request, _ in server.log]


def test_docs_example_dry_run_through_stac_alias(run_script) -> None:
    result = run_script("stac", *DOCS_EXAMPLE, "--dry-run")
    payload = json.loads(result.stdout)
    assert list(payload) == [
        "collection_timestamp", "internalHostname", "events",
        "metrics", "service_checks", "topologies", "health",
    ]  # fmt: skip
    assert list(payload["events"]) == ["event_type"]
    event = single_event(payload)
    assert abs(event.pop("timestamp") - time.time()) < 60
    assert event == DOCS_EVENT
    assert {k: payload[k] for k in ("metrics", "service_checks", "topologies", "health")} == {
        "metrics": [], "service_checks": [], "topologies": [], "health": [],
    }  # fmt: skip
    assert "Traceback" not in result.stderr


def test_docs_example_sent_through_stac_alias(run_script, receiver: HTTPServer) -> None:
    result = run_script("stac", *DOCS_EXAMPLE, env=env_for(receiver))
    assert "sent 1 event" in result.stderr
    assert no_secret(result)
    ((request, _),) = receiver.log
    assert request.args["api_key"] == API_KEY
    assert request.headers["sts-api-key"] == API_KEY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"stac-events/{__version__}"
    event = single_event(json.loads(request.get_data()))
    event.pop("timestamp")
    assert event == DOCS_EVENT


def test_wire_body_is_what_dry_run_printed(cli: Cli, receiver: HTTPServer) -> None:
    dry = cli(*DOCS_EXAMPLE, "--dry-run")
    sent = cli(*DOCS_EXAMPLE, env=env_for(receiver))
    assert dry.status == sent.status == 0
    ((request, _),) = receiver.log
    assert request.get_data() == dry.stdout.rstrip("\n").encode()
    assert valid_common_object(request.get_data())["internalHostname"] == "test-host"


@pytest.mark.parametrize(
    "args",
    [
        ["-i", "a", "b", "-t", "k:v", "k2:v2", "--links", "A: x", "B: y"],
        ["-i", "a", "-i", "b", "-t", "k:v", "-t", "k2:v2", "--links", "A: x", "--links", "B: y"],
        [
            "--identifier",
            "a",
            "b",
            "--tags",
            "k:v",
            "--tags",
            "k2:v2",
            "--links=A: x",
            "--links",
            "B: y",
        ],
        ["-i", "a", "-t", "k:v", "k2:v2", "--links", "A: x", "B: y", "-i", "b"],
    ],
)
def test_multi_value_forms_build_the_same_event(cli: Cli, args: List[str]) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", *args, "--dry-run")
    event = single_event(result.json())
    assert event["context"]["element_identifiers"] == ["a", "b"]
    assert event["tags"] == ["k:v", "k2:v2"]
    assert event["context"]["source_links"] == [
        {"title": "A", "url": "x"}, {"title": "B", "url": "y"},
    ]  # fmt: skip


GOES_BEFORE = "it goes before the flags that take several values, "


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--title", "t", "-i", "a", "b", "DeployEvent"],
         GOES_BEFORE + "e.g. stac-events event send DeployEvent --title t -i a b"),
        (["--title", "t", "-t", "env:prod", "team:web", "--dry-run"],
         GOES_BEFORE + "e.g. stac-events event send EVENT_TYPE --title t -t env:prod team:web "
         "--dry-run"),
        (["--title", "t", "-t", "x", "y", "DeployEvent", "-i", "a", "b"],
         GOES_BEFORE + "e.g. stac-events event send DeployEvent --title t -t x y -i a b"),
        (["--title", "t", "-i", "a", "--dry-run"],
         "e.g. stac-events event send EVENT_TYPE --title t -i a --dry-run"),
        (["--title", "t", "-q"], "e.g. stac-events event send EVENT_TYPE --title t -q"),
    ],
)  # fmt: skip
def test_values_run_to_the_next_option_so_a_late_event_type_is_an_error(
    cli: Cli, args: List[str], hint: str
) -> None:
    """As argparse's nargs='+' did for `stac`: no value is taken back by guessing; the hint
    shows the line with EVENT_TYPE in its place."""
    result = cli("event", "send", *args, expect=2)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line == f"stac-events: error: Missing argument 'EVENT_TYPE'; {hint}"
    fixed = hint.split("e.g. ")[1]
    if "EVENT_TYPE" not in fixed:  # the line as the hint shows it does what was meant
        cli("event", "send", *fixed.split()[3:], "--dry-run")


def test_a_value_attached_to_a_flag_is_its_only_one(cli: Cli) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", "--links=A: x", "B: y",
                 "--dry-run", expect=2)  # fmt: skip
    assert "more arguments than the command takes" in result.stderr
    assert "B: y" not in result.stderr  # argv is never quoted back: a key may sit there


def test_data_values_merge_in_order(cli: Cli, tmp_path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"from_file": true, "v": "file"}')
    result = cli(
        "event", "send", "DeployEvent", "--title", "t",
        "-d", f"@{path}", "-d", "v=flag", "team=web", "--dry-run",
    )  # fmt: skip
    assert single_event(result.json())["context"]["data"] == {
        "from_file": True, "v": "flag", "team": "web",
    }  # fmt: skip


def test_minimal_event_has_no_context_and_no_nulls(cli: Cli) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "Deployed", "--dry-run")
    payload = result.json()
    assert payload == {
        "collection_timestamp": int(NOW),
        "internalHostname": "test-host",
        "events": {
            "DeployEvent": [
                {"event_type": "DeployEvent", "msg_title": "Deployed", "msg_text": "Deployed",
                 "timestamp": int(NOW)}
            ]
        },
        "metrics": [], "service_checks": [], "topologies": [], "health": [],
    }  # fmt: skip


def test_context_defaults_when_only_source_is_given(cli: Cli) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", "-s", "ci", "--dry-run")
    assert single_event(result.json())["context"] == {
        "category": "Others", "element_identifiers": [], "source": "ci", "source_links": [],
    }  # fmt: skip


def test_every_optional_field(cli: Cli) -> None:
    result = cli(
        "event", "send", "DeployEvent", "--title", "t", "-m", "body", "-c", "alerts",
        "--source-identifier", "JIRA-1", "--source-type-name", "deploy",
        "--timestamp", "2023-11-14T22:13:20Z", "--name", "deploys.web", "--hostname", "web-1",
        "--dry-run",
    )  # fmt: skip
    payload = result.json()
    assert payload["internalHostname"] == "web-1"
    assert list(payload["events"]) == ["deploys.web"]
    event = single_event(payload)
    assert event["msg_text"] == "body"
    assert event["source_type_name"] == "deploy"
    assert event["timestamp"] == 1_700_000_000
    assert event["context"]["category"] == "Alerts"
    assert event["context"]["source"] == "stac-events"
    assert event["context"]["source_identifier"] == "JIRA-1"


def test_text_from_stdin(cli: Cli) -> None:
    result = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "-m",
        "-",
        "--dry-run",
        stdin="line one\nline two\n",
    )
    assert single_event(result.json())["msg_text"] == "line one\nline two"


def test_text_from_file(cli: Cli, tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("release notes\n")
    result = cli("event", "send", "DeployEvent", "--title", "t", "--text", f"@{path}", "--dry-run")
    assert single_event(result.json())["msg_text"] == "release notes"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Missing argument 'EVENT_TYPE'"),
        (["DeployEvent"], "--title: an event needs a title"),
        (["DeployEvent", "--title", "  "], "--title: is empty; give a value"),
        (
            ["DeployEvent", "--title", "t", "-c", "deploys"],
            "'deploys' is not a category; use one of",
        ),
        (["DeployEvent", "--title", "t", "-d", "[1,2]"], "--data: the value holds a JSON array"),
        (["DeployEvent", "--title", "t", "-d", "42"], "--data: '42' is neither"),
        (["DeployEvent", "--title", "t", "-d", "{oops"], "--data: the value is not valid JSON"),
        (["DeployEvent", "--title", "t", "-d", "@missing.json"], "--data: cannot read data file"),
        (["DeployEvent", "--title", "t", "--links", "Title: "], "--links: 'Title: ' is not a link"),
        (["DeployEvent", "--title", "t", "-t", " "], "--tags: is empty"),
        (
            ["DeployEvent", "--title", "t", "--timestamp", "1700000000000"],
            "--timestamp: '1700000000000' looks like epoch milliseconds; use seconds (1700000000)",
        ),
        (["DeployEvent", "--title", "t", "--timestamp", "soon"], "--timestamp: 'soon' is not a"),
        (
            ["hostEvent", "--title", "t"],
            "starts with 'host', which the receiver reserves; give another with --name",
        ),
        (["DeployEvent", "--title", "t", "--name", "timestampX"], "--name: event name"),
        (["DeployEvent", "--title", "t", "-m", "@nowhere.txt"], "--text: cannot read text file"),
        (["DeployEvent", "--title", "t", "--timeout", "0"], "--timeout: '0' is not a time limit"),
        (
            ["DeployEvent", "--title", "t", "--timeout", "soon"],
            "--timeout: 'soon' is not a number of seconds",
        ),
        (["DeployEvent", "--title", "t", "--retries", "-1"], "--retries: -1 is too small"),
        (["DeployEvent", "--title", "t", "--output", "yaml"], "--output: 'yaml' is not one of"),
        (
            ["DeployEvent", "--title", "t", "-i", "--dry-run"],
            "-i: expected at least one value, got '--dry-run'",
        ),
        (["DeployEvent", "--title", "t", "--frobnicate"], "--frobnicate"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli: Cli, args: List[str], message: str) -> None:
    result = cli("event", "send", *args, "--dry-run", expect=2)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("stac-events: error: ")
    assert message in lines[0]


def test_usage_error_as_json(cli: Cli) -> None:
    result = cli(
        "event", "send", "DeployEvent", "--title", "t", "-c", "nope", "--output", "json", expect=2
    )
    error = result.json()["error"]
    assert result.json()["ok"] is False
    assert error["kind"] == "usage"
    assert "not a category" in error["message"]


def test_warnings_do_not_fail(cli: Cli) -> None:
    result = cli(
        "event", "send", "deploy", "--title", "t", "--timestamp", str(int(NOW) - 7200), "--dry-run"
    )
    assert "warning: event type 'deploy' does not end in 'Event'" in result.stderr
    assert "warning: the timestamp is 2 hours old" in result.stderr
    future = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--timestamp",
        str(int(NOW) + 600),
        "--dry-run",
    )
    assert "warning: the timestamp is 10 minutes in the future" in future.stderr


def test_dry_run_without_receiver_still_prints_and_says_how(cli: Cli) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", "--dry-run")
    assert single_event(result.json())["msg_title"] == "t"
    assert "no receiver address is set" in result.stderr
    assert "--url" in result.stderr


def test_dry_run_shows_target_with_key_masked(cli: Cli) -> None:
    result = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--dry-run",
        "--url",
        "https://sts.example.com/receiver",
        "--api-key",
        API_KEY,
    )
    assert "would POST to https://sts.example.com/receiver/stsAgent/intake?api_key=***" in (
        result.stderr
    )
    assert no_secret(result)


def test_dry_run_on_a_terminal_is_highlighted(cli: Cli) -> None:
    colored = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--dry-run",
        tty=True,
        env={"TERM": "xterm-256color"},
    )
    assert "\x1b[" in colored.stdout
    plain = cli(
        "event", "send", "DeployEvent", "--title", "t", "--dry-run", tty=True, env={"NO_COLOR": "1"}
    )
    assert "\x1b[" not in plain.output
    assert plain.stdout.startswith("{\n  ")
    assert json.loads(plain.stdout)["events"]["DeployEvent"][0]["msg_title"] == "t"


def test_missing_address_is_a_config_error(cli: Cli) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", "--api-key", API_KEY, expect=3)
    assert "no receiver address is set; pass --url" in result.stderr
    assert "STAC_EVENTS_RECEIVER_URL" in result.stderr
    assert no_secret(result)


def test_missing_key_is_a_config_error(cli: Cli) -> None:
    result = cli(
        "event", "send", "DeployEvent", "--title", "t", "--url", "https://x/receiver", expect=3
    )
    assert "no API key is set; set STAC_EVENTS_API_KEY" in result.stderr
    assert "--api-key" in result.stderr


def test_flags_beat_environment(cli: Cli, receiver: HTTPServer) -> None:
    env = {
        "STAC_EVENTS_RECEIVER_URL": "http://127.0.0.1:9/receiver",
        "STAC_EVENTS_API_KEY": "env-key",
    }
    cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--url",
        receiver.url_for("/receiver"),
        "--api-key",
        API_KEY,
        env=env,
    )
    ((request, _),) = receiver.log
    assert request.args["api_key"] == API_KEY


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_success(cli: Cli, httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request(INTAKE).respond_with_data("", status=status)
    result = cli("event", "send", "DeployEvent", "--title", "t", env=env_for(httpserver))
    assert f"sent 1 event to http://localhost:{httpserver.port}{INTAKE}?api_key=***" in (
        result.stderr.replace("127.0.0.1", "localhost")
    )


def test_json_output_on_success(cli: Cli, receiver: HTTPServer) -> None:
    result = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--output",
        "json",
        env=env_for(receiver),
    )
    document = result.json()
    assert document["ok"] is True
    assert document["events"] == document["requests"] == document["attempts"] == 1
    assert document["status"] == 202
    assert document["address"].endswith(f"{INTAKE}?api_key=***")
    assert isinstance(document["elapsed_ms"], int)
    assert no_secret(result)


def test_quiet_prints_nothing_on_success(cli: Cli, receiver: HTTPServer) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", "-q", env=env_for(receiver))
    assert (result.status, result.stdout, result.stderr) == (0, "", "")
    assert len(receiver.log) == 1


@pytest.mark.parametrize(
    ("status", "exit_code", "kind", "message"),
    [
        (400, 4, "rejected", "the receiver answered 400 BAD REQUEST: bad event"),
        (401, 4, "rejected", "answered 401 UNAUTHORIZED: bad event; check the API key"),
        (403, 4, "rejected", "check the API key"),
        (404, 4, "rejected", "/receiver/stsAgent/intake"),
        (413, 4, "rejected", "too large"),
        (408, 5, "delivery", "answered 408"),
        (429, 5, "delivery", "answered 429"),
        (500, 5, "delivery", "answered 500 INTERNAL SERVER ERROR: bad event"),
        (503, 5, "delivery", "answered 503"),
    ],
)
def test_error_statuses(
    cli: Cli, httpserver: HTTPServer, status: int, exit_code: int, kind: str, message: str
) -> None:
    httpserver.expect_request(INTAKE).respond_with_data("bad event", status=status)
    text = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--no-spool",
        env=env_for(httpserver),
        expect=exit_code,
    )
    assert message in text.stderr
    assert len(text.stderr.splitlines()) == 1
    assert no_secret(text)
    as_json = cli("event", "send", "DeployEvent", "--title", "t", "-o", "json", "--no-spool",
                  env=env_for(httpserver), expect=exit_code)  # fmt: skip
    assert as_json.json()["ok"] is False
    assert as_json.json()["error"]["kind"] == kind
    assert as_json.json()["error"]["status"] == status
    assert no_secret(as_json)


def test_receiver_echoing_the_key_is_masked(cli: Cli, httpserver: HTTPServer) -> None:
    def echo(request: Request) -> Response:
        return Response(f"unknown key {request.args['api_key']} in {request.url}", status=401)

    httpserver.expect_request(INTAKE).respond_with_handler(echo)
    result = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "-o",
        "json",
        "--debug",
        env=env_for(httpserver),
        expect=4,
    )
    assert "unknown key ***" in result.stderr
    assert no_secret(result)


def test_redirect_is_reported_and_not_followed(cli: Cli, httpserver: HTTPServer) -> None:
    from pytest_httpserver import HTTPServer as Server

    elsewhere = Server(port=0)
    elsewhere.expect_request(INTAKE).respond_with_data("", status=202)
    elsewhere.start()
    try:
        target = elsewhere.url_for(INTAKE)
        httpserver.expect_request(INTAKE).respond_with_data(
            "", status=307, headers={"Location": target}
        )
        result = cli(
            "event", "send", "DeployEvent", "--title", "t", env=env_for(httpserver), expect=4
        )
        assert f"redirected (307 TEMPORARY REDIRECT) to {target}" in result.stderr
        assert elsewhere.log == []
    finally:
        elsewhere.stop()


def test_unreachable_receiver(cli: Cli) -> None:
    env = {
        "STAC_EVENTS_RECEIVER_URL": "http://127.0.0.1:9/receiver",
        "STAC_EVENTS_API_KEY": API_KEY,
    }
    result = cli("event", "send", "DeployEvent", "--title", "t", "--no-spool", env=env, expect=5)
    assert "cannot connect to 127.0.0.1:9: connection refused" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert no_secret(result)


def test_unreachable_receiver_with_key_in_debug_log(cli: Cli) -> None:
    result = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--debug",
        "--no-spool",
        "--url",
        "http://127.0.0.1:9/receiver",
        "--api-key",
        API_KEY,
        expect=5,
    )
    assert "debug: " in result.stderr
    assert "api_key=***" in result.stderr
    assert no_secret(result)


@pytest.mark.slow
def test_slow_receiver_times_out(cli: Cli, own_server: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1)
        return Response("", status=202)

    httpserver = own_server
    httpserver.expect_request(INTAKE).respond_with_handler(slow)
    result = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--timeout",
        "0.3",
        "--retries",
        "0",
        "--no-spool",
        env=env_for(httpserver),
        expect=5,
    )
    assert "did not answer within 0.3 s" in result.stderr
    assert no_secret(result)


def test_unresolvable_host(cli: Cli) -> None:
    result = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--no-spool",
        "--url",
        "http://no-such-host.invalid/receiver",
        "--api-key",
        API_KEY,
        expect=5,
    )
    assert "cannot connect to no-such-host.invalid" in result.stderr
    assert no_secret(result)


def test_internal_error_says_it_is_a_bug(home) -> None:
    """An exception no input can cause (here a clock that fails) is reported as a bug:
    exit 1, one line saying where to report it and what to put in the report, no
    traceback, and no address the project does not own."""
    import io
    import platform

    from stac_events.cli import main
    from stac_events.version import __version__

    def broken_clock() -> float:
        raise ZeroDivisionError("a clock that fails")

    stdout, stderr = io.StringIO(), io.StringIO()
    env = isolated_environment(home, stdout=stdout, stderr=stderr, clock=broken_clock)
    status = main(["event", "send", "DeployEvent", "--title", "t", "--dry-run"], env)
    assert status == 1
    assert "internal error: ZeroDivisionError" in stderr.getvalue()
    message = stderr.getvalue()
    assert "This is a bug in stac-events" in message
    assert "please report it at https://github.com/stac-events/stac-events/issues with" in message
    assert f"stac-events {__version__}, " in message
    assert f" {platform.python_version()} on {platform.platform(terse=True)}," in message
    assert "run with --debug" in message
    assert message.count("http") == 1  # the issues' address, and no other
    assert message.count("\n") == 1
    assert "Traceback" not in message


def test_a_closed_stdout_is_said_and_exits_3(home) -> None:
    import io

    from stac_events.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    stdout.close()
    env = isolated_environment(home, stdout=stdout, stderr=stderr)
    status = main(["event", "send", "DeployEvent", "--title", "t", "--dry-run"], env)
    assert status == 3
    assert "cannot write to stdout: it is closed" in stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()


def test_an_option_where_a_value_should_be_is_refused_and_nothing_is_sent(
    cli: Cli, receiver: HTTPServer
) -> None:
    """`--title --dry-run` must not send an event titled "--dry-run" (argparse refuses it)."""
    result = cli("event", "send", "DeployEvent", "--title", "--dry-run",
                 env=env_for(receiver), expect=2)  # fmt: skip
    assert result.stderr.startswith(
        "stac-events: error: --title: expected a value, got '--dry-run'"
    )
    assert receiver.log == []


@pytest.mark.parametrize(
    "args",
    [
        ["-qi", "a", "b"],
        ["-q", "-i", "a", "b"],
        ["-i=a", "-ib"],
        ["--identifier=a", "-i", "b"],
        ["-qo", "json", "-i", "a", "b"],
    ],
)
def test_short_options_together_and_attached_values(cli: Cli, args: List[str]) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", *args, "--dry-run")
    assert single_event(json.loads(result.stdout.splitlines()[0]))["context"][
        "element_identifiers"
    ] == ["a", "b"]


def test_configuration_options_with_equals_before_the_command(cli: Cli, tmp_path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("instances:\n  prod:\n    receiver_api: {url: 'https://prod.example.com'}\n")
    result = cli(f"--config={path}", "--instance=prod", "event", "send", "DeployEvent",
                 "--title", "t", "-i", "a", "b", "--dry-run", "--api-key", API_KEY)  # fmt: skip
    assert "would POST to https://prod.example.com/receiver/stsAgent/intake" in result.stderr
    assert single_event(result.json())["context"]["element_identifiers"] == ["a", "b"]


@pytest.mark.parametrize("spelling", [["-qo", "json"], ["--output", "JSON"], ["-o=json"]])
def test_json_errors_whatever_the_spelling_of_output_json(cli: Cli, spelling: List[str]) -> None:
    result = cli("event", "send", "X", "--title", "t", *spelling, "--bogus", expect=2)
    assert result.json()["error"]["kind"] == "usage"


def test_a_key_that_is_not_utf8_never_breaks_an_error_message(cli: Cli) -> None:
    key = "\udcffsecret-key-1"  # how Python holds the byte 0xff of an argv or a variable
    usage = cli("event", "send", "XEvent", "--api-key", key, "--bogus", expect=2)
    assert len(usage.stderr.splitlines()) == 1
    assert "secret-key-1" not in usage.output
    config = cli("event", "send", "XEvent", "--title", "t", "--url", "http://127.0.0.1:9",
                 env={"STAC_EVENTS_API_KEY": key}, expect=3)  # fmt: skip
    assert config.stderr == (
        "stac-events: error: the API key from $STAC_EVENTS_API_KEY holds characters an HTTP "
        "header cannot carry (control characters or non-ASCII); check how it was copied; the "
        "key itself is not shown\n"
    )


@pytest.mark.parametrize("key", ["SEC\nRET123", "SECRÉT123", "tab\there1"])
def test_a_key_a_header_cannot_carry_is_a_config_error_that_hides_it(cli: Cli, key: str) -> None:
    result = cli("event", "send", "XEvent", "--title", "t", "--url", "http://127.0.0.1:9",
                 "--api-key", key, "-o", "json", expect=3)  # fmt: skip
    assert result.json()["error"]["kind"] == "config"
    assert no_secret(result, [key, "RET123", "SECR"])


def test_a_password_in_the_address_is_masked(cli: Cli, receiver: HTTPServer) -> None:
    url = receiver.url_for("/receiver").replace("http://", "http://user:PASSWORD99@")
    result = cli("event", "send", "DeployEvent", "--title", "t", "--url", url,
                 "--api-key", API_KEY)  # fmt: skip
    assert "http://user:***@" in result.stderr
    shown = cli("config", "show", "--url", url)
    assert "PASSWORD99" not in result.output + shown.output
