"""Every path, certificate file and receiver a user can name gets a one-line answer that
names it and says what to do, with SPEC section 6's exit code; none ends in exit 1."""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List

import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import API_KEY, INTAKE, Cli, Result, no_secret, tls_server_for

DOWN = "http://127.0.0.1:9/receiver"  # nothing listens on the discard port


def env_for(url: str) -> Dict[str, str]:
    return {"STAC_EVENTS_RECEIVER_URL": url, "STAC_EVENTS_API_KEY": API_KEY}


def send(cli: Cli, *args: str, env: Dict[str, str], expect: int) -> Result:
    result = cli("event", "send", "DeployEvent", "--title", "t", *args, env=env, expect=expect)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    assert no_secret(result)
    return result


def spooled(home: Path) -> list:
    root = home / ".local" / "state" / "stac-events" / "spool"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# Paths that cannot be used (over-long names, directories, links, devices, FIFOs)


def too_long(tmp_path: Path, kind: str) -> Path:
    """A file name over NAME_MAX, or a whole path over PATH_MAX."""
    if kind == "name":
        return tmp_path / ("x" * 300 + ".pem")
    return tmp_path.joinpath(*["d" * 200] * 25, "ca.pem")


@pytest.mark.parametrize("kind", ["name", "path"])
def test_an_over_long_ca_cert_is_a_usage_error(cli: Cli, tmp_path: Path, kind: str) -> None:
    path = too_long(tmp_path, kind)
    result = send(cli, "--ca-cert", str(path), env=env_for(DOWN), expect=2)
    assert f"--ca-cert: cannot use {path}: File name too long" in result.stderr


@pytest.mark.parametrize("kind", ["name", "path"])
def test_an_over_long_ca_bundle_variable_is_a_config_error(
    cli: Cli, tmp_path: Path, kind: str
) -> None:
    path = too_long(tmp_path, kind)
    env = {**env_for(DOWN), "REQUESTS_CA_BUNDLE": str(path)}
    result = send(cli, env=env, expect=3)
    assert f"$REQUESTS_CA_BUNDLE: cannot use {path}: File name too long" in result.stderr


@pytest.mark.parametrize("how", ["--config", "STAC_EVENTS_CONFIG"])
@pytest.mark.parametrize("kind", ["name", "path"])
def test_an_over_long_config_is_a_config_error(
    cli: Cli, tmp_path: Path, how: str, kind: str
) -> None:
    path = too_long(tmp_path, kind)
    args, env = named_config(how, path)
    result = send(cli, *args, env={**env_for(DOWN), **env}, expect=3)
    assert str(path) in result.stderr
    assert "File name too long" in result.stderr


def named_config(how: str, path: Path) -> tuple:
    if how == "--config":
        return ("--config", str(path)), {}
    return (), {"STAC_EVENTS_CONFIG": str(path)}


def within(seconds: float, call: Callable[[], Result]) -> Result:
    """The call's result; fails, rather than hangs, when the call blocks (on a FIFO)."""
    found: list = []
    worker = threading.Thread(target=lambda: found.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "the command blocked"
    return found[0]


def unusable_path(tmp_path: Path, kind: str) -> Path:
    if kind == "a directory":
        return tmp_path
    if kind == "a symbolic link loop":
        (tmp_path / "one").symlink_to(tmp_path / "two")
        (tmp_path / "two").symlink_to(tmp_path / "one")
        return tmp_path / "one"
    if kind == "a device":
        return Path(os.devnull)
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


ANSWERS = {
    "a directory": "is a directory",
    "a symbolic link loop": "is a symbolic link loop",
    "a device": "is not a regular file",
    "a FIFO": "is not a regular file",
}


@pytest.mark.parametrize("how", ["--config", "STAC_EVENTS_CONFIG"])
@pytest.mark.parametrize("kind", list(ANSWERS))
def test_a_config_that_is_no_file_says_what_it_is(
    cli: Cli, tmp_path: Path, how: str, kind: str
) -> None:
    path = unusable_path(tmp_path, kind)
    args, env = named_config(how, path)
    label = "--config" if how == "--config" else "$STAC_EVENTS_CONFIG"
    try:
        result = within(10, lambda: send(cli, *args, env={**env_for(DOWN), **env}, expect=3))
    finally:
        if kind == "a FIFO":
            with contextlib.suppress(OSError):  # no reader waits on it: nothing to let go
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    assert f"the config file {path} given by {label} {ANSWERS[kind]}" in result.stderr
    assert "does not exist" not in result.stderr


@pytest.mark.parametrize("kind", list(ANSWERS))
def test_a_ca_cert_that_is_no_file_says_what_it_is(cli: Cli, tmp_path: Path, kind: str) -> None:
    path = unusable_path(tmp_path, kind)
    result = within(10, lambda: send(cli, "--ca-cert", str(path), env=env_for(DOWN), expect=2))
    assert f"--ca-cert: {path} {ANSWERS[kind]}" in result.stderr
    variable = within(
        10, lambda: send(cli, env={**env_for(DOWN), "REQUESTS_CA_BUNDLE": str(path)}, expect=3)
    )
    assert f"$REQUESTS_CA_BUNDLE: {path} {ANSWERS[kind]}" in variable.stderr


# CA files that hold no certificate


def not_pem(tmp_path: Path, ca: trustme.CA, kind: str) -> Path:
    path = tmp_path / f"ca.{kind}"
    if kind == "der":
        path.write_bytes(ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()))
    elif kind == "text":
        path.write_text("this is not a certificate\n")
    else:
        path.write_bytes(b"")
    return path


@pytest.mark.parametrize("kind", ["der", "text", "empty"])
def test_a_ca_cert_that_is_not_pem_is_a_usage_error(
    cli: Cli, tmp_path: Path, tls_ca: trustme.CA, kind: str
) -> None:
    path = not_pem(tmp_path, tls_ca, kind)
    result = send(cli, "--ca-cert", str(path), env=env_for(DOWN), expect=2)
    assert f"--ca-cert: {path} holds no PEM certificate" in result.stderr
    assert "openssl x509 -inform der" in result.stderr


@pytest.mark.parametrize("kind", ["der", "text"])
def test_a_ca_bundle_variable_that_is_not_pem_is_a_config_error(
    cli: Cli, tmp_path: Path, tls_ca: trustme.CA, kind: str
) -> None:
    path = not_pem(tmp_path, tls_ca, kind)
    result = send(cli, env={**env_for(DOWN), "REQUESTS_CA_BUNDLE": str(path)}, expect=3)
    assert f"$REQUESTS_CA_BUNDLE: {path} holds no PEM certificate" in result.stderr


def test_a_broken_pem_is_named_at_the_first_tls_connection(
    cli: Cli, tmp_path: Path, tls_server: HTTPServer
) -> None:
    path = tmp_path / "broken.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    env = env_for(tls_server.url_for("/receiver"))
    result = send(cli, "--ca-cert", str(path), env=env, expect=5)
    assert f"cannot use the CA file {path}" in result.stderr
    assert spooled(cli.home) == []  # the file does not mend itself: nothing is queued
    assert tls_server.log == []


def test_a_pem_ca_cert_still_adds_trust(cli: Cli, tls_server: HTTPServer, ca_file: Path) -> None:
    bundle = ca_file.with_name("bundle.pem")  # a marker deep in a large bundle is found
    bundle.write_bytes(b"# padding\n" * 20_000 + ca_file.read_bytes())
    cli("event", "send", "DeployEvent", "--title", "t", "--ca-cert", str(bundle),
        env=env_for(tls_server.url_for("/receiver")))  # fmt: skip
    assert len(tls_server.log) == 1


# TLS failures that trusting a CA cannot mend


def test_https_to_a_plain_http_port_says_it_does_not_speak_tls(
    cli: Cli, httpserver: HTTPServer
) -> None:
    url = httpserver.url_for("/receiver").replace("http://", "https://")
    result = send(cli, env=env_for(url), expect=5)
    host = f"localhost:{httpserver.port}"
    assert (
        f"TLS handshake failed: the receiver at {host} does not speak TLS on that port "
        "(is it http://?)" in result.stderr
    )
    assert "--ca-cert" not in result.stderr
    assert "certificate check failed" not in result.stderr
    assert spooled(cli.home) == []


def test_a_certificate_for_another_name_says_so_and_shows_the_names(
    cli: Cli, tls_ca: trustme.CA, ca_file: Path
) -> None:
    server = tls_server_for(tls_ca, "receiver.example.com", "other.example.com")
    try:
        url = server.url_for("/receiver")
        result = send(cli, "--ca-cert", str(ca_file), env=env_for(url), expect=5)
    finally:
        server.stop()
    assert (
        f"TLS certificate check failed for localhost:{server.port}: the certificate is for "
        "another name (receiver.example.com, other.example.com)" in result.stderr
    )
    assert "a name on its certificate" in result.stderr
    assert "--ca-cert" not in result.stderr  # trusting the CA would not help
    assert spooled(cli.home) == []


def test_an_untrusted_ca_keeps_its_answer(cli: Cli, tls_server: HTTPServer) -> None:
    result = send(cli, env=env_for(tls_server.url_for("/receiver")), expect=5)
    assert "TLS certificate check failed for localhost" in result.stderr
    assert "trust its CA with --ca-cert PATH or REQUESTS_CA_BUNDLE" in result.stderr


# Timeouts and redirects


def slow(request: Request) -> Response:
    time.sleep(2)
    return Response("", status=202)


@pytest.mark.slow
@pytest.mark.parametrize(("extra", "expect"), [(["--no-spool"], 5), ([], 75)])
def test_a_read_timeout_says_the_receiver_did_not_answer(
    cli: Cli, own_server: HTTPServer, extra: List[str], expect: int
) -> None:
    own_server.expect_request(INTAKE).respond_with_handler(slow)
    args = ["--timeout", "0.5", "--retries", "0", *extra]
    started = time.monotonic()
    result = send(cli, *args, env=env_for(own_server.url_for("/receiver")), expect=expect)
    assert time.monotonic() - started < 1.9
    assert f"{own_server.host}:{own_server.port} did not answer within 0.5 s" in result.stderr
    assert "cannot connect" not in result.stderr


@pytest.mark.parametrize("after", [";", "", ";next=1"])
def test_a_masked_redirect_location_keeps_the_message_whole(
    cli: Cli, httpserver: HTTPServer, after: str
) -> None:
    location = f"https://elsewhere.example.com/in?api_key=SECRET{after}"
    httpserver.expect_request(INTAKE).respond_with_data(
        "", status=302, headers={"Location": location}
    )
    result = send(cli, env=env_for(httpserver.url_for("/receiver")), expect=4)
    assert "SECRET" not in result.output
    assert (
        f"to https://elsewhere.example.com/in?api_key=***{after}; redirects are not followed"
        in result.stderr
    )  # the Location as it was, its key masked, and the message's own ";" kept


@pytest.mark.parametrize(
    ("flag", "status", "said"),
    [("--config", 3, "~0 given by --config does not exist"),  # a config file: exit 3
     ("--ca-cert", 2, "--ca-cert: no such file: ~0")],  # a flag's file: a usage error
)  # fmt: skip
def test_a_tilde_that_names_no_user_is_taken_as_written(
    cli: Cli, flag: str, status: int, said: str
) -> None:
    """As a shell does: `~0` is a path, not an error of the program's own."""
    result = cli("config", "show", flag, "~0", expect=status)
    assert said in result.stderr
    assert "internal error" not in result.stderr
