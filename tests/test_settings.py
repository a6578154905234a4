"""Where the address and key come from: variables, conf.yaml, flags, and their order."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Optional
from urllib.parse import quote

import pytest
from pytest_httpserver import HTTPServer

from stac_events.errors import ConfigError
from stac_events.settings import normalize_address
from tests.conftest import API_KEY, INTAKE, Cli, no_secret


@pytest.mark.parametrize(
    ("given", "port", "expected"),
    [
        ("https://sts.example.com", None, "https://sts.example.com/receiver/stsAgent/intake"),
        ("https://sts.example.com/", None, "https://sts.example.com/receiver/stsAgent/intake"),
        ("sts.example.com", None, "https://sts.example.com/receiver/stsAgent/intake"),
        ("https://sts.example.com/receiver", None,
         "https://sts.example.com/receiver/stsAgent/intake"),
        ("https://sts.example.com/receiver/", None,
         "https://sts.example.com/receiver/stsAgent/intake"),
        ("https://sts.example.com/receiver/stsAgent", None,
         "https://sts.example.com/receiver/stsAgent/intake"),
        ("https://sts.example.com/receiver/stsAgent/intake", None,
         "https://sts.example.com/receiver/stsAgent/intake"),
        ("https://sts.example.com/receiver/stsAgent/intake/", None,
         "https://sts.example.com/receiver/stsAgent/intake"),
        ("https://sts.example.com:7077", None, "https://sts.example.com:7077/stsAgent/intake"),
        ("sts.example.com:7077", None, "https://sts.example.com:7077/stsAgent/intake"),
        ("https://sts.example.com:7077/stsAgent", None,
         "https://sts.example.com:7077/stsAgent/intake"),
        ("https://sts.example.com", 7100, "https://sts.example.com:7100/stsAgent/intake"),
        ("https://sts.example.com:8443", 7077, "https://sts.example.com:8443/stsAgent/intake"),
        ("https://sts.example.com/receiver", 7077,
         "https://sts.example.com/receiver/stsAgent/intake"),
        ("http://localhost:8080", None, "http://localhost:8080/receiver/stsAgent/intake"),
        ("https://gw.example.com/custom/path", None, "https://gw.example.com/custom/path"),
        ("https://sts.example.com/receiver?tenant=a", None,
         "https://sts.example.com/receiver/stsAgent/intake?tenant=a"),
    ],
)  # fmt: skip
def test_address_normalization(given: str, port: Optional[int], expected: str) -> None:
    assert normalize_address(given, linux_port=port) == expected


@pytest.mark.parametrize("given", ["ftp://sts.example.com", "https://", "http://host:99999"])
def test_address_that_is_not_http_is_a_config_error(given: str) -> None:
    with pytest.raises(ConfigError):
        normalize_address(given)


def show(cli: Cli, *args: str, env: Optional[Dict[str, str]] = None) -> dict:
    result = cli("config", "show", "--output", "json", *args, env=env)
    assert no_secret(result)
    return result.json()


# Precedence: each source against the one just below it.
ADDRESS_SOURCES = [
    ("--url", {}, ["--url", "https://flag.example.com"]),
    ("$STAC_EVENTS_RECEIVER_URL", {"STAC_EVENTS_RECEIVER_URL": "https://ours.example.com"}, []),
    ("$STACKSTATE_RECEIVER_API_ADDRESS",
     {"STACKSTATE_RECEIVER_API_ADDRESS": "https://docs.example.com/receiver/stsAgent/intake"}, []),
    ("$STACKSTATE_BASE_URL", {"STACKSTATE_BASE_URL": "base.example.com"}, []),
    ("$STS_STS_URL", {"STS_STS_URL": "https://agent.example.com/receiver/stsAgent"}, []),
]  # fmt: skip

KEY_SOURCES = [
    ("--api-key", {}, ["--api-key", "flag-key"]),
    ("$STAC_EVENTS_API_KEY", {"STAC_EVENTS_API_KEY": "ours-key"}, []),
    ("$STACKSTATE_RECEIVER_API_KEY", {"STACKSTATE_RECEIVER_API_KEY": "docs-key"}, []),
    ("$STS_API_KEY", {"STS_API_KEY": "agent-key"}, []),
]


def write_config(
    path: Path,
    url: str = "https://file.example.com/receiver",
    api_key: str = "file-key",
    mode: int = 0o600,
    extra: str = "",
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "instances:\n"
        "  default:\n"
        "    base_api:\n"
        "      url: https://file.example.com/api\n"
        "    receiver_api:\n"
        f"      url: {url}\n"
        "    clients:\n"
        "      default:\n"
        f"        api_key: {api_key}\n"
        "        hostname: file-host\n"
        "        internal_hostname: file-internal-host\n" + extra
    )
    path.chmod(mode)
    return path


@pytest.mark.parametrize("higher", range(len(ADDRESS_SOURCES)))
def test_address_precedence(cli: Cli, home: Path, higher: int) -> None:
    write_config(home / ".stackstate" / "cli" / "conf.yaml")
    origin, env, args = ADDRESS_SOURCES[higher]
    env = dict(env)
    for _, lower_env, _ in ADDRESS_SOURCES[higher + 1 :]:
        env.update(lower_env)
    assert show(cli, *args, env=env)["address"]["origin"] == origin


def test_config_file_is_the_last_address_source(cli: Cli, home: Path) -> None:
    path = write_config(home / ".stackstate" / "cli" / "conf.yaml")
    shown = show(cli)
    assert shown["address"] == {
        "value": "https://file.example.com/receiver/stsAgent/intake", "origin": f"{path}:6",
    }  # fmt: skip
    assert shown["api_key"] == {"value": "***", "origin": f"{path}:9"}
    assert shown["hostname"] == {"value": "file-internal-host", "origin": f"{path}:11"}
    assert shown["config_file"] == {"value": str(path), "origin": "stac CLI"}


@pytest.mark.parametrize("higher", range(len(KEY_SOURCES)))
def test_key_precedence(cli: Cli, home: Path, higher: int) -> None:
    write_config(home / ".stackstate" / "cli" / "conf.yaml")
    origin, env, args = KEY_SOURCES[higher]
    env = {**env, "STACKSTATE_RECEIVER_API_ADDRESS": "https://x/receiver?api_key=query-key"}
    for _, lower_env, _ in KEY_SOURCES[higher + 1 :]:
        env.update(lower_env)
    assert show(cli, *args, env=env)["api_key"]["origin"] == origin


def test_key_in_the_address_beats_the_file(cli: Cli, home: Path) -> None:
    write_config(home / ".stackstate" / "cli" / "conf.yaml")
    env = {"STACKSTATE_RECEIVER_API_ADDRESS":
           "https://x.example.com/receiver/stsAgent/intake?api_key=query-key"}  # fmt: skip
    shown = show(cli, env=env)
    assert shown["api_key"]["origin"] == (
        "the api_key in the address ($STACKSTATE_RECEIVER_API_ADDRESS)"
    )
    assert shown["address"]["value"] == "https://x.example.com/receiver/stsAgent/intake"
    assert "query-key" not in json.dumps(shown)


def test_hostname_precedence(cli: Cli, home: Path) -> None:
    write_config(home / ".stackstate" / "cli" / "conf.yaml")
    assert show(cli, "--hostname", "flag-host", env={"STAC_EVENTS_HOSTNAME": "env-host"})[
        "hostname"
    ] == {"value": "flag-host", "origin": "--hostname"}
    assert show(cli, env={"STAC_EVENTS_HOSTNAME": "env-host"})["hostname"] == {
        "value": "env-host", "origin": "$STAC_EVENTS_HOSTNAME",
    }  # fmt: skip
    (home / ".stackstate" / "cli" / "conf.yaml").unlink()
    assert show(cli)["hostname"] == {"value": "test-host", "origin": "this machine's host name"}


@pytest.mark.parametrize(
    ("location", "label"),
    [
        ("home/.config/stac-events/conf.yaml", "user config dir"),
        ("home/.stackstate/cli/conf.yaml", "stac CLI"),
        ("home/AppData/StackState/cli/conf.yaml", "%APPDATA% (stac CLI on Windows)"),
    ],
)
def test_each_config_location(
    cli: Cli, home: Path, tmp_path: Path, location: str, label: str
) -> None:
    cli.cwd = tmp_path / "cwd"
    cli.cwd.mkdir()
    path = write_config(tmp_path / location, url=f"https://{label[:3].strip('./%')}.example.com")
    assert show(cli)["config_file"] == {"value": str(path), "origin": label}


def test_first_config_found_wins(cli: Cli, home: Path, tmp_path: Path) -> None:
    mine = write_config(home / ".config" / "stac-events" / "conf.yaml",
                        url="https://mine.example.com")  # fmt: skip
    write_config(home / ".stackstate" / "cli" / "conf.yaml", url="https://stac.example.com")
    shown = show(cli)
    assert shown["config_file"]["value"] == str(mine)
    assert shown["address"]["value"].startswith("https://mine.example.com/")
    listed = cli("config", "path")
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("* 1.")
    assert lines[0].endswith("in use")
    assert "found, not used" in lines[1]


def test_explicit_config_beats_the_search(cli: Cli, home: Path, tmp_path: Path) -> None:
    write_config(home / ".stackstate" / "cli" / "conf.yaml", url="https://stac.example.com")
    chosen = write_config(tmp_path / "elsewhere.yaml", url="https://chosen.example.com")
    for args, env in [(["--config", str(chosen)], {}), ([], {"STAC_EVENTS_CONFIG": str(chosen)})]:
        shown = show(cli, *args, env=env)
        assert shown["config_file"]["value"] == str(chosen)
        assert shown["address"]["value"].startswith("https://chosen.example.com/")


def test_missing_explicit_config_is_a_config_error(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--config",
        str(tmp_path / "nope.yaml"),
        expect=3,
    )
    assert "nope.yaml given by --config does not exist" in result.stderr


MULTI = """\
instances:
  default:
    receiver_api: {url: "https://default.example.com"}
    clients:
      default: {api_key: default-key}
  staging:
    receiver_api: {url: "https://staging.example.com"}
    clients:
      default: {api_key: staging-key}
      ci: {api_key: ci-key, internal_hostname: ci-runner}
"""


@pytest.mark.parametrize(
    ("args", "address", "key_line", "hostname"),
    [
        ([], "default", 5, "test-host"),
        (["--instance", "staging"], "staging", 9, "test-host"),
        (["--instance", "staging", "--client", "ci"], "staging", 10, "ci-runner"),
    ],
)
def test_instance_and_client(
    cli: Cli, tmp_path: Path, args: list, address: str, key_line: int, hostname: str
) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text(MULTI)
    path.chmod(0o600)
    after = show(cli, "--config", str(path), *args)
    before = cli("--config", str(path), *args, "config", "show", "-o", "json").json()
    assert before == after
    assert after["address"]["value"].startswith(f"https://{address}.example.com/")
    assert after["api_key"]["origin"] == f"{path}:{key_line}"
    assert after["hostname"]["value"] == hostname


def test_unknown_instance_named_explicitly(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text(MULTI)
    result = cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--config",
        str(path),
        "--instance",
        "prod",
        expect=3,
    )
    assert "has no instance 'prod' (given by --instance); it has: default, staging" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("instances:\n  default:\n    receiver_api: [unclosed\n", ":4: not valid YAML"),
        ("instances:\n  default:\n\treceiver_api: {}\n", ":3: not valid YAML"),
        ("- just\n- a list\n", ":1: the file must be a mapping"),
        ("instances:\n  default:\n    receiver_api:\n      url: {nested: true}\n",
         ":4: instances.default.receiver_api.url: input should be a valid string"),
        ("instances:\n  default:\n    clients:\n      default: [1, 2]\n",
         ":4: instances.default.clients.default: input should be a valid dictionary"),
        ("instances: 42\n", ":1: instances: input should be a valid dictionary"),
        ("instances:\n  default:\n    receiver_api:\n      basic_auth: {username: u}\n",
         ":4: instances.default.receiver_api.basic_auth.password: field required"),
    ],
)  # fmt: skip
def test_broken_config_names_file_line_and_key(
    cli: Cli, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    result = cli("event", "send", "DeployEvent", "--title", "t", "--config", str(path), expect=3)
    assert f"stac-events: error: {path}{message}" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_empty_config_is_no_config(cli: Cli, home: Path) -> None:
    path = home / ".stackstate" / "cli" / "conf.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("# nothing yet\n")
    shown = show(cli)
    assert shown["config_file"]["value"] == str(path)
    assert shown["address"]["value"] is None


def test_readable_config_with_a_key_draws_a_warning(cli: Cli, home: Path) -> None:
    path = write_config(home / ".stackstate" / "cli" / "conf.yaml", mode=0o644)
    result = cli("config", "show")
    assert f"warning: {path} holds an API key and is readable by others (mode 0644)" in (
        result.stderr
    )
    assert f"chmod 600 {path}" in result.stderr
    path.chmod(0o600)
    assert "warning" not in cli("config", "show").stderr


def test_config_show_text(cli: Cli, home: Path) -> None:
    path = write_config(home / ".stackstate" / "cli" / "conf.yaml", api_key=API_KEY)
    result = cli("config", "show", env={"STS_STS_URL": "https://agent.example.com"})
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["address"].split() == [
        "https://agent.example.com/receiver/stsAgent/intake", "$STS_STS_URL",
    ]  # fmt: skip
    assert lines["api_key"].split() == ["***", f"{path}:9"]
    assert no_secret(result)


# Against a real receiver: each family of settings delivers.


def _linux_receiver_env(server: HTTPServer) -> Dict[str, str]:
    return {"STACKSTATE_BASE_URL": "http://127.0.0.1",
            "STACKSTATE_RECEIVER_PORT": str(server.port),
            "STACKSTATE_RECEIVER_API_KEY": API_KEY}  # fmt: skip


@pytest.mark.parametrize(
    ("family", "path"),
    [("ours", INTAKE), ("docs-address", INTAKE), ("docs-base", INTAKE),
     ("docs-linux", "/stsAgent/intake"), ("agent", INTAKE)],
)  # fmt: skip
def test_each_environment_family_delivers(
    cli: Cli, httpserver: HTTPServer, family: str, path: str
) -> None:
    httpserver.expect_request(path, method="POST").respond_with_data("", status=202)
    base = f"http://127.0.0.1:{httpserver.port}"
    env = {
        "ours": {"STAC_EVENTS_RECEIVER_URL": base, "STAC_EVENTS_API_KEY": API_KEY},
        "docs-address": {
            "STACKSTATE_RECEIVER_API_ADDRESS": f"{base}{INTAKE}?api_key={quote(API_KEY, safe='')}"
        },
        "docs-base": {"STACKSTATE_BASE_URL": base, "STACKSTATE_RECEIVER_API_KEY": API_KEY},
        "docs-linux": _linux_receiver_env(httpserver),
        "agent": {"STS_STS_URL": f"{base}/receiver/stsAgent", "STS_API_KEY": API_KEY},
    }[family]
    result = cli("event", "send", "DeployEvent", "--title", "t", env=env)
    ((request, _),) = httpserver.log
    assert request.args["api_key"] == API_KEY
    assert no_secret(result)


def test_agent_host_needs_no_flags(run_script, httpserver: HTTPServer) -> None:
    httpserver.expect_request(INTAKE, method="POST").respond_with_data("", status=202)
    env = {"STS_STS_URL": httpserver.url_for("/receiver/stsAgent"), "STS_API_KEY": API_KEY}
    run_script("stac-events", "event", "send", "DeployEvent", "--title", "t", env=env)
    assert len(httpserver.log) == 1


def test_stac_conf_yaml_needs_no_flags(run_script, home: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(INTAKE, method="POST").respond_with_data("", status=202)
    write_config(home / ".stackstate" / "cli" / "conf.yaml",
                 url=httpserver.url_for("/receiver"), api_key=API_KEY)  # fmt: skip
    result = run_script("stac", "event", "send", "DeployEvent", "--title", "t")
    ((request, _),) = httpserver.log
    assert request.args["api_key"] == API_KEY
    assert json.loads(request.get_data())["internalHostname"] == "file-internal-host"
    assert no_secret(result)


BASIC_AUTH = "      basic_auth: {username: sts-user, password: pa55word}\n"


def test_basic_auth_arrives_as_authorization_header(
    cli: Cli, tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(INTAKE, method="POST").respond_with_data("", status=202)
    path = write_config(tmp_path / "conf.yaml", url=httpserver.url_for("/receiver"))
    path.write_text(path.read_text().replace("    clients:\n", BASIC_AUTH + "    clients:\n"))
    cli("event", "send", "DeployEvent", "--title", "t", "--config", str(path))
    ((request, _),) = httpserver.log
    assert request.authorization.username == "sts-user"
    assert request.authorization.password == "pa55word"
    shown = show(cli, "--config", str(path))
    assert shown["basic_auth"]["value"] == "sts-user:***"
    assert "pa55word" not in json.dumps(shown)


def test_basic_auth_stays_with_its_own_host(
    cli: Cli, tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(INTAKE, method="POST").respond_with_data("", status=202)
    path = write_config(tmp_path / "conf.yaml", url="https://configured.example.com/receiver")
    path.write_text(path.read_text().replace("    clients:\n", BASIC_AUTH + "    clients:\n"))
    cli(
        "event",
        "send",
        "DeployEvent",
        "--title",
        "t",
        "--config",
        str(path),
        "--url",
        httpserver.url_for("/receiver"),
    )
    ((request, _),) = httpserver.log
    assert "Authorization" not in request.headers


def test_bad_receiver_port_variable(cli: Cli) -> None:
    result = cli(
        "config",
        "show",
        env={"STACKSTATE_BASE_URL": "x", "STACKSTATE_RECEIVER_PORT": "http"},
        expect=3,
    )
    assert "$STACKSTATE_RECEIVER_PORT is 'http'; it must be a port number" in result.stderr


def test_tests_do_not_read_the_real_home(cli: Cli, home: Path) -> None:
    result = cli("config", "path")
    assert str(Path(os.path.expanduser("~"))) + "/" not in result.stdout.replace(str(home), "")


def test_config_show_has_the_delivery_settings_with_their_origins(cli: Cli, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(
        "-----BEGIN CERTIFICATE-----\nnot parsed until a TLS connection is made\n"
        "-----END CERTIFICATE-----\n"
    )
    defaults = cli("config", "show", "-o", "json").json()
    assert {name: defaults[name] for name in ("connect_timeout", "read_timeout", "retries",
                                              "tls_verify", "ca_certs")} == {
        "connect_timeout": {"value": 5.0, "origin": "default"},
        "read_timeout": {"value": 30.0, "origin": "default"},
        "retries": {"value": 3, "origin": "default"},
        "tls_verify": {"value": True, "origin": "default"},
        "ca_certs": {"value": [], "origin": "only the system's"},
    }  # fmt: skip
    assert defaults["spool"]["value"].endswith("/.local/state/stac-events/spool")
    given = cli("config", "show", "-o", "json", "--timeout", "2.5", "--retries", "0",
                "--insecure", "--ca-cert", str(ca), "--no-spool",
                env={"REQUESTS_CA_BUNDLE": str(ca)}).json()  # fmt: skip
    assert given["read_timeout"] == {"value": 2.5, "origin": "--timeout"}
    assert given["retries"] == {"value": 0, "origin": "--retries"}
    assert given["tls_verify"] == {"value": False, "origin": "--insecure"}
    assert given["ca_certs"] == {"value": [str(ca)] * 2, "origin": "--ca-cert, $REQUESTS_CA_BUNDLE"}
    assert given["spool"] == {"value": None, "origin": "--no-spool"}
    shown = cli("config", "show", "--timeout", "2.5", "--no-spool").stdout
    table = dict(line.split(None, 1) for line in shown.splitlines())
    assert table["read_timeout"].split() == ["2.5", "s", "--timeout"]
    assert table["tls_verify"].split() == ["on", "default"]
    assert table["spool"].split() == ["off", "--no-spool"]


def test_a_missing_ca_bundle_in_the_environment_is_a_config_error(cli: Cli) -> None:
    result = cli("config", "show", env={"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"}, expect=3)
    assert "$REQUESTS_CA_BUNDLE: no such file: /nonexistent/ca.pem" in result.stderr
