"""`stac-events receiver [events]`: run the local receiver, or look at what it stored."""

from __future__ import annotations

import gc
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, NamedTuple, Optional, Union

from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError
from stac_events.environment import expand_user
from stac_events.errors import ConfigError, Terminated
from stac_events.parse import InvalidValue, one_line, parse_since
from stac_events.receiver.rules import summary

if TYPE_CHECKING:
    from stac_events.receiver import Arrival, Filters, LocalReceiver, Refusal, Store

_COLORS = {"time": "2", "type": "1;36", "ids": "2", "refused": "1;31"}
RECEIVER_KEY_VARIABLE = "STAC_EVENTS_RECEIVER_KEY"
REASONS_SHOWN = 5  # of a refusal's reasons, on the receiver's line


class ReceiverOptions(NamedTuple):
    """What `receiver` is given: its arguments and options (`cli.records`)."""

    port: int
    host: str
    db: Optional[str]
    api_key: Optional[str]
    max_age: float
    max_body: int
    quiet: bool


class ReceiverEventsOptions(NamedTuple):
    """What `receiver events` is given: its arguments and options (`cli.records`)."""

    db: Optional[str]
    type: Optional[str]
    identifier: Optional[str]
    since: Optional[str]
    clear: bool
    output: str
    quiet: bool


def serve(run: Run[ReceiverOptions]) -> int:
    """Run the receiver until Ctrl-C or SIGTERM; both stop it cleanly, with exit 0."""
    from stac_events.receiver import Limits, LocalReceiver

    given = run.options
    key = _required_key(run)
    if not given.host.strip():
        raise UsageError("give an address to listen on, e.g. 127.0.0.1", option="--host")
    store = _store(run)
    shown = _Lines(run)
    try:
        receiver = LocalReceiver(
            store,
            host=given.host,
            port=given.port,
            limits=Limits(max_age=given.max_age, max_body=given.max_body, api_key=key),
            on_arrival=None if given.quiet else shown.arrival,
            on_refusal=shown.refusal,
        )
    except OSError as error:
        store.close()
        raise ConfigError(
            f"cannot listen on {given.host} port {given.port}: {error.strerror or error}",
            hint="--port 0 picks a free port" if given.port else None,
        ) from None
    shown.receiver = receiver
    try:  # from here on, a signal stops it cleanly: the line that says it listens included
        # A payload is thousands of short-lived objects: collected each 700 allocations, as
        # by default, they cost the receiver nearly a third of its time (18 us an event
        # against 13, measured in-process). Nothing here makes cycles.
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
        if not receiver.loopback:
            run.output.warn(
                f"listening on {given.host}, not only this machine: anyone who reaches it can "
                "send events and read them at /events"
                + ("" if key else "; --api-key asks for a key")
            )
        run.env.stdout.write(
            f"Listening on {receiver.url} (POST /stsAgent/intake or /receiver/stsAgent/intake; "
            f"GET /events); storing in {store.path}. Ctrl-C stops it.\n"
        )
        run.env.stdout.flush()
        receiver.serve_forever()
    except (KeyboardInterrupt, Terminated):
        pass  # how a server is stopped: not a failure
    finally:
        receiver.stop()
        store.close()
    if shown.gone is not None:
        raise shown.gone
    run.output.note(f"stopped; {shown.events} event(s) received, stored in {store.path}")
    return 0


def events(run: Run[ReceiverEventsOptions]) -> int:
    """Print the stored events the filters pick, or delete them with --clear."""
    from stac_events.receiver.store import ALL

    given = run.options
    filters = _filters(run)
    store = _store(run, read_only=not given.clear, create=False)
    try:
        if given.clear:
            deleted = store.clear(filters)
            run.output.result({"deleted": deleted}, f"deleted {deleted} event(s)")
            return 0
        found = list(store.events(filters))
    except Exception as error:  # sqlite3.Error: locked for too long, a full disk
        raise ConfigError(f"cannot use {store.path}: {error}") from None
    finally:
        store.close()
    stdout = run.env.stdout
    if given.output == "json":
        stdout.write("[" + ",\n".join(stored.to_json() for stored in found) + "]\n")
    elif given.output == "ndjson":
        stdout.write("".join(stored.to_json() + "\n" for stored in found))
    elif found:
        color = run.env.color_for(run.env.stdout_isatty)
        stdout.write("".join(_line(stored.received, stored.event, color, dated=True)
                             for stored in found))  # fmt: skip
    else:
        run.output.note("no events stored" + (" that match" if filters != ALL else ""))
    stdout.flush()
    return 0


class _Lines:
    """Prints a line for each event received, from request threads, one request at once."""

    def __init__(self, run: Run[Any]) -> None:
        self.run = run
        self.color = run.env.color_for(run.env.stdout_isatty)
        self.refusal_color = run.env.color_for(run.env.stderr_isatty)
        self.events = 0
        self.gone: Optional[BaseException] = None  # stdout failed: the receiver stops
        self.receiver: Optional[LocalReceiver] = None
        self._lock = threading.Lock()

    def arrival(self, arrival: Arrival) -> None:
        text = "".join(_line(arrival.received, received.event, self.color)
                       for received in arrival.checked.events)  # fmt: skip
        for note in arrival.checked.notes:
            text += f"  note: {note}\n"
        self._write(self.run.env.stdout, text, len(arrival.checked.events))

    def refusal(self, refusal: Refusal) -> None:
        label = _paint(f"refused ({refusal.status})", "refused", self.refusal_color)
        said = one_line(summary(refusal.reasons, limit=REASONS_SHOWN))
        text = f"{_clock(time.time(), self.refusal_color)} {label} {said}\n"
        self._write(self.run.env.stderr, text, 0)

    def _write(self, stream: Any, text: str, events: int) -> None:
        with self._lock:
            self.events += events
            if self.gone is not None:
                return
            try:
                stream.write(self.run.output.mask(text))
                stream.flush()
            except Exception as error:  # ReaderGone, UnwritableStdout: stop serving
                self.gone = error
                if self.receiver is not None:
                    self.receiver.interrupt()


def _line(received: float, event: Dict[str, Any], color: bool, *, dated: bool = False) -> str:
    """`11:22:33 DeployEvent 'Deployed 1.4' urn:a urn:b`, one line whatever the event holds;
    `dated` puts the day in front, for a database that outlives the day."""
    context = event.get("context") or {}
    ids = " ".join(one_line(str(i)) for i in context.get("element_identifiers") or ())
    kind = _paint(one_line(str(event.get("event_type", ""))), "type", color)
    title = one_line(repr(str(event.get("msg_title", ""))))
    return (
        f"{_clock(received, color, dated)} {kind} {title}"
        + (f" {_paint(ids, 'ids', color)}" if ids else "")
        + "\n"
    )


def _clock(seconds: float, color: bool, dated: bool = False) -> str:
    shape = "%Y-%m-%d %H:%M:%S" if dated else "%H:%M:%S"
    return _paint(time.strftime(shape, time.localtime(seconds)), "time", color)


def _paint(text: str, role: str, color: bool) -> str:
    return f"\x1b[{_COLORS[role]}m{text}\x1b[0m" if color else text


def _store(
    run: Run[Union[ReceiverOptions, ReceiverEventsOptions]],
    *,
    read_only: bool = False,
    create: bool = True,
) -> Store:
    """The database (--db, else receiver.db under the user state dir); made when missing
    if `create`."""
    from stac_events.receiver.store import NotAReceiverDatabase, Store

    given = run.options.db
    path = run.env.cwd / expand_user(given) if given else run.env.user_state_dir() / "receiver.db"
    try:
        return Store(path, read_only=read_only, create=create)
    except FileNotFoundError:
        raise ConfigError(f"no receiver database at {path}",
                          hint="check --db; 'stac-events receiver' makes it when it starts"
                          ) from None  # fmt: skip
    except NotAReceiverDatabase as error:
        raise ConfigError(str(error), hint="give the receiver's own file with --db") from None
    except Exception as error:  # sqlite3.Error, OSError
        raise ConfigError(f"cannot use {path} as the receiver's database: {error}",
                          hint="give another file with --db") from None  # fmt: skip


def _required_key(run: Run[ReceiverOptions]) -> Optional[str]:
    """--api-key, else $STAC_EVENTS_RECEIVER_KEY (which no process list shows); checked as
    a sender's key is, since a key no sender can send would refuse them all."""
    from stac_events.settings import check_api_key

    key: Optional[str] = run.options.api_key
    origin = "--api-key"
    if key is None:
        key, origin = (
            run.env.environ.get(RECEIVER_KEY_VARIABLE) or None,
            f"${RECEIVER_KEY_VARIABLE}",
        )
        if key is None:
            return None
    elif not key.strip():
        raise UsageError("an empty key would refuse every sender; leave --api-key out to "
                         "take any key", option="--api-key")  # fmt: skip
    run.output.secrets.append(key)
    try:
        check_api_key(key, origin, then=", so no sender could send it")
    except ConfigError as error:
        if origin != "--api-key":
            raise
        raise UsageError(error.message, option="--api-key") from None
    return key


def _filters(run: Run[Any]) -> Filters:
    from stac_events.receiver import Filters

    given = run.options
    since = None
    if given.since is not None:
        try:
            since = parse_since(given.since, now=run.env.clock())
        except InvalidValue as error:
            raise UsageError(str(error), option="--since") from None
    return Filters(event_type=given.type, identifier=given.identifier, since=since)
