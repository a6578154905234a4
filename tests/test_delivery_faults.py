"""Faults that once lost events or jammed the queue, each made for real: spool files an
ordinary user cannot read, spool folders another user controls, poison payloads in a
row, a queued payload the receiver hangs on, answers that never end, and a spool file
larger than any request. Each runs the command as a user does, against real receivers."""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import API_KEY, INTAKE, Cli, Result, env_for, received_events
from tests.processes import STAC_EVENTS, Processes
from tests.test_spool_lifecycle import answering, files_in, listed, queue, send, texts

pytestmark = pytest.mark.slow  # real processes as another user, receivers that hang

NOBODY = 65534
# What the command needs of address space, with room to spare (it peaks near 40 MiB
# resident): reading a body of gigabytes into memory fails far below this.
MEMORY_CAP = 512 * 1024 * 1024
# Root without the capabilities that let it read and write whatever it likes: files and
# folders then answer it as they answer an ordinary user (mode 000 is unreadable).
ORDINARY = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def run(
    processes: Processes,
    *args: str,
    env: Optional[Dict[str, str]] = None,
    expect: int = 0,
    ordinary_user: bool = False,
    memory: Optional[int] = None,
) -> Result:
    """The console script as a real process: as an ordinary user sees files, and with its
    address space capped at `memory` bytes, when told."""

    def cap() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return processes.run(*(ORDINARY if ordinary_user else []), STAC_EVENTS, *args, env=env,
                         expect=expect, timeout=120, preexec_fn=cap)  # fmt: skip


def needs_root() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv, to make files of another user and drop privileges")


# 1. A spool file that cannot be read or trusted is set aside; the queue behind it flows.


@pytest.mark.parametrize("unreadable", ["mode 000", "another user's, mode 0600"])
def test_a_queued_file_the_user_cannot_read_is_set_aside_and_the_queue_flows(
    cli: Cli, httpserver: HTTPServer, processes: Processes, unreadable: str
):
    needs_root()
    queue(cli, httpserver, "one", "two", "three")
    first = files_in(cli.home, "pending")[0]
    if unreadable == "mode 000":
        first.chmod(0)
    else:  # as a `sudo` run that kept $HOME leaves it
        os.chown(first, NOBODY, NOBODY)
        first.chmod(0o600)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    environ = env_for(httpserver)

    flushed = run(processes, "spool", "flush", "-o", "json", env=environ, ordinary_user=True)
    assert (flushed.json()["delivered"], flushed.json()["corrupt"]) == (2, 1)
    assert "1 queued payload(s) could not be read or trusted" in flushed.stderr
    assert texts(httpserver) == ["two", "three"]
    assert [p.name for p in files_in(cli.home, "corrupt")] == [first.name]

    listing = run(processes, "spool", "list", "-o", "json", env=environ,
                  ordinary_user=True).json()  # fmt: skip
    ((entry,),) = [[e for e in listing if e["state"] == "corrupt"]]
    expected = "Permission denied" if unreadable == "mode 000" else "belongs to nobody"
    assert expected in entry["reason"]

    run(processes, "event", "send", "DeployEvent", "--title", "t", "-m", "new", env=environ,
        ordinary_user=True)  # fmt: skip
    assert texts(httpserver) == ["two", "three", "new"]


def test_a_queued_file_others_may_write_to_is_set_aside_not_sent(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "changed by someone", "fine")
    first = files_in(cli.home, "pending")[0]
    first.chmod(0o666)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    result = cli("spool", "flush", env=env_for(httpserver))
    assert texts(httpserver) == ["fine"]
    assert "could not be read or trusted" in result.stderr
    (entry,) = listed(cli)
    assert entry["state"] == "corrupt"
    assert "is writable by others (mode 0666)" in entry["reason"]


# 2. A spool another user controls is refused whole, with exit 3.


def plant(folder: Path, server: HTTPServer, text: str) -> Path:
    """A payload another user drops into the queue, addressed to the victim's receiver."""
    header = {"address": server.url_for(INTAKE), "events": 1, "encoding": None, "created": 1.0}
    event = {"event_type": "EvilEvent", "msg_title": text, "msg_text": text, "timestamp": 1}
    body = {"collection_timestamp": 1, "internalHostname": "h", "events": {"EvilEvent": [event]},
            "metrics": [], "service_checks": [], "topologies": [], "health": []}  # fmt: skip
    path = folder / "00000000000000000001-1-planted.payload"
    path.write_bytes(json.dumps(header).encode() + b"\n" + json.dumps(body).encode())
    return path


@pytest.mark.parametrize(
    ("folder", "owner", "mode", "said"),
    [
        ("spool/pending", NOBODY, 0o777, "belongs to nobody (uid 65534), not to you"),
        ("spool", NOBODY, 0o700, "belongs to nobody (uid 65534), not to you"),
        (".", NOBODY, 0o755, "belongs to nobody (uid 65534), not to you"),
        ("spool/pending", None, 0o777, "is writable by others (mode 0777)"),
        ("spool", None, 0o770, "is writable by others (mode 0770)"),
    ],
)
def test_a_spool_another_user_controls_is_refused(
    cli: Cli, httpserver: HTTPServer, processes: Processes, folder: str, owner: Optional[int],
    mode: int, said: str,
):  # fmt: skip
    needs_root()
    state = cli.home / ".local" / "state" / "stac-events"
    pending = state / "spool" / "pending"
    pending.mkdir(parents=True)
    planted = plant(pending, httpserver, "sent with your key")
    target = state / folder
    target.chmod(mode)
    if owner is not None:
        os.chown(target, owner, owner)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    environ = env_for(httpserver)
    for args in (
        ["event", "send", "DeployEvent", "--title", "t"],
        ["spool", "flush"],
        ["spool", "list"],
        ["spool", "clear"],
        ["event", "wrap", "--", "true"],
    ):
        result = run(processes, *args, env=environ, expect=3)
        (line,) = result.stderr.splitlines()
        assert f"the spool folder {target.resolve() if folder == '.' else target} {said}" in line
        assert "--no-spool" in line
    assert httpserver.log == []  # neither the planted payload nor anything else was sent
    assert planted.exists()  # nor was it removed
    run(processes, "event", "send", "DeployEvent", "--title", "t", "--no-spool", env=environ)
    assert [e["msg_title"] for e in received_events(httpserver)] == ["t"]


# 3. Poison payloads in a row never hold a new event back, and move on towards failed/.


def test_four_poisons_in_a_row_never_hold_a_new_event_back(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "poison 1", "poison 2", "poison 3", "poison 4")
    httpserver.expect_request(INTAKE).respond_with_handler(
        answering(lambda body: 500 if b"poison" in body else 202)
    )
    runs = 0
    while len(files_in(cli.home, "failed")) < 4:
        runs += 1
        assert runs <= 10, [(e["id"], e["state"], e.get("passed_over")) for e in listed(cli)]
        # the options a user gives: none
        cli("event", "send", "DeployEvent", "--title", "t", "-m", f"new {runs}",
            env=env_for(httpserver))  # fmt: skip
        if runs == 1:
            assert [e.get("passed_over", 0) for e in listed(cli)] == [1, 1, 1, 0]
    assert [text for text in texts(httpserver)] == [f"new {run}" for run in range(1, runs + 1)]
    assert files_in(cli.home, "pending") == []


def test_a_queued_payload_the_receiver_hangs_on_leaves_the_new_event_its_time(
    cli: Cli, own_server: HTTPServer, raw_receiver
):
    queue(cli, own_server, "hangs the receiver")
    release = threading.Event()

    def answer(connection: socket.socket, body: bytes) -> None:
        if b"hangs the receiver" in body:
            release.wait(timeout=60)
        connection.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    receiver = raw_receiver(answer)  # a thread a connection: one hung request holds no other
    (queued,) = files_in(cli.home, "pending")  # addressed to where the new one goes
    header, _, body = queued.read_bytes().partition(b"\n")
    address = json.loads(header)["address"].replace(own_server.url_for("/"), receiver.url + "/")
    queued.write_bytes(json.dumps({**json.loads(header), "address": address}).encode() + b"\n"
                       + body)  # fmt: skip
    environ = {
        "STAC_EVENTS_RECEIVER_URL": f"{receiver.url}/receiver",
        "STAC_EVENTS_API_KEY": API_KEY,
    }
    started = time.monotonic()
    try:
        result = cli("event", "send", "DeployEvent", "--title", "t", "-m", "new", "--max-time",
                     "6", env=environ)  # fmt: skip
    finally:
        release.set()
    assert time.monotonic() - started < 30, result.stderr
    assert "1 queued payload(s) wait for a later run" in result.stderr, result.stderr
    assert b'"msg_text": "new"' in receiver.bodies[-1] or b'"msg_text":"new"' in receiver.bodies[-1]
    assert [e["state"] for e in listed(cli)] == ["pending"]


# 4. Answers that never end, and a spool file larger than any request, take no memory.


def endless(status: str):
    """An answer that says it is 100 GB long, and streams until the sender leaves."""

    def answer(connection: socket.socket, body: bytes) -> None:
        connection.sendall(f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
                           f"Content-Length: 100000000000\r\n\r\n".encode())  # fmt: skip
        chunk = b"x" * 65536
        while True:
            connection.sendall(chunk)

    return answer


@pytest.mark.parametrize(
    ("status", "expected"),
    [("400 Bad Request", 4), ("503 Service Unavailable", 75), ("202 Accepted", 0)],
)
def test_an_answer_that_never_ends_takes_no_memory(
    raw_receiver, processes: Processes, status: str, expected: int
):
    receiver = raw_receiver(endless(status))
    environ = {"STAC_EVENTS_RECEIVER_URL": f"{receiver.url}/receiver",
               "STAC_EVENTS_API_KEY": API_KEY}  # fmt: skip
    result = run(processes, "event", "send", "DeployEvent", "--title", "t", "--retries", "0",
                 env=environ, expect=expected, memory=MEMORY_CAP)  # fmt: skip
    assert len(result.stderr) < 1000
    assert len(receiver.bodies) == 1
    pending = processes.home / ".local/state/stac-events/spool/pending"
    queued = list(pending.glob("*.payload"))
    assert len(queued) == (1 if expected == 75 else 0)


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", "its first line is 'SSH-2.0-OpenSSH_9.2'"),
        (b"HTTP/1.1 2x2 Accepted " + API_KEY.encode() + b"\r\n\r\n",
         "its first line is 'HTTP/1.1 2x2 Accepted ***'"),
        (b"HTTP/1.1 202 Accepted\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(150))
         + b"Content-Length: 0\r\n\r\n", "more than 100 headers"),
        (b"HTTP/1.1 202 Accepted\r\nX-Long: " + b"y" * 70000 + b"\r\n\r\n",
         "a header line longer than 64 KiB"),
        (b"HTTP/1.1 400 " + b"A" * 70000 + b"\r\n\r\n", "a status line longer than 64 KiB"),
        (b"HTTP/2.0 400 Bad\r\n\r\n", "it speaks 'HTTP/2.0', not HTTP/1"),
        (b"   \r\n\r\n", "its first line is empty"),
    ],
)  # fmt: skip
def test_an_answer_that_is_not_http_is_told_from_no_answer(
    cli: Cli, raw_receiver, answer: bytes, said: str
):
    receiver = raw_receiver(lambda connection, body: connection.sendall(answer))
    result = cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0",
                 env=raw_env(receiver), expect=75)  # fmt: skip
    host = receiver.url.removeprefix("http://")
    assert f"error: {host} answered, but not in HTTP that can be read: {said}; " in result.stderr
    assert "cannot connect" not in result.stderr
    assert len(files_in(cli.home, "pending")) == 1
    closed = raw_receiver(lambda connection, body: None)  # closed with no answer at all
    result = cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0",
                 env=raw_env(closed), expect=75)  # fmt: skip
    assert "the connection was closed before an answer came" in result.stderr


def test_an_answer_that_is_not_http_through_a_proxy_names_the_proxy(run_script, raw_receiver):
    proxy = raw_receiver(lambda connection, body: connection.sendall(b"SSH-2.0-proxy\r\n"))
    environ = {"STAC_EVENTS_RECEIVER_URL": "http://receiver.invalid/receiver",
               "STAC_EVENTS_API_KEY": API_KEY, "HTTP_PROXY": proxy.url}  # fmt: skip
    result = run_script("stac-events", "event", "send", "DeployEvent", "--title", "t",
                        "--retries", "0", "--no-spool", env=environ, expect=5)  # fmt: skip
    where = proxy.url.removeprefix("http://")
    assert result.stderr == (
        f"stac-events: error: the proxy at {where} (for receiver.invalid) answered, but not in "
        "HTTP that can be read: its first line is 'SSH-2.0-proxy'; nothing was queued\n"
    )


def test_a_spool_file_larger_than_any_request_is_set_aside(
    cli: Cli, httpserver: HTTPServer, processes: Processes
):
    queue(cli, httpserver, "huge", "fine")
    huge = files_in(cli.home, "pending")[0]
    with huge.open("r+b") as stream:
        stream.truncate(1 << 30)  # 1 GiB, sparse: it takes no disk, only a reader's memory
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    run(processes, "spool", "flush", env=env_for(httpserver), memory=MEMORY_CAP)
    assert texts(httpserver) == ["fine"]
    (entry,) = listed(cli)
    assert (entry["state"], entry["id"]) == ("corrupt", huge.name.removesuffix(".payload"))
    assert "larger than any request" in entry["reason"]


def test_what_lists_and_flushes_is_never_exit_1_for_a_spool_entry(
    cli: Cli, httpserver: HTTPServer, processes: Processes
):
    """Every kind of entry at once, as an ordinary user: flush, list, retry, drop, clear."""
    needs_root()
    queue(cli, httpserver, "mode 000", "nobody's", "writable", "huge", "fine")
    zero, nobodys, writable, huge, _ = files_in(cli.home, "pending")
    zero.chmod(0)
    os.chown(nobodys, NOBODY, NOBODY)
    writable.chmod(0o666)
    with huge.open("r+b") as stream:
        stream.truncate(1 << 30)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    runs: List[Result] = []
    for args, status in ((["spool", "list"], 0), (["spool", "flush"], 0),
                         (["spool", "list", "-o", "json"], 0),
                         (["spool", "retry", zero.name[:26]], 2),
                         (["spool", "drop", nobodys.name[:26]], 0),
                         (["spool", "clear"], 0)):  # fmt: skip
        runs.append(run(processes, *args, env=env_for(httpserver), expect=status,
                        ordinary_user=True, memory=MEMORY_CAP))  # fmt: skip
    assert texts(httpserver) == ["fine"]
    assert "cannot be read" in runs[3].stderr
    assert all("Traceback" not in r.stderr and "internal error" not in r.stderr for r in runs)


# 5. More that an attack found: a payload the receiver never answers, poisons in a row
#    in a flush, a file that cannot be claimed, a set-aside file that cannot be put back.


def stalling_on(word: bytes, release: threading.Event):
    """An answer that never comes for a body holding `word` (until the test ends); 202
    for the rest, each connection on a thread of its own."""

    def answer(connection: socket.socket, body: bytes) -> None:
        if word in body:
            release.wait(timeout=60)
        connection.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    return answer


def readdress(home: Path, old_base: str, new_base: str) -> None:
    """Point the queued payloads at another receiver: the same address, to stac-events."""
    for path in files_in(home, "pending"):
        header, _, body = path.read_bytes().partition(b"\n")
        fields = json.loads(header)
        fields["address"] = fields["address"].replace(old_base, new_base)
        path.write_bytes(json.dumps(fields).encode() + b"\n" + body)


def raw_env(receiver) -> Dict[str, str]:
    return {"STAC_EVENTS_RECEIVER_URL": f"{receiver.url}/receiver", "STAC_EVENTS_API_KEY": API_KEY}


def bodies_holding(receiver, word: bytes) -> int:
    return sum(word in body for body in receiver.bodies)


def test_a_payload_the_receiver_never_answers_is_passed_over_and_the_queue_flows(
    cli: Cli, own_server: HTTPServer, raw_receiver
):
    queue(cli, own_server, "hangs the receiver", "good 1", "good 2")
    release = threading.Event()
    receiver = raw_receiver(stalling_on(b"hangs the receiver", release))
    readdress(cli.home, own_server.url_for("/").rstrip("/"), receiver.url)
    try:
        flushed = cli("spool", "flush", "--timeout", "2", "-o", "json", env=raw_env(receiver))
        assert flushed.json()["delivered"] == 2  # the ones behind it flowed at once
        assert bodies_holding(receiver, b"good") == 2
        for run in range(2, 6):  # and each new event judges it again
            cli("event", "send", "DeployEvent", "--title", "t", "-m", f"new {run}", "--timeout",
                "2", env=raw_env(receiver))  # fmt: skip
        assert bodies_holding(receiver, b"new") == 4
        (entry,) = listed(cli)
        assert entry["state"] == "failed"  # passed over five times: set aside
        assert "did not answer within 2 s" in entry["reason"]
    finally:
        release.set()


def test_a_flush_tells_poisons_in_a_row_from_an_outage_by_the_newest(
    cli: Cli, httpserver: HTTPServer
):
    queue(cli, httpserver, "poison 1", "poison 2", "poison 3", "poison 4", "good 1", "good 2")
    httpserver.expect_request(INTAKE).respond_with_handler(
        answering(lambda body: 500 if b"poison" in body else 202)
    )
    result = cli("spool", "flush", "-o", "json", env=env_for(httpserver))
    assert result.json()["delivered"] == 2
    assert sorted(texts(httpserver)) == ["good 1", "good 2"]
    assert [e.get("passed_over", 0) for e in listed(cli)] == [1, 1, 1, 1]


def test_a_queued_file_that_cannot_be_claimed_holds_no_other_back(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "immutable", "fine")
    stuck = files_in(cli.home, "pending")[0]
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        httpserver.expect_request(INTAKE).respond_with_data("", status=202)
        result = cli("spool", "flush", env=env_for(httpserver))
        assert texts(httpserver) == ["fine"]
        assert "Operation not permitted" in result.stderr
        sent = send(cli, "new", httpserver)
        assert texts(httpserver) == ["fine", "new"]
        assert "the spool could not be used as it should" in sent.stderr
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=False)


def test_retry_all_puts_back_every_payload_it_can(
    cli: Cli, httpserver: HTTPServer, processes: Processes
):
    needs_root()
    queue(cli, httpserver, "one", "two", "three")
    httpserver.expect_request(INTAKE).respond_with_data("bad", status=400)
    cli("spool", "flush", env=env_for(httpserver), expect=4)
    first = files_in(cli.home, "rejected")[0]
    first.chmod(0)
    result = run(processes, "spool", "retry", "--all", "-o", "json",
                 ordinary_user=True)  # fmt: skip
    assert result.json()["requeued"] == 2
    (left,) = result.json()["not_requeued"]
    assert left["id"] == first.name.removesuffix(".payload")
    assert "Permission denied" in left["reason"]
    assert len(files_in(cli.home, "pending")) == 2


def test_the_payload_a_flush_judges_by_is_no_stale_claim_to_another_flush(
    cli: Cli, own_server: HTTPServer, raw_receiver, processes: Processes
):
    """A payload queued long ago, claimed as the judge of three poisons, is a fresh claim:
    a second flush meanwhile leaves it to the first, and it is sent once."""
    queue(cli, own_server, "poison 1", "poison 2", "poison 3", "judge")
    judging, release = threading.Event(), threading.Event()

    def answer(connection: socket.socket, body: bytes) -> None:
        if b"poison" in body:
            connection.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")
            return
        judging.set()
        release.wait(timeout=60)
        connection.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    receiver = raw_receiver(answer)
    readdress(cli.home, own_server.url_for("/").rstrip("/"), receiver.url)
    twenty_minutes_ago = time.time() - 1200  # queued long ago: older than a stale claim
    for path in files_in(cli.home, "pending"):
        os.utime(path, (twenty_minutes_ago, twenty_minutes_ago))
    first = processes.start_cli("spool", "flush", "--retries", "0", env=raw_env(receiver))
    try:
        assert judging.wait(timeout=60), first.printed()
        cli("spool", "flush", "--retries", "0", "--timeout", "1", "--max-time", "3",
            env=raw_env(receiver))  # fmt: skip
        assert bodies_holding(receiver, b"judge") == 1
    finally:
        release.set()
    first.finish(expect=0)
    assert bodies_holding(receiver, b"judge") == 1
