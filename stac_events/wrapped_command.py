"""The command `event wrap` runs: its output streamed live, its tail kept, signals passed on."""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

from stac_events.environment import Environment
from stac_events.parse import one_line, printable
from stac_events.redact import Masker
from stac_events.status import ENDING_SIGNALS, ExitStatus, drain_wakeup, start_deaf, wakeup_fd

_CHUNK = 1 << 14
# A daemon the command started holds its pipes open for as long as it runs: once the
# command itself has exited, what is still in them is read for this long, and no longer.
_GRACE_S = 0.5
# Ctrl-C, a CI job's `timeout` or cancel, a closed SSH session (ENDING_SIGNALS): each is
# passed on to the command (and, where it leads a group of its own, to all it started).
# At a terminal, Ctrl-C, Ctrl-\ and a hangup reach the whole foreground group, the
# command included: passed on again, a second Ctrl-C would mean "stop at once" to some.
_BY_THE_TERMINAL = tuple(getattr(signal, name) for name in ("SIGINT", "SIGQUIT", "SIGHUP")
                         if hasattr(signal, name))  # fmt: skip
# Of the output, what the event keeps: the last lines, and at most this many bytes of
# them. A progress bar redrawn a million times with \r, or megabytes with no newline, is
# one endless line otherwise: an event too large for any receiver.
TAIL_BYTES = 4096
# Of the command line, what the event shows: `wrap -- cmd $(seq 100000)` is 600 KB.
COMMAND_LINE_CHARS = 1024
_LINE_END = re.compile(rb"\r\n|\r|\n")
# `--time-limit`: how long a command that outlived it has, after SIGTERM, to finish
# before SIGKILL (what is left of its process group gets SIGKILL then, or once the
# command itself has exited).
KILL_GRACE_S = 5.0
_CUT = "…"


@dataclass
class Finished:
    """How a command ended."""

    argv: List[str]
    exit_code: int
    duration_s: float
    tail: List[str] = field(default_factory=list)
    problem: Optional[str] = None  # why it could not start, if it did not
    signalled: Optional[int] = None  # the first signal that came to end it, passed on
    # as a shell would take it, its secrets masked, and then the end of a long one cut
    command_line: str = ""
    name: str = ""  # of the program, masked and cut as well
    time_limit: Optional[float] = None  # `--time-limit`, when the command outlived it

    @property
    def timed_out(self) -> bool:
        return self.time_limit is not None

    @property
    def title(self) -> str:
        if self.time_limit is not None:
            return f"{self.name} timed out after {self.time_limit:g} s"
        if self.exit_code == 0:
            return f"{self.name} succeeded"
        return f"{self.name} failed (exit {self.exit_code})"

    def text(self) -> str:
        lines = [
            f"$ {self.command_line}",
            f"exit code {self.exit_code} after {self.duration_s:.1f} s",
        ]
        if self.time_limit is not None:
            lines.append(
                f"timed out: still running at its time limit of {self.time_limit:g} s, it was "
                f"sent SIGTERM (and SIGKILL {KILL_GRACE_S:g} s later if still running)"
            )
        if self.problem:
            lines.append(self.problem)
        if self.tail:
            lines += ["", f"last {len(self.tail)} line(s) of output:", *self.tail]
        return "\n".join(lines)

    def data(self) -> Dict[str, Any]:
        """What the event's `context.data` gains."""
        found: Dict[str, Any] = {
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "command": self.command_line,
        }
        if self.time_limit is not None:
            found.update(timed_out=True, time_limit_s=self.time_limit)
        return found


class _Tail:
    """The last lines of the output of both streams, in the order they arrived: at most
    `keep` lines and `TAIL_BYTES` bytes of them (a longer line keeps its end).

    Each line is masked as it comes, before it is ever cut: a secret cut in two would
    not be known by either half."""

    def __init__(self, keep: int, masker: Masker) -> None:
        self.lines: Deque[bytes] = deque(maxlen=keep)
        self.size = 0
        self.masker = masker
        # The end of a line not yet ended is kept with this much more than TAIL_BYTES: a
        # secret its cut start cut in two lies in it, and is dropped with it.
        self.margin = masker.longest

    def add(self, line: bytes, *, cut: bool = False) -> None:
        """Keep `line`; `cut`: it lost its start, and a piece of a secret may open it."""
        if not self.lines.maxlen:
            return
        if self.masker.needed(line):
            line = self.masker.text(line.decode("utf-8", "replace")).encode()
        if cut:
            line = _CUT.encode() + line[self.margin :]
        if len(line) > TAIL_BYTES:
            line = _CUT.encode() + line[-TAIL_BYTES + len(_CUT.encode()) :]
        if len(self.lines) == self.lines.maxlen:
            self.size -= len(self.lines[0])
        self.lines.append(line)
        self.size += len(line)
        while self.size > TAIL_BYTES:  # the oldest line gives up its start, then itself
            oldest = self.lines.popleft()
            self.size -= len(oldest)
            keep = TAIL_BYTES - self.size - len(_CUT.encode())
            if keep > 0:
                self.lines.appendleft(_CUT.encode() + oldest[-keep:])
                self.size += len(self.lines[0])

    def text(self) -> List[str]:
        return [line.decode("utf-8", "replace") for line in self.lines]


class _Stream:
    """One of the command's output pipes, copied through to a sink of this process."""

    def __init__(self, pipe: IO[bytes], sink: IO[Any]) -> None:
        self.pipe = pipe
        self.fd = pipe.fileno()
        self.sink = sink
        self.binary = getattr(sink, "buffer", None)
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.partial = b""  # the end of a line not yet ended, bounded (see `_Tail`)
        self.partial_cut = False  # its start was dropped
        self.after_cr = False  # the last chunk ended in \r: a \n next ends no other line

    def copy(self, chunk: bytes, tail: _Tail) -> bool:
        """Keep the chunk's lines and pass it on; False when the sink takes no more.

        A line ends at \n, \r\n or a lone \r (a progress bar's redraw); a redraw that
        leaves nothing is no line."""
        start = 1 if self.after_cr and chunk.startswith(b"\n") else 0
        self.after_cr = chunk.endswith(b"\r")
        for end in _LINE_END.finditer(chunk, start):
            line = self.partial + chunk[start : end.start()]
            if line or end.group() != b"\r":
                tail.add(line, cut=self.partial_cut)
            self.partial, self.partial_cut = b"", False
            start = end.end()
        self.partial += chunk[start:]
        bound = TAIL_BYTES + 1 + tail.margin
        if len(self.partial) > bound:
            self.partial, self.partial_cut = self.partial[-bound:], True
        try:
            if self.binary is not None:
                self.binary.write(chunk)
                self.binary.flush()
            else:
                self.sink.write(self.decoder.decode(chunk))
                self.sink.flush()
        except Exception:  # whatever a sink raises, it takes no more: the reader of
            # `wrap ... | head` gone, a stdout closed before the start
            return False
        return True

    def close(self, tail: _Tail) -> None:
        if self.pipe.closed:
            return
        self.pipe.close()
        if self.partial:
            tail.add(self.partial, cut=self.partial_cut)
            self.partial, self.partial_cut = b"", False
        if self.binary is None:
            with contextlib.suppress(Exception):  # a sink that takes no more, as above
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
            wakeup = wakeup_fd()  # a signal that comes just before a select still wakes it,
            if wakeup is not None:  # and its handler passes it on to the command at once
                selector.register(wakeup, selectors.EVENT_READ)
            while len(selector.get_map()) > (wakeup is not None):
                timeout = None
                if exited_at is not None:
                    timeout = exited_at + _GRACE_S - time.monotonic()
                    if timeout <= 0:
                        break
                for key, _ in selector.select(timeout):
                    if key.fd == wakeup:
                        drain_wakeup()
                        continue
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


def _wait_then_close(process: subprocess.Popen[bytes], fd: int, ended: threading.Event) -> None:
    """Close `fd` once the command has exited: that wakes the pump."""
    try:
        process.wait()
    finally:
        ended.set()
        os.close(fd)


class _Limit:
    """Stops a command that outlives its time limit: SIGTERM, then SIGKILL after
    `KILL_GRACE_S` or as soon as the command itself has exited, whichever is first.

    In a group of its own, the command's whole group is signalled, as timeout(1) does;
    at a terminal it shares this process's group, and only the command itself is (as
    `timeout --foreground` does)."""

    def __init__(self, seconds: float, ended: threading.Event, *, to_group: bool) -> None:
        self.seconds = seconds
        self.ended = ended
        self.to_group = to_group
        self.reached = threading.Event()

    def watch(self, process: subprocess.Popen[bytes]) -> None:
        start_deaf(threading.Thread(target=self._enforce, args=(process,), daemon=True))

    def _enforce(self, process: subprocess.Popen[bytes]) -> None:
        if self.ended.wait(self.seconds):
            return
        self.reached.set()
        self._signal(process, signal.SIGTERM)
        self.ended.wait(KILL_GRACE_S)
        self._signal(process, signal.SIGKILL)  # whatever is left of what it started

    def stop_the_rest(self, process: subprocess.Popen[bytes]) -> None:
        """Once a command stopped at its limit has exited: SIGKILL to what it left in its
        group (at once: its time is over)."""
        if self.reached.is_set():
            self._signal(process, signal.SIGKILL)

    def _signal(self, process: subprocess.Popen[bytes], signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # gone already
            if self.to_group:
                # its group outlives it while a process it started is in it; its number
                # is no other process's while the group exists
                os.killpg(process.pid, signum)
            elif not self.ended.is_set():
                process.send_signal(signum)


class _Forwarder:
    """The handler that passes a signal on to the command (`to_group`: its whole group),
    and remembers in `came` that one came: the event then goes out within a short grace.

    It is in place before the command starts: one that comes while the command is being
    started (its own child may signal this process at once) waits in `pending` and is
    passed on as soon as there is a process to pass it to.
    """

    def __init__(self, *, to_group: bool) -> None:
        self.to_group = to_group
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.came: List[int] = []
        self.pending: List[int] = []

    def handle(self, signum: int, frame: Any) -> None:
        self.came.append(signum)
        if self.process is None:
            self.pending.append(signum)
        else:
            self._pass_on(self.process, signum)

    def started(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process  # from here on the handler passes signals on itself
        while self.pending:
            signum = self.pending.pop(0)
            if not self.to_group and signum in _BY_THE_TERMINAL and _in_terminal_foreground():
                # The terminal's Ctrl-C reached no command before it ran: it goes to the
                # foreground group now, as the terminal sends it (a shell waiting for its
                # child heeds it only then), this process included, which passes it by.
                os.killpg(os.getpgrp(), signum)
            else:
                self._pass_on(process, signum)

    def _pass_on(self, process: subprocess.Popen[bytes], signum: int) -> None:
        if self.to_group:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # may be gone
                os.killpg(process.pid, signum)
        elif signum in _BY_THE_TERMINAL and _in_terminal_foreground():
            return  # the terminal signals the whole foreground group, CMD included
        elif process.poll() is None:
            process.send_signal(signum)


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


def run_command(
    argv: Sequence[str],
    env: Environment,
    *,
    tail_lines: int,
    secrets: Sequence[str] = (),
    on_exit: Optional[Callable[[], None]] = None,
    time_limit: Optional[float] = None,
) -> Finished:
    """Run `argv` with this process's stdin; stdout and stderr stream through live.

    Returns once the command has exited, even while processes it started still hold its
    output open; the signals that end a job are passed on to the command's process group.
    What it says of the command (its line, its output's tail) has `secrets` masked.
    `on_exit` is called once the command has exited, before the signal handlers this
    replaced are put back (a caller may want to hold signals from then on). A command
    still running after `time_limit` seconds is stopped (see `_Limit`)."""
    argv = list(argv)
    masker = Masker(secrets)
    tail = _Tail(tail_lines, masker)
    started = time.monotonic()
    # At a terminal the command stays in this, the foreground, group: the terminal signals
    # the group whole on Ctrl-C, job control works, and a command in a background group
    # would be stopped on reading the terminal. Elsewhere nothing signals the group whole
    # but this process, so the command leads a group of its own for it to signal.
    own_group = not _in_terminal_foreground()
    forwarder = _Forwarder(to_group=own_group)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        # one ignored from the start stays ignored, for the command too (`nohup`)
        previous = {sig: signal.signal(sig, forwarder.handle) for sig in ENDING_SIGNALS
                    if signal.getsignal(sig) is not signal.SIG_IGN}  # fmt: skip
    try:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env.environ),  # this run's variables, which may not be the process's
            **(_group_of_its_own() if own_group else {}),
        )
    except OSError as error:  # `''` too, which the system finds no more than a shell does
        _put_back(previous)
        if forwarder.pending:  # it came for this run, and no command took it: it acts now
            signal.raise_signal(forwarder.pending[0])
        if isinstance(error, FileNotFoundError) or not argv[0]:
            return _not_started(argv, env, 127, "command not found", started, masker)
        return _not_started(argv, env, 126, error.strerror or str(error), started, masker)
    forwarder.started(process)
    ended = threading.Event()
    limit = None if time_limit is None else _Limit(time_limit, ended, to_group=own_group)
    if limit is not None:
        limit.watch(process)
    assert process.stdout is not None
    assert process.stderr is not None
    streams = [_Stream(process.stdout, env.stdout), _Stream(process.stderr, env.stderr)]
    try:
        exited, exited_writer = os.pipe()
        try:
            # deaf to signals: one it took would reach the forwarder only at the next output
            start_deaf(threading.Thread(target=_wait_then_close,
                                        args=(process, exited_writer, ended),
                                        daemon=True))  # fmt: skip
            exited_at = _pump(streams, exited, tail)
        finally:
            os.close(exited)
        code = process.wait()
        if limit is not None:
            limit.stop_the_rest(process)
    finally:
        if on_exit is not None:
            on_exit()
        _put_back(previous)
    exit_code = code if code >= 0 else ExitStatus.for_signal(-code)  # as shells say it
    signalled = forwarder.came[0] if forwarder.came else None
    line, name = _described(argv, masker)
    timed_out = time_limit if limit is not None and limit.reached.is_set() else None
    return Finished(argv, exit_code, exited_at - started, tail.text(), signalled=signalled,
                    command_line=line, name=name, time_limit=timed_out)  # fmt: skip


def _put_back(handlers: Dict[int, Any]) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def _not_started(
    argv: List[str], env: Environment, code: int, reason: str, started: float, masker: Masker
) -> Finished:
    message = f"{masker.text(printable(argv[0]))}: {reason}"  # as a shell says it, masked
    env.stderr.write(one_line(message) + "\n")
    env.stderr.flush()
    line, name = _described(argv, masker)
    return Finished(argv, code, time.monotonic() - started, problem=reason, command_line=line,
                    name=name)  # fmt: skip


def _described(argv: List[str], masker: Masker) -> Tuple[str, str]:
    """The command line and the program's name as the event shows them: masked, then cut
    (a secret cut in two would not be known)."""
    # each argument masked before the quoting, which would cut a secret holding a quote
    # in pieces (`it's` is written 'it'"'"'s'); the line again after, for one that spans two
    line = masker.text(shlex.join(masker.text(printable(arg)) for arg in argv))
    name = masker.text(printable(os.path.basename(argv[0])))
    return _cut_to(line, COMMAND_LINE_CHARS), _cut_to(name, 100)


def _cut_to(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _CUT
