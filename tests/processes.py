"""How the suite runs real processes: the installed CLI, the local receiver, a shell snippet.

One way everywhere. The environment is built from the test's own home (`environ_for`),
plus what a call adds; stdin is /dev/null unless a test gives one; output is read as bytes
and decoded alike (`decoded`); every wait is bounded; and an exit status other than the
one the test expects fails the test with what the process printed, as HTTPie's `http()`
does. A started server is waited for by the line it prints, never by a sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import pytest

BIN_DIR = Path(sys.executable).parent
RUN_TIMEOUT_S = 60  # for a run meant to end on its own: only a safety net
READY_WAIT_S = 300  # for a started process to say it is ready, on the busiest machine
SHOWN_CHARS = 20_000  # of each stream, in a failure's message

# Each shell with its start-up files left out: what runs is the snippet alone.
SHELLS = {
    "bash": ["bash", "--norc", "--noprofile"],
    "sh": ["sh"],
    "zsh": ["zsh", "-f"],
    "fish": ["fish", "--no-config"],
}

Command = Sequence[Union[str, bytes, "os.PathLike[str]"]]
Stdin = Union[None, str, bytes, int, IO[Any]]


def script(name: str = "stac-events") -> str:
    """The console script `name` (`stac-events` or `stac`) of the environment under test."""
    return str(BIN_DIR / name)


STAC_EVENTS = script("stac-events")


def environ_for(home: Path) -> Dict[str, str]:
    """The variables every process a test starts gets: each user directory under `home`;
    this machine's PATH with the scripts under test first, as an activated environment has
    them; and the PYTHONPATH the suite imports stac_events by, if any (a started
    stac-events is then the copy under test, also a pristine one)."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "APPDATA": str(home / "AppData"),
        "PATH": os.pathsep.join([str(BIN_DIR), os.environ.get("PATH", "")]),
        **{name: os.environ[name] for name in ("PYTHONPATH",) if name in os.environ},
    }


class Either:
    """More than one exit status a test takes, and why: only for an outcome the test cannot
    pin (a race the product may resolve either way, an input generated at random), never to
    pass over one the test did not look at."""

    def __init__(self, *statuses: int, because: str) -> None:
        if len(statuses) < 2 or not because:
            raise ValueError("one status is an int; two or more need a reason")
        self.statuses = statuses
        self.because = because

    def __repr__(self) -> str:
        return f"one of {self.statuses} ({self.because})"


Expected = Union[int, Either]


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def decoded(data: bytes) -> str:
    """A process's bytes as the suite reads them: UTF-8, and any byte that is not kept as
    a surrogate escape, so `.encode("utf-8", "surrogateescape")` gives the bytes back."""
    return data.decode("utf-8", "surrogateescape")


def shown(text: str) -> str:
    """`text` for a failure's message: its end, bytes that are not UTF-8 as `\\xNN`."""
    if len(text) > SHOWN_CHARS:
        text = f"[{len(text) - SHOWN_CHARS} characters before]\n" + text[-SHOWN_CHARS:]
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def said(command: Command) -> str:
    return " ".join(
        os.fsdecode(part) if isinstance(part, (bytes, os.PathLike)) else part for part in command
    )


def check(result: Result, expect: Expected, command: Command) -> Result:
    """The result, when its exit status is one the test expects; else the test fails,
    showing stderr and stdout."""
    allowed = expect.statuses if isinstance(expect, Either) else (expect,)
    if result.status not in allowed:
        pytest.fail(
            f"exit status {result.status}, expected {expect!r}, for: {said(command)}\n"
            f"stderr:\n{shown(result.stderr)}\nstdout:\n{shown(result.stdout)}",
            pytrace=False,
        )
    return result


def _stdin_for(stdin: Stdin) -> Tuple[Any, Optional[bytes]]:
    """(what Popen gets as stdin, the bytes to write into it)."""
    if stdin is None:
        return subprocess.DEVNULL, None
    if isinstance(stdin, str):
        return subprocess.PIPE, stdin.encode()
    if isinstance(stdin, bytes):
        return subprocess.PIPE, stdin
    return stdin, None  # a descriptor, a file, or subprocess.PIPE for the test to write


def _end(process: subprocess.Popen, own_group: bool) -> None:
    """Kill `process` and reap it; when it leads a group, the whole group, also what it
    left running after it ended."""
    with contextlib.suppress(ProcessLookupError):
        if own_group:
            os.killpg(process.pid, signal.SIGKILL)
        elif process.poll() is None:
            process.kill()
    process.wait(timeout=RUN_TIMEOUT_S)


def run(
    command: Command,
    *,
    env: Mapping[str, str],
    cwd: Optional[Path] = None,
    stdin: Stdin = None,
    expect: Expected = 0,
    timeout: float = RUN_TIMEOUT_S,
    **popen: Any,
) -> Result:
    """Run `command` to its end with exactly `env`; its Result, when its status is
    `expect`. stdin: text or bytes to read, a descriptor or file, or None for /dev/null.
    stdout and stderr are captured unless `popen` says where they go (then read as "").
    Past `timeout` the process is killed and the test fails."""
    given, data = _stdin_for(stdin)
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    process = subprocess.Popen(list(command), stdin=given, env=dict(env), cwd=cwd, **popen)
    own_group = bool(popen.get("start_new_session"))
    try:
        out, err = process.communicate(data, timeout=timeout)
        overdue = False
    except subprocess.TimeoutExpired:
        overdue = True
    finally:
        if process.poll() is None:  # overdue, or the test's own thread was interrupted
            _end(process, own_group)
    if overdue:
        out, err = process.communicate(timeout=RUN_TIMEOUT_S)
        pytest.fail(
            f"still running after {timeout} s: {said(command)}\n"
            f"stderr:\n{shown(decoded(err or b''))}\nstdout:\n{shown(decoded(out or b''))}",
            pytrace=False,
        )
    result = Result(process.returncode, decoded(out or b""), decoded(err or b""))
    return check(result, expect, command)


class Started:
    """A process `start` started. What it prints is read as it comes (a full pipe would
    stall it); `wait_for` waits for a line of it, `finish` for its end."""

    def __init__(self, process: subprocess.Popen, command: Command, data: Optional[bytes],
                 own_group: bool) -> None:  # fmt: skip
        self.process = process
        self.command = command
        self._own_group = own_group
        self._lines: Dict[str, List[bytes]] = {"stdout": [], "stderr": []}
        self._searched = {"stdout": 0, "stderr": 0}
        self._changed = threading.Condition()
        self._threads: List[threading.Thread] = []
        for name in ("stdout", "stderr"):
            stream = getattr(process, name)
            if stream is not None:
                self._thread(self._read, stream, self._lines[name])
        if data is not None:
            self._thread(self._write, process.stdin, data)

    def _thread(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _read(self, stream: IO[bytes], into: List[bytes]) -> None:
        for line in iter(stream.readline, b""):
            with self._changed:
                into.append(line)
                self._changed.notify_all()
        stream.close()
        with self._changed:
            into.append(b"")  # the end: nothing more comes
            self._changed.notify_all()

    @staticmethod
    def _write(stream: IO[bytes], data: bytes) -> None:
        with contextlib.suppress(BrokenPipeError):
            stream.write(data)
        with contextlib.suppress(BrokenPipeError):
            stream.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    def printed(self) -> Tuple[str, str]:
        """`(stdout, stderr)` so far."""
        with self._changed:
            out, err = (b"".join(self._lines[name]) for name in ("stdout", "stderr"))
        return decoded(out), decoded(err)

    def wait_for(
        self, pattern: str, *, stream: str = "stdout", timeout: float = READY_WAIT_S
    ) -> re.Match[str]:
        """The match of `pattern` in the next line of `stream` that has it (each line is
        searched once, by the first wait that sees it). The test fails, showing what the
        process printed, if it ends or `timeout` passes first."""
        lines = self._lines[stream]
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self._searched[stream] < len(lines):
                    line = lines[self._searched[stream]]
                    if line == b"":  # its end: left in place for the next wait to find
                        why = "it ended first"
                        break
                    self._searched[stream] += 1
                    found = re.search(pattern, decoded(line))
                    if found:
                        return found
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    why = f"no line matched within {timeout} s"
                    break
                self._changed.wait(left)
        out, err = self.printed()
        self.kill()
        pytest.fail(
            f"waited for {pattern!r} on {stream}; {why}: {said(self.command)}\n"
            f"stderr:\n{shown(err)}\nstdout:\n{shown(out)}",
            pytrace=False,
        )

    def send_signal(self, number: int) -> None:
        self.process.send_signal(number)

    def finish(self, *, expect: Expected = 0, timeout: float = RUN_TIMEOUT_S) -> Result:
        """Wait for it to end on its own, and its output to close (as `run` does); its
        Result, when its status is `expect`. Past `timeout` it is killed and the test fails."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        for thread in self._threads:  # what it started may still hold its output open
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.process.poll() is None or any(thread.is_alive() for thread in self._threads):
            self.kill()
            out, err = self.printed()
            pytest.fail(
                f"still running, or its output still open, after {timeout} s: "
                f"{said(self.command)}\nstderr:\n{shown(err)}\nstdout:\n{shown(out)}",
                pytrace=False,
            )
        return check(Result(self.process.returncode, *self.printed()), expect, self.command)

    def stop(
        self, number: int = signal.SIGTERM, *, expect: Expected = 0, timeout: float = RUN_TIMEOUT_S
    ) -> Result:
        """Send it signal `number` (if it still runs), then `finish`."""
        if self.process.poll() is None:
            self.process.send_signal(number)
        return self.finish(expect=expect, timeout=timeout)

    def kill(self) -> None:
        """End it at once (its group too, when it leads one), whatever it was doing."""
        _end(self.process, self._own_group)


def start(
    command: Command,
    *,
    env: Mapping[str, str],
    cwd: Optional[Path] = None,
    stdin: Stdin = None,
    **popen: Any,
) -> Started:
    """Start `command` with exactly `env`, its stdout and stderr read as they come unless
    `popen` says where they go. stdin as `run` takes it; subprocess.PIPE leaves
    `process.stdin` open for the test to write."""
    given, data = _stdin_for(stdin)
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    process = subprocess.Popen(list(command), stdin=given, env=dict(env), cwd=cwd, **popen)
    return Started(process, command, data, bool(popen.get("start_new_session")))


class Processes:
    """Runs and starts processes for one test: in its home, with `environ_for(home)` plus
    what a call adds in `env`. What it started and still runs is killed after the test."""

    def __init__(self, home: Path, environ: Mapping[str, str]) -> None:
        self.home = home
        self.environ = dict(environ)
        self.started: List[Started] = []

    def _where(self, env: Optional[Mapping[str, str]], cwd: Optional[Path]) -> Dict[str, Any]:
        return {"env": {**self.environ, **(env or {})}, "cwd": cwd or self.home}

    def run(
        self, *command: Any, env: Optional[Mapping[str, str]] = None,
        cwd: Optional[Path] = None, **options: Any,
    ) -> Result:  # fmt: skip
        """`run(command, ...)` in this test's environment."""
        return run(command, **self._where(env, cwd), **options)

    def cli(self, *args: Any, script_name: str = "stac-events", **options: Any) -> Result:
        """The installed console script (`stac-events`, or `stac`), run to its end."""
        return self.run(script(script_name), *args, **options)

    def shell(
        self, snippet: str, *args: str, using: str = "bash", flags: Sequence[str] = (),
        **options: Any,
    ) -> Result:  # fmt: skip
        """`snippet` run by the shell it is `using` (bash, sh, zsh or fish) without its
        start-up files, with `flags` before `-c` (such as `-o pipefail`) and `args` as $1..."""
        return self.run(*shell_command(using, snippet, *args, flags=flags), **options)

    def start(
        self, *command: Any, env: Optional[Mapping[str, str]] = None,
        cwd: Optional[Path] = None, **options: Any,
    ) -> Started:  # fmt: skip
        """`start(command, ...)` in this test's environment; killed after the test."""
        started = start(command, **self._where(env, cwd), **options)
        self.started.append(started)
        return started

    def start_cli(self, *args: Any, **options: Any) -> Started:
        """The installed `stac-events`, started."""
        return self.start(STAC_EVENTS, *args, **options)

    def end_all(self) -> None:
        for started in self.started:
            started.kill()


def shell_command(shell: str, snippet: str, *args: str, flags: Sequence[str] = ()) -> List[str]:
    """The command line that runs `snippet` in `shell` with `args` as $1..."""
    return [*SHELLS[shell], *flags, "-c", snippet, *([shell, *args] if args else [])]
