"""What `event wrap` keeps of a command's output is bounded by bytes, not lines: a progress
bar redrawn with \\r hundreds of thousands of times, megabytes with no newline, or a
command line of 600 KB still make an event the local receiver takes (8 MiB at most), and
its text ends with what the command printed last."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Dict, List

import pytest

from stac_events.wrapped_command import COMMAND_LINE_CHARS, TAIL_BYTES
from tests.conftest import Cli
from tests.processes import STAC_EVENTS, Processes

PROGRESS = "import sys\nfor i in range(300000):\n    sys.stdout.write(f'\\r{i} of 300000')\n"
NO_NEWLINE = "import sys\nfor _ in range(64):\n    sys.stdout.write('x' * 300000)\n"  # 19.2 MB


def stored(receiver: Any) -> Dict[str, Any]:
    (stored,) = receiver.events()
    return stored["event"]


def tail_of(event: Dict[str, Any]) -> List[str]:
    _, tail = event["msg_text"].split(" line(s) of output:\n")
    return tail.split("\n")


@pytest.fixture
def to_receiver(cli: Cli, local_receiver: Any) -> Cli:
    cli.environ.update({"STAC_EVENTS_RECEIVER_URL": local_receiver.url,
                        "STAC_EVENTS_API_KEY": "key-of-the-test"})  # fmt: skip
    cli.now = time.time()  # the receiver keeps no event a month old
    return cli


@pytest.mark.slow
def test_a_progress_bar_drawn_with_carriage_returns_keeps_its_last_lines(
    to_receiver: Cli, local_receiver: Any
):
    result = to_receiver("event", "wrap", "--", sys.executable, "-c", PROGRESS)
    assert result.stdout.count("\r") == 300000  # streamed through whole
    event = stored(local_receiver)
    assert tail_of(event) == [f"{i} of 300000" for i in range(299980, 300000)]
    assert len(json.dumps(event)) < 2 * TAIL_BYTES + COMMAND_LINE_CHARS + 1000


def test_megabytes_with_no_newline_keep_their_end(to_receiver: Cli, local_receiver: Any):
    result = to_receiver("event", "wrap", "--", sys.executable, "-c", NO_NEWLINE)
    assert len(result.stdout) == 64 * 300000
    (line,) = tail_of(stored(local_receiver))
    assert line == "…" + "x" * (TAIL_BYTES - len("…".encode()))


def test_many_long_lines_keep_the_last_ones_within_the_bound(to_receiver: Cli, local_receiver: Any):
    script = "for n in range(100):\n    print(str(n).rjust(1000, '.'))\n"
    to_receiver("event", "wrap", "--tail-lines", "50", "--", sys.executable, "-c", script)
    tail = tail_of(stored(local_receiver))
    whole = [str(n).rjust(1000, ".") for n in range(96, 100)]  # 4 of the 4 KiB
    cut = "…" + str(95).rjust(1000, ".")[-(TAIL_BYTES - 4000 - len("…".encode())) :]
    assert tail == [cut, *whole]  # and the end of the one before, in what is left


def test_windows_line_ends_make_no_empty_lines(to_receiver: Cli, local_receiver: Any):
    script = "import os\nfor line in (b'one\\r\\n', b'two\\r', b'\\n', b'three\\r\\n'):\n" \
             "    os.write(1, line)\n"  # fmt: skip
    to_receiver("event", "wrap", "--", sys.executable, "-c", script)
    assert tail_of(stored(local_receiver)) == ["one", "two", "three"]


def test_a_command_line_of_600_kb_is_cut_in_the_event(to_receiver: Cli, local_receiver: Any):
    numbers = [str(n) for n in range(100000)]
    to_receiver("event", "wrap", "--", "true", *numbers)
    event = stored(local_receiver)
    command = event["context"]["data"]["command"]
    assert len(command) == COMMAND_LINE_CHARS
    assert command.startswith("true 0 1 2 3 ")
    assert command.endswith("…")
    assert event["msg_text"].startswith(f"$ {command}\n")


def test_an_event_too_large_for_a_request_is_never_sent(
    to_receiver: Cli, local_receiver: Any, tmp_path: Any
):
    big = tmp_path / "big.txt"
    big.write_text("a" * (1 << 21))  # 2 MiB of text: over the 1 MiB request limit
    sent = to_receiver("event", "send", "DeployEvent", "--title", "t", "-m", f"@{big}", expect=2)
    assert "the event makes a body of 2097" in sent.stderr
    assert "over the request size limit of 1048576" in sent.stderr
    wrapped = to_receiver("event", "wrap", "-m", f"@{big}", "--", "sh", "-c", "exit 3", expect=3)
    assert "over the request size limit" in wrapped.stderr
    assert local_receiver.events() == []
    # told it may, it sends what the receiver takes (8 MiB here)
    to_receiver("event", "send", "DeployEvent", "--title", "t", "-m", f"@{big}",
                "--max-request-bytes", str(4 << 20))  # fmt: skip
    assert len(local_receiver.events()) == 1


def test_an_argument_that_is_not_utf_8_is_shown_escaped_not_a_lost_event(
    processes: Processes, local_receiver: Any
):
    env = {"STAC_EVENTS_RECEIVER_URL": local_receiver.url, "STAC_EVENTS_API_KEY": "any-key-1234"}
    # bash hands the bytes as they are; Python keeps them as surrogates
    processes.shell(f"\"{STAC_EVENTS}\" event wrap -- true $'caf\\xe9'", env=env)
    (stored,) = local_receiver.events()
    assert stored["event"]["context"]["data"]["command"] == "true 'caf\\xe9'"
