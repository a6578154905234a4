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
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Optional, Tuple, Union

from stac_events.environment import Environment
from stac_events.errors import InvalidInput
from stac_events.events import EventDefaults
from stac_events.model import Event
from stac_events.sending import DEFAULT_MAX_REQUEST_BYTES, Prepared, prepare_many
from stac_events.settings import Overrides, Settings, argument_origin, resolve

if TYPE_CHECKING:
    from stac_events.delivery import Outcome

Events = Union[Event, Mapping[str, Any], Iterable[Union[Event, Mapping[str, Any]]]]


class StacEventsWarning(UserWarning):
    """Something allowed but probably not meant: an old timestamp, a config others can read."""


def resolve_settings(
    *,
    url: Optional[str] = None,
    api_key: Optional[str] = None,
    hostname: Optional[str] = None,
    config: Optional[str] = None,
    instance: Optional[str] = None,
    client: Optional[str] = None,
    ci_context: bool = False,
    timeout: Optional[float] = None,
    retries: Optional[int] = None,
    max_time: Optional[float] = None,
    insecure: bool = False,
    ca_cert: Optional[str] = None,
    spool: bool = True,
    environ: Optional[Mapping[str, str]] = None,
) -> Settings:
    """Settings as the command line resolves them: these arguments first, then the
    environment variables (`environ`, default `os.environ`), then the config file."""
    for name, value in (("url", url), ("api_key", api_key), ("hostname", hostname),
                        ("instance", instance), ("client", client)):  # fmt: skip
        _expect(name, value, str)
    _expect("config", config, (str, os.PathLike))
    _expect("ca_cert", ca_cert, (str, os.PathLike))
    for name, value in (("ci_context", ci_context), ("insecure", insecure), ("spool", spool)):
        _expect(name, value, bool, none=False)
    _expect("timeout", timeout, (int, float))
    _expect("max_time", max_time, (int, float))
    _expect("retries", retries, int)
    overrides = Overrides(
        url=url,
        api_key=api_key,
        hostname=hostname,
        config=None if config is None else os.fspath(config),
        instance=instance,
        client=client,
        ci_context=ci_context,
        timeout=timeout,
        retries=retries,
        max_time=max_time,
        insecure=insecure,
        ca_cert=None if ca_cert is None else os.fspath(ca_cert),
        no_spool=not spool,
    )
    variables = dict(os.environ if environ is None else environ)
    home = Path(variables["HOME"]) if variables.get("HOME") else Path.home()
    env = Environment(environ=variables, home=home)
    settings = resolve(overrides, env, origin_of=argument_origin)
    for message in settings.warnings:
        warnings.warn(message, StacEventsWarning, stacklevel=2)
    return settings


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
    from stac_events.sending import ci_run

    settings = settings or resolve_settings(environ=environ)
    _expect("max_request_bytes", max_request_bytes, int, none=False)
    prepared = prepare_many(
        _numbered(events),
        EventDefaults(name=name),
        hostname=settings.hostname.value,
        now=time.time(),
        max_bytes=max_request_bytes,
        ci=ci_run(settings, os.environ if environ is None else environ),
        label="events",
        secrets=settings.secrets,
    )
    try:
        for message in prepared.warnings:
            warnings.warn(message, StacEventsWarning, stacklevel=2)
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
    """
    from stac_events import sending

    settings = settings or resolve_settings(environ=environ)
    settings.target()  # no receiver: say so before anything else
    with prepare(events, settings=settings, name=name, max_request_bytes=max_request_bytes,
                 environ=environ) as prepared:  # fmt: skip
        outcome = sending.send(prepared, settings, gzip=gzip)
    _raise_problem(outcome)
    return outcome


def flush_spool(settings: Optional[Settings] = None) -> Outcome:
    """Deliver what the spool holds for the settings' receiver, oldest first."""
    from stac_events import sending

    outcome = sending.flush(settings or resolve_settings())
    _raise_problem(outcome)
    return outcome


def _raise_problem(outcome: Outcome) -> None:
    problem = outcome.problem()
    if problem is not None:
        raise problem
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
