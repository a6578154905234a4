"""The signals that end a run: Ctrl-C, and the terminating ones (SIGTERM, SIGHUP, ...).

Each stops what is being done (`KeyboardInterrupt` for Ctrl-C, `Terminated` for the
others), and delivery queues what was not delivered before the run exits 128+N. Later
signals are ignored, so that the queueing finishes. One ignored from the start stays
ignored: `nohup` asks for that of a SIGHUP, and a shell of a background job of SIGINT.

Between taking an event on and its delivery's start, a signal is held (`deferred`): the
delivery then starts by acting on it, and so queues the event instead of losing it.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Any, Iterator, Optional

from stac_events.errors import Terminated
from stac_events.status import ENDING_SIGNALS as HANDLED
from stac_events.status import wake_on_signals


class Deferral:
    """Signals held while `active`; `end()` lets them act."""

    def __init__(self, active: bool) -> None:
        self.came: Optional[int] = None
        self.active = active

    def hold(self) -> None:
        """Hold signals from now on (`event wrap`: once its command has exited)."""
        self.active = True

    def end(self) -> None:
        """Stop holding signals, and act now on the one held, if one came."""
        self.active = False
        if self.came is not None:
            came, self.came = self.came, None
            raise _stop(came)


_deferral: Optional[Deferral] = None


def install() -> None:
    """Handle the signals that end a run, as the module says; waits wake as they come."""
    wake_on_signals()
    for signum in HANDLED:
        default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        if signal.getsignal(signum) is default:
            signal.signal(signum, _handle)


@contextlib.contextmanager
def deferred(*, holding: bool = True) -> Iterator[Deferral]:
    """Hold the signals that end a run (from now on, or from `Deferral.hold()`) until
    `Deferral.end()`, or the block's end, which lets a held one act then."""
    global _deferral
    deferral = _deferral = Deferral(holding)
    try:
        yield deferral
    finally:
        _deferral = None
        if deferral.active:
            deferral.end()


def _handle(signum: int, frame: Any) -> None:
    for each in HANDLED:
        with contextlib.suppress(OSError, ValueError):
            if signal.getsignal(each) is _handle:
                # Not SIG_IGN: a second signal that came with this one is already pending,
                # and Python, finding it ignored, would raise "Signal N ignored due to race
                # condition" in the middle of the queueing.
                signal.signal(each, _ignore)
    if _deferral is not None and _deferral.active:
        _deferral.came = _deferral.came or signum
        return
    raise _stop(signum)


def _ignore(signum: int, frame: Any) -> None:
    """A signal after the first: the run is already ending, and queueing what is left."""


def _stop(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)
