"""Inputs that once ended a run with a traceback, lost an event or reached the terminal raw:
a redirect whose Location is not UTF-8 or not a URL (or whose body never ends), a spool
claim whose PID suffix no process can have, a receiver address too long for the spool to
keep, a set-aside reason holding control characters or the key, and a signal the instant
`config init`'s temporary file is made. Each runs the command as a user does, against
real receivers and files."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import API_KEY, INTAKE, Cli, env_for, mounted_tmpfs, no_secret
from tests.processes import Processes
from tests.test_delivery_faults import MEMORY_CAP, run
from tests.test_spool_lifecycle import files_in, listed, queue, send, texts

# 1. A redirect is reported, never followed, whatever its Location holds.

QUEUED = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def redirect_to(location: bytes) -> bytes:
    return (b"HTTP/1.1 302 Found\r\nLocation: " + location
            + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")  # fmt: skip


def answering_in_turn(*answers: bytes) -> Callable[[socket.socket, bytes], None]:
    """Answers each request with the next of `answers`; the last, once reached, for good."""
    left = list(answers)

    def answer(connection: socket.socket, body: bytes) -> None:
        connection.sendall(left.pop(0) if len(left) > 1 else left[0])

    return answer


def receiver_env(url: str) -> Dict[str, str]:
    return {"STAC_EVENTS_RECEIVER_URL": f"{url}/receiver", "STAC_EVENTS_API_KEY": API_KEY}


# (Location as sent, as the message shows it): not UTF-8 (Latin-1), UTF-8, not a URL
LOCATIONS = {
    "not UTF-8": (b"http://x/caf\xe9", "http://x/caf%E9"),
    "UTF-8": ("http://x/café".encode(), "http://x/café"),
    "not a URL": (b"http://[x", "http://[x"),
}
COMMANDS = {
    "event send": (["event", "send", "DeployEvent", "--title", "t"], 4),
    "check": (["check"], 4),
    "event wrap": (["event", "wrap", "--", "sh", "-c", "exit 3"], 3),  # the command's status
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("location", LOCATIONS)
def test_a_redirect_to_any_location_is_reported_not_followed(
    cli: Cli, raw_receiver, command: str, location: str
) -> None:
    sent, shown = LOCATIONS[location]
    receiver = raw_receiver(answering_in_turn(redirect_to(sent)))
    args, status = COMMANDS[command]
    result = cli(*args, env=receiver_env(receiver.url), expect=status)
    assert f"the receiver redirected (302 Found) to {shown}; redirects are not followed" in (
        result.stderr
    )
    assert "internal error" not in result.output
    assert no_secret(result)


@pytest.mark.parametrize("location", LOCATIONS)
def test_a_queued_payload_redirected_at_flush_stays_queued(
    cli: Cli, raw_receiver, location: str
) -> None:
    sent, shown = LOCATIONS[location]
    receiver = raw_receiver(answering_in_turn(QUEUED, redirect_to(sent)))
    environ = receiver_env(receiver.url)
    cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0", env=environ, expect=75)
    result = cli("spool", "flush", env=environ, expect=4)
    assert f"redirected (302 Found) to {shown}; redirects are not followed" in result.stderr
    assert [entry["state"] for entry in listed(cli)] == ["pending"]


def test_a_redirect_whose_body_never_ends_takes_no_memory(
    raw_receiver, processes: Processes
) -> None:
    """requests read a redirect's whole body (to prepare the request it would make next)."""

    def answer(connection: socket.socket, body: bytes) -> None:
        connection.sendall(b"HTTP/1.1 302 Found\r\nLocation: http://x/\r\n"
                           b"Content-Length: 100000000000\r\n\r\n")  # fmt: skip
        while True:
            connection.sendall(b"x" * 65536)

    receiver = raw_receiver(answer)
    result = run(processes, "event", "send", "DeployEvent", "--title", "t",
                 env=receiver_env(receiver.url), expect=4, memory=MEMORY_CAP)  # fmt: skip
    assert "redirected (302 Found) to http://x/; redirects are not followed" in result.stderr


# 2. A claim whose PID suffix no process can have is taken over at once.


@pytest.mark.parametrize("pid", ["2147483648", "4294967296", "99999999999999999999", "²"])
def test_a_claim_of_a_pid_no_process_can_have_is_taken_over_at_once(
    cli: Cli, httpserver: HTTPServer, pid: str
) -> None:
    queue(cli, httpserver, "stranded", "also stranded")
    first, second = files_in(cli.home, "pending")
    first.rename(first.with_name(f"{first.name}.{pid}.claimed"))
    second.rename(second.with_name(f"{second.name}.{pid}.claimed"))
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    stale = listed(cli)[0]["id"]
    assert cli("spool", "drop", stale, "-o", "json").json()["state"] == "stale"
    cli("spool", "flush", env=env_for(httpserver))
    assert texts(httpserver) == ["also stranded"]
    assert listed(cli) == []


def test_a_send_takes_over_a_claim_of_a_pid_no_process_can_have(
    cli: Cli, httpserver: HTTPServer
) -> None:
    queue(cli, httpserver, "stranded")
    (pending,) = files_in(cli.home, "pending")
    pending.rename(pending.with_name(f"{pending.name}.2147483648.claimed"))
    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    send(cli, "new", httpserver)
    assert sorted(texts(httpserver)) == ["new", "stranded"]
    assert listed(cli) == []


# 3. A receiver address longer than the spool can keep is refused before anything is sent.


def refused_port() -> int:
    """A port on which nothing listens: a send there is queued."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_address_too_long_for_the_spool_is_a_config_error(cli: Cli) -> None:
    address = f"http://127.0.0.1:{refused_port()}/" + "a" * 70_000
    environ = {"STAC_EVENTS_RECEIVER_URL": address, "STAC_EVENTS_API_KEY": API_KEY}
    result = cli("event", "send", "DeployEvent", "--title", "t", env=environ, expect=3)
    assert result.stderr.count("\n") == 1, result.stderr
    said = f"is {len(address)} bytes long, more than a receiver address may be (8192 bytes)"
    assert said in result.stderr
    assert not files_in(cli.home, "pending")
    init = cli("config", "init", "--url", address, env={"STAC_EVENTS_API_KEY": API_KEY}, expect=3)
    assert "more than a receiver address may be (8192 bytes)" in init.stderr


@pytest.mark.parametrize("character", ["a", "\x01", "é", "😀"])
def test_an_address_at_the_bound_is_queued_and_read_back(cli: Cli, character: str) -> None:
    """Whatever characters fill it (JSON writes `\x01` in 6 bytes, `😀` in 12), an address
    of the longest length allowed fits the spool's header: queued, then listed as such."""
    base = f"http://127.0.0.1:{refused_port()}/"
    fill = (8192 - len(base)) // len(character.encode())
    address = base + character * fill
    environ = {"STAC_EVENTS_RECEIVER_URL": address, "STAC_EVENTS_API_KEY": API_KEY}
    result = cli("event", "send", "DeployEvent", "--title", "t", "--retries", "0", env=environ,
                 expect=75)  # fmt: skip
    assert "(1 payload(s) waiting" in result.stderr
    (entry,) = listed(cli)
    assert entry["state"] == "pending"
    assert entry["address"].startswith(address)
    too_long = address + character * (8192 - len(address.encode()) + 1)
    environ["STAC_EVENTS_RECEIVER_URL"] = too_long
    cli("event", "send", "DeployEvent", "--title", "t", env=environ, expect=3)


# 4. `spool list` shows a set-aside reason masked and on one line, as -o json does.


def test_spool_list_shows_a_reason_escaped_and_masked(cli: Cli, httpserver: HTTPServer) -> None:
    queue(cli, httpserver, "refused")
    httpserver.expect_request(INTAKE).respond_with_data("bad \x1b[2J\x07 payload", status=400)
    cli("spool", "flush", env=env_for(httpserver), expect=4)
    (rejected,) = files_in(cli.home, "rejected")
    header, _, body = rejected.read_bytes().partition(b"\n")
    found = json.loads(header)
    assert "\x1b[2J\x07" in found["reason"]  # as the receiver said it
    # a reason written with the key in it (by a run that did not know it as a key)
    found["reason"] += f" (key {API_KEY})"
    rejected.write_bytes(json.dumps(found).encode() + b"\n" + body)
    environ = {"STAC_EVENTS_API_KEY": API_KEY}

    shown = cli("spool", "list", env=environ)
    assert "\x1b" not in shown.stdout
    assert "\x07" not in shown.stdout
    assert "bad \\x1b[2J\\x07 payload" in shown.stdout
    assert shown.stdout.count("\n") == 1
    assert no_secret(shown)
    assert "(key ***)" in shown.stdout
    (entry,) = cli("spool", "list", "-o", "json", env=environ).json()
    assert entry["reason"].endswith("(key ***)")


# 5. A signal the instant `config init`'s temporary file is made leaves no file behind.

# Sends SIGTERM to this process the instant the temporary file beside the config is made:
# the audit hook sees the `open` that makes it (before the file exists), and the profiler
# the next call or return after (`os.open`'s own return: the file exists, and nothing of
# the code after it has run). Then runs the command line as the console script does, with
# its own signal handling.
SIGNAL_WHEN_MADE = """
import os, signal, sys

armed = []

def hook(event, args):
    if event == "open" and not armed and isinstance(args[0], (str, os.PathLike)):
        name = os.path.basename(os.fspath(args[0]))
        if name.startswith(".conf.yaml.") and name.endswith(".tmp"):
            armed.append(True)

def profile(frame, event, arg):
    if armed == [True] and frame.f_code is not hook.__code__:
        armed.append(False)
        sys.setprofile(None)
        os.kill(os.getpid(), signal.SIGTERM)

sys.addaudithook(hook)
sys.setprofile(profile)
sys.argv[0] = "stac-events"
from stac_events.cli import run
run()
"""


def test_a_signal_as_config_init_makes_its_temporary_file_leaves_none(
    home: Path, processes: Processes
) -> None:
    # 143: the signal came, so the file had been made
    done = processes.run(sys.executable, "-c", SIGNAL_WHEN_MADE, "config", "init", "--url",
                         "https://sts.example.com/receiver", env={"STAC_EVENTS_API_KEY": API_KEY},
                         expect=143)  # fmt: skip
    assert done.stderr == "stac-events: terminated; nothing was sent\n"
    folder = home / ".config" / "stac-events"
    left: List[str] = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
    assert [name for name in left if name.endswith(".tmp")] == []
    assert "conf.yaml" not in left  # stopped before it was written


def test_a_full_disk_as_config_init_writes_leaves_no_temporary_file(cli: Cli, home: Path) -> None:
    folder = home / ".config" / "stac-events"
    with mounted_tmpfs(folder, "64k"):
        filler = folder / "filler"
        with contextlib.suppress(OSError), filler.open("wb", buffering=0) as stream:
            while True:  # until the disk is full
                stream.write(b"x" * 4096)
        result = cli("config", "init", "--url", "https://sts.example.com/receiver",
                     env={"STAC_EVENTS_API_KEY": API_KEY}, expect=3)  # fmt: skip
        assert "No space left on device" in result.stderr, result.stderr
        left = os.listdir(folder)
        assert [name for name in left if name.endswith(".tmp")] == [], left
        assert "conf.yaml" not in left


# 6. What a command line holds that a user did not mean, said as the user typed it.


def test_an_empty_command_is_not_found_as_a_shell_says(cli: Cli) -> None:
    result = cli("event", "wrap", "--dry-run", "--", "", expect=127)
    assert result.stderr.startswith(": command not found\n")
    assert '"exit_code":127' in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [([b"\xff"], "No such command '\\xff'"),
     ([b"caf\xe9"], "No such command 'caf\\xe9'"),
     ([b"event", b"wrap", b"--\xff", b"--", b"true"], "No such option: --\\xff"),
     ([b"event", b"send", b"E", b"--title", b"t", b"-c", b"\xff"], "'\\xff' is not a category"),
     ([b"--config", b"/tmp/\xff", b"config", b"show"], "/tmp/\\xff"),
     ([b"spool", b"drop", b"\xff"], "\\xff")],
)  # fmt: skip
def test_bytes_that_are_not_utf8_are_quoted_as_typed(
    processes: Processes, args: List[bytes], message: str
) -> None:
    status = 3 if b"--config" in args else 2  # a file that cannot be used, or a usage error
    stderr = processes.cli(*args, expect=status).stderr
    stderr.encode("utf-8")  # strictly: the bytes are quoted, none passed on as they came
    assert message in stderr
    assert "\\udc" not in stderr
    assert len(stderr.splitlines()) == 1


def test_a_flag_that_took_the_command_says_so(cli: Cli) -> None:
    """`-i urn:a make`: -i takes several values, so `make` was one; the error says that
    rather than ask for a command that was typed."""
    result = cli("event", "wrap", "--dry-run", "-i", "urn:a", "make", expect=2)
    assert result.stderr == (
        "stac-events: error: -i: took 'make' as one of its values, so no command is left "
        "to run; put '--' before the command: -- make deploy\n"
    )
