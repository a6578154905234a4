"""Getting payloads to the receiver without losing any: the spool first, then the new ones.

Queued payloads go first, oldest first, so that the receiver sees events in the order
they happened; while older ones cannot be delivered, new ones queue behind them.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator, List, Optional, Tuple

from stac_events.errors import DeliveryError, QueuedError, RejectedError
from stac_events.settings import DeliveryOptions, Target
from stac_events.spool import Spool
from stac_events.transport import Delivery, Sender

Payload = Tuple[bytes, int]  # the body, and how many events it holds


class FlushReport:
    """What a flush of the spool did; counted as it goes."""

    def __init__(self) -> None:
        self.delivered = 0
        self.events = 0
        self.rejected = 0
        self.elsewhere = 0  # queued for another receiver address: left for a run that uses it
        self.blocked: Optional[DeliveryError] = None  # the transient failure that stopped it


class Outcome:
    """What happened to the payloads of one command."""

    def __init__(self) -> None:
        self.deliveries: List[Delivery] = []
        self.events = 0
        self.flushed = FlushReport()

    @property
    def attempts(self) -> int:
        return sum(d.attempts for d in self.deliveries)

    @property
    def elapsed_ms(self) -> int:
        return sum(d.elapsed_ms for d in self.deliveries)

    @property
    def status(self) -> Optional[int]:
        return self.deliveries[-1].status if self.deliveries else None


def flush(spool: Spool, sender: Sender) -> FlushReport:
    """Deliver queued payloads for this sender's receiver; stop at the first transient failure."""
    report = FlushReport()
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
    return report


def deliver(
    payloads: Iterable[Payload],
    target: Target,
    options: DeliveryOptions,
    spool: Optional[Spool],
    *,
    encoding: Optional[str] = None,
) -> Outcome:
    """Send payloads in order, after the spool; queue what cannot be sent now.

    Raises `QueuedError` when payloads were queued, `DeliveryError` when they could
    not be sent nor queued, `RejectedError` when the receiver refused one.
    """
    outcome = Outcome()
    unsent: Iterator[Payload] = iter(payloads)
    with Sender(target, options) as sender:
        blocked = None
        if spool is not None:
            outcome.flushed = flush(spool, sender)
            blocked = outcome.flushed.blocked
        if blocked is None:
            for body, events in unsent:
                try:
                    outcome.deliveries.append(sender.post(body, encoding=encoding))
                except DeliveryError as error:
                    if spool is None or not error.transient:
                        raise
                    blocked = error
                    unsent = itertools.chain([(body, events)], unsent)
                    break
                outcome.events += events
        if spool is not None and blocked is not None:
            queued = _queue(spool, target, unsent, encoding)
            raise _queued_error(blocked, spool, queued)
    return outcome


def _queue(
    spool: Spool, target: Target, payloads: Iterable[Payload], encoding: Optional[str]
) -> int:
    count = 0
    for body, events in payloads:
        spool.put(body, address=target.address, events=events, encoding=encoding)
        count += 1
    return count


def _queued_error(cause: DeliveryError, spool: Spool, queued: int) -> QueuedError:
    waiting = spool.waiting()
    return QueuedError(
        f"{cause.message}; queued for later ({waiting} payload(s) waiting in {spool.pending})",
        queued=queued,
        hint="the next 'event send' or 'stac-events spool flush' delivers them",
    )
