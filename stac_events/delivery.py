"""Getting payloads to the receiver without losing any: the spool first, then the new ones.

Queued payloads go first, oldest first, so that the receiver sees events in the order
they happened; while older ones cannot be delivered, new ones queue behind them.
`Outcome.problem` is the one place where what happened becomes an error (and so an
exit status).
"""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator, List, Optional

from stac_events.errors import DeliveryError, QueuedError, RejectedError, StacEventsError
from stac_events.model import Payload
from stac_events.settings import DeliveryOptions, Target
from stac_events.spool import Spool
from stac_events.transport import Receipt, Sender


class FlushReport:
    """What a flush of the spool did; counted as it goes."""

    def __init__(self) -> None:
        self.delivered = 0
        self.events = 0
        self.rejected = 0
        self.elsewhere = 0  # queued for another receiver address: left for a run that uses it
        self.blocked: Optional[DeliveryError] = None  # the transient failure that stopped it


class Outcome:
    """What happened to the payloads of one run: its own, and those queued before."""

    def __init__(self, spool: Optional[Spool]) -> None:
        self.spool = spool
        self.receipts: List[Receipt] = []
        self.events = 0  # of this run's own, delivered
        self.queued = 0  # of this run's own payloads, put in the spool
        self.blocked: Optional[DeliveryError] = None  # why they were
        self.flushed = FlushReport()

    @property
    def attempts(self) -> int:
        return sum(receipt.attempts for receipt in self.receipts)

    @property
    def elapsed_ms(self) -> int:
        return sum(receipt.elapsed_ms for receipt in self.receipts)

    @property
    def status(self) -> Optional[int]:
        return self.receipts[-1].status if self.receipts else None

    def waiting(self) -> int:
        """Payloads in the spool still waiting for delivery, this run's and older ones."""
        return self.spool.waiting() if self.spool is not None else 0

    def problem(self) -> Optional[StacEventsError]:
        """The error this outcome amounts to, or None when all is well.

        A run answers for its own payloads: queued ones make a `QueuedError` (exit 75).
        A run with none of its own (a flush) answers for the spool's: a flush stopped by
        the receiver being unreachable is a `QueuedError`, one in which the receiver
        refused payloads a `RejectedError` (exit 4).
        """
        if self.queued:
            cause = self.blocked or self.flushed.blocked
            return self._queued(cause.message if cause else "not delivered", self.queued)
        if self.receipts or self.events:
            return None
        flushed = self.flushed
        if flushed.blocked is not None:
            waiting = self.waiting()
            return QueuedError(
                f"{flushed.blocked.message}; delivered {flushed.delivered}, "
                f"{waiting} payload(s) still queued",
                queued=waiting,
            )
        if flushed.rejected and self.spool is not None:
            return RejectedError(
                f"the receiver refused {flushed.rejected} queued payload(s); they were moved "
                f"to {self.spool.rejected} (delivered {flushed.delivered})",
                hint="see 'stac-events spool list'",
            )
        return None

    def _queued(self, cause: str, queued: int) -> QueuedError:
        where = f" in {self.spool.pending}" if self.spool is not None else ""
        return QueuedError(
            f"{cause}; queued for later ({self.waiting()} payload(s) waiting{where})",
            queued=queued,
            hint="the next 'event send' or 'stac-events spool flush' delivers them",
        )


def flush(spool: Spool, sender: Sender, report: FlushReport) -> None:
    """Deliver queued payloads for this sender's receiver; stop at the first transient failure."""
    for claimed in spool.claim():
        if claimed.address != sender.target.address:
            report.elsewhere += 1
            claimed.release()  # the key we hold is for another receiver: never send it there
            continue
        try:
            sender.post(claimed.body(), encoding=claimed.encoding)
        except RejectedError as error:
            claimed.reject(error.message)
            report.rejected += 1
            continue
        except DeliveryError as error:
            claimed.release()
            if not error.transient:
                raise
            report.blocked = error
            break
        except BaseException:
            claimed.release()
            raise
        claimed.delivered()
        report.delivered += 1
        report.events += claimed.events


def deliver(
    payloads: Iterable[Payload],
    target: Target,
    options: DeliveryOptions,
    spool: Optional[Spool],
    *,
    encoding: Optional[str] = None,
) -> Outcome:
    """Send the spool's payloads, then these, in order; queue what cannot be sent now.

    A transient failure queues the payloads not yet sent (see `Outcome.problem`); with
    no spool it is raised, as are a refusal (`RejectedError`) and a failure that trying
    later cannot mend (`DeliveryError`).
    """
    outcome = Outcome(spool)
    unsent: Iterator[Payload] = iter(payloads)
    with Sender(target, options) as sender:
        if spool is not None:
            flush(spool, sender, outcome.flushed)
        if outcome.flushed.blocked is None:
            for body, events in unsent:
                try:
                    outcome.receipts.append(sender.post(body, encoding=encoding))
                except DeliveryError as error:
                    if spool is None or not error.transient:
                        raise
                    outcome.blocked = error
                    unsent = itertools.chain([(body, events)], unsent)
                    break
                outcome.events += events
        if spool is not None and (outcome.blocked or outcome.flushed.blocked) is not None:
            for body, events in unsent:
                spool.put(body, address=target.address, events=events, encoding=encoding)
                outcome.queued += 1
    return outcome
