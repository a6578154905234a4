"""The errors stac-events raises, from the library and the command line alike.

Each knows the exit status the command line ends with (`status`) and its `kind` in
`--output json`. They speak of events, settings and receivers, never of flags: the
command line names the flag at fault itself (`stac_events.cli.usage`).
"""

from __future__ import annotations

import signal
from typing import Any, Dict, Optional, Sequence

from stac_events.status import ExitStatus


class StacEventsError(Exception):
    """An expected failure, shown to the user as one line."""

    status: int = ExitStatus.INTERNAL_ERROR
    kind: str = "internal"

    def __init__(self, message: str, *, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.counts: Dict[str, int] = {}  # what became of a run's events, when it had some

    def __str__(self) -> str:
        """The message and the hint, as one line."""
        if not self.hint:
            return self.message
        if self.message.endswith(("?", ".")):  # a sentence ended: the hint starts one
            return f"{self.message} {self.hint[:1].upper()}{self.hint[1:]}"
        return f"{self.message}; {self.hint}"

    def details(self) -> Dict[str, Any]:
        """Extra fields for the `error` object of `--output json`."""
        return dict(self.counts)


class InvalidInput(StacEventsError):
    """An event, a value or a setting that cannot be used as given.

    `field` names what is at fault: an event field (`msg_title`, `context.category`) or
    a setting (`timeout`); `where` names the input it came from (`events.ndjson line 3`).
    `reason` is the problem alone; the message puts all three together.
    """

    status = ExitStatus.USAGE
    kind = "usage"

    def __init__(
        self,
        reason: str,
        *,
        field: Optional[str] = None,
        where: Optional[str] = None,
        hint: Optional[str] = None,
    ) -> None:
        parts = [part for part in (where, field) if part]
        super().__init__(": ".join([*parts, reason]), hint=hint)
        self.reason = reason
        self.field = field
        self.where = where


class ConfigError(StacEventsError):
    """No receiver address or key, or a configuration file that cannot be used."""

    status = ExitStatus.CONFIG
    kind = "config"


class RejectedError(StacEventsError):
    """The receiver answered, and said no: a 4xx that retrying cannot fix, or a redirect."""

    status = ExitStatus.REJECTED
    kind = "rejected"

    def __init__(
        self,
        message: str,
        *,
        status_code: Optional[int] = None,
        hint: Optional[str] = None,
        reasons: Sequence[str] = (),
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.reasons = list(reasons)  # each thing the receiver said was wrong, when it listed them

    def details(self) -> Dict[str, Any]:
        found = super().details()
        if self.status_code is not None:
            found["status"] = self.status_code
        if self.reasons:
            found["reasons"] = self.reasons
        return found


class DeliveryError(StacEventsError):
    """The payload did not reach the receiver: network, TLS, timeout or a 5xx."""

    status = ExitStatus.DELIVERY_FAILED
    kind = "delivery"

    def __init__(
        self,
        message: str,
        *,
        status_code: Optional[int] = None,
        hint: Optional[str] = None,
        transient: bool = True,
        attempts: int = 1,
        unanswered: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.transient = transient  # worth queueing: trying later may work
        self.attempts = attempts
        # the receiver took the request and gave no answer in time: like a 5xx, a fault of
        # this payload's as much as the receiver's, when the next payload gets through
        self.unanswered = unanswered

    def details(self) -> Dict[str, Any]:
        found: Dict[str, Any] = {**super().details(), "attempts": self.attempts}
        if self.status_code is not None:
            found["status"] = self.status_code
        return found


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM, SIGHUP, ...: `signum`): what was not
    delivered is queued first.

    The command line raises it from its signal handler; like `KeyboardInterrupt`, it is
    no `Exception`, so that nothing on the way swallows it.
    """

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def status(self) -> int:
        return ExitStatus.for_signal(self.signum)

    @property
    def words(self) -> str:
        """How a message says it: "terminated", or "ended by SIGHUP"."""
        if self.signum == signal.SIGTERM:
            return "terminated"
        try:
            return f"ended by {signal.Signals(self.signum).name}"
        except ValueError:
            return f"ended by signal {self.signum}"


class QueuedError(StacEventsError):
    """Delivery failed for now; the payloads wait in the spool for a later run."""

    status = ExitStatus.QUEUED
    kind = "queued"

    def __init__(self, message: str, *, queued: int, hint: Optional[str] = None) -> None:
        super().__init__(message, hint=hint)
        self.queued = queued

    def details(self) -> Dict[str, Any]:
        return {**super().details(), "queued": self.queued}


class Interrupted(StacEventsError):
    """Delivery stopped by Ctrl-C (SIGINT) or a terminating signal; the message says what
    got through."""

    kind = "interrupted"

    def __init__(self, message: str, *, status: int, kind: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def interruption(stop: BaseException) -> Interrupted:
    """What a Ctrl-C or a terminating signal amounts to, with what became of the events
    when that is known (`stac_events.delivery.deliver` leaves its outcome on the
    exception)."""
    outcome = getattr(stop, "outcome", None)
    interrupted = outcome.interruption() if outcome is not None else None
    if isinstance(interrupted, Interrupted):
        return interrupted
    # Stopped before any delivery began: nothing was sent, nor queued, and it says so
    if isinstance(stop, Terminated):
        return Interrupted(f"{stop.words}; nothing was sent", status=stop.status,
                           kind="terminated")  # fmt: skip
    return Interrupted("interrupted; nothing was sent", status=ExitStatus.INTERRUPTED,
                       kind="interrupted")  # fmt: skip
