"""The library's functions: resolve settings, prepare events, send them, flush the spool.

They do what the command line does, with the same retries, spool and meanings, but
raise typed exceptions (`stac_events.errors`) instead of exiting, and report warnings
through Python's `warnings` module instead of printing.
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from stac_events import sending
from stac_events import setting_specs as specs
from stac_events.environment import Environment
from stac_events.errors import InvalidInput
from stac_events.events import EventDefaults
from stac_events.model import Event
from stac_events.sending import DEFAULT_MAX_REQUEST_BYTES, Prepared
from stac_events.setting_specs import Overrides
from stac_events.settings import Settings, argument_origin, resolve

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from stac_events.delivery import Outcome
    from stac_events.setting_specs import SettingArguments

Events = Union[Event, Mapping[str, Any], Iterable[Union[Event, Mapping[str, Any]]]]


class StacEventsWarning(UserWarning):
    """Something allowed but probably not meant: an old timestamp, a config others can read."""


def resolve_settings(
    *, environ: Optional[Mapping[str, str]] = None, **given: Unpack[SettingArguments]
) -> Settings:
    """Settings as the command line resolves them: these arguments first, then the
    environment variables (`environ`, default `os.environ`), then the config file.

    Each argument is a setting, named as its command-line option is (`--max-time` is
    `max_time`); leave one out, or pass None, for the next source to decide it. A switch
    is given by its non-default value (`insecure=True`, `spool=False`). The settings:

    {settings}
    """
    found: Dict[str, Any] = {}
    for name, value in given.items():
        spec = specs.BY_NAME.get(name)
        if spec is None:
            raise TypeError(f"resolve_settings() got an unexpected keyword argument {name!r}")
        if not spec.accepts(value):
            raise InvalidInput(f"give {spec.kind_name()}, not {type(value).__name__}", field=name)
        found[name] = os.fspath(value) if isinstance(value, os.PathLike) else value
    overrides = Overrides(found)
    variables = dict(os.environ if environ is None else environ)
    home = Path(variables["HOME"]) if variables.get("HOME") else Path.home()
    env = Environment(environ=variables, home=home)
    settings = resolve(overrides, env, origin_of=argument_origin)
    for message in settings.warnings:
        warnings.warn(message, StacEventsWarning, stacklevel=2)
    return settings


def _listing_settings(doc: Optional[str]) -> Optional[str]:
    """The docstring with the settings in place of `{settings}`, indented as that line is
    (Python 3.13 and later strip a docstring's indent as they compile it; earlier ones
    keep it)."""
    if doc is None:  # `python -OO`
        return None
    (line,) = [line for line in doc.splitlines() if "{settings}" in line]
    indent = line[: len(line) - len(line.lstrip())]
    return doc.replace("{settings}", specs.described(indent))


resolve_settings.__doc__ = _listing_settings(resolve_settings.__doc__)


def prepare(
    events: Events,
    *,
    settings: Optional[Settings] = None,
    name: Optional[str] = None,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    environ: Optional[Mapping[str, str]] = None,
) -> Prepared:
    """Validate the events (all or nothing) and pack them into request bodies.

    `events` is one `Event` (or a mapping with its fields), or an iterable of them; a
    mapping may carry a `name` to file the event under (default: its event type, or
    `name`). Nothing is sent: iterating `Prepared.payloads` gives each exact body and its
    event count, once. Use it as a context manager, or call `close()`, to let go of the
    temporary file a batch waits in. CI variables are read from `environ` (default
    `os.environ`) when the settings ask for CI context.
    """
    return _prepare(events, settings, name, max_request_bytes, environ, caller=3)


def _prepare(
    events: Events,
    settings: Optional[Settings],
    name: Optional[str],
    max_request_bytes: int,
    environ: Optional[Mapping[str, str]],
    *,
    caller: int,
) -> Prepared:
    """`prepare`, its warnings pointing at the frame `caller` levels up: the user's code."""
    settings = settings or resolve_settings(environ=environ)
    _expect("max_request_bytes", max_request_bytes, int, none=False)
    prepared = sending.prepare(
        EventDefaults(name=name),
        settings,
        environ=os.environ if environ is None else environ,
        now=time.time(),
        events=_numbered(events),
        max_bytes=max_request_bytes,
        label="events",
    )
    try:
        for message in prepared.warnings:
            warnings.warn(message, StacEventsWarning, stacklevel=caller)
    except BaseException:  # warnings turned into errors
        prepared.close()
        raise
    return prepared


def send(
    events: Events,
    *,
    settings: Optional[Settings] = None,
    name: Optional[str] = None,
    gzip: bool = False,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    progress: Optional[Callable[[int], None]] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Outcome:
    """Send events to the receiver, after any queued before; returns what happened.

    Raises `QueuedError` when they were queued in the spool for later (the receiver is
    unreachable), `RejectedError` when the receiver refused them, `DeliveryError` when
    they could be neither sent nor queued, `InvalidInput` for an invalid event and
    `ConfigError` when no receiver is configured; each error's `counts` says how many
    events were delivered, refused, queued and not sent. A `KeyboardInterrupt` (or a
    `Terminated` you raise from a SIGTERM handler, which queues what was not delivered)
    passes through once the spool is in order, with the `Outcome` as its `outcome`.

    `progress`, when given, is called with the number of events of each request body once
    the receiver took it (or it was queued). An exception it raises does not stop the
    delivery: it is raised once every event is delivered or queued, with the `Outcome`
    as its `outcome`.
    """
    if progress is not None and not callable(progress):
        raise InvalidInput(f"give a function, not {type(progress).__name__}", field="progress")
    settings = settings or resolve_settings(environ=environ)
    settings.target()  # no receiver: say so before anything else
    report = _Progress(progress) if progress is not None else None
    with _prepare(events, settings, name, max_request_bytes, environ, caller=3) as prepared:
        outcome = sending.send(prepared, settings, gzip=gzip, progress=report)
    _warn_of_spool(outcome)
    if report is not None and report.failed is not None:
        report.failed.outcome = outcome  # type: ignore[attr-defined]
        raise report.failed
    return outcome


def flush_spool(settings: Optional[Settings] = None) -> Outcome:
    """Deliver what the spool holds for the settings' receiver, oldest first.

    The outcome's `flushed` (a `FlushReport`) says what became of the payloads:
    `delivered`, `events`, `rejected`, `failed`, `passed_over`, `corrupt`, `elsewhere`
    (waiting for another receiver address); `Outcome.waiting()` counts those left.
    """
    outcome = sending.flush(settings or resolve_settings())
    _warn_of_spool(outcome)
    return outcome


class _Progress:
    """The caller's progress function; what it raises waits until delivery is over, so
    that no event is left unsent, unqueued and uncounted because of it."""

    def __init__(self, function: Callable[[int], None]) -> None:
        self.function = function
        self.failed: Optional[Exception] = None

    def __call__(self, events: int) -> None:
        if self.failed is None:
            try:
                self.function(events)
            except Exception as error:  # a Ctrl-C is not held: delivery queues the rest
                self.failed = error


def _warn_of_spool(outcome: Outcome) -> None:
    """What the spool gave up on the way, as warnings at the caller's line (the command
    line prints them), once the run went well: a run that failed says so in its error."""
    aside = outcome.flushed.moved_aside()
    if aside is not None:
        warnings.warn(aside, StacEventsWarning, stacklevel=3)
    if outcome.spool_trouble:
        warnings.warn(f"the spool could not be used as it should: {outcome.spool_trouble}",
                      StacEventsWarning, stacklevel=3)  # fmt: skip


def _expect(name: str, value: Any, kinds: Any, *, none: bool = True) -> None:
    """An argument of the wrong type is the caller's mistake, named as such."""
    if value is None and none:
        return
    if isinstance(value, kinds) and (kinds is bool or not isinstance(value, bool)):
        return
    wanted = " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))
    raise InvalidInput(f"give {wanted}, not {type(value).__name__}", field=name)


def _numbered(events: Events) -> Iterator[Tuple[Tuple[str, int], Any]]:
    """`(where, fields)` for every event, as `batch.validate_all` takes them."""
    if isinstance(events, (Event, Mapping)):
        yield ("the event", 0), _fields(events)
        return
    if isinstance(events, (str, bytes)) or not isinstance(events, Iterable):
        raise InvalidInput(
            f"give an Event, a mapping of its fields, or an iterable of them, not "
            f"{type(events).__name__}",
            field="events",
        )
    for index, event in enumerate(events):
        yield ("events[{}]", index), _fields(event)


def _fields(event: Union[Event, Mapping[str, Any]]) -> Any:
    if isinstance(event, Event):
        return event.model_dump(exclude_none=True)
    if isinstance(event, Mapping):
        return copy.deepcopy(dict(event))  # completing it must not change the caller's
    return event  # not an event: validation says so
