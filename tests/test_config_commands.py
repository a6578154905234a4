"""`check`, against real local servers (`config init` is in test_config_init.py)."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import API_KEY, INTAKE, Cli, no_secret, valid_common_object


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
