"""Exit statuses: the only place the numbers are spelled; and the signals that end a run."""

from __future__ import annotations

import enum
import signal
import threading

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


class ExitStatus(enum.IntEnum):
    """What a finished run tells its caller (SPEC section 6)."""

    SUCCESS = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    CONFIG = 3
    REJECTED = 4
    DELIVERY_FAILED = 5
    QUEUED = 75  # EX_TEMPFAIL from sysexits.h: try again later
    INTERRUPTED = 130  # 128 + SIGINT, as shells report it
    BROKEN_PIPE = 141  # 128 + SIGPIPE: stdout's reader went away, as git and coreutils end
    TERMINATED = 143  # 128 + SIGTERM

    @staticmethod
    def for_signal(signum: int) -> int:
        """The status of a run that signal `signum` ended: 128 + N, as shells report it."""
        return 128 + int(signum)
