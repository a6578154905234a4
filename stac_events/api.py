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
    insecure: bool = False,
    ca_cert: Optional[str] = None,
    spool: bool = True,
    environ: Optional[Mapping[str, str]] = None,
) -> Settings:
    """Settings as the command line resolves them: these arguments first, then the
    environment variables (`environ`, default `os.environ`), then the config file."""
    overrides = Overrides(
        url=url,
        api_key=api_key,
        hostname=hostname,
        config=config,
        instance=instance,
        client=client,
        ci_context=ci_context,
        timeout=timeout,
        retries=retries,
        insecure=insecure,
        ca_cert=ca_cert,
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
) -> Prepared:
    """Validate the events (all or nothing) and pack them into request bodies.

    `events` is one `Event` (or a mapping with its fields), or an iterable of them; a
    mapping may carry a `name` to file the event under (default: its event type, or
    `name`). Nothing is sent: `Prepared.payloads` are the exact bodies.
    """
    settings = settings or resolve_settings()
    now = time.time()
    from stac_events.sending import ci_run

    prepared = prepare_many(
        _numbered(events),
        EventDefaults(name=name),
        hostname=settings.hostname.value,
        now=now,
        max_bytes=max_request_bytes,
        ci=ci_run(settings, os.environ),
        label="events",
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
) -> Outcome:
    """Send events to the receiver, after any queued before; returns what happened.

    Raises `QueuedError` when they were queued in the spool for later (the receiver is
    unreachable), `RejectedError` when the receiver refused them, `DeliveryError` when
    they could be neither sent nor queued, `InvalidInput` for an invalid event and
    `ConfigError` when no receiver is configured.
    """
    from stac_events import sending

    settings = settings or resolve_settings()
    settings.target()  # no receiver: say so before anything else
    prepared = prepare(events, settings=settings, name=name, max_request_bytes=max_request_bytes)
    try:
        outcome = sending.send(prepared, settings, gzip=gzip)
    finally:
        prepared.close()
    _raise_problem(outcome)
    return outcome


def flush_spool(settings: Optional[Settings] = None) -> Outcome:
    """Deliver what the spool holds for the settings' receiver, oldest first."""
    from stac_events.delivery import deliver

    settings = settings or resolve_settings()
    outcome = deliver([], settings.target(), settings.delivery_options(), settings.spool())
    _raise_problem(outcome)
    return outcome


def _raise_problem(outcome: Outcome) -> None:
    problem = outcome.problem()
    if problem is not None:
        raise problem
    if outcome.flushed.rejected:
        warnings.warn(
            f"the receiver refused {outcome.flushed.rejected} queued payload(s); they were "
            f"moved aside",
            StacEventsWarning,
            stacklevel=3,
        )


def _numbered(events: Events) -> Iterator[Tuple[Tuple[str, int], Any]]:
    """`(where, fields)` for every event, as `batch.validate_all` takes them."""
    if isinstance(events, (Event, Mapping)):
        yield ("the event", 0), _fields(events)
        return
    for index, event in enumerate(events):
        yield ("events[{}]", index), _fields(event)


def _fields(event: Union[Event, Mapping[str, Any]]) -> Any:
    if isinstance(event, Event):
        return event.model_dump(exclude_none=True)
    if isinstance(event, Mapping):
        return copy.deepcopy(dict(event))  # completing it must not change the caller's
    return event  # not an event: validation says so
