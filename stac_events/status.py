"""Exit statuses: the only place the numbers are spelled; and the signals that end a run."""

from __future__ import annotations

import contextlib
import enum
import os
import select
import signal
import threading
import time
from typing import Iterator, Optional

# The signals whose default action ends a process, and that a user, a terminal, a CI
# runner, a supervisor or a limit (`ulimit -t`: SIGXCPU) sends to end one; Ctrl-C (SIGINT)
# is handled alike, as KeyboardInterrupt.
# Each ends a run cleanly: what was not delivered is queued first, then it exits 128+N.
_TERMINATING = ["SIGHUP", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU",
                "SIGVTALRM", "SIGPROF"]  # fmt: skip
TERMINATING_SIGNALS = tuple(
    getattr(signal, name)
    for name in _TERMINATING
    if hasattr(signal, name)  # not all are there on Windows
)
ENDING_SIGNALS = (signal.SIGINT, *TERMINATING_SIGNALS)


def start_deaf(thread: threading.Thread) -> None:
    """Start a helper thread that never takes the signals that end a run. The kernel hands
    a process's signal to any thread that does not block it, and Python then runs the
    handler in the main thread only when that thread next runs: asleep in a retry's wait,
    it would not wake for a SIGTERM that a helper thread took."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no such signals to take
        thread.start()
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, ENDING_SIGNALS)
    try:
        thread.start()  # with this thread's mask: the signals blocked
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Keep the signals that end a run from acting inside the block: for calls into
    pydantic-core, whose Rust code runs Python code of its own (a first import, a name
    looked up) where a handler's exception makes it panic, or is dropped with the signal.
    One that comes meanwhile waits, and acts as soon as the block ends. In the main
    thread only, where Python runs its handlers."""
    if not hasattr(signal, "pthread_sigmask") or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, ENDING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


# The read end of the pipe Python writes a byte to whenever a signal comes (`wake_on_signals`):
# a wait that watches it cannot miss one that came just before the wait began.
_wakeup: Optional[int] = None


def wake_on_signals() -> None:
    """From now on, let `pause` and the waits that watch `wakeup_fd()` end as a signal
    comes. Python runs a signal's handler between two steps of Python code: one that comes
    just before a blocking wait begins (a retry's sleep, a select) is left for after it,
    however long that is. The byte the signal writes wakes such a wait at once. Called in
    the main thread, once a process; the CLI does, a library caller need not."""
    global _wakeup
    if _wakeup is not None or threading.current_thread() is not threading.main_thread():
        return
    reader, writer = os.pipe()
    os.set_blocking(reader, False)
    os.set_blocking(writer, False)
    signal.set_wakeup_fd(writer, warn_on_full_buffer=False)
    _wakeup = reader


def wakeup_fd() -> Optional[int]:
    """What a select may watch to wake as a signal comes (None: nothing to watch)."""
    return _wakeup


def drain_wakeup() -> None:
    """Empty the wakeup pipe: the handlers of what it announced run once Python code does."""
    if _wakeup is None:
        return
    try:
        while os.read(_wakeup, 512):
            pass
    except BlockingIOError:
        pass


def pause(seconds: float) -> None:
    """`time.sleep(seconds)`, but ended by a signal whose handler raises, also one that
    came just before it began; a signal that is only noted (held, or passed on) does not
    shorten it."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        if _wakeup is None:
            time.sleep(left)
            return
        if select.select([_wakeup], [], [], left)[0]:
            drain_wakeup()  # the handler runs now, between this line and the next


class ExitStatus(enum.IntEnum):
    """What a finished run tells its caller (SPEC section 6)."""

    SUCCESS = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    CONFIG = 3
    REJECTED = 4
    DELIVERY_FAILED = 5
    QUEUED = 75  # EX_TEMPFAIL from sysexits.h: try again later
    # a wait that ran out (`receiver events --wait`), or a wrapped command stopped at its
    # `--time-limit`: as timeout(1) exits
    TIMED_OUT = 124
    INTERRUPTED = 130  # 128 + SIGINT, as shells report it
    BROKEN_PIPE = 141  # 128 + SIGPIPE: stdout's reader went away, as git and coreutils end
    TERMINATED = 143  # 128 + SIGTERM

    @staticmethod
    def for_signal(signum: int) -> int:
        """The status of a run that signal `signum` ended: 128 + N, as shells report it."""
        return 128 + int(signum)
