"""`config init` (flags and the terminal wizard) and `check`, against real local servers."""

from __future__ import annotations

import os
import pty
import select
import stat
import sys
import time
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer

from tests.conftest import API_KEY, Cli, no_secret, valid_common_object

INTAKE = "/receiver/stsAgent/intake"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_with_flags_writes_a_private_file(cli: Cli, home: Path) -> None:
    result = cli("config", "init", "--url", "https://sts.example.com/receiver",
                 "--api-key", API_KEY, "--hostname", "web-1")  # fmt: skip
    path = home / ".config" / "stac-events" / "conf.yaml"
    assert f"wrote {path}" in result.stderr
    assert mode_of(path) == 0o600
    assert no_secret(result)
    assert yaml.safe_load(path.read_text()) == {
        "instances": {
            "default": {
                "receiver_api": {"url": "https://sts.example.com/receiver"},
                "clients": {"default": {"api_key": API_KEY, "hostname": "web-1",
                                        "internal_hostname": "web-1"}},
            }
        }
    }  # fmt: skip
    shown = cli("config", "show", "-o", "json").json()
    assert shown["config_file"]["value"] == str(path)
    assert shown["hostname"]["value"] == "web-1"
    assert "warning" not in cli("config", "show").stderr


def test_init_keeps_other_instances_and_sections(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text(
        "instances:\n"
        "  default:\n"
        "    base_api: {url: 'https://prod.example.com/api'}\n"
        "    receiver_api: {url: 'https://prod.example.com/receiver'}\n"
        "    clients: {default: {api_key: prod-key}}\n"
    )
    cli("--config", str(path), "--instance", "staging", "config", "init",
                 "--url", "https://staging.example.com", "--api-key", "staging-key")  # fmt: skip
    data = yaml.safe_load(path.read_text())
    assert data["instances"]["default"]["base_api"] == {"url": "https://prod.example.com/api"}
    assert data["instances"]["default"]["clients"]["default"]["api_key"] == "prod-key"
    assert data["instances"]["staging"]["clients"]["default"]["api_key"] == "staging-key"
    assert mode_of(path) == 0o600


def test_init_refuses_a_broken_file(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("instances: [unclosed\n")
    result = cli(
        "config", "init", "--config", str(path), "--url", "https://x", "--api-key", "k", expect=3
    )
    assert "not valid YAML" in result.stderr
    assert path.read_text() == "instances: [unclosed\n"


def test_init_in_a_script_needs_flags(cli: Cli) -> None:
    result = cli("config", "init", "--url", "https://sts.example.com", expect=2)
    assert "needs --url and --api-key when not run on a terminal" in result.stderr


def test_init_refuses_an_address_that_is_not_a_url(cli: Cli) -> None:
    result = cli("config", "init", "--url", "ftp://x", "--api-key", "k", expect=3)
    assert "is not an http(s) URL" in result.stderr


def _read_until(fd: int, text: str, seen: bytearray, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"never saw {text!r}; saw {bytes(seen)!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen.extend(chunk)


def test_init_wizard_on_a_terminal_hides_the_key(home: Path, isolated_environ: dict) -> None:
    exe = str(Path(sys.executable).with_name("stac-events"))
    pid, fd = pty.fork()
    if pid == 0:  # the child: a real terminal session running the wizard
        os.chdir(home)
        os.execve(exe, [exe, "config", "init"], {**isolated_environ, "TERM": "dumb"})
    seen = bytearray()
    try:
        _read_until(fd, "Receiver address", seen)
        os.write(fd, b"https://sts.example.com/receiver\n")
        _read_until(fd, "Receiver API key", seen)
        os.write(fd, API_KEY.encode() + b"\n")
        _read_until(fd, "Host name to report", seen)
        os.write(fd, b"\n")
        _read_until(fd, "wrote", seen)
        _read_until(fd, "mode 0600", seen)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, bytes(seen)
    assert API_KEY.encode() not in seen  # typed without echo
    path = home / ".config" / "stac-events" / "conf.yaml"
    client = yaml.safe_load(path.read_text())["instances"]["default"]["clients"]["default"]
    assert client == {"api_key": API_KEY}
    assert mode_of(path) == 0o600


def test_check_live(cli: Cli, httpserver: HTTPServer) -> None:
    httpserver.expect_request(INTAKE, method="POST").respond_with_data("", status=202)
    env = {"STS_STS_URL": httpserver.url_for("/receiver"), "STS_API_KEY": API_KEY}
    result = cli("check", env=env)
    assert "(from $STS_STS_URL)" in result.stderr
    assert "reach     ok" in result.stderr
    assert "tls       not used (plain http)" in result.stderr
    assert "key       accepted (202; from $STS_API_KEY)" in result.stderr
    assert "latency" in result.stderr
    ((request, _),) = httpserver.log
    body = valid_common_object(request.get_data())
    assert body["events"] == {}
    assert body["internalHostname"] == "test-host"
    assert no_secret(result)
    as_json = cli("check", "-o", "json", env=env).json()
    assert as_json["ok"] is True
    assert as_json["status"] == 202
    assert as_json["tls"] == "none"
    assert isinstance(as_json["latency_ms"], int)


@pytest.mark.parametrize(("status", "exit_code"), [(401, 4), (403, 4), (503, 5)])
def test_check_refused(cli: Cli, httpserver: HTTPServer, status: int, exit_code: int) -> None:
    httpserver.expect_request(INTAKE, method="POST").respond_with_data("no", status=status)
    result = cli(
        "check", "--url", httpserver.url_for("/receiver"), "--api-key", API_KEY, expect=exit_code
    )
    assert f"the receiver answered {status}" in result.stderr
    assert no_secret(result)


def test_check_unreachable(cli: Cli) -> None:
    result = cli(
        "check", "--url", "http://127.0.0.1:9", "--api-key", API_KEY, "-o", "json", expect=5
    )
    assert result.json()["error"]["kind"] == "delivery"
    assert no_secret(result)


def test_check_without_settings_is_a_config_error(cli: Cli) -> None:
    result = cli("check", expect=3)
    assert "no receiver address is set" in result.stderr
