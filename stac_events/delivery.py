"""Getting payloads to the receiver without losing any: the spool first, then the new ones.

Queued payloads go first, oldest first, so that the receiver sees events in the order
they happened; while older ones cannot be delivered, new ones queue behind them. What
each answer does (SPEC section 7):

- 2xx: delivered; a queued payload leaves the spool.
- 400, 422, 413 of one event: the payload is at fault. A queued one moves to rejected/,
  a new one is counted as refused; the payloads after it go on.
- 413 of several events: split in halves, down to single events.
- Any other refusal (401, 403, 404, 405, a 3xx, ...): the key or the address is at
  fault, and every payload would get the same answer. Everything stops; the spool stays
  as it is.
- 5xx after the retries, and for a queued payload no answer in time from a receiver that
  took the request (a payload that hangs it): the payload is held while the next one is
  tried, once. If that one gets through, the held one is passed over (a queued one moves
  to failed/ after `PASSED_OVER_LIMIT` runs); if it fails so too it is held as well, up
  to `HELD_LIMIT` payloads, so that a few bad payloads in a row are still told from an
  outage; past that, or on any other failure, the receiver is down: everything left is
  queued, in order.
- Connection errors, other timeouts, 408, 429, and running out of `--max-time`: the receiver
  is down; everything left is queued, in order.

A run's own payloads are always tried, whatever the spool holds: queued payloads get at
most `SPOOL_SHARE` of `--max-time` before them, and a queued payload that fails for
any transient reason (or a `HELD_LIMIT`-th one in a row with a 5xx) ends the turn of
the queued ones rather than the run. The new payloads then judge what is held: if they
get through, the held ones are passed over, so that poison payloads move towards
failed/ run by run instead of holding every new event back. The queued payloads not
tried wait, in their order, for the next run.

`Outcome.problem` is the one place where what happened becomes an error (and so an
exit status).
"""

from __future__ import annotations

import functools
import gzip
import itertools
import math
import time
import zlib
from typing import Any, Callable, Dict, Generator, Iterable, Iterator, List, Optional, Tuple

from stac_events.bodies import Payload, gzip_body, split
from stac_events.errors import (
    DeliveryError,
    Interrupted,
    QueuedError,
    RejectedError,
    StacEventsError,
    Terminated,
)
from stac_events.redact import redact
from stac_events.settings import DeliveryOptions, Target
from stac_events.spool import STALE_CLAIM_S, Claimed, Corrupt, Spool
from stac_events.status import ExitStatus
from stac_events.transport import Receipt, Sender, faults_key_or_address

HELD_LIMIT = 3  # payloads failing with 5xx in a row that are still told from an outage
# A queued payload is claimed while it is sent: it must be done with before another run
# may take the claim over as abandoned.
QUEUED_PAYLOAD_S = STALE_CLAIM_S / 2
# Of a run's --max-time, what queued payloads may take before the run's own are tried.
SPOOL_SHARE = 0.5


class FlushReport:
    """What happened to payloads queued before this run; counted as it goes."""

    def __init__(self) -> None:
        self.delivered = 0  # payloads
        self.events = 0  # in them
        self.rejected = 0  # payloads moved to rejected/
        self.failed = 0  # payloads moved to failed/
        self.passed_over = 0  # payloads left in the queue while later ones got through
        self.elsewhere = 0  # queued for another receiver address: left for a run that uses it
        self.corrupt = 0  # files that could not be read or trusted, set aside to corrupt/
        self.left: Optional[str] = None  # why queued payloads were left for a later run

    def moved_aside(self) -> Optional[str]:
        """What the receiver made this flush move aside, in words; None when nothing."""
        if not (self.rejected or self.failed):
            return None
        what = [f"refused {self.rejected}"] if self.rejected else []
        what += [f"failed on {self.failed}"] if self.failed else []
        return f"the receiver {' and '.join(what)} queued payload(s); they were moved aside"

    def __repr__(self) -> str:
        counted = ("delivered", "events", "rejected", "failed", "passed_over", "elsewhere",
                   "corrupt")  # fmt: skip
        shown = ", ".join(f"{name}={getattr(self, name)}" for name in counted)
        return f"FlushReport({shown}" + (f", left={self.left!r})" if self.left else ")")


class Outcome:
    """What happened to the payloads of one run: its own, and those queued before.

    Own events are counted by what became of them: delivered (`events`), refused by the
    receiver, queued in the spool, or not sent at all (stopped, interrupted, not saved).
    """

    def __init__(self, spool: Optional[Spool]) -> None:
        self.spool = spool
        self.receipts: List[Receipt] = []
        self.events = 0  # of this run's own, delivered
        self.refused = 0
        self.queued = 0
        self.unsent = 0
        self.refusal: Optional[RejectedError] = None  # the first refusal of an own payload
        self.stopped: Optional[RejectedError] = None  # a key or address the receiver refused
        self.blocked: Optional[DeliveryError] = None  # why payloads were queued
        self.failure: Optional[DeliveryError] = None  # a failure trying later cannot mend
        self.not_saved: Optional[str] = None  # why the spool could not take payloads
        self.spool_trouble: Optional[str] = None  # why the spool could not be read or tidied
        self.interrupted: Optional[BaseException] = None
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

    @property
    def accepted(self) -> int:
        """Own events the run took on: each is delivered, refused, queued or not sent."""
        return self.events + self.refused + self.queued + self.unsent

    def waiting(self) -> int:
        """Payloads in the spool still waiting for delivery, this run's and older ones."""
        return self.spool.waiting() if self.spool is not None else 0

    def counts(self) -> Dict[str, int]:
        """What became of the run's own events, for `--output json`."""
        return {"delivered": self.events, "refused": self.refused, "queued": self.queued,
                "not_sent": self.unsent}  # fmt: skip

    def __repr__(self) -> str:
        counted = ", ".join(f"{name}={count}" for name, count in self.counts().items())
        return f"Outcome({counted}, status={self.status}, flushed={self.flushed!r})"

    def problem(self) -> Optional[StacEventsError]:
        """The error this outcome amounts to, or None when all is well.

        A run answers for its own events; a run with none of its own (a flush) answers
        for the spool's. Precedence: an interruption, then a key or address refused
        (exit 4), a failure that was not queued (exit 5), refused events (exit 4), queued
        ones (exit 75).
        """
        interruption = self.interruption()
        if interruption is not None:
            return interruption
        if not self.accepted:
            return self._flush_problem()
        error: Optional[StacEventsError] = None
        if self.stopped is not None:
            error = RejectedError(
                self._told(self.stopped.message) + self._untouched(),
                status_code=self.stopped.status_code,
                hint=self.stopped.hint,
                reasons=self.stopped.reasons,
            )
        elif self.failure is not None or (self.unsent and self.blocked is not None):
            cause = self.failure or self.blocked
            assert cause is not None
            why = "; nothing was queued" if self.spool is None else ""
            if self.not_saved:
                why = f"; the event(s) were not saved: {self.not_saved}"
            error = DeliveryError(
                self._told(cause.message) + why,
                status_code=cause.status_code,
                hint=cause.hint,
                transient=False,
                attempts=cause.attempts,
            )
        elif self.refused:
            assert self.refusal is not None
            error = RejectedError(
                self._told(self.refusal.message),
                status_code=self.refusal.status_code,
                hint=self.refusal.hint,
                reasons=self.refusal.reasons,
            )
        elif self.queued:
            reason = self.blocked.message if self.blocked else "not delivered"
            error = self._queued(self._told(reason), self.queued)
        if error is not None:
            error.counts = self.counts()
        return error

    def _told(self, cause: str) -> str:
        """The cause, and what became of the events when not all went one way."""
        if self.accepted == 1 or self.accepted in (self.queued, self.unsent):
            return cause
        parts = [f"delivered {self.events} of {self.accepted} events"]
        parts += [f"{n} {word}" for n, word in ((self.refused, "refused"),
                  (self.queued, "queued"), (self.unsent, "not sent")) if n]  # fmt: skip
        return f"{cause}; {', '.join(parts)}"

    def _untouched(self) -> str:
        waiting = self.waiting()
        if not waiting:
            return ""
        return f"; {waiting} queued payload(s) still wait in the spool, untouched"

    def interruption(self) -> Optional[Interrupted]:
        """What a Ctrl-C or a terminating signal during this delivery amounts to, with
        what got through; None when none came."""
        return None if self.interrupted is None else self._interrupted()

    def _interrupted(self) -> Interrupted:
        stop = self.interrupted
        what = stop.words if isinstance(stop, Terminated) else "interrupted"
        if self.accepted == 1:
            fate = "delivered" if self.events else "queued for later" if self.queued else "not sent"
            message = f"{what}; the event was {fate}"
        elif self.accepted:
            message = f"{what}; delivered {self.events} of {self.accepted} events"
            message += f", {self.queued} queued" if self.queued else ""
            message += f", {self.unsent} not sent" if self.unsent else ""
        else:  # a flush
            message = f"{what}; delivered {self.flushed.delivered} queued payload(s)"
            message += f", {self.waiting()} still wait" if self.spool is not None else ""
        if self.not_saved:
            message += f" (the spool could not take them: {self.not_saved})"
        error = Interrupted(
            message,
            status=stop.status if isinstance(stop, Terminated) else ExitStatus.INTERRUPTED,
            kind="terminated" if isinstance(stop, Terminated) else "interrupted",
        )
        error.counts = self.counts()
        return error

    def _flush_problem(self) -> Optional[StacEventsError]:
        flushed = self.flushed
        tally = f"delivered {flushed.delivered}"
        if self.stopped is not None:
            return RejectedError(
                f"{self.stopped.message}; {tally}{self._untouched()}",
                status_code=self.stopped.status_code,
                hint=self.stopped.hint,
            )
        if self.failure is not None:
            return DeliveryError(
                f"{self.failure.message}; {tally}{self._untouched()}",
                hint=self.failure.hint,
                transient=False,
                attempts=self.failure.attempts,
            )
        if self.blocked is not None:
            waiting = self.waiting()
            return QueuedError(
                f"{self.blocked.message}; {tally}, {waiting} payload(s) still queued",
                queued=waiting,
            )
        if self.spool_trouble is not None and not flushed.delivered:
            return DeliveryError(f"the spool cannot be used: {self.spool_trouble}",
                                 transient=False)  # fmt: skip
        aside = flushed.moved_aside()
        if aside is not None and self.spool is not None:
            return RejectedError(
                f"{aside} ({tally})",
                hint="see 'stac-events spool list'; 'stac-events spool retry' puts them back",
            )
        return None

    def _queued(self, cause: str, queued: int) -> QueuedError:
        where = f" in {self.spool.pending}" if self.spool is not None else ""
        return QueuedError(
            f"{cause}; queued for later ({self.waiting()} payload(s) waiting{where})",
            queued=queued,
            hint="the next 'event send' or 'stac-events spool flush' delivers them",
        )


class _Item:
    """A payload on its way: queued before (`claimed`), or new in this run."""

    __slots__ = ("body", "claimed", "events", "passed_over")

    def __init__(self, body: bytes, events: int, claimed: Optional[Claimed] = None) -> None:
        self.body, self.events, self.claimed = body, events, claimed
        self.passed_over = 0


class _Delivery:
    """One run's payloads, the spool's first, through one sender; see the module's rules."""

    def __init__(
        self,
        outcome: Outcome,
        address: str,
        payloads: Iterable[Payload],
        encoding: Optional[str],
        spool_share: float,
    ) -> None:
        self.outcome = outcome
        self.sender: Optional[Sender] = None  # set once requests is imported
        self.spool = outcome.spool
        self.address = address
        self.encoding = encoding
        self.fresh: Iterator[Payload] = iter(payloads)
        first = next(self.fresh, None)
        self.own = first is not None  # a run with events of its own, not a flush
        if first is not None:
            self.fresh = itertools.chain([first], self.fresh)
        self.claims: Optional[Generator[Claimed, None, None]] = (
            self.spool.claim() if self.spool is not None else None
        )
        # the queued payloads' turn ends by then, when the run has its own to send
        self.spool_until = time.monotonic() + spool_share if self.own else math.inf
        self.front: List[_Item] = []  # next in line: the halves of a split payload
        self.held: List[Tuple[_Item, DeliveryError]] = []  # 5xx, judged by the next payload
        self.current: Optional[_Item] = None

    def run(self, sender: Sender) -> None:
        self.sender = sender
        try:
            while True:
                item = self._next()
                if item is None:
                    break
                self.current = item  # until its fate is settled: what _stop must look after
                if not self._send(item):
                    return self._stop(queue_new=True)
                self.current = None
            if self.held:  # nothing after them to tell bad payloads from an outage
                self.outcome.blocked = self.held[0][1]
                self._stop(queue_new=True)
        finally:
            if self.spool is not None:
                self.outcome.flushed.corrupt = self.spool.corrupted
                for error in self.spool.unclaimable[:1]:  # the others say the same, mostly
                    self._trouble(error)

    def interrupted(self, stop: BaseException) -> None:
        """Leave the spool as it was and, on Ctrl-C or a terminating signal, queue what was
        not delivered."""
        if isinstance(stop, (KeyboardInterrupt, Terminated)):
            self.outcome.interrupted = stop
        self._stop(queue_new=isinstance(stop, (KeyboardInterrupt, Terminated)))

    def _next(self) -> Optional[_Item]:
        if self.front:
            return self.front.pop(0)
        if self.claims is not None and time.monotonic() >= self.spool_until:
            self._end_spool_turn("the queued payloads had their share of the time allowed")
        while self.claims is not None:
            try:
                claimed = next(self.claims)
                if claimed.header.address != self.address:
                    self.outcome.flushed.elsewhere += 1
                    claimed.release()  # the key we hold is for another receiver: never there
                    continue
            except StopIteration:
                self.claims = None
                break
            except OSError as error:
                self._trouble(error)
                self.claims = None
                break
            try:
                return _Item(claimed.body(), claimed.header.events, claimed)
            except Corrupt as why:  # larger than any request: it can never be sent
                self._tidy(functools.partial(claimed.set_corrupt, str(why)))
            except OSError as error:  # unreadable now: left in the queue, the rest goes on
                self._trouble(error)
                self._tidy(claimed.release)
        for body, events in self.fresh:
            return _Item(body, events)
        return None

    def _call_judge(self) -> None:
        """Try the newest queued payload next, out of turn: poisons queued in a row (a
        batch of bad events) are told from an outage by one that came after them."""
        if self.spool is None:
            return
        claimed = self._tidy(self.spool.claim_newest)
        if not isinstance(claimed, Claimed):
            return  # none: the next in line is the judge
        if claimed.header.address != self.address:
            self._tidy(claimed.release)
            return
        try:
            self.front.insert(0, _Item(claimed.body(), claimed.header.events, claimed))
        except Corrupt as why:
            self._tidy(functools.partial(claimed.set_corrupt, str(why)))
        except OSError as error:
            self._trouble(error)
            self._tidy(claimed.release)

    def _end_spool_turn(self, why: str) -> None:
        """Leave the queued payloads not yet tried for a later run: the run's own come now."""
        if self.claims is not None:
            self.claims.close()  # claims are made one at a time: none is left made
            self.claims = None
        self.outcome.flushed.left = self.outcome.flushed.left or why

    def _send(self, item: _Item) -> bool:
        """Send one payload and act on the answer; False when everything must stop."""
        assert self.sender is not None
        encoding = item.claimed.header.encoding if item.claimed else self.encoding
        until = None
        if item.claimed is not None:
            until = min(self.spool_until, time.monotonic() + QUEUED_PAYLOAD_S)
        try:
            receipt = self.sender.post(
                item.body,
                encoding=encoding,
                # One try tells enough of a probe, and of a queued payload: the spool is its
                # retries, and a payload that hangs the receiver must not take a run's time
                retries=0 if self.held or item.claimed is not None else None,
                until=until,
            )
        except RejectedError as error:
            if faults_key_or_address(error):
                self.outcome.stopped = error
                return False
            if error.status_code == 413:
                halves = self._split(item, encoding)
                if halves:
                    self.front[:0] = halves
                    return True
            self._refused(item, error)
            return True
        except DeliveryError as error:
            if not error.transient:
                self.outcome.failure = error
                return False
            # a queued payload that the receiver took and did not answer may be one that
            # hangs it: judged by the next, as a 5xx is
            unanswered = error.unanswered and item.claimed is not None
            if ((error.status_code or 0) >= 500 or unanswered) and len(self.held) < HELD_LIMIT:
                self.held.append((item, error))
                self.current = None
                if len(self.held) == HELD_LIMIT and item.claimed is not None:
                    if self.own:  # the run's own event is the next one, and judges them
                        self._end_spool_turn(f"{HELD_LIMIT} in a row failed: {error.message}")
                    else:  # a flush: the newest queued payload judges them
                        self._call_judge()
                return True
            if item.claimed is not None and self.own:  # the run's own are tried all the same
                self._tidy(item.claimed.release)
                self.current = None
                self._end_spool_turn(error.message)
                return True
            self.outcome.blocked = self.held[0][1] if self.held else error
            return False
        self._delivered(item, receipt)
        for held, why in self.held:
            self._pass_over(held, why)
        self.held = []
        return True

    def _delivered(self, item: _Item, receipt: Receipt) -> None:
        if item.claimed is None:
            self.outcome.receipts.append(receipt)
            self.outcome.events += item.events
            return
        self.outcome.flushed.delivered += 1
        self.outcome.flushed.events += item.events
        self._tidy(item.claimed.delivered)

    def _refused(self, item: _Item, error: RejectedError) -> None:
        if item.claimed is None:
            self.outcome.refused += item.events
            self.outcome.refusal = self.outcome.refusal or error
            return
        claimed = item.claimed
        if self._tidy(lambda: claimed.set_aside("rejected", error.message)):
            self.outcome.flushed.rejected += 1

    def _pass_over(self, item: _Item, error: DeliveryError) -> None:
        """The payload failed while the one after it got through: it is not the receiver."""
        if item.claimed is None:
            item.passed_over = 1
            self.outcome.blocked = self.outcome.blocked or error
            self._queue(item)
            return
        claimed = item.claimed
        claimed.note(error.message)
        state = self._tidy(claimed.passed_over)
        if state == "failed":
            self.outcome.flushed.failed += 1
        elif state == "pending":
            self.outcome.flushed.passed_over += 1

    def _split(self, item: _Item, encoding: Optional[str]) -> List[_Item]:
        """The payload's halves, in its place; none when it holds one event."""
        try:
            body = gzip.decompress(item.body) if encoding == "gzip" else item.body
        except (OSError, EOFError, zlib.error):
            return []  # not what it says it is: refused as it stands
        pair = split(body)
        if pair is None:
            return []
        halves: Tuple[Payload, ...] = pair
        if encoding == "gzip":
            halves = tuple((gzip_body(half), events) for half, events in pair)
        if item.claimed is None:
            return [_Item(half, events) for half, events in halves]
        claimed = item.claimed
        parts = self._tidy(lambda: claimed.split(halves))
        if parts is None:
            self._tidy(claimed.release)
            return []
        pairs = zip(halves, parts, strict=True)
        return [_Item(half, events, part) for (half, events), part in pairs]

    def _stop(self, *, queue_new: bool) -> None:
        """Give queued payloads back and queue (or count as not sent) the new ones, in order."""
        left = [item for item, _ in self.held]
        left += [self.current] if self.current is not None else []
        left += self.front
        self.held, self.current, self.front = [], None, []
        for item in left:
            if item.claimed is not None:
                self._tidy(item.claimed.release)
            else:
                self._leftover(item, queue_new)
        for body, events in self.fresh:
            self._leftover(_Item(body, events), queue_new)
        if self.spool is not None:  # one a signal cut short, between claim and hand-over
            self._tidy(self.spool.release_own_claims)

    def _leftover(self, item: _Item, queue_new: bool) -> None:
        stopped = self.outcome.stopped or self.outcome.failure
        if queue_new and stopped is None:
            self._queue(item)
        else:
            self.outcome.unsent += item.events

    def _queue(self, item: _Item) -> None:
        if self.spool is None:
            self.outcome.unsent += item.events
            return
        try:
            self.spool.put(item.body, address=self.address, events=item.events,
                           encoding=self.encoding, passed_over=item.passed_over)  # fmt: skip
        except OSError as error:
            self.outcome.unsent += item.events
            self.outcome.not_saved = f"cannot write to {self.spool.root}: {_why(error)}"
            return
        self.outcome.queued += item.events

    def _tidy(self, step: Callable[[], Any]) -> Any:
        """A step in the spool that may fail on a full or read-only disk: the payload stays
        where it was, to be sent again rather than lost."""
        try:
            return step() or True
        except OSError as error:
            self._trouble(error)
            return None

    def _trouble(self, error: OSError) -> None:
        where = error.filename or (self.spool.root if self.spool is not None else "the spool")
        self.outcome.spool_trouble = f"{where}: {_why(error)}"


def deliver(
    payloads: Iterable[Payload],
    target: Target,
    options: DeliveryOptions,
    spool: Optional[Spool],
    *,
    encoding: Optional[str] = None,
    on_start: Optional[Callable[[], None]] = None,
) -> Outcome:
    """Send the spool's payloads, then these, in order; queue what cannot be sent now.

    Never raises for what the receiver, the network or the spool did: that is in the
    outcome (see `Outcome.problem`). A `KeyboardInterrupt` or `Terminated` is raised
    again once the spool is in order and what was not delivered is queued, with the
    outcome as its `outcome` attribute. `on_start` is called first, inside that care: a
    caller that held a signal until delivery lets it act there.
    """
    outcome = Outcome(spool)
    # The spool keeps the address without its password, if it has one: never a secret
    delivery = _Delivery(outcome, redact(target.address), payloads, encoding,
                         spool_share=options.max_time * SPOOL_SHARE)  # fmt: skip
    try:
        if on_start is not None:
            on_start()  # may raise what a signal held until now: the payloads are queued
        with Sender(target, options) as sender:  # imports requests: a SIGTERM may come
            delivery.run(sender)
    except BaseException as stop:
        delivery.interrupted(stop)
        stop.outcome = outcome  # type: ignore[attr-defined]
        raise
    return outcome


def _why(error: OSError) -> str:
    return error.strerror or type(error).__name__
