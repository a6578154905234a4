"""Sending events: from events to request bodies, and from bodies to the receiver.

The core that both the command line and the library's functions (`stac_events.send`,
`prepare`, `flush_spool`) call: `prepare` validates everything before anything is sent
and hands out the bodies lazily; `send` delivers them through the spool as the settings
say, and `flush` delivers what the spool holds. Both turn what happened into the one
error it amounts to (`Outcome.problem`), here and nowhere else.
"""

from __future__ import annotations

from typing import (
    IO,
    TYPE_CHECKING,
    Callable,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
)

from stac_events.bodies import Packer, Payload, gzip_body
from stac_events.errors import InvalidInput
from stac_events.events import EventDefaults
from stac_events.parse import LARGEST_REQUEST_BYTES, InvalidValue
from stac_events.redact import Masker
from stac_events.settings import Settings

if TYPE_CHECKING:
    from stac_events.batch import Head, Item
    from stac_events.ci import CiRun
    from stac_events.delivery import Outcome

DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
MIN_REQUEST_BYTES = 1024  # a common object with one small event fits
GZIP = "gzip"


NO_EVENTS = "no events in it"


class Prepared(NamedTuple):
    """Validated events, as the request bodies that will carry them; a context manager
    that lets go of the batch's temporary file."""

    payloads: Iterable[Payload]  # lazy: a batch is packed only as it is sent
    events: int
    warnings: List[str]
    store: Optional[IO[bytes]] = None  # where a batch waits to be packed
    # who asked for CI context when no CI system was found (a setting's origin), else None
    ci_not_found: Optional[str] = None
    # the secrets masked in the bodies (with every address's password and api_key= value);
    # None: not known to be masked
    masked: Optional[Sequence[str]] = None

    def close(self) -> None:
        """Let go of the batch's temporary file, whether or not it was sent."""
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def prepare(
    defaults: EventDefaults,
    settings: Settings,
    *,
    environ: Mapping[str, str],
    now: float,
    events: Optional[Iterator[Item]] = None,
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    label: str = "the input",
    head: Optional[Head] = None,
    allow_empty: bool = False,
) -> Prepared:
    """The one event that `defaults` describe, or each of `events` completed by them,
    validated and ready to be sent as the settings say (host name, CI context read from
    `environ`, secrets masked); see `prepare_one` and `prepare_many`."""
    ci = _ci_run(settings, environ)
    hostname, secrets = settings.hostname.value, settings.secrets
    if events is None:
        prepared = prepare_one(defaults, hostname=hostname, now=now, ci=ci, max_bytes=max_bytes,
                               secrets=secrets)  # fmt: skip
    else:
        prepared = prepare_many(events, defaults, hostname=hostname, now=now, max_bytes=max_bytes,
                                ci=ci, label=label, head=head, secrets=secrets,
                                allow_empty=allow_empty)  # fmt: skip
    if settings.ci_context.value and ci is None:
        prepared = prepared._replace(ci_not_found=settings.ci_context.origin)
    return prepared


def _ci_run(settings: Settings, environ: Mapping[str, str]) -> Optional[CiRun]:
    """The CI run to describe in events, when the settings ask for it and one is found."""
    if not settings.ci_context.value:
        return None
    from stac_events.ci import detect

    return detect(environ)


def prepare_one(
    defaults: EventDefaults,
    *,
    hostname: str,
    now: float,
    ci: Optional[CiRun] = None,
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    secrets: Sequence[str] = (),
) -> Prepared:
    """The body for the one event that `defaults` describe, at most `max_bytes` long: a
    larger one the receiver would refuse (413), and a retry could never mend that.

    `secrets` (and any address's password or `api_key=` value) are masked in its texts:
    an event is no place for a key, whoever put it there."""
    found = one_by_block(defaults, hostname=hostname, now=now, ci=ci)
    if found is not None:
        body, warnings = found
    else:  # the models say what is wrong, or make what the block path does not take
        body, warnings = one_by_model(defaults, hostname=hostname, now=now, ci=ci)
    body = Masker(secrets)(body)
    if len(body) > max_bytes:
        raise InvalidInput(
            f"the event makes a body of {len(body)} bytes, over the request size limit of "
            f"{max_bytes}",
            hint="shorten its text or data, or raise --max-request-bytes if the receiver "
            "takes more",
        )
    return Prepared([(body, 1)], 1, warnings, masked=tuple(secrets))


def one_by_model(
    defaults: EventDefaults, *, hostname: str, now: float, ci: Optional[CiRun] = None
) -> Tuple[bytes, List[str]]:
    """The body of the one event that `defaults` describe, validated by the `Event` model,
    and its warnings; an `InvalidInput` names what is wrong."""
    from stac_events.events import build_event
    from stac_events.model import envelope

    name, event, warnings = build_event(defaults, now=now, ci=ci)
    try:
        body = envelope({name: [event]}, hostname=hostname, collection_timestamp=int(now))
    except InvalidValue as error:  # text that cannot be UTF-8, named by its field
        field, _, reason = str(error).partition(": ")
        raise InvalidInput(reason, field=field) from None
    return body, warnings


def one_by_block(
    defaults: EventDefaults, *, hostname: str, now: float, ci: Optional[CiRun] = None
) -> Optional[Tuple[bytes, List[str]]]:
    """What `one_by_model` gives, by the path a batch's blocks take (`blocks`): the
    event is an input line that gives nothing of its own, completed by the defaults. It
    needs pydantic-core alone, no models (pydantic's import is most of a start-up). None
    when that path does not take it whole, as for an event that is wrong: the models
    then say why, in their words."""
    from stac_events.blocks import Blocks

    if ci is not None:
        defaults = defaults.with_ci(ci)
    if not defaults.event_type or defaults.title is None:
        return None
    blocks = Blocks(defaults, now=now, keys={})
    done = blocks.validate(['{"name":null}']) if blocks.usable else None
    if done is None or len(done.runs) != 1:
        return None
    run = done.runs[0]
    packer = Packer(hostname=hostname, collection_timestamp=int(now), max_bytes=0)
    return packer.body({run.key: [run.data]}), [note for _, note in done.notes]


def prepare_many(
    events: Iterator[Item],
    defaults: EventDefaults,
    *,
    hostname: str,
    now: float,
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ci: Optional[CiRun] = None,
    label: str = "the input",
    head: Optional[Head] = None,
    secrets: Sequence[str] = (),
    allow_empty: bool = False,
) -> Prepared:
    """Validate every event first (all or nothing); then pack bodies of at most `max_bytes`.

    `events` yields `(where, fields)`, as `batch.read_events` does; the defaults fill in
    what each event lacks. A common JSON object's own `head` (read with the events) wins
    over `hostname` and `now` in the bodies, unless its `hostname_given`. `secrets` are
    masked as `prepare_one` masks them. No events at all is an `InvalidInput`, unless
    `allow_empty`: then there is no body to send.
    """
    from stac_events import batch

    if not MIN_REQUEST_BYTES <= max_bytes <= LARGEST_REQUEST_BYTES:
        raise InvalidInput(
            f"{max_bytes} bytes is not a request size; give {MIN_REQUEST_BYTES} to "
            f"{LARGEST_REQUEST_BYTES}",
            field="max_request_bytes",
        )
    if ci is not None:
        defaults = defaults.with_ci(ci)
    mask = Masker(secrets)
    packer = Packer(hostname=hostname, collection_timestamp=int(now), max_bytes=max_bytes,
                    mask=mask)  # fmt: skip
    validated = batch.validate_all(events, defaults, now=now, packer=packer, mask=mask)
    if validated.events == 0:
        validated.store.close()
        if allow_empty:
            return Prepared([], 0, validated.warnings, masked=tuple(secrets))
        raise InvalidInput(NO_EVENTS, where=label)
    if head is not None and (head.hostname or head.collection_timestamp):
        own = head.hostname if head.hostname and not head.hostname_given else hostname
        packer = Packer(hostname=own, collection_timestamp=head.collection_timestamp or int(now),
                        max_bytes=max_bytes, mask=mask)  # fmt: skip
        if validated.largest > packer.max_bytes - packer.smallest_body(b"", b""):
            validated.store.close()
            raise InvalidInput(
                f"its largest event makes a body over the request size limit of {max_bytes} "
                f"bytes with the object's internalHostname {own!r}",
                where=head.where or label,
            )
    return Prepared(batch.bodies(validated, packer), validated.events, validated.warnings,
                    validated.store, masked=tuple(secrets))  # fmt: skip


def read_many(stream: IO[str], label: str, head: Optional[Head] = None) -> Iterator[Item]:
    """The events of a JSON array, one JSON object, NDJSON or a common JSON object
    (whose own host name and collection timestamp `head` learns)."""
    from stac_events import batch

    try:
        yield from batch.read_events(stream, label, head)
    except UnicodeDecodeError:
        raise InvalidInput("not UTF-8 text", where=label) from None
    except OSError as error:  # a device that fails (EIO), a directory given as stdin
        reason = error.strerror or str(error)
        raise InvalidInput(f"cannot be read: {reason}", where=label) from None


def gzipped(payloads: Iterable[Payload]) -> Iterator[Payload]:
    """The same bodies, compressed for `Content-Encoding: gzip`."""
    for body, events in payloads:
        yield gzip_body(body), events


def send(
    prepared: Prepared,
    settings: Settings,
    *,
    gzip: bool = False,
    backoff: float = 0.5,
    progress: Optional[Callable[[int], None]] = None,
    on_start: Optional[Callable[[], None]] = None,
    observe: Optional[Callable[[Outcome], None]] = None,
) -> Outcome:
    """Deliver the bodies as the settings say: the spool's first, then these, in order.

    `progress` is called with the events of each body as it is through, `on_start` as
    delivery starts, and `observe` with the outcome before it is judged: the spool's own
    news (payloads flushed, set aside) is there, whatever becomes of the run. An outcome
    that amounts to an error raises it (`Outcome.problem`): `QueuedError`,
    `RejectedError`, `DeliveryError` or `Interrupted`.
    """
    from stac_events.delivery import deliver

    target = settings.target()
    payloads = gzipped(prepared.payloads) if gzip else prepared.payloads
    if progress is not None:
        payloads = _Counted(payloads, progress)
    outcome = deliver(
        payloads,
        target,
        settings.delivery_options(backoff=backoff),
        settings.open_spool(),
        encoding=GZIP if gzip else None,
        on_start=on_start,
    )
    return _judged(outcome, observe)


def flush(
    settings: Settings,
    *,
    backoff: float = 0.5,
    observe: Optional[Callable[[Outcome], None]] = None,
) -> Outcome:
    """Deliver what the spool holds for the settings' receiver, oldest first; nothing new.

    Its problem, if any, is the spool's, raised as `send` raises one; the outcome's
    `flushed` says what became of each payload.
    """
    from stac_events.delivery import deliver

    options = settings.delivery_options(backoff=backoff)
    outcome = deliver([], settings.target(), options, settings.open_spool())
    return _judged(outcome, observe)


def _judged(outcome: Outcome, observe: Optional[Callable[[Outcome], None]]) -> Outcome:
    """The outcome, once observed; the error it amounts to is raised."""
    if observe is not None:
        observe(outcome)
    problem = outcome.problem()
    if problem is not None:
        raise problem
    return outcome


class _Counted:
    """The bodies, each counted (`advance`) when the next is asked for, once it went
    through. An iterator object rather than a generator: when `advance` raises (a Ctrl-C
    that lands there), the bodies still to come stay in place, for delivery to queue."""

    def __init__(self, payloads: Iterable[Payload], advance: Callable[[int], None]) -> None:
        self._payloads = iter(payloads)
        self._advance: Optional[Callable[[int], None]] = advance
        self._through = 0  # the events of the body handed out last

    def __iter__(self) -> Iterator[Payload]:
        return self

    def __next__(self) -> Payload:
        through, self._through = self._through, 0
        if through and self._advance is not None:
            advance, self._advance = self._advance, None  # one that raised is not called again
            advance(through)
            self._advance = advance
        body, events = next(self._payloads)
        self._through = events
        return body, events
