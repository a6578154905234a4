"""`--debug` shows what went out and what came back, as `curl -v` does: each request's
headers and body (pretty-printed, gzip undone, cut to a few KiB) and each answer's status,
headers and body (bounded), with the key and the headers' values masked."""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
import socket
import threading
from pathlib import Path
from typing import List
from urllib.parse import quote

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from stac_events.cli import main
from tests.conftest import API_KEY, INTAKE, Cli, env_for, isolated_environment

TOKEN = "gw-T0ken-debug-5ecret"


def echoing(request: Request) -> Response:
    """An answer that says back what it was given: the key and a header's value too."""
    told = {"got_key": request.headers.get("sts-api-key"), "got": request.headers.get("X-Token")}
    return Response(json.dumps(told), status=200, content_type="application/json",
                    headers={"X-Echo": f"token={request.headers.get('X-Token')}"})  # fmt: skip


def test_debug_shows_the_request_and_the_answer_with_no_secret(cli: Cli, httpserver: HTTPServer):
    httpserver.expect_request(INTAKE).respond_with_handler(echoing)
    result = cli("event", "send", "DeployEvent", "--title", "Deployed 1.4", "-d", "version=1.4",
                 "-H", f"X-Token: {TOKEN}", "--debug", env=env_for(httpserver))  # fmt: skip
    err = result.stderr
    assert "request headers:\n  User-Agent: stac-events/" in err
    assert "  X-Token: ***\n" in err
    assert "  sts-api-key: ***\n" in err
    body = re.search(r"request body \((\d+) bytes\):\n(  \{.*?\n  \})\n", err, re.S)
    assert body is not None, err
    shown = json.loads(body.group(2))  # pretty-printed, whole: it is short
    assert shown["events"]["DeployEvent"][0]["context"]["data"] == {"version": "1.4"}
    assert '\n    "events": {\n' in body.group(2)  # pretty-printed, and indented under its line
    ((request, _),) = httpserver.log
    assert int(body.group(1)) == len(request.get_data())
    assert "answer: 200 OK\n" in err
    assert "  X-Echo: token=***" in err
    echoed = r'answer body \(\d+ bytes\):\n  \{\n    "got_key": "\*\*\*",\n    "got": "\*\*\*"'
    assert re.search(echoed, err)
    assert request.headers["X-Token"] == TOKEN
    assert TOKEN not in result.output
    assert API_KEY not in result.output


def test_debug_shows_a_gzip_body_decoded(cli: Cli, receiver: HTTPServer):
    result = cli("event", "send", "DeployEvent", "--title", "zipped-title", "--gzip", "--debug",
                 env=env_for(receiver))  # fmt: skip
    ((request, _),) = receiver.log
    assert request.headers["Content-Encoding"] == "gzip"
    sent = len(request.get_data())
    said = rf"request body \({sent} bytes, (\d+) once gzip is undone\):\n"
    match = re.search(said, result.stderr)
    assert match is not None, result.stderr
    assert '"msg_title": "zipped-title"' in result.stderr
    assert "  Content-Encoding: gzip\n" in result.stderr


def test_debug_cuts_a_large_body_and_says_how_much_it_left_out(
    cli: Cli, receiver: HTTPServer, tmp_path: Path
):
    events = tmp_path / "events.ndjson"
    events.write_text("".join(
        json.dumps({"event_type": "ChangeEvent", "msg_title": f"change {n}", "msg_text": "x" * 200})
        + "\n" for n in range(200)
    ))  # fmt: skip
    result = cli("event", "send", "--file", str(events), "--debug", env=env_for(receiver))
    left = re.search(r"\n  … \((\d+) more characters not shown\)\n", result.stderr)
    assert left is not None
    assert int(left.group(1)) > 40_000  # 200 events of over 200 characters, pretty-printed
    assert '"msg_title": "change 0"' in result.stderr
    assert '"msg_title": "change 199"' not in result.stderr
    assert len(result.stderr) < 12_000  # a few KiB, whatever the body


def test_debug_bounds_what_it_shows_of_an_answer(cli: Cli, httpserver: HTTPServer):
    endless = "refused " * 20_000  # 160 KB, more than is ever read of an answer
    httpserver.expect_request(INTAKE).respond_with_data(endless, status=400)
    result = cli("event", "send", "DeployEvent", "--title", "t", "--debug",
                 env=env_for(httpserver), expect=4)  # fmt: skip
    assert "answer: 400 BAD REQUEST\n" in result.stderr
    assert "answer body (65536 bytes (the first 64 KiB read)):\n  refused refused" in result.stderr
    left = re.search(r"\n  … \((\d+) more characters not shown\)\n", result.stderr)
    assert left is not None
    assert int(left.group(1)) == 65536 - 2048
    assert len(result.stderr) < 8_000


def test_without_debug_nothing_of_the_request_is_shown(cli: Cli, receiver: HTTPServer):
    result = cli("event", "send", "DeployEvent", "--title", "quiet-title", env=env_for(receiver))
    assert "quiet-title" not in result.stderr
    assert "request body" not in result.stderr


def test_debug_escapes_what_a_receiver_says(cli: Cli, httpserver: HTTPServer):
    """An answer's control characters cannot move the terminal's cursor or forge a line
    of stac-events' own; bytes that are not UTF-8 show as what they were."""
    said = b'{"error": "caf\xe9 \x1b[31mRED\x1b[0m"}\r\nstac-events: error: forged line'
    httpserver.expect_request(INTAKE).respond_with_data(
        said, status=400, headers={"X-Weird": "caf\x1b[2J"}
    )
    result = cli("event", "send", "DeployEvent", "--title", "t", "--debug", "--retries", "0",
                 "--no-spool", env=env_for(httpserver), expect=4)  # fmt: skip
    assert "\x1b" not in result.stderr
    assert "\r" not in result.stderr
    assert "\n  stac-events: error: forged line" in result.stderr
    assert "\nstac-events: error: forged line" not in result.stderr
    assert "caf\\xe9" in result.stderr


def test_debug_escapes_a_retried_answer_too(cli: Cli, httpserver: HTTPServer):
    httpserver.expect_request(INTAKE).respond_with_data(
        b'{"error": "busy \x1b[2J\x1b]0;title\x07"}', status=503
    )
    result = cli("event", "send", "DeployEvent", "--title", "t", "--debug", "--retries", "1",
                 "--no-spool", env=env_for(httpserver), expect=5)  # fmt: skip
    assert "retrying in" in result.stderr
    assert "\x1b" not in result.stderr
    assert "\x07" not in result.stderr


def test_a_debug_run_leaves_no_log_behind_in_the_process(tmp_path: Path, receiver: HTTPServer):
    """`main` called again in the same process (a script's tests, a notebook): a run
    without --debug logs nothing, and the first run's stream gets nothing more."""
    streams = []
    for debug in (["--debug"], [], ["--debug"]):
        stdout, stderr = io.StringIO(), io.StringIO()
        environment = isolated_environment(tmp_path, stdout=stdout, stderr=stderr,
                                           environ=env_for(receiver))  # fmt: skip
        status = main(["event", "send", "DeployEvent", "--title", "t", *debug], environment)
        assert status == 0, stderr.getvalue()
        streams.append(stderr)
    first, plain, again = (stream.getvalue() for stream in streams)
    assert "debug: stac_events" not in plain
    assert first.count("request headers:") == again.count("request headers:") == 1
    assert logging.getLogger("stac_events").handlers == []
    assert logging.getLogger("stac_events").level == logging.NOTSET


def test_debug_runs_in_threads_leave_the_loggers_as_they_were(tmp_path: Path, raw_receiver):
    """Two runs at once, in threads of one process, the first begun ending first: each
    one's end takes its own handler off, and the last one's puts the levels back."""
    first_asked, first_done = threading.Event(), threading.Event()

    def answer(connection: socket.socket, body: bytes) -> None:
        if b'"msg_title":"first"' in body:
            first_asked.set()
        else:
            first_done.wait(timeout=30)  # the second run ends after the first
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    receiver = raw_receiver(answer)
    environ = {"STAC_EVENTS_RECEIVER_URL": f"{receiver.url}/receiver",
               "STAC_EVENTS_API_KEY": API_KEY}  # fmt: skip
    statuses: List[int] = []

    def run(title: str) -> None:
        environment = isolated_environment(tmp_path / title, environ=environ)
        statuses.append(main(["event", "send", "DeployEvent", "--title", title, "--debug"],
                             environment))  # fmt: skip

    first = threading.Thread(target=run, args=("first",))
    first.start()
    assert first_asked.wait(timeout=30)  # its log is on when the second one's begins
    second = threading.Thread(target=run, args=("second",))
    second.start()
    first.join(timeout=60)
    first_done.set()
    second.join(timeout=60)
    assert statuses == [0, 0]
    for name in ("stac_events", "urllib3"):
        logger = logging.getLogger(name)
        assert (logger.level, logger.propagate) == (logging.NOTSET, True), name
        assert not [h for h in logger.handlers if not isinstance(h, logging.NullHandler)]


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("stac_events", "urllib3")):  # not the test server's
            try:
                self.lines.append(f"{record.name}: {record.getMessage()}")
            except TypeError:
                self.handleError(record)  # as logging's own handlers do


def test_a_callers_own_log_never_gets_the_key(tmp_path: Path, receiver: HTTPServer):
    """A program that calls stac-events and logs at DEBUG itself sees urllib3's request
    lines with the key masked; during a --debug run, none: they go to its stderr alone."""
    root, kept = logging.getLogger(), Kept()
    level = root.level
    root.addHandler(kept)
    root.setLevel(logging.DEBUG)
    try:
        for debug in ([], ["--debug"]):
            stderr = io.StringIO()
            environment = isolated_environment(tmp_path, stderr=stderr, environ=env_for(receiver))
            status = main(["event", "send", "DeployEvent", "--title", "t", *debug], environment)
            assert status == 0, stderr.getvalue()
            assert API_KEY not in stderr.getvalue()
            if not debug:
                plain = list(kept.lines)
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    assert any("api_key=*** HTTP/1.1" in line for line in plain), plain
    assert kept.lines == plain  # nothing more during the --debug run
    assert not any(API_KEY in line or quote(API_KEY, safe="") in line for line in kept.lines)


def test_debug_shows_a_compressed_answer_decoded(cli: Cli, httpserver: HTTPServer):
    said = f"busy, key {API_KEY}".encode()
    httpserver.expect_request(INTAKE).respond_with_data(
        gzip.compress(said), status=503, headers={"Content-Encoding": "gzip"}
    )
    result = cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0", "--no-spool",
                 "--debug", env=env_for(httpserver), expect=5)  # fmt: skip
    assert f"bytes, {len(said)} once gzip is undone):\n  busy, key ***\n" in result.stderr
    httpserver.clear()
    httpserver.expect_request(INTAKE).respond_with_data(
        b"\x8b\x02", status=503, headers={"Content-Encoding": "br"}
    )
    result = cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0", "--no-spool",
                 "--debug", env=env_for(httpserver), expect=5)  # fmt: skip
    assert "answer body (2 bytes): in br, not shown\n" in result.stderr
    httpserver.clear()
    bomb = gzip.compress(b"x" * 1_000_000)
    httpserver.expect_request(INTAKE).respond_with_data(
        bomb, status=503, headers={"Content-Encoding": "gzip"}
    )
    result = cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0", "--no-spool",
                 "--debug", env=env_for(httpserver), expect=5)  # fmt: skip
    assert f"({len(bomb)} bytes, more than 65536 once gzip is undone):" in result.stderr


def test_urllib3_lines_that_cannot_be_formatted_are_left_to_logging(
    capsys: pytest.CaptureFixture[str],
):
    """The masking of urllib3's lines raises nothing into the code that logs: a record
    that cannot be formatted is reported by logging itself, as without stac-events."""
    import stac_events.transport  # noqa: F401  # what puts the masking on urllib3's logger

    logger, kept = logging.getLogger("urllib3.connectionpool"), Kept()
    logger.addHandler(kept)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # pytest's own handlers raise what logging would report
    try:
        logger.debug("%d", "not a number")  # raises nothing here
        logger.debug("POST /x?api_key=%s HTTP/1.1", "Zk3yS3cr3t-QQ9")
    finally:
        logger.removeHandler(kept)
        logger.setLevel(level)
        logger.propagate = True
    assert kept.lines == ["urllib3.connectionpool: POST /x?api_key=*** HTTP/1.1"]
    assert "--- Logging error ---" in capsys.readouterr().err
