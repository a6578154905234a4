"""Extra headers (`-H 'Name: value'`, $STAC_EVENTS_HEADERS, the config's
receiver_api.headers): sent to the receiver's own host alone, never shown, never stored,
and refused when malformed or when they would replace one of stac-events' own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from tests.conftest import (
    API_KEY,
    INTAKE,
    Cli,
    Result,
    assert_never_left,
    cli_in_a_new_home,
    env_for,
    left_in,
)

TOKEN = "gw-T0ken-5ecret-value"
SPOOL = Path(".local") / "state" / "stac-events" / "spool"


def seen(server: HTTPServer, name: str) -> List[str]:
    """The values of header `name` in every request the server got."""
    return [request.headers.get(name, "") for request, _ in server.log]


def config_with_headers(path: Path, url: str, headers: Dict[str, str]) -> Path:
    lines = "".join(f"        {name}: '{value}'\n" for name, value in headers.items())
    path.write_text(
        "instances:\n  default:\n    receiver_api:\n"
        f"      url: {url}\n      headers:\n{lines}"
        "    clients:\n      default:\n        api_key: file-key-0123456789\n"
    )
    path.chmod(0o600)
    return path


def assert_hidden(results: List[Result], *secrets: str) -> None:
    for result in results:
        for secret in secrets:
            assert secret not in result.output, result.output


def test_a_header_from_the_flag_reaches_the_receiver_and_no_output(cli: Cli, receiver: HTTPServer):
    env = env_for(receiver)
    runs = [
        cli("event", "send", "DeployEvent", "--title", "t", "-H", f"X-Gateway-Token: {TOKEN}",
            env=env),
        cli("event", "send", "DeployEvent", "--title", "t", "--header",
            f"X-Gateway-Token:{TOKEN}", "-o", "json", "--debug", env=env),
        cli("check", "-H", f"X-Gateway-Token: {TOKEN}", env=env),
        cli("event", "wrap", "-H", f"X-Gateway-Token: {TOKEN}", "--", "true", env=env),
        cli("config", "show", "-H", f"X-Gateway-Token: {TOKEN}", "-o", "json", env=env),
    ]  # fmt: skip
    assert seen(receiver, "X-Gateway-Token") == [TOKEN] * 4
    assert runs[1].json()["ok"] is True
    assert "X-Gateway-Token: ***" in runs[4].json()["headers"]["value"]
    assert_hidden(runs, TOKEN)


def test_headers_from_the_environment_and_the_config_and_which_wins(
    cli: Cli, receiver: HTTPServer, tmp_path: Path
):
    config = config_with_headers(
        tmp_path / "conf.yaml",
        receiver.url_for("/receiver"),
        {"X-From-File": "file-value-1234", "X-Both": "file-both-1234"},
    )
    env = {
        "STAC_EVENTS_CONFIG": str(config),
        "STAC_EVENTS_HEADERS": "X-From-Env: env-value-1234\n\nx-both: env-both-1234\n",
    }
    sent = cli("event", "send", "DeployEvent", "--title", "t", "--debug", env=env)
    flagged = cli("event", "send", "DeployEvent", "--title", "t", "-H", "X-BOTH: flag-both-1234",
                  "-H", "X-From-Flag: a", "-H", "X-From-Flag: flag-last-1234", env=env)  # fmt: skip
    assert seen(receiver, "X-From-File") == ["file-value-1234"] * 2
    assert seen(receiver, "X-From-Env") == ["env-value-1234"] * 2
    assert seen(receiver, "X-Both") == ["env-both-1234", "flag-both-1234"]
    assert seen(receiver, "X-From-Flag") == ["", "flag-last-1234"]
    shown = cli("config", "show", "-o", "json", env=env).json()["headers"]
    assert shown["origin"] == f"{config}:5, $STAC_EVENTS_HEADERS"
    assert_hidden([sent, flagged], "file-value-1234", "env-value-1234", "flag-both-1234",
                  "env-both-1234", "flag-last-1234")  # fmt: skip


def test_the_configs_headers_stay_with_the_host_it_names(
    cli: Cli, receiver: HTTPServer, tmp_path: Path
):
    config = config_with_headers(
        tmp_path / "conf.yaml", "https://stackstate.example.com", {"X-From-File": "FILEHDR-99"}
    )
    result = cli("event", "send", "DeployEvent", "--title", "t", "--config", str(config),
                 "--url", receiver.url_for("/receiver"), "--debug")  # fmt: skip
    assert seen(receiver, "X-From-File") == [""]
    assert "FILEHDR-99" not in result.output


def test_a_header_is_not_sent_after_a_redirect_to_another_host(
    cli: Cli, httpserver: HTTPServer, own_server: HTTPServer
):
    own_server.expect_request(INTAKE).respond_with_data("", status=202)
    httpserver.expect_request(INTAKE).respond_with_data(
        "", status=307, headers={"Location": own_server.url_for(INTAKE)}
    )
    result = cli("event", "send", "DeployEvent", "--title", "t", "-H", f"X-Token: {TOKEN}",
                 "--debug", env=env_for(httpserver), expect=4)  # fmt: skip
    assert seen(httpserver, "X-Token") == [TOKEN]
    assert own_server.log == []  # the other host got nothing, with the header or without
    assert "redirects are not followed" in result.stderr
    assert TOKEN not in result.output


def test_a_queued_payload_holds_no_header_and_the_flush_sends_the_flushs_own(
    cli: Cli, own_server: HTTPServer
):
    own_server.expect_request(INTAKE).respond_with_data("", status=503)
    env = env_for(own_server)
    queued = cli("event", "send", "DeployEvent", "--title", "t", "-H", f"X-Token: {TOKEN}",
                 "--retries", "0", env=env, expect=75)  # fmt: skip
    files = [path for path in (cli.home / SPOOL).rglob("*") if path.is_file()]
    assert files
    assert not any(TOKEN.encode() in path.read_bytes() for path in files)
    own_server.clear()
    own_server.expect_request(INTAKE).respond_with_data("", status=202)
    flushed = cli("spool", "flush", "-H", "X-Token: flush-time-5678", "-o", "json", env=env)
    assert flushed.json()["delivered"] == 1
    assert seen(own_server, "X-Token") == ["flush-time-5678"]
    assert_hidden([queued, flushed], TOKEN, "flush-time-5678")


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("X-Token abcdef", "has no ':'"),
        (": abcdef", "has no name"),
        ("X Token: abcdef", "a header name holds characters"),
        ("Bearer abcdef: x", "a header name holds characters"),
        ("X-Tok\u00e9n: abcdef", "a header name holds characters"),
        ("X-Token: abc\rdef", "holds a line break"),
        ("X-Token: abc\ndef", "holds a line break"),
        ("X-Token: abc\u20acdef", "characters a header cannot carry"),
        ("X-Token: abc\x01def", "characters a header cannot carry"),
        ("Content-Type: text/plain", "Content-Type is set by stac-events"),
        ("content-encoding: br", "Content-Encoding is set by stac-events"),
        ("STS-API-KEY: abcdef", "sts-api-key is set by stac-events"),
        ("Content-Length: 5", "Content-Length is set by stac-events"),
        ("Transfer-Encoding: chunked", "Transfer-Encoding is set by stac-events"),
        ("Host: abcdef.example.com", "Host is set by stac-events"),
    ],
)
@pytest.mark.parametrize("command", [["event", "send", "DeployEvent", "--title", "t"],
                                     ["event", "send", "DeployEvent", "--title", "t",
                                      "--dry-run"],
                                     ["check"], ["spool", "flush"]])  # fmt: skip
def test_a_malformed_or_reserved_header_is_a_usage_error(
    cli: Cli, receiver: HTTPServer, header: str, says: str, command: List[str]
):
    result = cli(*command, "-H", header, "-o", "json", env=env_for(receiver), expect=2)
    assert receiver.log == []
    (line,) = result.stderr.splitlines() or [result.json()["error"]["message"]]
    assert says in line
    assert "abcdef" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("variable", "says"),
    [
        ("X-Token abcdef", "$STAC_EVENTS_HEADERS line 1: a header is 'Name: value'"),
        ("X-Ok: fine\nHost: abcdef", "$STAC_EVENTS_HEADERS line 2: Host is set by"),
    ],
)
def test_a_malformed_header_in_the_environment_is_a_configuration_error(
    cli: Cli, receiver: HTTPServer, variable: str, says: str
):
    env = {**env_for(receiver), "STAC_EVENTS_HEADERS": variable}
    result = cli("event", "send", "DeployEvent", "--title", "t", env=env, expect=3)
    assert says in result.stderr
    assert "abcdef" not in result.output
    assert receiver.log == []


def test_a_malformed_header_in_the_config_names_its_line(cli: Cli, tmp_path: Path):
    config = config_with_headers(
        tmp_path / "conf.yaml", "http://127.0.0.1:9", {"X-Ok": "fine", "Content-Type": "x"}
    )
    result = cli("--config", str(config), "event", "send", "DeployEvent", "--title", "t",
                 expect=3)  # fmt: skip
    assert f"{config}:7: Content-Type is set by stac-events" in result.stderr


def test_an_authorization_header_and_basic_auth_together_are_refused(
    cli: Cli, receiver: HTTPServer
):
    url = receiver.url_for("/receiver").replace("http://", "http://user:pw-123456@")
    result = cli("event", "send", "DeployEvent", "--title", "t", "--url", url,
                 "-H", f"Authorization: Bearer {TOKEN}", env={"STAC_EVENTS_API_KEY": API_KEY},
                 expect=3)  # fmt: skip
    assert "an Authorization header (--header) and basic auth" in result.stderr
    assert receiver.log == []
    assert TOKEN not in result.output


# Values a gateway's token may hold: printable ASCII, long enough to be a secret.
VALUES = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=40
).filter(lambda value: not value.isdigit())
# A value no run prints or writes for its own sake.
BASELINE = "Bq7-baseline-Header-value"


def _left_behind(
    server: HTTPServer, environ: Dict[str, str], value: str
) -> Tuple[List[str], List[bytes]]:
    """What each command prints, and the files it leaves, with `value` as a header's value
    from both the environment and `-H`; against a receiver that keeps failing."""
    server.clear()
    server.expect_request(INTAKE).respond_with_data("no", status=503)
    cli = cli_in_a_new_home(environ)
    env = {**env_for(server), "STAC_EVENTS_HEADERS": f"X-Env: {value}"}
    flag = ("-H", f"X-Flag: {value}")
    return left_in(cli, [
        cli("event", "send", "DeployEvent", "--title", "t", *flag, "--retries", "0", "--debug",
            env=env, expect=75),
        cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0", "-o", "json",
            env=env, expect=75),
        cli("check", *flag, "--debug", "-o", "json", env=env, expect=5),
        cli("spool", "flush", *flag, "--retries", "0", "--debug", env=env, expect=75),
        cli("config", "show", *flag, env=env),
        cli("event", "send", "DeployEvent", "--title", "t", *flag, "--dry-run", env=env),
    ])  # fmt: skip


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=VALUES)
def test_no_output_or_spool_file_ever_holds_a_headers_value(
    own_server: HTTPServer, isolated_environ: Dict[str, str], value: str
):
    assert_never_left(
        lambda given: _left_behind(own_server, isolated_environ, given), value, BASELINE
    )
    assert {request.headers["X-Env"] for request, _ in own_server.log} == {value}
    assert {request.headers.get("X-Flag") for request, _ in own_server.log} == {value, None}
    for request, _ in own_server.log:
        assert value not in json.dumps(json.loads(request.get_data()))


def test_a_short_value_is_sent_but_not_masked_and_a_tokens_word_is(
    cli: Cli, receiver: HTTPServer, tmp_path: Path
):
    """`X-Debug: 1` masked would mask every 1 of every text and number; a bearer token is
    masked also where it stands alone, as a wrapped command may print it."""
    config = tmp_path / "conf.yaml"
    config.write_text(
        f"instances:\n  default:\n    receiver_api:\n      url: {receiver.url_for('/receiver')}\n"
        "  other:\n    receiver_api:\n      url: https://other.example.com\n"
        "      headers: {X-Other: other-instance-secret}\n"
    )
    config.chmod(0o600)
    env = {**env_for(receiver), "STAC_EVENTS_CONFIG": str(config)}
    result = cli("event", "wrap", "-H", "X-Debug: 1", "-H", f"Authorization: Bearer {TOKEN}",
                 "-o", "json", "--", "sh", "-c",
                 f"echo token {TOKEN} and other-instance-secret; echo 1", env=env)  # fmt: skip
    assert seen(receiver, "X-Debug") == ["1"]
    assert seen(receiver, "Authorization") == [f"Bearer {TOKEN}"]
    outcome = json.loads(result.stderr.splitlines()[-1])
    assert (outcome["events"], outcome["delivered"]) == (1, 1)  # not "***"
    event = json.loads(receiver.log[0][0].get_data())["events"]["CommandEvent"][0]
    assert "token *** and ***\n1" in event["msg_text"]
    assert event["context"]["data"]["exit_code"] == 0


@pytest.mark.parametrize("name", ["X-Api-Key", "Authorization", "Cookie", "X-Auth"])
def test_a_short_value_is_masked_when_the_name_says_it_is_a_credential(
    cli: Cli, receiver: HTTPServer, name: str
):
    result = cli("event", "wrap", "-H", f"{name}: zq7", "-H", "X-Debug: 1", "-o", "json",
                 "--", "sh", "-c", "echo zq7 is the value", env=env_for(receiver))  # fmt: skip
    assert seen(receiver, name) == ["zq7"]
    assert result.stdout == "zq7 is the value\n"  # the command's own output, as it printed it
    assert "zq7" not in result.stderr
    event = json.loads(receiver.log[0][0].get_data())["events"]["CommandEvent"][0]
    assert "*** is the value" in event["msg_text"]
    assert json.loads(result.stderr.splitlines()[-1])["events"] == 1  # `1` stays a number


@pytest.mark.parametrize("spelling", [
    ["-H", f"Authorization: Bearer {TOKEN}"], ["--header", f"X-Gw: {TOKEN}"],
    [f"-HX-Gw:{TOKEN}"], [f"-H=X-Gw: {TOKEN}"], [f"--header=X-Gw:{TOKEN}"],
    ["-qH", f"X-Gw: {TOKEN}"], ["-H", "X-Api-Key: zq7"], ["-H", f"no colon {TOKEN}"],
    ["-H", f"X-Gw: it's-{TOKEN}"], ["--api-key", f"it's-{TOKEN}"],  # shell-quoted when shown
])  # fmt: skip
@pytest.mark.parametrize("mode", ["text", "json"])
def test_a_usage_error_that_repeats_the_line_shows_no_header_value(
    cli: Cli, spelling: List[str], mode: str
):
    """A missing argument's hint repeats the command line: the headers' values are
    masked in it, as the key is, before the line is read."""
    result = cli("event", "send", "--title", "x", *spelling, "-o", mode, expect=2)
    assert "Missing argument" in result.output
    for secret in (TOKEN, "zq7"):
        assert secret not in result.output


def test_headers_never_go_in_the_clear_to_a_proxy(run_script, receiver: HTTPServer):
    """Through a proxy, an http:// receiver's request is the proxy's to read, headers and
    all: with extra headers that is a configuration error, and nothing is sent; with the
    receiver's host in NO_PROXY they go to it directly."""
    proxy = HTTPServer(host="127.0.0.1", port=0)
    proxy.start()
    try:
        env = {**env_for(receiver), "HTTP_PROXY": proxy.url_for("/"), "NO_PROXY": ""}
        refused = run_script("stac-events", "event", "send", "DeployEvent", "--title", "t",
                             "-H", f"X-Gw: {TOKEN}", env=env, expect=3)  # fmt: skip
        assert "would go in the clear to the proxy" in refused.stderr
        assert "NO_PROXY" in refused.stderr
        assert TOKEN not in refused.output
        assert (proxy.log, receiver.log) == ([], [])
        direct = {**env, "NO_PROXY": "localhost,127.0.0.1"}
        run_script("stac-events", "event", "send", "DeployEvent", "--title", "t",
                   "-H", f"X-Gw: {TOKEN}", env=direct)  # fmt: skip
        assert seen(receiver, "X-Gw") == [TOKEN]
        assert proxy.log == []
    finally:
        proxy.clear()
        proxy.stop()
