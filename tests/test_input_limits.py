"""Inputs without end, or beyond what any request carries: `yes` on stdin, endless lines,
devices and /proc files, FIFOs that no program writes to, a full temporary folder, numbers
too long to be numbers, event names given twice. Each is read as a stream, bounded, and
ends with its documented status and one line on stderr: never exit 1, never a hang.

Every run is the installed `stac-events` as a real process, fed by real processes, pipes,
devices and files, under an address-space limit (`ulimit -v`): a read without bound fails
there (exit 1, MemoryError) rather than take the machine. Its peak memory comes from wait4.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Dict, Iterator, List, NamedTuple, Optional, Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Cli, events_of, mounted_tmpfs
from tests.processes import STAC_EVENTS

pytestmark = pytest.mark.slow  # endless inputs to real processes under a memory limit

SEND = ("event", "send", "--dry-run")
ONE = ("event", "send", "DeployEvent", "--title", "t", "--dry-run")
EVENT = '{"event_type": "AEvent", "msg_title": "t"}'
MIB = 1 << 20
ADDRESS_SPACE = 2048 * MIB  # more than any bounded run needs, far less than the machine has


class Ran(NamedTuple):
    status: int
    stdout: bytes
    stderr: str
    peak_mib: float  # the process's peak resident memory


# Runs a command under an address-space limit, and reports its peak resident memory. The
# command is forked from this small interpreter, not from the test's: Linux counts in a
# process's peak the memory of the process it was forked from (pytest's, hundreds of MiB
# late in a suite run), and this one holds a few.
MEASURED = """
import os, resource, signal, sys
limit, report, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as out:
    out.write(str(usage.ru_maxrss))
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
"""


def run(
    home: Path,
    environ: Dict[str, str],
    *args: str,
    stdin: Union[int, IO[bytes], None] = subprocess.DEVNULL,
    env: Optional[Dict[str, str]] = None,
    timeout: float = 120,
) -> Ran:
    """`stac-events ARGS` as a real process, its address space limited as a user's `ulimit
    -v` would; killed (and the test failed) if it outlives `timeout`, which is only a
    safety net: every run here is meant to end on its own.

    Not through tests/processes.py, which reads output into memory: here what the command
    writes goes to files (a dry run of endless input writes without end), and the status
    is the one MEASURED passes on, checked by each test with the peak it measured."""
    report = home / "peak"
    limited = [sys.executable, "-c", MEASURED, str(ADDRESS_SPACE), str(report), STAC_EVENTS,
               *args]  # fmt: skip
    with open(home / "out", "w+b") as out, open(home / "err", "w+b") as err:
        process = subprocess.Popen(limited, stdin=stdin, stdout=out, stderr=err, cwd=home,
                                   env={**environ, **(env or {})},
                                   start_new_session=True)  # fmt: skip
        killer = threading.Timer(timeout, lambda: os.killpg(process.pid, signal.SIGKILL))
        killer.start()
        try:
            status = process.wait()
        finally:
            killer.cancel()
        assert status != -signal.SIGKILL, f"still running after {timeout} s: {args}"
        out.seek(0)
        err.seek(0)
        peak = int(report.read_text()) / 1024
        return Ran(status, out.read(), err.read().decode(errors="replace"), peak)


@contextlib.contextmanager
def producer(command: str) -> Iterator[IO[bytes]]:
    """The read end of a pipe that a real shell command writes into (`yes`, `tr ...`): for
    a command to read as its stdin, so not through tests/processes.py, which reads it."""
    process = subprocess.Popen(["sh", "-c", command], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    assert process.stdout is not None
    try:
        yield process.stdout
    finally:
        process.stdout.close()  # its writer then ends on SIGPIPE, if not before
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def one_line(ran: Ran, status: int, message: str) -> None:
    """The run ended with `status` and said `message` in one line: no traceback, no bug."""
    assert ran.status == status, ran.stderr
    assert message in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    assert "internal error" not in ran.stderr


@pytest.fixture
def small_tmp(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, for TMPDIR: a copy of an endless input fills it at once."""
    with mounted_tmpfs(tmp_path / "small-tmp", "1m") as mount:
        yield mount


def sender_env(receiver: Any) -> Dict[str, str]:
    return {"STAC_EVENTS_RECEIVER_URL": receiver.url, "STAC_EVENTS_API_KEY": "any-key"}


# 1. Endless stdin: read as a stream, validated while read, never copied whole


def send_from(command: str, home: Path, environ: Dict[str, str], tmp: Path) -> Ran:
    """`event send --file -` reading what `command` writes, with a small TMPDIR."""
    with producer(command) as stdin:
        return run(home, environ, *SEND, "--file", "-", stdin=stdin, env={"TMPDIR": str(tmp)})


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("yes", "--file: stdin: neither JSON nor NDJSON (it starts with 'y')"),
        ("yes '{\"event_type\": \"AEvent\"}'", "--file: stdin line 1: msg_title: Field required"),
        (f"printf '{EVENT}\\n\\n'; yes '{{oops}}'", "--file: stdin line 3: not valid JSON"),
        (f"printf '[{EVENT}'; yes ', {{\"msg_title\": \"no type\"}}'",
         "--file: stdin[1]: the event has no event_type"),
    ],
)  # fmt: skip
def test_endless_stdin_stops_at_its_first_bad_event(
    home: Path, isolated_environ: Dict[str, str], small_tmp: Path, command: str, message: str
) -> None:
    ran = send_from(command, home, isolated_environ, small_tmp)
    one_line(ran, 2, message)
    assert ran.peak_mib < 200


@pytest.mark.parametrize(
    ("command", "piece"),
    [
        ("printf '{\"a\": \"'; tr '\\0' a </dev/zero", "stdin line 1: the line"),
        ("printf '[{\"a\": \"'; tr '\\0' a </dev/zero", "stdin[0]: the element"),
        ("printf '{\\n\"a\": \"'; tr '\\0' a </dev/zero", "stdin line 1: the JSON document"),
    ],
    ids=["line", "element", "document"],
)
def test_an_endless_piece_is_refused_with_bounded_memory(
    home: Path, isolated_environ: Dict[str, str], small_tmp: Path, command: str, piece: str
) -> None:
    ran = send_from(command, home, isolated_environ, small_tmp)
    one_line(ran, 2, f"--file: {piece} is longer than 128 MiB, more than any request carries")
    # one piece of 128 Mi characters, and a copy or two of it while it is joined; no more
    assert ran.peak_mib < 768


def test_an_endless_line_of_letters_is_refused_at_its_first(
    home: Path, isolated_environ: Dict[str, str], small_tmp: Path
) -> None:
    with producer("tr '\\0' a </dev/zero") as stdin:
        ran = run(home, isolated_environ, *SEND, "--file", "-", stdin=stdin,
                  env={"TMPDIR": str(small_tmp)})  # fmt: skip
    one_line(ran, 2, "--file: stdin: neither JSON nor NDJSON (it starts with 'a')")
    assert ran.peak_mib < 200


# 2. The validated events wait in the temporary folder: bounded, and a full one is exit 3


def test_endless_valid_events_on_stdin_fill_the_temporary_folder_exit_3(
    home: Path, isolated_environ: Dict[str, str], small_tmp: Path
) -> None:
    with producer(f"yes '{EVENT}'") as stdin:
        ran = run(home, isolated_environ, *SEND, "--file", "-", stdin=stdin,
                  env={"TMPDIR": str(small_tmp)})  # fmt: skip
    one_line(ran, 3, f"cannot keep the events in {small_tmp}: No space left on device; "
                     f"free some room there, or set TMPDIR to a folder that has it")  # fmt: skip
    assert os.listdir(small_tmp) == []  # nothing left behind


def test_a_file_of_events_larger_than_the_temporary_folder_exit_3(
    home: Path, isolated_environ: Dict[str, str], small_tmp: Path, tmp_path: Path
) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text((EVENT + "\n") * 20_000)  # ~2 MiB of wire form, in a 1 MiB folder
    ran = run(home, isolated_environ, *SEND, "--file", str(events),
              env={"TMPDIR": str(small_tmp)})  # fmt: skip
    one_line(ran, 3, f"cannot keep the events in {small_tmp}: No space left on device")
    assert ran.stdout == b""  # all or nothing: no payload printed


ENDLESS_LARGE_EVENTS = """
import json, sys
line = (json.dumps({"event_type": "AEvent", "msg_title": "t", "msg_text": "x" * (16 << 20)})
        + "\\n").encode()
try:
    while True:
        sys.stdout.buffer.write(line)
except (BrokenPipeError, OSError):
    pass
"""


def test_endless_valid_events_stop_at_the_batch_bound(
    home: Path, isolated_environ: Dict[str, str], tmp_path: Path
) -> None:
    # a temporary folder with room for the bound (1 GiB), in memory: no disk is worn
    writer = f"exec {shlex.quote(sys.executable)} -c {shlex.quote(ENDLESS_LARGE_EVENTS)}"
    with mounted_tmpfs(tmp_path / "roomy-tmp", "1100m") as roomy, producer(writer) as stdin:
        ran = run(home, isolated_environ, *SEND, "--file", "-", "--max-request-bytes",
                  str(64 * MIB), stdin=stdin, env={"TMPDIR": str(roomy)},
                  timeout=600)  # fmt: skip
        assert os.listdir(roomy) == []
    one_line(ran, 2, "the most one run sends; split the input, and send the parts one by one")
    assert re.search(r"--file: stdin line \d+: the events up to here come to more than 1 GiB",
                     ran.stderr)  # fmt: skip


# 3. Common JSON objects that give an event name (or a field) twice


def common_object(events: str) -> str:
    head = '"collection_timestamp": 1700000000, "internalHostname": "h"'
    others = '"metrics": [], "service_checks": [], "topologies": [], "health": []'
    return f'{{{head}, "events": {events}, {others}}}'


def titled(*titles: str) -> str:
    return "[" + ", ".join(f'{{"event_type": "DeployEvent", "msg_title": "{t}"}}'
                           for t in titles) + "]"  # fmt: skip


ONE_LINE_TWICE = common_object(f'{{"DeployEvent": {titled("A", "B")}, '
                               f'"DeployEvent": {titled("C")}}}')  # fmt: skip
PRETTY_TWICE = f"""{{
  "collection_timestamp": 1700000000,
  "internalHostname": "h",
  "events": {{
    "DeployEvent": {titled("A", "B")},
    "DeployEvent": {titled("C")}
  }},
  "metrics": [], "service_checks": [], "topologies": [], "health": []
}}
"""
HOST_TWICE = ('{"internalHostname": "h", "internalHostname": "g", '
              f'"events": {{"DeployEvent": {titled("A")}}}}}')  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{EVENT}\n{ONE_LINE_TWICE}\n", "events.json line 2: events.DeployEvent is given twice"),
        ("\n" + PRETTY_TWICE, "events.json line 2: events.DeployEvent is given twice"),
        (HOST_TWICE, "events.json line 1: the common JSON object gives 'internalHostname' twice"),
    ],
    ids=["ndjson", "pretty", "field"],
)
def test_a_name_given_twice_in_a_common_object_is_refused(
    home: Path, isolated_environ: Dict[str, str], local_receiver: Any, text: str, message: str
) -> None:
    (home / "events.json").write_text(text)
    ran = run(home, isolated_environ, "event", "send", "--file", "events.json",
              env=sender_env(local_receiver))  # fmt: skip
    one_line(ran, 2, f"--file: {message}")
    assert local_receiver.events() == []  # all or nothing: not even the event before it


def test_names_given_once_are_all_sent(
    home: Path, isolated_environ: Dict[str, str], local_receiver: Any
) -> None:
    (home / "events.json").write_text(
        PRETTY_TWICE.replace('"DeployEvent": [{"event_type": "DeployEvent", "msg_title": "C"',
                             '"OtherEvent": [{"event_type": "OtherEvent", "msg_title": "C"')
    )  # fmt: skip
    ran = run(home, isolated_environ, "event", "send", "--file", "events.json", "-q",
              env=sender_env(local_receiver))  # fmt: skip
    assert ran.status == 0, ran.stderr
    stored = local_receiver.events()
    assert sorted(e["event"]["msg_title"] for e in stored) == ["A", "B", "C"]


# 4. A whole number of 5,000 digits: Python's json and pydantic-core refuse it, differently

LONG = "1" * 5000
WITH_LONG = '{"event_type": "AEvent", "msg_title": "t", "context": {"data": {"n": ' + LONG + "}}}"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (json.dumps({"event_type": "AEvent", "msg_title": "t", "n": 1}, indent=2)
         .replace('"n": 1', f'"n": {LONG}'), "events.json line 1"),
        (f"[{EVENT}, {WITH_LONG}]", "events.json[1]"),
        (WITH_LONG + "\n", "events.json line 1"),
        (f"{EVENT}\n{WITH_LONG}\n", "events.json line 2"),
    ],
    ids=["document", "array", "ndjson-first-line", "ndjson-later-line"],
)  # fmt: skip
def test_a_number_of_5000_digits_is_a_usage_error(
    home: Path, isolated_environ: Dict[str, str], text: str, where: str
) -> None:
    (home / "events.json").write_text(text)
    ran = run(home, isolated_environ, *SEND, "--file", "events.json")
    one_line(ran, 2, f"--file: {where}: not valid JSON (a number longer than 4300 digits; "
                     f"send it as text)")  # fmt: skip


# 5. Files that are no files of events: devices, /proc, directories, FIFOs


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/proc/self/mem", "--file: /proc/self/mem: cannot be read: Input/output error"),
        ("/proc/self/fd/99", "--file: cannot read /proc/self/fd/99: No such file or directory"),
        (".", "--file: cannot read .: Is a directory"),
        ("/dev/zero", "--file: /dev/zero: neither JSON nor NDJSON (it starts with '\\x00')"),
        ("/dev/urandom", "--file: /dev/urandom: not UTF-8 text"),
    ],
)
def test_a_file_that_holds_no_events_is_a_usage_error(
    home: Path, isolated_environ: Dict[str, str], path: str, message: str
) -> None:
    ran = run(home, isolated_environ, *SEND, "--file", path)  # fd 99 is closed in the child
    one_line(ran, 2, message)
    assert ran.peak_mib < 200


FIFO_ANSWER = "it is a FIFO that no program opened for writing within 10 s"


@pytest.mark.parametrize("flags", [[*SEND, "--file"], [*ONE, "-m"]], ids=["file", "text"])
def test_a_fifo_that_no_program_writes_to_is_not_waited_for_forever(
    home: Path, isolated_environ: Dict[str, str], tmp_path: Path, flags: List[str]
) -> None:
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    value = str(fifo) if flags[-1] == "--file" else f"@{fifo}"
    ran = run(home, isolated_environ, *flags, value, timeout=60)
    one_line(ran, 2, FIFO_ANSWER)


def test_a_fifo_whose_writer_leaves_without_a_word_holds_no_events(
    home: Path, isolated_environ: Dict[str, str], tmp_path: Path
) -> None:
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    # a real writer: it opens the FIFO (waiting for the reader), then closes it unwritten
    with producer(f"exec 3>{fifo}"):
        ran = run(home, isolated_environ, *SEND, "--file", str(fifo), timeout=60)
    one_line(ran, 2, f"--file: {fifo}: no events in it")


# 6. `-m`/`--text` and `-d`/`--data` values read from files and stdin: bounded too


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-m", "@/dev/zero"], "--text: text file '/dev/zero' holds more than 64 MiB, more "
                               "than any request can carry"),
        (["-d", "@/dev/zero"], "--data: data file '/dev/zero' holds more than 64 MiB"),
        (["-m", "@/dev/urandom"], "--text: cannot read text file '/dev/urandom': not UTF-8 text"),
        (["-d", "@/dev/urandom"], "--data: cannot read data file '/dev/urandom': not UTF-8 "),
        (["-m", "@/proc/self/mem"], "--text: cannot read text file '/proc/self/mem': Input/out"),
    ],
)  # fmt: skip
def test_a_text_or_data_file_without_end_is_a_usage_error(
    home: Path, isolated_environ: Dict[str, str], flags: List[str], message: str
) -> None:
    ran = run(home, isolated_environ, *ONE, *flags)
    one_line(ran, 2, message)
    assert ran.peak_mib < 400  # at most 64 MiB held, and its text


def test_endless_text_on_stdin_is_a_usage_error(
    home: Path, isolated_environ: Dict[str, str]
) -> None:
    with producer("yes") as stdin:
        ran = run(home, isolated_environ, *ONE, "-m", "-", stdin=stdin)
    one_line(ran, 2, "--text: stdin holds more than 64 MiB, more than any request can carry")
    assert ran.peak_mib < 400


def test_text_up_to_the_bound_is_still_read(
    home: Path, isolated_environ: Dict[str, str], tmp_path: Path
) -> None:
    text = tmp_path / "text.txt"
    text.write_bytes(b"x" * (2 * MIB) + b"\n")
    # a request may carry it when the receiver takes that much
    ran = run(home, isolated_environ, *ONE, "-m", f"@{text}", "--max-request-bytes", str(4 * MIB))
    assert ran.status == 0, ran.stderr
    (event,) = json.loads(ran.stdout)["events"]["DeployEvent"]
    assert event["msg_text"] == "x" * (2 * MIB)


# 7. Memory stays flat however long stdin is


def test_memory_stays_flat_for_200000_events_on_stdin(
    home: Path, isolated_environ: Dict[str, str], tmp_path: Path
) -> None:
    peaks = {}
    for count in (20_000, 200_000):
        events = tmp_path / f"{count}.ndjson"
        with events.open("w") as stream:
            for number in range(count):
                stream.write(json.dumps({"event_type": "DeployEvent", "msg_title": f"n{number}",
                                         "context": {"data": {"run": number}}}) + "\n")  # fmt: skip
        with producer(f"cat {events}") as stdin:
            ran = run(home, isolated_environ, *SEND, "--file", "-", stdin=stdin, timeout=600)
        assert ran.status == 0, ran.stderr
        assert f"dry run: {count} event(s)" in ran.stderr
        peaks[count] = ran.peak_mib
    assert peaks[200_000] - peaks[20_000] < 16, peaks


# 8. The array reader holds one element at a time: an element cut by a read mends

FIRST_READ = 1 + 64 * 1024  # the '[' read alone, then 64 Ki characters at once


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(cut_back=st.integers(0, 200), space=st.sampled_from(["", " ", "\n", "\t \n "]),
       ascii_only=st.booleans())  # fmt: skip
def test_an_array_element_cut_anywhere_by_a_read_is_read_whole(
    cli: Cli, cut_back: int, space: str, ascii_only: bool
) -> None:
    # the first read ends `cut_back` characters before the end of the first element: in a
    # number, a `true`, a `null`, a `\u00e9` escape, between two tokens, or in the space
    def event(title: str) -> Dict[str, Any]:
        return {"msg_title": title, "event_type": "AEvent",
                "context": {"data": {"yes": True, "none": None, "neg": -1.5e3, "n": 12345678}},
                "timestamp": 1_700_000_000, "msg_text": 'caf\u00e9 "q" \\'}  # fmt: skip

    def dumped(title: str) -> str:
        return json.dumps(event(title), ensure_ascii=ascii_only)

    before = len("[" + space + dumped(""))
    pad = "x" * (FIRST_READ + cut_back - before)
    events = [event(pad), event("second")]
    text = "[" + space + f",{space}".join(dumped(e["msg_title"]) for e in events) + space + "]"
    assert len("[" + space + dumped(pad)) - FIRST_READ == cut_back  # where the read ends
    result = cli(*SEND, "--file", "-", stdin=text)
    sent = [e for line in result.stdout.splitlines() for e in events_of(json.loads(line))]
    assert [e["msg_title"] for e in sent] == [pad, "second"]
    assert all(e["context"]["data"] == event("")["context"]["data"] for e in sent)
    assert all(e["msg_text"] == 'caf\u00e9 "q" \\' for e in sent)


# 8. Answers an attack found missing: empty values given, addresses no host can have,
#    paths that would forge a line, a basic-auth password that is not Latin-1.


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", ""], "--url: is empty"),
        (["--api-key", " "], "--api-key: is empty"),
        (["-m", "-"], "--text: stdin holds no text"),
        (["-m", "@/dev/null"], "--text: /dev/null holds no text"),
        (["-m", "@"], "--text: no text file is named after '@'"),
    ],
)
def test_an_empty_value_given_is_a_usage_error(
    home: Path, isolated_environ: Dict[str, str], args: List[str], message: str
) -> None:
    environ = {**isolated_environ, "STAC_EVENTS_RECEIVER_URL": "http://127.0.0.1:9/receiver",
               "STAC_EVENTS_API_KEY": "any-key-1234"}  # fmt: skip
    with producer("printf '  \\n'") as stdin:
        ran = run(home, environ, *ONE, *args, stdin=stdin)
    one_line(ran, 2, message)


@pytest.mark.parametrize(
    ("url", "says"),
    [("http://a..b.com", "is not an http(s) URL"), ("not a url", "is not an http(s) URL"),
     ("http://.com", "is not an http(s) URL"), (f"http://{'a' * 64}.com", "is not an http(s) URL"),
     (f"http://{'a.' * 150}com", "is not an http(s) URL"),
     (f"http://{'a' * 100000}.com", "more than a receiver address may be (8192 bytes)")],
    ids=["two dots", "spaces", "a leading dot", "a 64-character part", "a 303-character name",
         "100,000 characters"],
)  # fmt: skip
@pytest.mark.parametrize("command", ["send", "wrap", "check"])
def test_an_address_no_host_can_have_is_a_configuration_error(
    home: Path, isolated_environ: Dict[str, str], url: str, says: str, command: str
) -> None:
    environ = {**isolated_environ, "STAC_EVENTS_RECEIVER_URL": url,
               "STAC_EVENTS_API_KEY": "any-key-1234"}  # fmt: skip
    argv = {"send": ["event", "send", "DeployEvent", "--title", "t"],
            "wrap": ["event", "wrap", "--", "touch", str(home / "ran")],
            "check": ["check"]}[command]  # fmt: skip
    ran = run(home, environ, *argv)
    one_line(ran, 3, says)
    assert len(ran.stderr) < 400
    assert not (home / "ran").exists()  # wrap stops before the command runs
    assert not list(home.rglob("*.payload"))  # nothing queued for an address never reached


def test_brackets_that_hold_no_ipv6_address_are_a_configuration_error(
    home: Path, isolated_environ: Dict[str, str]
) -> None:
    """On every Python: 3.10's urlsplit takes `[zz]` for a host name, 3.11's refuses it."""
    environ = {**isolated_environ, "STAC_EVENTS_RECEIVER_URL": "http://[zz]:7077/receiver",
               "STAC_EVENTS_API_KEY": "any-key-1234"}  # fmt: skip
    ran = run(home, environ, "event", "send", "DeployEvent", "--title", "t")
    one_line(ran, 3, "'zz' does not appear to be an IPv4 or IPv6 address")
    assert not list(home.rglob("*.payload"))


def test_a_path_with_a_newline_cannot_forge_a_line(
    home: Path, isolated_environ: Dict[str, str]
) -> None:
    ran = run(home, isolated_environ, *SEND, "--file", "x\nstac-events: sent 5 events")
    one_line(ran, 2, "cannot read x\\nstac-events: sent 5 events")


def test_a_basic_auth_password_that_is_not_latin_1_is_sent_in_utf_8(
    home: Path, isolated_environ: Dict[str, str], httpserver: Any, tmp_path: Path
) -> None:
    import base64

    seen: List[str] = []

    def handler(request: Any) -> Any:
        from werkzeug import Response

        seen.append(request.headers.get("Authorization", ""))
        return Response("", status=202)

    httpserver.expect_request("/receiver/stsAgent/intake").respond_with_handler(handler)
    config = tmp_path / "conf.yaml"
    config.write_text(
        "instances:\n  default:\n    receiver_api:\n"
        f"      url: {httpserver.url_for('/receiver')}\n"
        '      basic_auth: {username: bob, password: "päss中"}\n'
        "    clients:\n      default:\n        api_key: any-key-1234\n",
        encoding="utf-8",
    )
    config.chmod(0o600)
    ran = run(home, isolated_environ, "--config", str(config), "event", "send", "DeployEvent",
              "--title", "t")  # fmt: skip
    assert ran.status == 0, ran.stderr
    (header,) = seen
    assert base64.b64decode(header.split()[1]).decode("utf-8") == "bob:päss中"
