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

if TYPE_CHECKING:  # `X as X`: names a strict type checker sees as exported
    from stac_events.api import StacEventsWarning as StacEventsWarning
    from stac_events.api import flush_spool as flush_spool
    from stac_events.api import prepare as prepare
    from stac_events.api import resolve_settings as resolve_settings
    from stac_events.api import send as send
    from stac_events.delivery import Outcome as Outcome
    from stac_events.errors import ConfigError as ConfigError
    from stac_events.errors import DeliveryError as DeliveryError
    from stac_events.errors import InvalidInput as InvalidInput
    from stac_events.errors import QueuedError as QueuedError
    from stac_events.errors import RejectedError as RejectedError
    from stac_events.errors import StacEventsError as StacEventsError
    from stac_events.errors import Terminated as Terminated
    from stac_events.model import Event as Event
    from stac_events.model import EventContext as EventContext
    from stac_events.model import SourceLink as SourceLink
    from stac_events.sending import Prepared as Prepared
    from stac_events.settings import Setting as Setting
    from stac_events.settings import Settings as Settings
    from stac_events.status import ExitStatus as ExitStatus


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
