"""The command `event wrap` runs: its output streamed live, its tail kept, signals passed on."""

from __future__ import annotations

import codecs
import contextlib
import os
import selectors
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Deque, Dict, List, Optional, Sequence

from stac_events.environment import Environment

_CHUNK = 1 << 14
# A daemon the command started holds its pipes open for as long as it runs: once the
# command itself has exited, what is still in them is read for this long, and no longer.
_GRACE_S = 0.5
# Ctrl-C, a CI job's `timeout` or cancel, a closed SSH session: each ends the whole group.
_FORWARDED_TO_GROUP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# At a terminal a hangup reaches the whole foreground group, the command included.
_FORWARDED_TO_COMMAND = (signal.SIGINT, signal.SIGTERM)


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

    def add(self, line: bytes) -> None:
        self.lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))


class _Stream:
    """One of the command's output pipes, copied through to a sink of this process."""

    def __init__(self, pipe: IO[bytes], sink: IO[Any]) -> None:
        self.pipe = pipe
        self.fd = pipe.fileno()
        self.sink = sink
        self.binary = getattr(sink, "buffer", None)
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.partial: List[bytes] = []  # pieces of a line not yet ended, joined once it ends

    def copy(self, chunk: bytes, tail: _Tail) -> bool:
        """Keep the chunk's lines and pass it on; False when the sink takes no more."""
        *ended, rest = chunk.split(b"\n")
        if ended:
            tail.add(b"".join([*self.partial, ended[0]]))
            for line in ended[1:]:
                tail.add(line)
            self.partial = []
        if rest:
            self.partial.append(rest)
        try:
            if self.binary is not None:
                self.binary.write(chunk)
                self.binary.flush()
            else:
                self.sink.write(self.decoder.decode(chunk))
                self.sink.flush()
        except (OSError, ValueError):  # e.g. the reader of `wrap ... | head` has gone
            return False
        return True

    def close(self, tail: _Tail) -> None:
        if self.pipe.closed:
            return
        self.pipe.close()
        if self.partial:
            tail.add(b"".join(self.partial))
            self.partial = []
        if self.binary is None:
            with contextlib.suppress(OSError, ValueError):
                self.sink.write(self.decoder.decode(b"", final=True))


def _pump(streams: List[_Stream], exited: int, tail: _Tail) -> float:
    """Copy the streams through as output comes, until the command has exited (`exited`
    reads as closed) and they are drained or its grace is over; then close them.

    Returns when the command was seen to exit, by `time.monotonic()`."""
    exited_at: Optional[float] = None
    try:
        with selectors.DefaultSelector() as selector:
            for stream in streams:
                selector.register(stream.fd, selectors.EVENT_READ, stream)
            selector.register(exited, selectors.EVENT_READ)
            while selector.get_map():
                timeout = None
                if exited_at is not None:
                    timeout = exited_at + _GRACE_S - time.monotonic()
                    if timeout <= 0:
                        break
                for key, _ in selector.select(timeout):
                    if key.fd == exited:
                        selector.unregister(exited)
                        exited_at = time.monotonic()
                        continue
                    stream = key.data
                    chunk = os.read(stream.fd, _CHUNK)
                    if not chunk or not stream.copy(chunk, tail):
                        # Where the sink takes no more, the command now meets a broken
                        # pipe, as it would writing to that sink itself.
                        selector.unregister(stream.fd)
                        stream.close(tail)
    finally:
        for stream in streams:
            stream.close(tail)
    assert exited_at is not None  # `exited` stays registered until then
    return exited_at


def _wait_then_close(process: subprocess.Popen, fd: int) -> None:
    """Close `fd` once the command has exited: that wakes the pump."""
    try:
        process.wait()
    finally:
        os.close(fd)


def _forwarder(process: subprocess.Popen, *, to_group: bool) -> Callable[[int, Any], None]:
    def forward_to_group(signum: int, frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group may be gone
            os.killpg(process.pid, signum)

    def forward_to_command(signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and _in_terminal_foreground():
            return  # Ctrl-C at a terminal reaches the whole foreground group, CMD included
        if process.poll() is None:
            process.send_signal(signum)

    return forward_to_group if to_group else forward_to_command


def _in_terminal_foreground() -> bool:
    """Whether this process's group is the one its terminal signals on Ctrl-C."""
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


def _group_of_its_own() -> Dict[str, Any]:
    """Popen's arguments that make the command the leader of a new process group."""
    if sys.version_info >= (3, 11):
        return {"process_group": 0}
    return {"preexec_fn": os.setpgrp}


def run_command(argv: Sequence[str], env: Environment, *, tail_lines: int) -> Finished:
    """Run `argv` with this process's stdin; stdout and stderr stream through live.

    Returns once the command has exited, even while processes it started still hold its
    output open; the signals that end a job are passed on to the command's process group."""
    argv = list(argv)
    tail = _Tail(tail_lines)
    started = time.monotonic()
    # At a terminal the command stays in this, the foreground, group: the terminal signals
    # the group whole on Ctrl-C, job control works, and a command in a background group
    # would be stopped on reading the terminal. Elsewhere nothing signals the group whole
    # but this process, so the command leads a group of its own for it to signal.
    own_group = not _in_terminal_foreground()
    try:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env.environ),  # this run's variables, which may not be the process's
            **(_group_of_its_own() if own_group else {}),
        )
    except FileNotFoundError:
        return _not_started(argv, env, 127, "command not found", started)
    except (PermissionError, OSError) as error:
        return _not_started(argv, env, 126, error.strerror or str(error), started)
    assert process.stdout is not None
    assert process.stderr is not None
    streams = [_Stream(process.stdout, env.stdout), _Stream(process.stderr, env.stderr)]
    previous = {}
    if threading.current_thread() is threading.main_thread():
        forward = _forwarder(process, to_group=own_group)
        forwarded = _FORWARDED_TO_GROUP if own_group else _FORWARDED_TO_COMMAND
        previous = {sig: signal.signal(sig, forward) for sig in forwarded}
    try:
        exited, exited_writer = os.pipe()
        try:
            threading.Thread(
                target=_wait_then_close, args=(process, exited_writer), daemon=True
            ).start()
            exited_at = _pump(streams, exited, tail)
        finally:
            os.close(exited)
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    exit_code = code if code >= 0 else 128 - code  # killed by signal N: 128+N, as shells say
    return Finished(argv, exit_code, exited_at - started, list(tail.lines))


def _not_started(
    argv: List[str], env: Environment, code: int, reason: str, started: float
) -> Finished:
    message = f"{argv[0]}: {reason}"
    env.stderr.write(message + "\n")
    env.stderr.flush()
    return Finished(argv, code, time.monotonic() - started, problem=reason)
