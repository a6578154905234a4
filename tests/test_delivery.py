"""Delivery under faults: retries, redirects, TLS, proxies, the spool, and no key leaks."""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from pathlib import Path
from typing import Callable, Dict, List, Optional
from urllib.parse import quote

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import API_KEY, INTAKE, Cli, Expected, Result, no_secret
from tests.processes import Processes

DOWN = "http://127.0.0.1:9/receiver"  # nothing listens on the discard port


def env_for(url: str) -> Dict[str, str]:
    return {"STAC_EVENTS_RECEIVER_URL": url, "STAC_EVENTS_API_KEY": API_KEY}


def scripted(statuses: List[int], headers: Optional[Dict[str, str]] = None) -> Callable:
    """A handler answering with the given statuses in turn (the last one repeats)."""
    calls: List[float] = []

    def handler(request: Request) -> Response:
        calls.append(time.monotonic())
        status = statuses[min(len(calls), len(statuses)) - 1]
        return Response("busy" if status >= 300 else "", status=status, headers=headers or {})

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


def spool_files(home: Path) -> List[Path]:
    root = home / ".local" / "state" / "stac-events" / "spool"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_key_nowhere(home: Path) -> None:
    for path in spool_files(home):
        assert API_KEY not in path.name
        assert API_KEY.encode() not in path.read_bytes()


def send(cli: Cli, *args: str, env: Dict[str, str], expect: Expected = 0) -> Result:
    return cli("event", "send", "DeployEvent", "--title", "t", *args, env=env, expect=expect)


def test_transient_statuses_are_retried_with_the_same_bytes(cli: Cli, httpserver: HTTPServer):
    handler = scripted([503, 503, 202])
    httpserver.expect_request(INTAKE).respond_with_handler(handler)
    result = send(cli, "-o", "json", env=env_for(httpserver.url_for("/receiver")))
    assert result.json()["attempts"] == 3
    bodies = {request.get_data() for request, _ in httpserver.log}
    assert len(httpserver.log) == 3
    assert len(bodies) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_each_transient_status_is_retried(cli: Cli, httpserver: HTTPServer, status: int):
    httpserver.expect_request(INTAKE).respond_with_handler(scripted([status, 202]))
    send(cli, env=env_for(httpserver.url_for("/receiver")))
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_4xx_are_never_retried(cli: Cli, httpserver: HTTPServer, status: int):
    httpserver.expect_request(INTAKE).respond_with_handler(scripted([status, 202]))
    send(cli, env=env_for(httpserver.url_for("/receiver")), expect=4)
    assert len(httpserver.log) == 1
    assert spool_files(cli.home) == []


def _compressed(text: str, wbits: int) -> bytes:
    packer = zlib.compressobj(wbits=wbits)
    return packer.compress(text.encode()) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "wbits"), [("gzip", zlib.MAX_WBITS | 16), ("deflate", zlib.MAX_WBITS)]
)
def test_a_compressed_answer_is_shown_as_its_text(
    cli: Cli, httpserver: HTTPServer, encoding: str, wbits: int
):
    said = json.dumps({"reasons": [{"path": "events.E[0].timestamp", "reason": "not a time"}]})
    httpserver.expect_request(INTAKE).respond_with_data(
        _compressed(said, wbits), status=400, content_type="application/json",
        headers={"Content-Encoding": encoding},
    )  # fmt: skip
    result = send(cli, env=env_for(httpserver.url_for("/receiver")), expect=4)
    assert "answered 400 BAD REQUEST: events.E[0].timestamp: not a time" in result.stderr
    busy = _compressed(f"overloaded, key {API_KEY}, try later", wbits)
    httpserver.clear()
    httpserver.expect_request(INTAKE).respond_with_data(
        busy, status=503, headers={"Content-Encoding": encoding}
    )
    result = send(cli, "--retries", "0", "--no-spool", env=env_for(httpserver.url_for("/receiver")),
                  expect=5)  # fmt: skip
    assert "answered 503 SERVICE UNAVAILABLE: overloaded, key ***, try later" in result.stderr


@pytest.mark.parametrize(("encoding", "body"), [("gzip", b"not gzip at all"), ("br", b"\x8b\x02")])
def test_an_answer_that_cannot_be_decoded_says_so(
    cli: Cli, httpserver: HTTPServer, encoding: str, body: bytes
):
    httpserver.expect_request(INTAKE).respond_with_data(
        body, status=400, headers={"Content-Encoding": encoding}
    )
    result = send(cli, env=env_for(httpserver.url_for("/receiver")), expect=4)
    assert f"answered 400 BAD REQUEST: (a body in {encoding} that cannot be shown)" in result.stderr


def test_a_key_echoed_url_encoded_in_lower_case_hex_is_masked(cli: Cli, httpserver: HTTPServer):
    # as some servers write it: each escape's hex digits in lower case; and with `/` as it
    # is, as Python's quote() has it by default
    lower = re.sub("%[0-9A-F]{2}", lambda escape: escape[0].lower(), quote(API_KEY, safe=""))
    for echoed in (lower, quote(API_KEY)):
        assert echoed not in (API_KEY, quote(API_KEY, safe=""))
        httpserver.clear()
        httpserver.expect_request(INTAKE).respond_with_data(f"bad key {echoed}", status=401)
        result = send(cli, env=env_for(httpserver.url_for("/receiver")), expect=4)
        assert "answered 401 UNAUTHORIZED: bad key ***" in result.stderr
        assert echoed not in result.output


def test_an_encoding_that_names_the_key_is_masked(cli: Cli, httpserver: HTTPServer):
    """A receiver may echo anything in any header: the name is masked as it came, before
    it is compared with the encodings that can be undone."""
    httpserver.expect_request(INTAKE).respond_with_data(
        b"x", status=400, headers={"Content-Encoding": API_KEY}
    )
    result = cli("event", "send", "DeployEvent", "--title", "t", "--debug", "-o", "json",
                 env=env_for(httpserver.url_for("/receiver")), expect=4)  # fmt: skip
    assert "answered 400 BAD REQUEST: (a body in *** that cannot be shown)" in result.stdout
    assert "answer body (1 bytes): in ***, not shown" in result.stderr
    assert no_secret(result, [API_KEY, API_KEY.lower(), API_KEY.upper()])


@pytest.mark.slow
def test_retry_after_is_honored(cli: Cli, httpserver: HTTPServer):
    handler = scripted([429, 202], headers={"Retry-After": "1"})
    httpserver.expect_request(INTAKE).respond_with_handler(handler)
    send(cli, env=env_for(httpserver.url_for("/receiver")))
    first, second = handler.calls
    assert second - first >= 0.9  # the backoff alone is 0.01 s here


@pytest.mark.parametrize("value", ["abc", "-5", ""])
def test_a_retry_after_that_cannot_be_read_is_ignored(cli: Cli, httpserver: HTTPServer, value: str):
    httpserver.expect_request(INTAKE).respond_with_handler(
        scripted([503, 202], headers={"Retry-After": value})
    )
    result = send(cli, "-o", "json", env=env_for(httpserver.url_for("/receiver")))
    assert result.json()["attempts"] == 2


def test_retries_run_out_then_the_payload_is_queued(cli: Cli, httpserver: HTTPServer):
    httpserver.expect_request(INTAKE).respond_with_handler(scripted([503]))
    result = send(
        cli, "--retries", "2", "-o", "json", env=env_for(httpserver.url_for("/receiver")), expect=75
    )
    assert len(httpserver.log) == 3
    error = result.json()["error"]
    assert error["kind"] == "queued"
    assert error["queued"] == 1
    assert "the receiver answered 503" in error["message"]
    (queued,) = [p for p in spool_files(cli.home) if p.parent.name == "pending"]
    header, body = queued.read_bytes().split(b"\n", 1)
    assert body == httpserver.log[0][0].get_data()
    assert json.loads(header)["address"] == f"{httpserver.url_for(INTAKE)}"
    assert_key_nowhere(cli.home)


def test_no_spool_exits_5_and_queues_nothing(cli: Cli, httpserver: HTTPServer):
    httpserver.expect_request(INTAKE).respond_with_handler(scripted([503]))
    result = send(
        cli, "--retries", "1", "--no-spool", env=env_for(httpserver.url_for("/receiver")), expect=5
    )
    assert "the receiver answered 503 SERVICE UNAVAILABLE: busy (2 attempts)" in result.stderr
    assert spool_files(cli.home) == []


def test_receiver_down_then_up_delivers_the_queue_first_once(cli: Cli, httpserver: HTTPServer):
    down = send(cli, "-m", "first", "--retries", "1", env=env_for(DOWN), expect=75)
    assert "queued for later (1 payload(s) waiting" in down.stderr
    # The same receiver address comes back (tests cannot move port 9, so the address
    # is re-pointed by rewriting the queued file's header to the live server).
    (queued,) = spool_files(cli.home)
    header, body = queued.read_bytes().split(b"\n", 1)
    live = httpserver.url_for(INTAKE)
    queued.write_bytes(json.dumps({**json.loads(header), "address": live}).encode() + b"\n" + body)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    up = send(cli, "-m", "second", "-o", "json", env=env_for(httpserver.url_for("/receiver")))
    assert up.json()["spool"] == {"delivered": 1, "rejected": 0, "failed": 0, "passed_over": 0,
                                  "corrupt": 0}  # fmt: skip
    texts = [json.loads(r.get_data())["events"]["DeployEvent"][0]["msg_text"]
             for r, _ in httpserver.log]  # fmt: skip
    assert texts == ["first", "second"]
    assert spool_files(cli.home) == []
    cli("spool", "flush", env=env_for(httpserver.url_for("/receiver")))
    assert len(httpserver.log) == 2


def queue_payloads(cli: Cli, server: HTTPServer, count: int) -> None:
    """Queue `count` payloads addressed to `server` while it answers 503."""
    server.expect_request(INTAKE).respond_with_data("down", status=503)
    for number in range(count):
        send(cli, "-m", f"event {number}", "--retries", "0",
                      env=env_for(server.url_for("/receiver")), expect=75)  # fmt: skip
    server.clear()


def test_spool_flush_command(cli: Cli, httpserver: HTTPServer):
    queue_payloads(cli, httpserver, 3)
    listed = cli("spool", "list", "-o", "json").json()
    assert [e["state"] for e in listed] == ["pending"] * 3
    assert all(e["events"] == 1 and e["address"] == httpserver.url_for(INTAKE) for e in listed)
    assert {"id", "age_s", "bytes"} <= set(listed[0])
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    flushed = cli("spool", "flush", "-o", "json", env=env_for(httpserver.url_for("/receiver")))
    assert flushed.json()["delivered"] == 3
    texts = [json.loads(r.get_data())["events"]["DeployEvent"][0]["msg_text"]
             for r, _ in httpserver.log]  # fmt: skip
    assert texts == ["event 0", "event 1", "event 2"]  # oldest first
    assert cli("spool", "list", "-o", "json").json() == []


def test_flush_stops_at_a_transient_failure_and_keeps_the_rest(cli: Cli, httpserver: HTTPServer):
    queue_payloads(cli, httpserver, 3)
    httpserver.expect_request(INTAKE).respond_with_handler(scripted([202, 503]))
    result = cli(
        "spool", "flush", "--retries", "0", env=env_for(httpserver.url_for("/receiver")), expect=75
    )
    assert "delivered 1, 2 payload(s) still queued" in result.stderr
    assert len(cli("spool", "list", "-o", "json").json()) == 2


def test_a_refused_payload_moves_aside(cli: Cli, httpserver: HTTPServer):
    queue_payloads(cli, httpserver, 2)
    httpserver.expect_request(INTAKE).respond_with_handler(scripted([400, 202]))
    result = cli("spool", "flush", env=env_for(httpserver.url_for("/receiver")), expect=4)
    assert "refused 1 queued payload(s)" in result.stderr
    listed = cli("spool", "list", "-o", "json").json()
    assert [e["state"] for e in listed] == ["rejected"]
    assert "400" in listed[0]["reason"]
    text = cli("spool", "list").stdout
    assert "rejected" in text
    cleared = cli("spool", "clear")
    assert "removed 1 payload(s)" in cleared.stderr
    assert cli("spool", "list", "-o", "json").json() == []


def test_queued_payload_for_another_receiver_is_not_sent_here(cli: Cli, httpserver: HTTPServer):
    send(cli, "--retries", "0", env=env_for(DOWN), expect=75)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    send(cli, "-o", "json", env=env_for(httpserver.url_for("/receiver")))
    assert len(httpserver.log) == 1  # only the new event: the key is not for the other host
    assert [e["state"] for e in cli("spool", "list", "-o", "json").json()] == ["pending"]


def test_new_events_queue_behind_older_ones(cli: Cli, own_server: HTTPServer):
    queue_payloads(cli, own_server, 1)
    own_server.stop()  # the same address, now refusing connections
    send(cli, "-m", "new", "--retries", "0", env=env_for(own_server.url_for("/receiver")),
         expect=75)  # fmt: skip
    waiting = cli("spool", "list", "-o", "json").json()
    assert [entry["state"] for entry in waiting] == ["pending", "pending"]
    bodies = [p.read_bytes() for p in spool_files(cli.home) if p.parent.name == "pending"]
    assert [b"event 0" in body for body in bodies] == [True, False]  # the old one first


def test_a_5xx_is_told_from_an_outage_by_the_next_payload(cli: Cli, httpserver: HTTPServer):
    queue_payloads(cli, httpserver, 1)
    httpserver.expect_request(INTAKE).respond_with_data("still down", status=503)
    send(cli, "--retries", "0", env=env_for(httpserver.url_for("/receiver")), expect=75)
    assert len(httpserver.log) == 2  # the old one failed, so the new one was tried: it failed too
    waiting = cli("spool", "list", "-o", "json").json()
    assert [entry.get("passed_over", 0) for entry in waiting] == [0, 0]  # an outage: no blame


@pytest.mark.slow
def test_concurrent_flushes_deliver_each_payload_once(
    cli: Cli, httpserver: HTTPServer, processes: Processes
):
    queue_payloads(cli, httpserver, 24)
    lock = threading.Lock()
    seen: List[str] = []

    def slowish(request: Request) -> Response:
        with lock:
            seen.append(json.loads(request.get_data())["events"]["DeployEvent"][0]["msg_text"])
        time.sleep(0.02)
        return Response("", status=202)

    httpserver.expect_request(INTAKE).respond_with_handler(slowish)
    env = env_for(httpserver.url_for("/receiver"))
    flushes = [processes.start_cli("spool", "flush", "-q", env=env) for _ in range(4)]
    for flush in flushes:
        flush.finish(expect=0)
    assert sorted(seen) == sorted(f"event {n}" for n in range(24))
    assert spool_files(processes.home) == []


@pytest.mark.slow
def test_ctrl_c_queues_the_event_whole(own_server: HTTPServer, processes: Processes):
    import signal

    arrived, release = threading.Event(), threading.Event()

    def stall(request: Request) -> Response:
        arrived.set()
        release.wait(timeout=10)
        return Response("", status=503)

    own_server.expect_request(INTAKE).respond_with_handler(stall)
    send = processes.start_cli("event", "send", "DeployEvent", "--title", "t",
                               env=env_for(own_server.url_for("/receiver")))  # fmt: skip
    try:
        assert arrived.wait(timeout=20)
        send.send_signal(signal.SIGINT)
        ended = send.finish(expect=130, timeout=20)
    finally:
        release.set()
    assert ended.stderr == "stac-events: interrupted; the event was queued for later\n"
    queued = spool_files(processes.home)
    assert not [p for p in queued if p.suffix in (".tmp", ".claimed")]
    assert [p.suffix for p in queued] == [".payload"]  # whole, and waiting


# TLS


def test_untrusted_certificate_fails_plainly(cli: Cli, tls_server: HTTPServer):
    result = send(cli, "--debug", env=env_for(tls_server.url_for("/receiver")), expect=5)
    assert "TLS certificate check failed for localhost" in result.stderr
    assert "--ca-cert" in result.stderr
    assert tls_server.log == []
    assert spool_files(cli.home) == []  # a certificate problem does not fix itself: not queued
    assert no_secret(result)


def test_ca_cert_adds_trust(cli: Cli, tls_server: HTTPServer, ca_file: Path):
    send(cli, "--ca-cert", str(ca_file), env=env_for(tls_server.url_for("/receiver")))
    assert len(tls_server.log) == 1


def test_requests_ca_bundle_adds_trust(cli: Cli, tls_server: HTTPServer, ca_file: Path):
    env = {**env_for(tls_server.url_for("/receiver")), "REQUESTS_CA_BUNDLE": str(ca_file)}
    send(cli, env=env)


def test_insecure_works_and_warns_every_time(cli: Cli, tls_server: HTTPServer):
    for _ in range(2):
        result = send(cli, "--insecure", env=env_for(tls_server.url_for("/receiver")))
        assert "warning: TLS certificate checks are off (--insecure)" in result.stderr
    checked = cli("check", "--insecure", env=env_for(tls_server.url_for("/receiver")))
    assert "tls       NOT verified (--insecure)" in checked.stderr


def test_check_reports_verified_tls(cli: Cli, tls_server: HTTPServer, ca_file: Path):
    result = cli("check", "--ca-cert", str(ca_file), env=env_for(tls_server.url_for("/receiver")))
    assert "tls       verified" in result.stderr


def test_missing_ca_file_is_a_usage_error(cli: Cli):
    result = send(cli, "--ca-cert", "/nonexistent/ca.pem", env=env_for(DOWN), expect=2)
    assert "--ca-cert: no such file: /nonexistent/ca.pem" in result.stderr


# Proxies come from the process environment, as requests reads them.


def test_http_proxy_is_used_and_no_proxy_bypasses_it(run_script, httpserver: HTTPServer):
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    proxy = f"http://127.0.0.1:{httpserver.port}"
    env = {**env_for("http://receiver.example.invalid/receiver"), "HTTP_PROXY": proxy}
    run_script("stac-events", "event", "send", "DeployEvent", "--title", "t", env=env)
    ((request, _),) = httpserver.log
    assert request.headers["Host"] == "receiver.example.invalid"
    bypass = run_script("stac-events", "event", "send", "DeployEvent", "--title", "t",
                        "--no-spool", "--retries", "0",
                        env={**env, "NO_PROXY": "receiver.example.invalid"}, expect=5)  # fmt: skip
    assert "does not resolve" in bypass.stderr
    assert len(httpserver.log) == 1


# The key, on every failure path.


@pytest.mark.parametrize(
    ("case", "status"),
    [("refused", 75), ("timeout", 75), ("500", 75), ("spool write", 75), ("spool flush", 75),
     ("401", 4), ("redirect", 4)],  # queued to retry later; refused for good
)  # fmt: skip
def test_key_never_shown_on_failure_paths(cli: Cli, own_server: HTTPServer, case: str, status: int):
    url = own_server.url_for("/receiver")
    if case == "refused":
        url = DOWN
    elif case == "timeout":
        own_server.expect_request(INTAKE).respond_with_handler(
            lambda request: (time.sleep(0.5), Response("", status=202))[1]
        )
    elif case == "redirect":
        own_server.expect_request(INTAKE).respond_with_data(
            "",
            status=302,
            headers={"Location": f"https://elsewhere.example.com/?api_key={API_KEY}"},
        )
    else:
        answer = {"401": 401, "500": 500}.get(case, 503)
        own_server.expect_request(INTAKE).respond_with_data(f"echo {API_KEY}", status=answer)
    args = ["--debug", "--retries", "1", "--timeout", "0.2"]
    for output in ("text", "json"):
        result = send(cli, *args, "-o", output, env=env_for(url), expect=status)
        assert no_secret(result), result.output
        assert "Traceback" not in result.output
    if case == "spool flush":
        flushed = cli("spool", "flush", "--debug", "-o", "json", env=env_for(url), expect=75)
        assert no_secret(flushed), flushed.output
        listed = cli("spool", "list", "-o", "json")
        assert no_secret(listed)
    assert_key_nowhere(cli.home)
