"""Push events into StackState's Receiver API, from Python or the command line.

    import stac_events

    event = stac_events.Event(event_type="DeployEvent", msg_title="Deployed 1.4.2")
    stac_events.send(event)  # the receiver from the environment or the config file

What this module exports is the public API; see the README's "From Python" section.
Names are loaded on first use, so that the command line starts without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

from stac_events.version import __version__

_EXPORTS = {
    "Event": "stac_events.model",
    "EventContext": "stac_events.model",
    "SourceLink": "stac_events.model",
    "Settings": "stac_events.settings",
    "Setting": "stac_events.settings",
    "resolve_settings": "stac_events.api",
    "prepare": "stac_events.api",
    "send": "stac_events.api",
    "flush_spool": "stac_events.api",
    "StacEventsWarning": "stac_events.api",
    "Prepared": "stac_events.sending",
    "Outcome": "stac_events.delivery",
    "ExitStatus": "stac_events.status",
    "StacEventsError": "stac_events.errors",
    "InvalidInput": "stac_events.errors",
    "ConfigError": "stac_events.errors",
    "RejectedError": "stac_events.errors",
    "DeliveryError": "stac_events.errors",
    "QueuedError": "stac_events.errors",
    "Terminated": "stac_events.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from stac_events.api import StacEventsWarning, flush_spool, prepare, resolve_settings, send
    from stac_events.delivery import Outcome
    from stac_events.errors import (
        ConfigError,
        DeliveryError,
        InvalidInput,
        QueuedError,
        RejectedError,
        StacEventsError,
        Terminated,
    )
    from stac_events.model import Event, EventContext, SourceLink
    from stac_events.sending import Prepared
    from stac_events.settings import Setting, Settings
    from stac_events.status import ExitStatus


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stac_events' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(__all__)
