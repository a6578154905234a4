"""The key goes only where the user sent it: no config from the working directory, no
secret in a wrapped command's event, no alias bomb, no argv quoted back, and a property
test over keys of every kind of character."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import (
    API_KEY,
    INTAKE,
    Cli,
    assert_never_left,
    cli_in_a_new_home,
    left_in,
    no_secret,
    received_events,
)


def config_text(url: str, key: str = "file-key-0123456789") -> str:
    return (
        "instances:\n"
        "  default:\n"
        "    receiver_api:\n"
        f"      url: {url}\n"
        "    clients:\n"
        "      default:\n"
        f"        api_key: {key}\n"
    )


# 1. A cloned repository's conf.d/conf.yaml is never read unless named.


def test_a_config_in_the_working_directory_is_not_read(
    cli: Cli, tmp_path: Path, httpserver: HTTPServer
):
    project = tmp_path / "cloned-repo"
    (project / "conf.d").mkdir(parents=True)
    (project / "conf.d" / "conf.yaml").write_text(config_text("http://attacker.invalid/x"))
    cli.cwd = project
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    env = {
        "STAC_EVENTS_API_KEY": API_KEY,
        "STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"),
    }
    result = cli("event", "send", "DeployEvent", "--title", "t", env=env)
    assert len(httpserver.log) == 1  # sent where the user said, not to the repository's address
    assert "./conf.d/conf.yaml is not read from the working directory" in result.stderr
    assert "--config conf.d/conf.yaml" in result.stderr
    alone = cli("event", "send", "DeployEvent", "--title", "t", "--dry-run",
                env={"STAC_EVENTS_API_KEY": API_KEY})  # fmt: skip
    assert "attacker" not in alone.output
    assert "no receiver address is set" in alone.stderr


def test_a_config_in_the_working_directory_is_read_when_named(cli: Cli, tmp_path: Path):
    project = tmp_path / "project"
    (project / "conf.d").mkdir(parents=True)
    (project / "conf.d" / "conf.yaml").write_text(config_text("https://named.example.com"))
    (project / "conf.d" / "conf.yaml").chmod(0o600)
    cli.cwd = project
    shown = cli("--config", "conf.d/conf.yaml", "config", "show", "-o", "json")
    assert shown.json()["address"]["value"].startswith("https://named.example.com/")
    assert "is not read" not in shown.stderr
    listed = cli("config", "path")
    assert "conf.d" not in listed.stdout  # not a place that is searched
    assert "--config conf.d/conf.yaml" in listed.stderr  # but said how to use it


# 2. A wrapped command's output and line never carry a secret into the event.


def test_wrap_masks_the_key_in_the_event_it_sends_and_queues(
    cli: Cli, httpserver: HTTPServer, own_server: HTTPServer
):
    script = 'set -x; curl -H "sts-api-key: $STAC_EVENTS_API_KEY" x 2>/dev/null; echo done'
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    env = {
        "STAC_EVENTS_API_KEY": API_KEY,
        "STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"),
    }
    cli("event", "wrap", "--", "sh", "-c", script + f"; echo {API_KEY}", env=env)
    ((request, _),) = httpserver.log
    body = request.get_data()
    assert API_KEY.encode() not in body
    (event,) = received_events(httpserver)
    assert API_KEY not in json.dumps(event, ensure_ascii=False)
    assert "***" in event["msg_text"]

    own_server.stop()  # and the spooled copy holds no key either
    down = {**env, "STAC_EVENTS_RECEIVER_URL": own_server.url_for("/receiver")}
    cli("event", "wrap", "--retries", "0", "--", "sh", "-c", f"echo {API_KEY}", env=down)
    spool = cli.home / ".local" / "state" / "stac-events" / "spool"
    files = [p for p in spool.rglob("*") if p.is_file()]
    assert files
    assert not any(API_KEY.encode() in p.read_bytes() for p in files)


# 3 and 4. A key an HTTP header cannot carry is exit 3, and never printed.


@pytest.mark.parametrize(
    "key",
    [
        "abc\ndefSECRETX",
        "abc\rdefSECRET",
        "\u0430\u0431\u0432\u0433\u0434SECRET",  # Cyrillic
        "SECRET€uro-key",
        "abc\tSECRETdef",
    ],
)
@pytest.mark.parametrize("command", [["event", "send", "DeployEvent", "--title", "t"],
                                     ["event", "send", "DeployEvent", "--title", "t", "--dry-run"],
                                     ["config", "show"]])  # fmt: skip
def test_a_key_a_header_cannot_carry_is_a_config_error(cli: Cli, key: str, command: List[str]):
    for variable in ({"STAC_EVENTS_API_KEY": key}, None):
        args = command if variable else [*command, "--api-key", key]
        if not variable and command[0] == "config":
            continue
        result = cli(*args, "--url", "http://127.0.0.1:9", env=variable or {}, expect=3)
        assert "holds characters an HTTP header cannot carry" in result.stderr
        assert "SECRET" not in result.output
        assert "Traceback" not in result.output


def test_a_key_that_is_not_utf8_is_a_config_error_not_a_traceback(run_script):
    env = {"STAC_EVENTS_API_KEY": "abc\udcffdefSECRET", "STAC_EVENTS_RECEIVER_URL": "https://x.io"}
    for args in (["event", "send", "DeployEvent", "--title", "t", "--dry-run"], ["config", "show"]):
        result = run_script("stac-events", *args, env=_bytes_env(env), expect=3)
        assert "SECRET" not in result.output
        assert "Traceback" not in result.output


def _bytes_env(env: Dict[str, str]) -> Dict[str, str]:
    """Variables as a process gets them from bytes that are not UTF-8 (surrogates kept)."""
    return {name: value.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
            for name, value in env.items()}  # fmt: skip


# 5. YAML aliases are bounded.


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    lines.append(config_text("https://x.example.com").rstrip("\n"))
    lines.append(f"    base_api: *a{levels - 1}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (alias_bomb(9), "more than 10,000 values, counting each time a YAML alias repeats one"),
        (alias_bomb(12), "more than 10,000 values, counting each time a YAML alias repeats one"),
        ("instances: &a {default: *a}\n", "a YAML alias names a value that holds the alias"),
        ("instances: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ],
)
def test_a_config_that_would_explode_is_refused_at_once(
    cli: Cli, tmp_path: Path, text: str, message: str
):
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    started = time.monotonic()
    result = cli("--config", str(path), "config", "show", expect=3)
    assert time.monotonic() - started < 10
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_few_aliases_are_fine(cli: Cli, tmp_path: Path):
    path = tmp_path / "conf.yaml"
    path.write_text(
        "defaults: &receiver {url: 'https://shared.example.com/receiver'}\n"
        "instances:\n"
        "  default: {receiver_api: *receiver, clients: {default: {api_key: k-0123456789}}}\n"
        "  prod: {receiver_api: *receiver, clients: {default: {api_key: k-0123456789}}}\n"
    )
    path.chmod(0o600)
    shown = cli("--config", str(path), "--instance", "prod", "config", "show", "-o", "json")
    assert shown.json()["address"]["value"].startswith("https://shared.example.com/")


# 6. No usage error quotes argv back.


def test_extra_arguments_are_not_quoted_back(cli: Cli):
    result = cli("event", "send", "DeployEvent", "--title", "t", "--dry-run", "--",
                 "--api-key", "FuzzKey123", "-o", "json", expect=2)  # fmt: skip
    assert "FuzzKey123" not in result.output
    assert "more arguments than the command takes" in result.stderr


@pytest.mark.parametrize(
    ("line", "example"),
    [
        (["event", "send", "DeployEvent", "--title", "two", "words"], '--title "Deployed 1.4"'),
        (["check", "web", "shop"], "--header 'X-Team: web shop'"),
        (["spool", "list", "two", "words"], "'two words'"),
    ],
)
def test_the_hint_on_extra_arguments_quotes_an_option_of_the_command(
    cli: Cli, line: list, example: str
):
    result = cli(*line, expect=2)
    assert result.stderr.rstrip().endswith(f"a value with spaces needs quotes, e.g. {example}")


# 9. Values of the wrong kind are exit 3 with file:line:key; typos warn.


@pytest.mark.parametrize(
    ("value", "where"),
    [("5", "receiver_api.url"), ("[a, b]", "receiver_api.url"), ("{a: 1}", "receiver_api.url")],
)
def test_a_value_of_the_wrong_kind_is_a_config_error(
    cli: Cli, tmp_path: Path, value: str, where: str
):
    path = tmp_path / "conf.yaml"
    path.write_text(config_text(value))
    result = cli("--config", str(path), "event", "send", "DeployEvent", "--title", "t",
                 "--dry-run", expect=3)  # fmt: skip
    assert f"{path}:4: instances.default.{where}: input should be a valid string" in result.stderr


def test_unknown_keys_warn_with_the_closest_known_name(cli: Cli, tmp_path: Path):
    path = tmp_path / "conf.yaml"
    path.write_text(
        "instances:\n"
        "  default:\n"
        "    base_api: {url: https://x.example.com/api}\n"
        "    reciever_api: {}\n"
        "    receiver_api:\n"
        "      uri: https://x.example.com/receiver\n"
        "    clients:\n"
        "      default:\n"
        "        apikey: k-0123456789\n"
    )
    path.chmod(0o600)
    result = cli("--config", str(path), "config", "show", expect=0)
    warnings = [line for line in result.stderr.splitlines() if "unknown key" in line]
    assert warnings == [
        f"stac-events: warning: {path}:4: unknown key 'reciever_api' under instances.default; "
        "did you mean 'receiver_api'?",
        f"stac-events: warning: {path}:6: unknown key 'uri' under "
        "instances.default.receiver_api; did you mean 'url'?",
        f"stac-events: warning: {path}:9: unknown key 'apikey' under "
        "instances.default.clients.default; did you mean 'api_key'?",
    ]


# The property: wherever a run writes or sends about itself, the key is not there.


def _key_like(key: str) -> bool:
    """Letters and digits both, as real keys have: a plain word (`source_links`) or a
    number could be in any payload for its own sake, and prove nothing by being there."""
    return (key.strip() == key and not key.startswith(("-", "@"))
            and any(c.isalpha() for c in key) and any(c.isdigit() for c in key))  # fmt: skip


HEADER_SAFE_KEYS = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=12, max_size=40
).filter(_key_like)


def _answers(request: Request) -> Response:
    """A receiver that keeps failing: 503 first (queued), with the key in its answer."""
    return Response(f"bad key {request.args.get('api_key')}", status=503)


# A key no run prints or writes for its own sake.
BASELINE_KEY = "Bq7-baseline-K3y-value"


def _left_behind(
    server: HTTPServer, environ: Dict[str, str], key: str
) -> Tuple[List[str], List[bytes]]:
    """What each command prints (without the wrapped command's own output, passed through
    as it is), and the files it leaves, with `key` as the API key; against a receiver that
    keeps failing."""
    server.clear()
    server.expect_request(INTAKE).respond_with_handler(_answers)
    cli = cli_in_a_new_home(environ)
    env = {"STAC_EVENTS_API_KEY": key, "STAC_EVENTS_RECEIVER_URL": server.url_for("/receiver")}
    outputs, files = left_in(cli, [
        cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0", "--debug",
            env=env, expect=75),
        cli("event", "wrap", "--retries", "0", "--", "sh", "-c",
            'printf "%s\\n" "$STAC_EVENTS_API_KEY"', env=env, expect=0),
        cli("spool", "list", "-o", "json", env=env),
        cli("config", "show", env=env),
        cli("event", "send", "DeployEvent", "--title", "t", "--dry-run", env=env),
    ])  # fmt: skip
    wrapped_output = f"{key}\n"
    return [output.replace(wrapped_output, "") for output in outputs], files


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=HEADER_SAFE_KEYS)
def test_no_output_spool_file_or_event_body_holds_the_key(
    own_server: HTTPServer, isolated_environ: Dict[str, str], key: str
):
    assert_never_left(
        lambda given: _left_behind(own_server, isolated_environ, given), key, BASELINE_KEY
    )
    for request, _ in own_server.log:
        assert request.headers["sts-api-key"] == key  # the receiver it was given for: yes
        body = request.get_data()
        assert key.encode() not in body
        assert key not in json.dumps(json.loads(body), ensure_ascii=False)


# What a stranger's attack found.


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("http://:URLPW4242@127.0.0.1:9/receiver", "URLPW4242"),
        ("http://u:PASS@WORD99@127.0.0.1:9/receiver", "WORD99"),
    ],
)
def test_every_form_of_address_password_is_masked(cli: Cli, url: str, password: str):
    result = cli("event", "send", "DeployEvent", "--title", "t", "--url", url, "--retries", "0",
                 env={"STAC_EVENTS_API_KEY": API_KEY}, expect=75)  # fmt: skip
    assert password not in result.output
    spool = cli.home / ".local" / "state" / "stac-events" / "spool"
    assert not any(password.encode() in p.read_bytes() for p in spool.rglob("*") if p.is_file())
    for args in (["spool", "list"], ["config", "show", "--url", url]):
        assert password not in cli(*args, env={"STAC_EVENTS_API_KEY": API_KEY}).output


def test_wrap_masks_secrets_in_what_the_user_gave_too(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    config = tmp_path / "conf.yaml"
    config.write_text(
        config_text(httpserver.url_for("/receiver"), key="FILEKEYSECRET-0123")
        + "    # and basic auth for the host the file names\n"
    )
    config.write_text(config.read_text().replace(
        "    clients:", "      basic_auth: {username: u, password: BASICPASS777}\n    clients:"
    ))  # fmt: skip
    config.chmod(0o600)
    env = {"STAC_EVENTS_API_KEY": API_KEY, "STS_API_KEY": "STSKEYSECRET-0123"}
    cli("--config", str(config), "event", "wrap", "--title", f"x {API_KEY}", "--text", API_KEY,
        "-d", f"k={API_KEY}", "--url", httpserver.url_for("/receiver").replace("127.0.0.1",
        "localhost"), "--", "sh", "-c", "echo BASICPASS777 FILEKEYSECRET-0123 STSKEYSECRET-0123",
        env=env)  # fmt: skip
    body = json.dumps(received_events(httpserver), ensure_ascii=False)
    for secret in (API_KEY, "BASICPASS777", "FILEKEYSECRET-0123", "STSKEYSECRET-0123"):
        assert secret not in body


def test_a_key_the_receiver_echoes_in_json_is_masked(cli: Cli, httpserver: HTTPServer):
    key = 'Ab c"d\\e-KEYSECRET'

    def echo(request: Request) -> Response:
        return Response(json.dumps({"key": request.headers["sts-api-key"]}), status=403)

    httpserver.expect_request(INTAKE).respond_with_handler(echo)
    env = {"STAC_EVENTS_API_KEY": key, "STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver")}
    for mode in ("text", "json"):
        result = cli("event", "send", "DeployEvent", "--title", "t", "-o", mode, env=env, expect=4)
        assert "KEYSECRET" not in result.output


def test_a_key_in_the_environment_is_masked_before_settings_are_read(cli: Cli):
    result = cli("event", "send", "DeployEvent", "--title", "t", "--dry-run",
                 "--url", "http://h:ENVKEYSECRET99/", env={"STAC_EVENTS_API_KEY": "ENVKEYSECRET99"},
                 expect=3)  # fmt: skip
    assert "ENVKEYSECRET99" not in result.output
    assert "--url: 'http://h:***/' is not a URL" in result.stderr  # a settings error: exit 3


def test_a_dry_run_stays_valid_json_when_a_text_mentions_api_key(cli: Cli):
    result = cli("event", "send", "DeployEvent", "--title", 'see "api_key=abc"', "--dry-run")
    assert json.loads(result.stdout)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "instances: {default: {clients: {default: {api_key: 0123456}}}}\n",
            "put the value in quotes",
        ),
        ("instances: {default: {receiver_api: {url: yes}}}\n", "put the value in quotes"),
    ],
)
def test_a_key_yaml_reads_as_a_number_is_refused_not_changed(
    cli: Cli, tmp_path: Path, text: str, message: str
):
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    result = cli("--config", str(path), "config", "show", expect=3)
    assert message in result.stderr
    assert "42798" not in result.output


CONFIG_PATH_CASES = [
    # (the --config given, the command, its status): `config path` lists where a file is
    # looked for without reading one, so only a path that names nothing stops it.
    (case, command, 0 if command == ["config", "path"] and case != "empty" else 3)
    for case in ("empty", "too long", "too large")
    for command in (["config", "show"], ["config", "path"], ["event", "send", "A", "--title", "t"])
]


@pytest.mark.parametrize(("case", "command", "status"), CONFIG_PATH_CASES, ids=str)
def test_a_config_path_that_cannot_be_used_is_exit_3(
    cli: Cli, tmp_path: Path, case: str, command: List[str], status: int
):
    if case == "too large":
        path = tmp_path / "conf.yaml"
        path.write_text("# padding\n" * 200_000)
        args = ["--config", str(path)]
    else:
        args = ["--config", "" if case == "empty" else str(tmp_path / ("x" * 300))]
    result = cli(*args, *command, expect=status)
    assert "Traceback" not in result.output
    if status == 0:
        assert "1.  --config" in result.stdout.splitlines()[0]  # the first place looked at
    else:
        assert result.stderr.startswith("stac-events: error: "), result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr


# A wrapped command shows the config file itself: every secret in it is masked, used or
# not; and a short key stays masked even glued to other text.

MANY_SECRETS = """\
instances:
  default:
    base_api:
      url: "https://stackstate.example.com"
      apitoken_auth:
        token: "BASE-TOKEN-4711"
      basic_auth: {{username: admin, password: "BASE-PASS-4712"}}
    receiver_api:
      url: "{url}"
      basic_auth: {{username: u, password: "RECEIVER-PASS-4713"}}
    admin_api:
      url: "https://stackstate.example.com/admin"
      apitoken_auth: {{token: "ADMIN-TOKEN-4714"}}
    clients:
      default:
        api_key: "USED-KEY-4715"
      other:
        api_key: "OTHER-CLIENT-KEY-4716"
  staging:
    receiver_api:
      url: "https://staging.example.com/receiver"
      basic_auth: {{username: s, password: "STAGING-PASS-4717"}}
    clients:
      default:
        api_key: "STAGING-KEY-4718"
        apikey: "MISSPELT-KEY-4719"
"""
CONFIG_SECRETS = [f"{word}-47{n}" for n, word in enumerate(
    ["BASE-TOKEN", "BASE-PASS", "RECEIVER-PASS", "ADMIN-TOKEN", "USED-KEY", "OTHER-CLIENT-KEY",
     "STAGING-PASS", "STAGING-KEY", "MISSPELT-KEY"], start=11)]  # fmt: skip


def config_for(httpserver: HTTPServer, tmp_path: Path, template: str) -> Path:
    """A private config file from `template`, its address `httpserver`, which takes events."""
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    config = tmp_path / "conf.yaml"
    config.write_text(template.format(url=httpserver.url_for("/receiver")))
    config.chmod(0o600)
    return config


def test_wrap_masks_every_secret_of_the_config_file_used_or_not(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    config = config_for(httpserver, tmp_path, MANY_SECRETS)
    result = cli("--config", str(config), "event", "wrap", "--tail-lines", "100", "--", "cat",
                 str(config))  # fmt: skip
    assert "OTHER-CLIENT-KEY-4716" in result.stdout  # the command's own output is its own
    sent = json.dumps(received_events(httpserver), ensure_ascii=False)
    assert "staging.example.com" in sent  # the file is in the event, but none of its secrets
    for secret in CONFIG_SECRETS:
        assert secret not in sent, secret
    assert sent.count("***") >= len(CONFIG_SECRETS)


@pytest.mark.parametrize("key", ["k3Y", "Zq", "a1b2c3d"])
def test_a_short_key_glued_to_other_text_is_masked(cli: Cli, httpserver: HTTPServer, key: str):
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    env = {"STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"), "STAC_EVENTS_API_KEY": key}
    cli("event", "wrap", "--", "echo", f"x{key}y token={key}42 {key}", env=env)
    text = received_events(httpserver)[0]["msg_text"]
    assert key not in text
    assert "x***y token=***42 ***" in text


@pytest.mark.parametrize("key", ["1", "0", "e", ":", "ab"])
def test_a_dry_run_with_a_key_that_is_in_every_payload_stays_json(cli: Cli, key: str):
    result = cli("event", "send", "DeployEvent", "--title", f"t{key}t", "-m", "1:e,0ab",
                 "--timestamp", "1700000001", "--url", "http://127.0.0.1:9/receiver",
                 "--api-key", key, "--dry-run")  # fmt: skip
    payload = json.loads(result.stdout)  # as `jq` would read it
    (events,) = payload["events"].values()  # its name masked too, for the key "e"
    event = events[0]
    assert key not in event["msg_title"] + event["msg_text"]
    assert event["timestamp"] == 1700000001  # a short key inside a number: left as it is


# What an attack found still leaking: the key in an event's own texts and in the spool,
# credentials in CI variables, a key cut in two by a bound, a receiver's echo cut before it
# was masked, secrets written in a config file otherwise than YAML reads them.

LONG_KEY = "sekrit-key-ABCDEFGHIJKLMNOP"


def to(server: HTTPServer) -> Dict[str, str]:
    return {"STAC_EVENTS_RECEIVER_URL": server.url_for("/receiver")}


def test_an_event_never_carries_the_key_nor_does_the_spool(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    env = {
        "STAC_EVENTS_API_KEY": LONG_KEY,
        "STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"),
    }
    cli("event", "send", "LeakEvent", "--title", f"key is {LONG_KEY}", "-d", f"k={LONG_KEY}",
        "-m", f"https://user:hunter2@example.com/?api_key=abc {LONG_KEY}", env=env)  # fmt: skip
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps({"event_type": "LeakEvent", "msg_title": LONG_KEY}) + "\n")
    cli("event", "send", "--file", str(events), env=env)
    sent = json.dumps(received_events(httpserver))
    assert LONG_KEY not in sent
    assert "hunter2" not in sent
    assert "api_key=abc" not in sent
    assert sent.count("***") >= 5

    down = {**env, "STAC_EVENTS_RECEIVER_URL": "http://127.0.0.1:9/receiver"}
    cli("event", "send", "LeakEvent", "--title", f"key is {LONG_KEY}", "--retries", "0",
        env=down, expect=75)  # fmt: skip
    spooled = b"".join(p.read_bytes() for p in (cli.home / ".local").rglob("*.payload"))
    assert spooled
    assert LONG_KEY.encode() not in spooled


def test_credentials_in_ci_variables_never_reach_the_event(cli: Cli, httpserver: HTTPServer):
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    env = {"STAC_EVENTS_API_KEY": API_KEY, **to(httpserver),
           "JENKINS_URL": "https://jenkins.example.com/", "BUILD_NUMBER": "7",
           "BUILD_URL": "https://user:JENKINSPW77@jenkins.example.com/job/x/7/",
           "GIT_URL": "https://deploy:ghp_TOKEN7788@github.com/o/r.git"}  # fmt: skip
    cli("event", "send", "DeployEvent", "--title", "t", "--ci-context", env=env)
    cli("event", "wrap", "--ci-context", "--", "true", env=env)
    sent = json.dumps(received_events(httpserver))
    assert "JENKINSPW77" not in sent
    assert "ghp_TOKEN7788" not in sent
    assert "github.com/o/r.git" in sent  # the rest of it is there


@pytest.mark.parametrize("where", ["at the tail's cut", "at the command line's cut"])
def test_wrap_never_shows_a_piece_of_a_key_it_cut(cli: Cli, httpserver: HTTPServer, where: str):
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    env = {
        "STAC_EVENTS_API_KEY": LONG_KEY,
        "STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"),
    }
    if where == "at the tail's cut":
        for pad in range(4070, 4100, 3):  # the key across the 4 KiB a line keeps, each way
            script = f"import os,sys;sys.stdout.write('x'*10000+os.environ['K']+'y'*{pad}+'\\n')"
            cli("event", "wrap", "--", "python3", "-c", script, env={**env, "K": LONG_KEY})
    else:
        cli("event", "wrap", "--", "true", "a" * 1000, LONG_KEY, env=env)
    sent = json.dumps(received_events(httpserver))
    for piece in ("ABCDEFGHIJKLMNOP", "key-ABC", "sekrit"):
        assert piece not in sent, piece


def test_a_key_a_receiver_echoes_after_padding_is_masked_before_it_is_cut(
    cli: Cli, httpserver: HTTPServer
):
    def echo(request: Request) -> Response:
        pad = "p" * 180
        return Response(f"{pad} key was {request.headers['sts-api-key']}", status=400)

    httpserver.expect_request(INTAKE).respond_with_handler(echo)
    env = {
        "STAC_EVENTS_API_KEY": LONG_KEY,
        "STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"),
    }
    for mode in ("text", "json"):
        result = cli("event", "send", "DeployEvent", "--title", "t", "-o", mode, env=env, expect=4)
        assert "sekrit" not in result.output


def test_a_basic_auth_password_echoed_by_the_receiver_is_masked_in_the_spool_too(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    import base64

    password = "pw-XYZZY-77"
    config = tmp_path / "conf.yaml"
    config.write_text(config_text(httpserver.url_for("/receiver")).replace(
        "    clients:", f"      basic_auth: {{username: bob, password: {password}}}\n    clients:"
    ))  # fmt: skip
    config.chmod(0o600)
    token = base64.b64encode(f"bob:{password}".encode()).decode()

    answers = [503]  # down at first: the event is queued; then it refuses it, echoing

    def echo(request: Request) -> Response:
        said = f"bob:{password} {request.headers.get('Authorization', '')}"
        return Response(said, status=answers.pop() if answers else 400)

    httpserver.expect_request(INTAKE).respond_with_handler(echo)
    cli("--config", str(config), "event", "send", "DeployEvent", "--title", "t", "-m", "queued",
        "--retries", "0", expect=75)  # fmt: skip
    flushed = cli("--config", str(config), "spool", "flush", expect=4)
    listing = cli("--config", str(config), "spool", "list", "-o", "json")
    stored = b"".join(p.read_bytes() for p in (cli.home / ".local").rglob("*.payload"))
    for text in (flushed.output, listing.output, stored.decode()):
        assert password not in text
        assert token not in text


QUOTED_SECRETS = """\
instances:
  default:
    base_api:
      apitoken_auth: {{token: "tok\\x41DDDD"}}
      basic_auth: {{username: admin, password: 'it''s-pw-AAAA'}}
    receiver_api:
      url: "{url}"
    clients:
      default:
        api_key: 'other''key-CCCC'
        apitoken: 0123456
        apiToken2: 1_234_567
        service_token: >
          folded-one-EEEE
          folded-two-FFFF
        auth_header: "Bearer abc.GGGG"
        use_auth: false
"""


def test_wrap_masks_config_secrets_as_the_file_writes_them(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    config = config_for(httpserver, tmp_path, QUOTED_SECRETS)
    cli("--config", str(config), "event", "wrap", "--tail-lines", "100", "--", "cat", str(config),
        env={"STAC_EVENTS_API_KEY": API_KEY})  # fmt: skip
    sent = json.dumps(received_events(httpserver), ensure_ascii=False)
    for secret in ("AAAA", "CCCC", "0123456", "1_234_567", "EEEE", "FFFF", "GGGG", "x41DDDD"):
        assert secret not in sent, secret
    assert "use_auth: false" in sent  # a switch is no secret


def test_the_stdin_marker_is_no_key_to_mask(cli: Cli):
    result = cli("config", "init", "--api-key", "-", "--bogus", expect=2)
    assert "--bogus" in result.stderr


SETTINGS_NAMED_LIKE_SECRETS = """\
instances:
  default:
    receiver_api:
      url: "{url}"
      auth_retries: 1
      key_file: "0"
      max_keys: 5
      token_ttl: 60
    clients:
      default:
        api_key: "THE-KEY-4720"
"""


def test_config_values_whose_names_only_mention_a_secret_are_not_masked(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    """`auth_retries: 1` names no secret: masking it would turn every 1 in every event into
    ***, in what is sent."""
    config = config_for(httpserver, tmp_path, SETTINGS_NAMED_LIKE_SECRETS)
    cli("--config", str(config), "event", "send", "DeployEvent", "--title",
        "deploy 1.2.1 of web", "-m", "took 10 s, 5 of 60 checks, exit 0")  # fmt: skip
    (event,) = received_events(httpserver)
    assert event["msg_title"] == "deploy 1.2.1 of web"
    assert event["msg_text"] == "took 10 s, 5 of 60 checks, exit 0"


def test_an_address_password_standing_alone_is_masked_in_the_event(
    cli: Cli, httpserver: HTTPServer
):
    """The address's own password, and the basic-auth value made of it, are secrets of the
    run as a config file's password is: a command that prints them alone shows ***."""
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    url = httpserver.url_for("/receiver").replace("://", "://bob:S3cretPassw0rd@")
    token = "Ym9iOlMzY3JldFBhc3N3MHJk"  # base64 of bob:S3cretPassw0rd
    cli("event", "wrap", "--url", url, "-m", "pw S3cretPassw0rd", "--", "echo",
        f"pw S3cretPassw0rd auth {token}", env={"STAC_EVENTS_API_KEY": API_KEY})  # fmt: skip
    (event,) = received_events(httpserver)
    assert "S3cretPassw0rd" not in json.dumps(event)
    assert token not in json.dumps(event)
    assert "pw ***" in event["msg_text"]


def test_the_stdin_marker_masks_no_dash_in_any_message(cli: Cli):
    result = cli("config", "init", "--api-key", "-", "--url", "", stdin="k3y\n", expect=2)
    assert result.stderr == "stac-events: error: --url: is empty\n"


def test_wrap_masks_a_secret_holding_a_quote_on_its_command_line(cli: Cli):
    """The quoting of the command line writes `it's` as 'it'"'"'s': masked before it."""
    key = "k-it's-0123"
    result = cli("event", "wrap", "--dry-run", "--", "echo", f"-u{key}", key,
                 env={"STAC_EVENTS_API_KEY": key})  # fmt: skip
    (payload,) = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert "s-0123" not in payload
    (event,) = json.loads(payload)["events"]["CommandEvent"]
    assert event["context"]["data"]["command"] == "echo '-u***' '***'"


def test_wrap_masks_the_key_in_its_own_not_found_line(cli: Cli):
    result = cli("event", "wrap", "--dry-run", "--", f"/nowhere/{API_KEY}",
                 env={"STAC_EVENTS_API_KEY": API_KEY}, expect=127)  # fmt: skip
    assert no_secret(result, [API_KEY]), result.output
    assert "/nowhere/***: command not found" in result.stderr


SECRETS_BY_THEIR_SECTION = """\
instances:
  default:
    receiver_api:
      url: "{url}"
      basic_auth: {{username: admin, password: BA-PASS-4731}}
    clients:
      default: {{api_key: THE-KEY-4732}}
common: &c ANCHORED-4733
other: *c
extras: [{{password: *c}}]
credentials:
  github: ghp_AAAA4734
secrets: {{prod: PROD-4735}}
auth: {{user: bob, pw: AUTH-PW-4736}}
tokens: [{{name: ci, value: TOKVAL-4737}}]
pass: PASS-4738
pwd: PWD-4739
max_keys: 5
"""


def test_wrap_masks_what_a_section_named_as_secret_holds(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    """A value is secret by its own name or by its section's (`credentials: {github:
    ...}`), and an anchored value by any name it is used under; who it is for is not."""
    config = config_for(httpserver, tmp_path, SECRETS_BY_THEIR_SECTION)
    cli("--config", str(config), "event", "wrap", "--tail-lines", "100", "--", "cat", str(config))
    sent = json.dumps(received_events(httpserver))
    for n in range(4731, 4740):
        assert f"{n}" not in sent, n
    for shown in ("username: admin", "user: bob", "name: ci", "max_keys: 5"):
        assert shown in sent, shown


def test_the_key_is_masked_in_names_and_numbers_too(cli: Cli, httpserver: HTTPServer):
    """An event's name, its data's keys and a number that is the key are the event's too;
    the Receiver API's own names are left whole, so that the receiver still takes it."""
    key = "9876543210"
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    env = {"STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"), "STAC_EVENTS_API_KEY": key}
    cli("event", "send", "DeployEvent", "--title", "t", "--name", f"{key}Event", "-d",
        f'{{"{key}": 1, "n": {key}, "when": 1{key}, "id": 7}}', env=env)  # fmt: skip
    (body,) = [request.get_data() for request, _ in httpserver.log]
    assert key.encode() not in body
    (event,) = received_events(httpserver)
    assert event["_name"] == "***Event"
    assert event["context"]["data"] == {"***": 1, "n": "***", "when": "***", "id": 7}
    assert event["event_type"] == "DeployEvent"


def test_a_short_key_leaves_the_names_of_a_json_result_whole(cli: Cli, httpserver: HTTPServer):
    """`ok`, `delivered`: a result's names are its structure, whatever a one-letter key."""
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    env = {"STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"), "STAC_EVENTS_API_KEY": "k"}
    result = cli("event", "send", "DeployEvent", "--title", "t", "-o", "json", env=env)
    assert result.json()["ok"] is True
    assert result.json()["delivered"] == 1


@pytest.mark.parametrize(("key", "warned"), [("Q", True), ("qzxjk", True), ("qzxjkv", False)])
def test_a_key_short_enough_to_change_words_is_warned_about(
    cli: Cli, key: str, warned: bool
) -> None:
    """Masking a stand-in key such as `e` changes ordinary words (`release`): the run says
    so (in a line masked as every line is: these keys hold no letter of it)."""
    env = {"STAC_EVENTS_API_KEY": key, "STAC_EVENTS_RECEIVER_URL": "http://127.0.0.1:9"}
    result = cli("event", "send", "DeployEvent", "--title", "release one", "--dry-run", env=env)
    warning = [line for line in result.stderr.splitlines() if "character(s) long" in line]
    assert len(warning) == (1 if warned else 0), result.stderr
    if warned:
        assert f"is {len(key)} character(s) long" in warning[0]
    assert key not in result.stderr.replace("***", "")


def test_a_batch_masks_event_names_and_the_host_name_on_the_wire_too(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    env = {"STAC_EVENTS_API_KEY": LONG_KEY, **to(httpserver)}
    events = tmp_path / "events.ndjson"
    lines = [{"event_type": "LeakEvent", "msg_title": f"t{n}", "name": f"n-{LONG_KEY}"}
             for n in range(300)]  # fmt: skip
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    cli("event", "send", "--file", str(events), "--hostname", f"h-{LONG_KEY}", env=env)
    (request, _), *_ = httpserver.log
    body = request.get_data()
    assert LONG_KEY.encode() not in body
    document = json.loads(body)
    assert document["internalHostname"] == "h-***"
    assert list(document["events"]) == ["n-***"]
    assert len(document["events"]["n-***"]) == 300


@pytest.mark.parametrize("key", ["k", "e", LONG_KEY])
def test_a_dry_run_prints_the_bytes_a_receiver_gets(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path, key: str
):
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    events = tmp_path / "events.ndjson"
    lines = [{"event_type": "DeployEvent", "msg_title": f"checkout {n} by {key}",
              "timestamp": 1_700_000_000, "context": {"source_links": [
                  {"title": "Run", "url": f"https://ci.example/{n}?api_key=abc"}]}}
             for n in range(600)]  # fmt: skip
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = {"STAC_EVENTS_API_KEY": key, **to(httpserver)}
    flags = ["--max-request-bytes", "20000", "--hostname", "h"]
    printed = cli("event", "send", "--file", str(events), *flags, "--dry-run", env=env)
    cli("event", "send", "--file", str(events), *flags, env=env)
    bodies = [request.get_data() for request, _ in httpserver.log]
    assert len(bodies) > 2
    assert printed.stdout.encode() == b"".join(body + b"\n" for body in bodies)
    assert b"api_key=abc" not in b"".join(bodies)


def test_a_key_given_twice_is_masked_in_what_is_sent_as_in_the_dry_run(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    events = tmp_path / "events.ndjson"
    first, last = "AAAAAAAA-first-key", "BBBBBBBB-last-key"
    lines = [{"event_type": "AEvent", "msg_title": f"has {first}"}, {"event_type": "AEvent",
             "msg_title": "x"}]  # fmt: skip
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    keys = ["--api-key", first, "--api-key", last]
    printed = cli("event", "send", "--file", str(events), *keys, "--dry-run", env=to(httpserver))
    cli("event", "send", "--file", str(events), *keys, env=to(httpserver))
    ((request, _),) = httpserver.log
    assert first.encode() not in request.get_data()
    assert printed.stdout.encode() == request.get_data() + b"\n"
