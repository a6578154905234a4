"""`stac-events spool list|flush|retry|drop|clear`: payloads that wait, and those set aside."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, NamedTuple, Optional, Tuple, TypeVar

from stac_events.cli.records import Values
from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError
from stac_events.errors import ConfigError
from stac_events.events import duration_in_words
from stac_events.parse import one_line

if TYPE_CHECKING:
    from stac_events.spool import Spool

T = TypeVar("T")


class SpoolListOptions(NamedTuple):
    """What `spool list` is given: its arguments and options (`cli.records`)."""

    output: str
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class SpoolFlushOptions(NamedTuple):
    """What `spool flush` is given: its arguments and options (`cli.records`)."""

    url: Optional[str]
    api_key: Optional[str]
    timeout: Optional[float]
    retries: Optional[int]
    max_time: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    headers: Values
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class SpoolRetryOptions(NamedTuple):
    """What `spool retry` is given: its arguments and options (`cli.records`)."""

    id: Optional[str]
    all: bool
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class SpoolDropOptions(NamedTuple):
    """What `spool drop` is given: its arguments and options (`cli.records`)."""

    id: Optional[str]
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class SpoolClearOptions(NamedTuple):
    """What `spool clear` is given: its arguments and options (`cli.records`)."""

    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


def list_entries(run: Run[SpoolListOptions]) -> int:
    spool = run.spool()
    now = run.env.clock()
    entries = [entry.as_dict(now) for entry in _using(spool, spool.entries)]
    if run.options.output == "json":
        run.output.data(entries)
        return 0
    if not entries:
        run.output.note(f"the spool is empty ({spool.root})")
        return 0
    for entry in entries:
        line = (
            f"{entry['id']}  {entry['state']:<8}  {entry['events']:>6} event(s)  "
            f"{duration_in_words(entry['age_s']):>10} old  {entry['address']}"
        )
        if "reason" in entry:
            line += f"  ({entry['reason']})"
        # A reason is what a receiver said, and a file's header anything at all: masked as
        # `-o json` masks it, and one line whatever it holds (no ESC reaches the terminal).
        run.env.stdout.write(one_line(run.output.mask(line)) + "\n")
    return 0


def flush(run: Run[SpoolFlushOptions]) -> int:
    from stac_events import sending

    settings = run.settings()
    out = run.output
    outcome = sending.flush(settings, backoff=run.env.retry_backoff, observe=out.spool_report)
    report = outcome.flushed
    text = f"delivered {report.delivered} queued payload(s), {report.events} event(s)"
    if report.elsewhere:
        text += f"; {report.elsewhere} wait for another receiver address"
    summary = {
        "delivered": report.delivered,
        "events": report.events,
        "rejected": report.rejected,
        "failed": report.failed,
        "passed_over": report.passed_over,
        "corrupt": report.corrupt,
        "waiting": outcome.waiting(),
        "address": settings.target().masked_url,
    }
    out.result(summary, text)
    return 0


def retry(run: Run[SpoolRetryOptions]) -> int:
    spool = run.spool()
    chosen = run.options.id
    if run.options.all == bool(chosen):
        raise UsageError(
            "give the id of one payload, or --all",
            hint="'stac-events spool list' shows the ids; "
            "'stac-events spool retry --help' says more",
        )
    passed: List[Dict[str, str]] = []  # those that could not be put back, and why
    if chosen:
        state, path = _one(spool, chosen)
        if state not in (*_SET_ASIDE, "corrupt"):  # corrupt: once mended, by its id
            raise UsageError(f"{_id(path)} is {state}, not set aside: there is nothing to retry")
        _using(spool, lambda: spool.retry(path))
        put_back = [path]
    else:  # each that can be put back is, whatever the others hold
        put_back = []
        for state, path in _using(spool, lambda: spool.find("")):
            if state in _SET_ASIDE:
                try:
                    _using(spool, functools.partial(spool.retry, path))
                    put_back.append(path)
                except (UsageError, ConfigError) as error:
                    passed.append({"id": _id(path), "reason": error.message})
    for left in passed:
        run.output.warn(f"{left['id']} stays where it is: {left['reason']}")
    count = len(put_back)
    run.output.result(
        {"requeued": count, "ids": [_id(path) for path in put_back],
         **({"not_requeued": passed} if passed else {})},
        f"put {count} payload(s) back in the queue; the next 'event send' or "
        f"'stac-events spool flush' delivers them",
    )  # fmt: skip
    return 0


def drop(run: Run[SpoolDropOptions]) -> int:
    spool = run.spool()
    if not run.options.id:
        raise UsageError(
            "give the id of the payload to drop",
            hint="'stac-events spool list' shows the ids; "
            "'stac-events spool drop --help' says more",
        )
    state, path = _one(spool, run.options.id)
    if state == "claimed":
        raise UsageError(f"{_id(path)} is being delivered right now; try again when it is not")
    _using(spool, lambda: path.unlink(missing_ok=True))
    run.output.result({"dropped": _id(path), "state": state},
                      f"dropped {_id(path)} ({state}); it will never be sent")  # fmt: skip
    return 0


def clear(run: Run[SpoolClearOptions]) -> int:
    spool = run.spool()
    removed, in_flight = _using(spool, spool.clear)
    text = f"removed {removed} payload(s) from the spool"
    if in_flight:
        text += f"; {in_flight} being delivered right now by another run were left to it"
    run.output.result({"removed": removed, "in_flight": in_flight}, text)
    return 0


_SET_ASIDE = ("rejected", "failed")


def _one(spool: Spool, prefix: str) -> Tuple[str, Path]:
    """The one file whose id starts with `prefix`."""
    if not re.fullmatch(r"[0-9A-Za-z_-]+", prefix):
        raise UsageError(f"{prefix!r} is not a payload id", hint="see 'stac-events spool list'")
    found: List[Tuple[str, Path]] = _using(spool, lambda: spool.find(prefix))
    if not found:
        raise UsageError(f"no payload {prefix!r} in the spool", hint="see 'stac-events spool list'")
    if len(found) > 1:
        raise UsageError(f"{len(found)} payloads start with {prefix!r}; give more of the id")
    return found[0]


def _id(path: Path) -> str:
    from stac_events.spool import id_of

    return id_of(path)


def _using(spool: Spool, step: Callable[[], T]) -> T:
    """A step in the spool's folders; one that cannot be done is a problem of the machine's
    set-up, said plainly."""
    from stac_events.spool import Corrupt

    try:
        return step()
    except FileNotFoundError as error:
        raise UsageError(
            f"{Path(str(error.filename)).name}: gone meanwhile", hint="see 'stac-events spool list'"
        ) from None
    except Corrupt as error:
        raise UsageError(f"that payload cannot be used: {error}",
                         hint="mend it and try again, or drop it") from None  # fmt: skip
    except OSError as error:
        raise ConfigError(
            f"cannot use the spool at {spool.root}: {error.strerror or error}",
            hint="check that folder's owner and permissions",
        ) from None
