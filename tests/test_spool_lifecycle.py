"""The spool's lifecycle against real local receivers: bad entries, poison payloads, a wrong
key, stale claims, set-aside payloads put back or dropped, and disks that refuse writes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import (
    API_KEY,
    INTAKE,
    Cli,
    Expected,
    Result,
    env_for,
    mounted_tmpfs,
    no_secret,
    received_events,
)


def send(cli: Cli, text: str, server: HTTPServer, *args: str, expect: Expected = 0) -> Result:
    return cli("event", "send", "DeployEvent", "--title", "t", "-m", text, "--retries", "0",
               *args, env=env_for(server), expect=expect)  # fmt: skip


def spool_root(home: Path) -> Path:
    return home / ".local" / "state" / "stac-events" / "spool"


def files_in(home: Path, state: str) -> List[Path]:
    folder = spool_root(home) / state
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def listed(cli: Cli) -> List[Dict]:
    return cli("spool", "list", "-o", "json").json()


def texts(server: HTTPServer) -> List[str]:
    """The texts of the events the receiver accepted (answered 2xx), in order."""
    accepted = [(request, response) for request, response in server.log
                if response.status_code < 300]  # fmt: skip
    return [event["msg_text"] for event in received_events(type("Log", (), {"log": accepted}))]


def answering(rule: Callable[[bytes], int]) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        status = rule(request.get_data())
        return Response("no" if status >= 300 else "", status=status)

    return handler


def queue(cli: Cli, server: HTTPServer, *messages: str) -> None:
    """Queue one payload per message, addressed to `server`, while it answers 503."""
    server.expect_request(INTAKE).respond_with_data("down", status=503)
    for message in messages:
        send(cli, message, server, expect=75)
    server.clear()


# 1. A bad spool entry never stops a new event, nor makes anything exit 1.

BAD_HEADERS = {
    "events is text": {"events": "one", "created": 1.0},
    "events is null": {"events": None, "created": 1.0},
    "created is text": {"events": 1, "created": "x"},
    "not an object": [1, 2],
}


def plant(home: Path, name: str, header: object, server: HTTPServer) -> Path:
    pending = spool_root(home) / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    if isinstance(header, dict):
        header = {"address": server.url_for(INTAKE), "encoding": None, **header}
    path = pending / f"{name}.payload"
    path.write_bytes(json.dumps(header).encode() + b"\n{}")
    return path


@pytest.mark.parametrize("case", BAD_HEADERS)
def test_a_bad_entry_moves_to_corrupt_and_the_new_event_is_sent(
    cli: Cli, httpserver: HTTPServer, case: str
):
    plant(cli.home, "00000000000000000001-1-bad", BAD_HEADERS[case], httpserver)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    send(cli, "new", httpserver)
    assert texts(httpserver) == ["new"]
    bad = "00000000000000000001-1-bad"
    assert [p.name for p in files_in(cli.home, "corrupt")] == [f"{bad}.payload"]
    assert [(e["state"], e["id"]) for e in listed(cli)] == [("corrupt", bad)]


@pytest.mark.parametrize("case", BAD_HEADERS)
def test_a_bad_entry_with_the_receiver_down_queues_the_new_event_exit_75(
    cli: Cli, own_server: HTTPServer, case: str
):
    plant(cli.home, "00000000000000000001-1-bad", BAD_HEADERS[case], own_server)
    own_server.stop()
    result = send(cli, "new", own_server, expect=75)
    assert "queued for later" in result.stderr
    states = [e["state"] for e in listed(cli)]
    assert states == ["pending", "corrupt"]


def test_spool_list_shows_a_bad_entry_still_pending_as_corrupt(cli: Cli, httpserver: HTTPServer):
    plant(cli.home, "00000000000000000001-1-bad", {"events": "one", "created": 1.0}, httpserver)
    (entry,) = listed(cli)
    assert entry["state"] == "corrupt"
    assert "no event count" in entry["reason"]
    text = cli("spool", "list").stdout
    assert "corrupt" in text


def test_junk_files_are_corrupt_not_waiting_for_another_address(cli: Cli, httpserver: HTTPServer):
    pending = spool_root(cli.home) / "pending"
    pending.mkdir(parents=True)
    (pending / "notes.payload").write_bytes(b"hello")
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    result = cli("spool", "flush", "-o", "json", env=env_for(httpserver))
    assert result.json()["waiting"] == 0
    assert "another receiver" not in result.stderr
    assert [p.name for p in files_in(cli.home, "corrupt")] == ["notes.payload"]


def test_things_that_are_not_files_go_to_corrupt_without_blocking(
    run_script, home: Path, httpserver: HTTPServer
):
    pending = spool_root(home) / "pending"
    pending.mkdir(parents=True)
    (pending / "00000000000000000001-1-a.payload").mkdir()
    os.mkfifo(pending / "00000000000000000002-1-b.payload")  # opening it would block
    (pending / "00000000000000000003-1-c.payload").symlink_to(home / "nowhere")
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    listing = run_script("stac-events", "spool", "list", "-o", "json").json()
    assert [entry["state"] for entry in listing] == ["corrupt"] * 3
    run_script("stac-events", "event", "send", "DeployEvent", "--title", "t", "-m", "new",
               env=env_for(httpserver))  # fmt: skip
    assert texts(httpserver) == ["new"]
    assert sorted(p.name for p in (spool_root(home) / "corrupt").iterdir()) == [
        "00000000000000000001-1-a.payload",
        "00000000000000000002-1-b.payload",
        "00000000000000000003-1-c.payload",
    ]


def test_a_queued_gzip_payload_that_is_not_gzip_is_refused_not_a_crash(
    cli: Cli, httpserver: HTTPServer
):
    path = plant(cli.home, "00000000000000000001-1-zip", {"events": 2, "created": 1.0}, httpserver)
    header, body = path.read_bytes().split(b"\n", 1)
    path.write_bytes(header.replace(b'"encoding": null', b'"encoding": "gzip"') + b"\n" + body)
    httpserver.expect_request(INTAKE).respond_with_handler(
        answering(lambda body: 202 if b"new" in body else 413)
    )
    result = send(cli, "new", httpserver)
    assert texts(httpserver) == ["new"]
    assert "refused 1 queued payload(s)" in result.stderr
    assert [e["state"] for e in listed(cli)] == ["rejected"]


def test_a_queue_that_cannot_be_read_does_not_look_empty(cli: Cli, httpserver: HTTPServer):
    root = spool_root(cli.home)
    root.mkdir(parents=True)
    (root / "pending").write_text("a file where the queue's folder should be")
    result = cli("spool", "list", expect=3)
    assert "cannot use the spool at" in result.stderr
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    flushed = cli("spool", "flush", env=env_for(httpserver), expect=5)
    assert "the spool cannot be used" in flushed.stderr
    sent = send(cli, "new", httpserver)
    assert texts(httpserver) == ["new"]
    assert "the spool could not be used as it should" in sent.stderr


def test_a_password_in_the_address_never_reaches_the_spool(cli: Cli, own_server: HTTPServer):
    own_server.stop()
    url = own_server.url_for("/receiver").replace("://", "://user:PASSWORDSECRET42@")
    cli("event", "send", "DeployEvent", "--title", "t", "--url", url, "--retries", "0",
        env={"STAC_EVENTS_API_KEY": API_KEY}, expect=75)  # fmt: skip
    (path,) = files_in(cli.home, "pending")
    assert b"PASSWORDSECRET42" not in path.read_bytes()
    for args in (["spool", "list"], ["spool", "list", "-o", "json"]):
        assert "PASSWORDSECRET42" not in cli(*args).stdout


# 2. A poison payload is passed over, then set aside after 5 runs; and can be put back.


def test_a_poison_payload_is_passed_over_then_moved_to_failed(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "poison")
    httpserver.expect_request(INTAKE).respond_with_handler(
        answering(lambda body: 500 if b"poison" in body else 202)
    )
    for run in range(1, 6):
        result = send(cli, f"new {run}", httpserver)
        if run < 5:
            assert "1 queued payload(s) failed again while later ones got through" in result.stderr
            (entry,) = listed(cli)
            assert (entry["state"], entry["passed_over"]) == ("pending", run)
    assert texts(httpserver) == [f"new {run}" for run in range(1, 6)]
    (entry,) = listed(cli)
    assert entry["state"] == "failed"
    assert "failed in 5 runs" in entry["reason"]
    assert "500" in entry["reason"]

    httpserver.clear()
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    put_back = cli("spool", "retry", "--all", "-o", "json").json()
    assert put_back["requeued"] == 1
    (entry,) = listed(cli)
    assert (entry["state"], entry.get("passed_over", 0)) == ("pending", 0)
    cli("spool", "flush", env=env_for(httpserver))
    assert texts(httpserver) == ["poison"]
    assert listed(cli) == []


def test_a_new_event_the_receiver_fails_on_is_queued_when_the_next_gets_through(
    cli: Cli, httpserver: HTTPServer, tmp_path: Path
):
    httpserver.expect_request(INTAKE).respond_with_handler(
        answering(lambda body: 500 if b"poison" in body else 202)
    )
    events = tmp_path / "events.ndjson"
    events.write_text("\n".join(json.dumps({"event_type": "AEvent", "msg_title": "t",
                                            "msg_text": text + "x" * 600})
                                for text in ("poison", "fine")))  # fmt: skip
    result = cli("event", "send", "--file", str(events), "--max-request-bytes", "1024",
                 "--retries", "0", "-o", "json", env=env_for(httpserver), expect=75)  # fmt: skip
    error = result.json()["error"]
    assert (error["delivered"], error["queued"], error["refused"]) == (1, 1, 0)
    (entry,) = listed(cli)
    assert entry["passed_over"] == 1


def test_an_outage_blames_no_payload(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "one", "two", "three", "four")
    httpserver.expect_request(INTAKE).respond_with_data("down", status=500)
    send(cli, "five", httpserver, expect=75)
    # "one" failed, so the next ones were tried, once each: after three held, a fourth
    # failing too is an outage, and "five" is not even tried
    assert len(httpserver.log) == 4
    assert [e.get("passed_over", 0) for e in listed(cli)] == [0] * 5


def test_bad_payloads_in_a_row_are_passed_over_too(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "poison a", "poison b", "fine")
    httpserver.expect_request(INTAKE).respond_with_handler(
        answering(lambda body: 500 if b"poison" in body else 202)
    )
    send(cli, "new", httpserver)
    assert texts(httpserver) == ["fine", "new"]
    assert [e["passed_over"] for e in listed(cli)] == [1, 1]


# 3. A wrong key or address stops everything and moves nothing.


@pytest.mark.parametrize("status", [401, 403, 404, 405, 410, 302])
def test_a_key_or_address_refused_leaves_the_queue_as_it_is(
    cli: Cli, httpserver: HTTPServer, status: int
):
    queue(cli, httpserver, "one", "two", "three")
    headers = {"Location": "https://elsewhere.example/"} if status == 302 else {}
    httpserver.expect_request(INTAKE).respond_with_data("no", status=status, headers=headers)
    result = cli("event", "send", "DeployEvent", "--title", "t", "--api-key", "TYPO", "-o", "json",
                 env=env_for(httpserver), expect=4)  # fmt: skip
    error = result.json()["error"]
    assert "3 queued payload(s) still wait in the spool, untouched" in error["message"]
    assert error["status"] == status
    assert len(httpserver.log) == 1  # the first queued payload: it told all there was to know
    assert [e["state"] for e in listed(cli)] == ["pending"] * 3
    assert files_in(cli.home, "rejected") == []


def test_a_flush_with_a_wrong_key_says_what_still_waits(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "one", "two")
    httpserver.expect_request(INTAKE).respond_with_data("no", status=401)
    result = cli("spool", "flush", env=env_for(httpserver, key="TYPO"), expect=4)
    assert "2 queued payload(s) still wait in the spool, untouched" in result.stderr
    assert [e["state"] for e in listed(cli)] == ["pending", "pending"]


def test_a_refused_payload_does_not_stop_the_ones_after_it(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "bad", "good")
    httpserver.expect_request(INTAKE).respond_with_handler(
        answering(lambda body: 400 if b"bad" in body else 202)
    )
    result = send(cli, "new", httpserver)
    assert texts(httpserver) == ["good", "new"]
    assert "the receiver refused 1 queued payload(s)" in result.stderr
    (entry,) = listed(cli)
    assert entry["state"] == "rejected"
    assert "400" in entry["reason"]


# 4. A claim is taken over after a bounded time, whatever its PID now belongs to.


def test_a_stale_claim_of_a_live_pid_is_taken_over(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "stranded")
    (pending,) = files_in(cli.home, "pending")
    claimed = pending.with_name(f"{pending.name}.1.claimed")  # PID 1 is alive, and not us
    pending.rename(claimed)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    cli("spool", "flush", env=env_for(httpserver))
    assert texts(httpserver) == []  # a fresh claim of a live process is left to it
    eleven_minutes_ago = time.time() - 660
    os.utime(claimed, (eleven_minutes_ago, eleven_minutes_ago))
    cli("spool", "flush", env=env_for(httpserver))
    assert texts(httpserver) == ["stranded"]
    assert listed(cli) == []


def test_a_claim_of_a_dead_process_is_taken_over_at_once(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "stranded")
    (pending,) = files_in(cli.home, "pending")
    process = subprocess.Popen(["true"])  # a PID that is surely gone once waited for
    process.wait()
    pending.rename(pending.with_name(f"{pending.name}.{process.pid}.claimed"))
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    cli("spool", "flush", env=env_for(httpserver))
    assert texts(httpserver) == ["stranded"]


def test_a_claim_of_pid_0_or_of_this_pid_is_no_live_claim(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "zero", "mine")
    zero, mine = files_in(cli.home, "pending")
    zero.rename(zero.with_name(f"{zero.name}.0.claimed"))
    mine.rename(mine.with_name(f"{mine.name}.{os.getpid()}.claimed"))  # a predecessor's PID
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    cli("spool", "flush", env=env_for(httpserver))
    assert texts(httpserver) == ["zero", "mine"]


def test_drop_and_clear_take_abandoned_claims_too(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "one", "two")
    process = subprocess.Popen(["true"])
    process.wait()
    for path in files_in(cli.home, "pending"):
        path.rename(path.with_name(f"{path.name}.{process.pid}.claimed"))
    first = listed(cli)[0]["id"]
    assert cli("spool", "drop", first, "-o", "json").json()["state"] == "stale"
    assert cli("spool", "clear", "-o", "json").json() == {"ok": True, "removed": 1, "in_flight": 0}
    assert listed(cli) == []


# retry and drop


def test_drop_removes_one_payload_by_the_start_of_its_id(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "one", "two")
    first, second = listed(cli)
    result = cli("spool", "drop", first["id"][:24], "-o", "json")
    assert result.json() == {"ok": True, "dropped": first["id"], "state": "pending"}
    assert [e["id"] for e in listed(cli)] == [second["id"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["spool", "drop", "nothing-like-it"], "no payload 'nothing-like-it' in the spool"),
        (["spool", "drop", "0"], "2 payloads start with '0'; give more of the id"),
        (["spool", "drop", "../x"], "'../x' is not a payload id"),
        (["spool", "drop", "0*"], "'0*' is not a payload id"),
        (["spool", "retry", "[0-9]"], "'[0-9]' is not a payload id"),
        (["spool", "retry", "0000", "--all"], "give the id of one payload, or --all"),
    ],
)
def test_retry_and_drop_answer_bad_ids_plainly(
    cli: Cli, httpserver: HTTPServer, args: List[str], message: str
):
    queue(cli, httpserver, "one", "two")
    result = cli(*args, expect=2)
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", ["drop", "retry"])
def test_bare_retry_and_drop_say_what_they_lack(cli: Cli, command: str):
    result = cli("spool", command, expect=2)
    assert result.stdout == ""
    assert "'stac-events spool list' shows the ids" in result.stderr
    assert f"'stac-events spool {command} --help' says more" in result.stderr


def test_retry_of_a_pending_payload_says_there_is_nothing_to_retry(
    cli: Cli, httpserver: HTTPServer
):
    queue(cli, httpserver, "one")
    (entry,) = listed(cli)
    result = cli("spool", "retry", entry["id"], expect=2)
    assert "is pending, not set aside" in result.stderr


def test_retry_puts_a_rejected_payload_back_in_its_place(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "refused once")
    httpserver.expect_request(INTAKE).respond_with_data("bad", status=422)
    cli("spool", "flush", env=env_for(httpserver), expect=4)
    (entry,) = listed(cli)
    assert entry["state"] == "rejected"
    cli("spool", "retry", entry["id"])
    (back,) = listed(cli)
    assert (back["id"], back["state"]) == (entry["id"], "pending")


def test_clear_empties_every_state(cli: Cli, httpserver: HTTPServer):
    queue(cli, httpserver, "one", "refused")
    plant(cli.home, "00000000000000000001-1-bad", [1], httpserver)
    httpserver.expect_request(INTAKE).respond_with_handler(
        answering(lambda body: 400 if b"refused" in body else 503)
    )
    cli("spool", "flush", env=env_for(httpserver), expect=75)
    assert sorted(e["state"] for e in listed(cli)) == ["corrupt", "pending", "rejected"]
    assert cli("spool", "clear", "-o", "json").json() == {"ok": True, "removed": 3, "in_flight": 0}
    assert listed(cli) == []


# 5. Disks that refuse writes: exit 5 "not saved", never 1; a new event still goes out.


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (needs root, as in CI and this project's dev containers)."""
    with mounted_tmpfs(tmp_path / "tiny", "64k") as mount:
        yield mount


def fill(disk: Path) -> None:
    with pytest.raises(OSError, match="No space left on device"):
        (disk / "filler").write_bytes(b"x" * (1 << 20))


def remount_read_only(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)


@pytest.fixture
def on_tiny_disk(cli: Cli, tiny_disk: Path) -> Cli:
    """The CLI, with its user state dir (and so its spool) on the tiny disk."""
    (cli.home / ".local").mkdir(exist_ok=True)
    (tiny_disk / "state").mkdir()
    (cli.home / ".local" / "state").symlink_to(tiny_disk / "state")
    return cli


def tiny_spool(disk: Path) -> Path:
    return disk / "state" / "stac-events" / "spool"


def test_a_full_disk_is_exit_5_not_saved(
    on_tiny_disk: Cli, tiny_disk: Path, own_server: HTTPServer
):
    own_server.stop()
    fill(tiny_disk)
    result = on_tiny_disk("event", "send", "DeployEvent", "--title", "t", "--retries", "0",
                          "-o", "json", env=env_for(own_server), expect=5)  # fmt: skip
    error = result.json()["error"]
    assert "the event(s) were not saved" in error["message"]
    assert "No space left on device" in error["message"]
    assert (error["queued"], error["not_sent"]) == (0, 1)
    assert not list(tiny_spool(tiny_disk).rglob("*.tmp"))


def test_wrap_on_a_full_disk_keeps_the_commands_exit_code(
    on_tiny_disk: Cli, tiny_disk: Path, own_server: HTTPServer
):
    own_server.stop()
    fill(tiny_disk)
    result = on_tiny_disk("event", "wrap", "--retries", "0", "--", "sh", "-c", "exit 3",
                          env=env_for(own_server), expect=3)  # fmt: skip
    assert "not saved" in result.stderr


def test_a_read_only_spool_still_lets_a_new_event_through(
    on_tiny_disk: Cli, tiny_disk: Path, httpserver: HTTPServer
):
    queue(on_tiny_disk, httpserver, "stuck on a read-only disk")
    remount_read_only(tiny_disk)
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    result = send(on_tiny_disk, "new", httpserver)
    assert texts(httpserver) == ["new"]
    assert "the spool could not be used as it should" in result.stderr
    assert "Read-only file system" in result.stderr


def test_a_read_only_spool_with_the_receiver_down_is_exit_5(
    on_tiny_disk: Cli, tiny_disk: Path, own_server: HTTPServer
):
    queue(on_tiny_disk, own_server, "old")
    remount_read_only(tiny_disk)
    own_server.stop()
    result = send(on_tiny_disk, "new", own_server, expect=5)
    assert "not saved" in result.stderr
    assert "Read-only file system" in result.stderr


@pytest.mark.parametrize(
    "args", [["spool", "list"], ["spool", "clear"], ["spool", "retry", "--all"]]
)
def test_spool_commands_on_an_unusable_spool_are_config_errors(cli: Cli, args: List[str]):
    state = cli.home / ".local" / "state"  # the environment's state dir is under it
    state.parent.mkdir(parents=True)
    state.write_text("a file where the state dir should be")
    result = cli(*args, expect=3)
    spool = state / "stac-events" / "spool"
    assert result.stderr == (f"stac-events: error: cannot use the spool at {spool}: Not a "
                             "directory; check that folder's owner and permissions\n")  # fmt: skip
    assert no_secret(result)


def test_spool_folders_are_private_whatever_the_umask(cli: Cli, own_server: HTTPServer):
    own_server.stop()
    previous = os.umask(0)
    try:
        send(cli, "queued", own_server, expect=75)
    finally:
        os.umask(previous)
    root = spool_root(cli.home)
    for folder in (root, root / "pending", root / "tmp"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_a_claim_a_signal_cut_short_goes_back_when_the_run_ends(
    cli: Cli, httpserver: HTTPServer
) -> None:
    """A signal between a claim's rename and its hand-over left the payload claimed by a
    process that was ending: no one gave it back until another run judged it stale (the
    suite saw a queued event missing from pending/). The run's end gives back every claim
    of its own. Here the claim is made for it, by the receiver while the run waits for
    its answer (`cli` runs in this process, so the claim is the run's own)."""
    import os

    from werkzeug import Response

    queue(cli, httpserver, "one", "two")
    made: List[str] = []

    def claim_then_refuse(request: Request) -> Response:
        if not made:
            first = next(p for p in files_in(cli.home, "pending") if p.suffix == ".payload")
            made.append(first.name)
            first.rename(first.with_name(f"{first.name}.{os.getpid()}.claimed"))
        return Response("down", status=503)

    httpserver.expect_request(INTAKE).respond_with_handler(claim_then_refuse)
    send(cli, "three", httpserver, expect=75)
    names = sorted(p.name for p in files_in(cli.home, "pending"))
    assert made[0] in names
    assert not [name for name in names if name.endswith(".claimed")]
    assert len(names) == 3
