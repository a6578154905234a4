"""A local stand-in for StackState's receiver: real sends, without StackState.

`LocalReceiver` answers the intake as StackState does, refuses with reasons what
StackState would drop (`rules`), and keeps what it accepts in SQLite (`store`). The
command line's `stac-events receiver` is one client of it; a Python test suite is another:

    with LocalReceiver(Store(tmp_path / "events.db"), port=0) as receiver:
        ...  # send to receiver.url, then look at receiver.store.events()
"""

from stac_events.receiver.rules import DEFAULT_MAX_AGE_S, Reason
from stac_events.receiver.server import Arrival, Limits, LocalReceiver, Refusal
from stac_events.receiver.store import Filters, Store, Stored, StoredRefusal

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "Arrival",
    "Filters",
    "Limits",
    "LocalReceiver",
    "Reason",
    "Refusal",
    "Store",
    "Stored",
    "StoredRefusal",
]
