"""The command `event wrap` runs: its output streamed live, its tail kept, signals passed on."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Deque, Dict, List, Optional, Sequence

from stac_events.environment import Environment

_CHUNK = 1 << 14
FORWARDED = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Finished:
    """How a command ended."""

    argv: List[str]
    exit_code: int
    duration_s: float
    tail: List[str] = field(default_factory=list)
    problem: Optional[str] = None  # why it could not start, if it did not

    @property
    def name(self) -> str:
        return os.path.basename(self.argv[0])

    @property
    def command_line(self) -> str:
        return shlex.join(self.argv)

    @property
    def title(self) -> str:
        if self.exit_code == 0:
            return f"{self.name} succeeded"
        return f"{self.name} failed (exit {self.exit_code})"

    def text(self) -> str:
        lines = [
            f"$ {self.command_line}",
            f"exit code {self.exit_code} after {self.duration_s:.1f} s",
        ]
        if self.problem:
            lines.append(self.problem)
        if self.tail:
            lines += ["", f"last {len(self.tail)} line(s) of output:", *self.tail]
        return "\n".join(lines)

    def data(self) -> Dict[str, Any]:
        """What the event's `context.data` gains."""
        return {
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "command": self.command_line,
        }


class _Tail:
    """The last lines of the output of both streams, in the order they arrived."""

    def __init__(self, keep: int) -> None:
        self.lines: Deque[str] = deque(maxlen=keep) if keep else deque(maxlen=0)
        self.lock = threading.Lock()

    def add(self, line: bytes) -> None:
        with self.lock:
            self.lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))


def _pump(source: IO[bytes], sink: IO[Any], tail: _Tail) -> None:
    """Copy a stream through as it comes, and keep its lines for the tail."""
    binary = getattr(sink, "buffer", None)
    partial = b""
    while True:
        chunk = source.read1(_CHUNK) if hasattr(source, "read1") else source.read(_CHUNK)
        if not chunk:
            break
        if binary is not None:
            binary.write(chunk)
            binary.flush()
        else:
            sink.write(chunk.decode("utf-8", "replace"))
            sink.flush()
        partial += chunk
        *complete, partial = partial.split(b"\n")
        for line in complete:
            tail.add(line)
    if partial:
        tail.add(partial)
    source.close()


def _forwarder(process: subprocess.Popen) -> Callable[[int, Any], None]:
    def forward(signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and _terminal_sent_it_too():
            return  # Ctrl-C at a terminal reaches the whole foreground group, CMD included
        if process.poll() is None:
            process.send_signal(signum)

    return forward


def _terminal_sent_it_too() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def run_command(argv: Sequence[str], env: Environment, *, tail_lines: int) -> Finished:
    """Run `argv` with this process's stdin; stdout and stderr stream through live."""
    argv = list(argv)
    tail = _Tail(tail_lines)
    started = time.monotonic()
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        return _not_started(argv, env, 127, "command not found", started)
    except (PermissionError, OSError) as error:
        return _not_started(argv, env, 126, error.strerror or str(error), started)
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, env.stdout, tail), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, env.stderr, tail), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main_thread:
        forward = _forwarder(process)
        previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        code = process.wait()
        for pump in pumps:
            pump.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    exit_code = code if code >= 0 else 128 - code  # killed by signal N: 128+N, as shells say
    return Finished(argv, exit_code, time.monotonic() - started, list(tail.lines))


def _not_started(
    argv: List[str], env: Environment, code: int, reason: str, started: float
) -> Finished:
    message = f"{argv[0]}: {reason}"
    env.stderr.write(message + "\n")
    env.stderr.flush()
    return Finished(argv, code, time.monotonic() - started, problem=reason)
