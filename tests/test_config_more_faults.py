"""More config files that PyYAML reads into a crash rather than an error, and `config init`'s
wizard given no answer or bytes that are no UTF-8: a configuration or usage error naming
the file and line, never exit 1, never a traceback, never the value.

The config files are real files in a temporary home, in each place a config file is
read from; the wizard runs as a real process on a real pseudo-terminal, typing Ctrl-D and
bytes that are no UTF-8 as a person at a keyboard does.
"""

from __future__ import annotations

import os
import pty
import select
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from pytest_httpserver import HTTPServer

from stac_events.status import ExitStatus
from tests.conftest import API_KEY, Cli, Result, no_secret
from tests.processes import STAC_EVENTS
from tests.test_config_faults import in_place, write

URL = "https://sts.example.com/receiver"
FILE_KEY = "FILE-secret-key-0123"
HEX = "0x" + "f" * 4298  # 4,300 characters; as a decimal number, 5,178 digits
NO_SUCH_CHARACTER = "a \\U escape past \\U0010FFFF names no character"
TOO_LARGE = "a number of more than 4,300 digits once written out, too large to use"

# Values that made stac-events exit 1: what each one is said to be, and a part of it that
# must not be echoed.
CRASHING = {
    "a \\U escape past the last character": ('"\\U00110000"', NO_SUCH_CHARACTER, "110000"),
    "a \\U escape of 8 Fs": ('"\\UFFFFFFFF"', NO_SUCH_CHARACTER, "UFFFFFFFF"),
    "a \\U escape past a C int": ('"\\U7FFFFFFF"', NO_SUCH_CHARACTER, "7FFFFFFF"),
    "a hex number of 5,178 decimal digits": (HEX, TOO_LARGE, "f" * 40),
}

# Each value goes in one of three places, on the line given; the others hold plain values.
TEMPLATE = """\
instances:
  default:
    base_api:
      note: {note}
    receiver_api:
      url: {url}
    clients:
      default:
        api_key: FILE-secret-key-0123
        hostname: {hostname}
        internal_hostname: {internal_hostname}
"""
PLACES = {
    "note": (4, "instances.default.base_api.note"),  # a section stac-events never reads
    "hostname": (10, "instances.default.clients.default.hostname"),
    "internal_hostname": (11, "instances.default.clients.default.internal_hostname"),
}

COMMANDS = {
    "config show": ["config", "show"],
    "event send": ["event", "send", "DeployEvent", "--title", "t", "--retries", "0"],
    "event send --dry-run": ["event", "send", "DeployEvent", "--title", "t", "--dry-run"],
    "config init": ["config", "init"],
}
DOCUMENTED = {int(status) for status in ExitStatus} - {ExitStatus.INTERNAL_ERROR}


def config_text(place: str, value: str, url: str = URL) -> str:
    values = {"note": "plain", "hostname": "web-1", "internal_hostname": "web-1.internal"}
    return TEMPLATE.format(url=url, **{**values, place: value})


def sound(result: Result, hidden: str) -> None:
    """A documented status, one line of plain words, neither the value nor a key."""
    assert result.status in DOCUMENTED, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    assert hidden not in result.output
    assert no_secret(result, [API_KEY, FILE_KEY]), result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize(("value", "reason", "hidden"), CRASHING.values(), ids=list(CRASHING))
def test_a_value_python_cannot_hold_is_a_config_error_at_its_line(
    cli: Cli, home: Path, receiver: HTTPServer, command: str, place: str, value: str,
    reason: str, hidden: str,
) -> None:  # fmt: skip
    text = config_text(place, value, url=receiver.url_for("/receiver"))
    path = write(home / "conf.yaml", text)
    given = ["--url", receiver.url_for("/receiver"), "--api-key", API_KEY]  # no need of the file
    result = cli("--config", str(path), *COMMANDS[command], *given, expect=3)
    sound(result, hidden)
    line, keys = PLACES[place]
    if reason == NO_SUCH_CHARACTER:  # PyYAML stops in the middle of the file: no keys yet
        assert result.stderr == f"stac-events: error: {path}:{line}: not valid YAML: {reason}\n"
    else:
        assert result.stderr == f"stac-events: error: {path}:{line}: {keys}: {reason}\n"
    assert path.read_text(encoding="utf-8") == text  # `config init` did not touch it
    assert not receiver.log


@pytest.mark.parametrize("where", ["--config", "$STAC_EVENTS_CONFIG", "user config dir",
                                   "stac CLI"])  # fmt: skip
@pytest.mark.parametrize(("value", "reason", "hidden"), CRASHING.values(), ids=list(CRASHING))
def test_every_config_file_read_answers_alike(
    cli: Cli, home: Path, where: str, value: str, reason: str, hidden: str
) -> None:
    path, flags, env = in_place(home, where, config_text("hostname", value))
    for command in ("config show", "event send --dry-run", "config init"):
        given = ["--url", URL, "--api-key", API_KEY] if command == "config init" else []
        result = cli(*flags, *COMMANDS[command], *given, env=env, expect=3)
        sound(result, hidden)
        assert f"error: {path}:10: " in result.stderr
        assert reason in result.stderr


def test_the_bound_is_python_s_to_the_digit(cli: Cli, home: Path) -> None:
    # 4,300 decimal digits is the most Python writes: 10 ** 4300 - 1 is read, written in
    # hex (3,573 characters); 10 ** 4300 is not.
    path = write(home / "conf.yaml", config_text("note", hex(10**4300 - 1)))
    result = cli("--config", str(path), "config", "show", "-o", "json")
    assert result.json()["config_file"]["value"] == str(path)
    path = write(home / "conf.yaml", config_text("note", hex(10**4300)))
    result = cli("--config", str(path), "config", "show", expect=3)
    assert f"{path}:4: instances.default.base_api.note: {TOO_LARGE}" in result.stderr


def test_a_lower_bound_of_python_s_own_is_the_one_named(run_script, home: Path) -> None:
    # PYTHONINTMAXSTRDIGITS lowers Python's bound (to 640 at least): a hex number of 700
    # characters passes the length check, and its 840 digits must not reach str().
    path = write(home / "conf.yaml", config_text("hostname", "0x" + "f" * 698))
    env = {"PYTHONINTMAXSTRDIGITS": "640"}
    failed = run_script("stac-events", "--config", str(path), "config", "show", env=env,
                        expect=3)  # fmt: skip
    assert failed.stderr == (
        f"stac-events: error: {path}:10: instances.default.clients.default.hostname: "
        "a number of more than 640 digits once written out, too large to use\n"
    )


@pytest.mark.parametrize(("value", "reason", "hidden"), CRASHING.values(), ids=list(CRASHING))
def test_a_real_process_answers_with_exit_3(
    run_script, home: Path, value: str, reason: str, hidden: str
) -> None:
    path = write(home / ".config" / "stac-events" / "conf.yaml", config_text("note", value))
    failed = run_script("stac-events", "event", "send", "DeployEvent", "--title", "t",
                        "--url", URL, "--api-key", API_KEY, "--dry-run",
                        expect=3)  # fmt: skip
    sound(failed, hidden)
    assert f"error: {path}:4: " in failed.stderr
    assert reason in failed.stderr


# Characters no YAML file may hold: said at their line, in words.


@pytest.mark.parametrize(
    ("character", "said"),
    [("\x07", "it holds U+0007, a control character that YAML does not allow; remove it, "
              "or write it as \\x07 inside double quotes"),
     ("\x00", "it holds U+0000, a control character"),
     ("\x1b", "it holds U+001B, a control character"),
     ("\x7f", "it holds U+007F, a control character"),
     ("\ufffe", "it holds U+FFFE, a character that YAML does not allow; remove it, or write "
                "it as \\uFFFE inside double quotes")],
    ids=["bell", "NUL", "escape", "delete", "U+FFFE"],
)  # fmt: skip
@pytest.mark.parametrize("command", ["config show", "config init"])
def test_a_character_yaml_does_not_allow_is_named_at_its_line(
    cli: Cli, home: Path, character: str, said: str, command: str
) -> None:
    text = config_text("note", f'"before {character} after"')
    path = write(home / "conf.yaml", text)
    given = ["--url", URL, "--api-key", API_KEY] if command == "config init" else []
    result = cli("--config", str(path), *COMMANDS[command], *given, expect=3)
    sound(result, "before")
    assert result.stderr.startswith(f"stac-events: error: {path}:4: not valid YAML: {said}")
    assert path.read_text(encoding="utf-8") == text


def test_the_line_counts_crlf_line_ends_once(cli: Cli, home: Path) -> None:
    path = home / "conf.yaml"
    path.write_bytes(config_text("internal_hostname", '"a\x00b"').replace("\n", "\r\n").encode())
    result = cli("--config", str(path), "config", "show", expect=3)
    assert f"error: {path}:11: not valid YAML: it holds U+0000" in result.stderr


# `config init`'s wizard, on a real terminal.


def on_the_terminal(home: Path, environ: Dict[str, str], typed: List[Tuple[str, bytes]]
                    ) -> Tuple[int, bytes]:  # fmt: skip
    """Run `stac-events config init` on a new pseudo-terminal, typing each `(prompt, keys)`
    once the prompt shows; its exit status, and all the terminal showed."""
    env = {**environ, "TERM": "dumb", "NO_COLOR": "1"}
    pid, terminal = pty.fork()  # not through tests/processes.py: the wizard needs a terminal
    if pid == 0:  # the child: a session of its own, the terminal its controlling one
        os.chdir(home)
        os.execve(STAC_EVENTS, [STAC_EVENTS, "config", "init"], env)
    shown = b""
    since = 0  # where the output after the last keys typed starts
    deadline = time.monotonic() + 60  # a safety net: the wizard answers at once
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the child ended and the terminal closed
                break
            if not chunk:
                break
            shown += chunk
            # A prompt shows once its echo is off: keys typed before it would be echoed.
            if typed and typed[0][0].encode() in shown[since:]:
                os.write(terminal, typed.pop(0)[1])
                since = len(shown)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    return os.waitstatus_to_exitcode(status), shown


# The key is read from the terminal itself (/dev/tty), in the locale's encoding and
# strictly; the other answers from stdin, which is as strict in a UTF-8 locale other than
# C.UTF-8 (en_US.UTF-8, which this machine may not have: PYTHONIOENCODING says the same).
STRICT_STDIN = {"PYTHONIOENCODING": "utf-8:strict"}


@pytest.mark.parametrize(
    ("typed", "environ", "said"),
    [([("Receiver address", URL.encode() + b"\n"), ("Receiver API key", b"\x04")], {},
      "no answer to 'Receiver API key': the input ended"),
     ([("Receiver address", URL.encode() + b"\n"), ("Receiver API key", b"\xff\xfekey\n")],
      {}, "the answer to 'Receiver API key' is not UTF-8 text"),
     ([("Receiver address", b"\x04")], {}, "no answer to 'Receiver address': the input ended"),
     ([("Receiver address", b"https://\xe9t\xe9.example.com\n")], STRICT_STDIN,
      "the answer to 'Receiver address' is not UTF-8 text")],
    ids=["ctrl-d-for-the-key", "key-not-utf8", "ctrl-d-for-the-address", "address-not-utf8"],
)  # fmt: skip
def test_the_wizard_given_no_answer_or_no_utf8_is_a_usage_error(
    home: Path, isolated_environ: Dict[str, str], typed: List[Tuple[str, bytes]],
    environ: Dict[str, str], said: str,
) -> None:  # fmt: skip
    status, shown = on_the_terminal(home, {**isolated_environ, **environ}, list(typed))
    text = shown.decode("utf-8", "replace")
    assert status == ExitStatus.USAGE, text
    # One line, of its own: not after the question, which Ctrl-D leaves without a newline.
    errors = [line for line in text.split("\r\n") if "error" in line]
    assert errors == [f"stac-events: error: {said}"], text
    assert "Traceback" not in text
    assert not (home / ".config" / "stac-events" / "conf.yaml").exists()


def test_the_wizard_asks_again_for_an_empty_key(
    home: Path, isolated_environ: Dict[str, str]
) -> None:
    # Enter alone is no end of input: the key is asked for again, and taken.
    typed = [("Receiver address", URL.encode() + b"\n"), ("Receiver API key", b"\n"),
             ("Receiver API key", API_KEY.encode() + b"\n"),
             ("Host name to report", b"\n")]  # fmt: skip
    status, shown = on_the_terminal(home, isolated_environ, typed)
    assert status == 0, shown
    assert b"A value is needed" in shown
    assert API_KEY.encode() not in shown  # typed without echo
    assert API_KEY in (home / ".config" / "stac-events" / "conf.yaml").read_text()
