"""The errors a run can end with; each knows its exit status and its JSON `kind`."""

from __future__ import annotations

from typing import Any, Dict, Optional

from stac_events.status import ExitStatus


class StacEventsError(Exception):
    """An expected failure, shown to the user as one line."""

    status: ExitStatus = ExitStatus.INTERNAL_ERROR
    kind: str = "internal"

    def __init__(self, message: str, *, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def details(self) -> Dict[str, Any]:
        """Extra fields for the `error` object of `--output json`."""
        return {}


class UsageError(StacEventsError):
    """A bad flag or an invalid event; `option` names the flag at fault."""

    status = ExitStatus.USAGE
    kind = "usage"

    def __init__(self, message: str, *, option: Optional[str] = None, hint: Optional[str] = None):
        super().__init__(f"{option}: {message}" if option else message, hint=hint)
        self.option = option

    def details(self) -> Dict[str, Any]:
        return {"option": self.option} if self.option else {}


class ConfigError(StacEventsError):
    """No receiver address or key, or a configuration file that cannot be used."""

    status = ExitStatus.CONFIG
    kind = "config"


class RejectedError(StacEventsError):
    """The receiver answered, and said no: a 4xx that retrying cannot fix, or a redirect."""

    status = ExitStatus.REJECTED
    kind = "rejected"

    def __init__(
        self, message: str, *, status_code: Optional[int] = None, hint: Optional[str] = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code

    def details(self) -> Dict[str, Any]:
        return {"status": self.status_code} if self.status_code is not None else {}


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
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.transient = transient  # worth queueing: trying later may work
        self.attempts = attempts

    def details(self) -> Dict[str, Any]:
        found: Dict[str, Any] = {"attempts": self.attempts}
        if self.status_code is not None:
            found["status"] = self.status_code
        return found


class QueuedError(StacEventsError):
    """Delivery failed for now; the payload waits in the spool for a later run."""

    status = ExitStatus.QUEUED
    kind = "queued"

    def __init__(self, message: str, *, queued: int, hint: Optional[str] = None) -> None:
        super().__init__(message, hint=hint)
        self.queued = queued

    def details(self) -> Dict[str, Any]:
        return {"queued": self.queued}
