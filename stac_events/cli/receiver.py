"""`stac-events receiver [events]`: run the local receiver, or look at what it stored."""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Sequence, Union

from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError
from stac_events.environment import expand_user
from stac_events.errors import ConfigError, Interrupted, Terminated
from stac_events.parse import InvalidValue, one_line, parse_since
from stac_events.receiver.rules import Reason, summary
from stac_events.status import ExitStatus, pause

if TYPE_CHECKING:
    from stac_events.receiver import Arrival, Filters, LocalReceiver, Refusal, Store, Stored
    from stac_events.receiver.store import StoredRefusal

_COLORS = {"time": "2", "type": "1;36", "ids": "2", "refused": "1;31"}
RECEIVER_KEY_VARIABLE = "STAC_EVENTS_RECEIVER_KEY"
REASONS_SHOWN = 5  # of a refusal's reasons, on the receiver's line
# How often --follow and --wait look at the database for new events: the receiver may be
# another process, so there is nothing to be woken by. A look is one indexed query.
POLL_S = 0.25
STARTING_S = 5.0  # a receiver makes its database's tables at once; a file longer without is not one


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
    refused: bool
    clear: bool
    follow: bool
    at_least: Optional[int]
    wait: Optional[float]
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
        page = f"{receiver.url}/" + ("?api_key=KEY once" if key else "")
        run.env.stdout.write(
            f"Listening on {receiver.url} (POST /stsAgent/intake or /receiver/stsAgent/intake; "
            f"GET /events; a page of them: open {page} in a browser); storing in "
            f"{store.path}. Ctrl-C stops it.\n"
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
    """Print the stored events the filters pick (or the refusals kept), delete them with
    --clear, or wait for them: --follow, --count/--wait."""
    from stac_events.receiver.store import ALL

    given = run.options
    _check_together(given)
    filters = _filters(run)
    deadline = None if given.wait is None else time.monotonic() + given.wait
    if given.follow or given.wait is not None:
        _await_database(run, deadline)
    store = _store(run, read_only=not given.clear, create=False)
    printer = _Printer(run)
    try:
        if given.clear:
            return _clear(run, store, filters)
        if given.refused:
            refusals = store.refusals(since=filters.since)
            printer.refusals(refusals)
            if not refusals:
                run.output.note("no refused payloads kept" + (" that match" if filters != ALL
                                                               else ""))  # fmt: skip
            return 0
        if given.follow or given.wait is not None:
            return _watch(run, store, filters, printer, deadline)
        found = list(store.events(filters))
    except Exception as error:  # sqlite3.Error: locked for too long, a full disk
        raise ConfigError(f"cannot use {store.path}: {error}") from None
    finally:
        store.close()
    printer.events(found, last=True)
    if not found:
        run.output.note("no events stored" + (" that match" if filters != ALL else ""))
    return 0


def _check_together(given: ReceiverEventsOptions) -> None:
    """Options that ask for things that cannot be done at once are a usage error."""
    waits = [flag for flag, value in (("--follow", given.follow), ("--count", given.at_least),
                                      ("--wait", given.wait)) if value]  # fmt: skip
    if given.at_least is not None and given.wait is None:
        raise UsageError(f"needs --wait, the time to wait for {given.at_least} "
                         f"event(s), e.g. --wait 60s", option="--count")  # fmt: skip
    if given.clear and waits:
        raise UsageError(f"deletes at once; it does not take {waits[0]}",
                         option="--clear")  # fmt: skip
    if given.refused and (waits or given.type is not None or given.identifier is not None):
        what = waits[0] if waits else "--type" if given.type is not None else "--identifier"
        raise UsageError(f"lists the refused payloads kept, which have no event "
                         f"type or identifier and are not waited for; it does not take "
                         f"{what}", option="--refused")  # fmt: skip


def _clear(run: Run[ReceiverEventsOptions], store: Store, filters: Filters) -> int:
    """--clear: the events the filters pick, and the refusals when the filters can pick
    them (none but --since), as DELETE /events does; with --refused, the refusals only."""
    from stac_events.receiver import Filters

    given = run.options
    deleted = 0 if given.refused else store.clear(filters)
    refusals = 0
    if given.refused or filters == Filters(since=filters.since):
        refusals = store.clear_refusals(since=filters.since)
    text = (f"deleted {refusals} refused payload(s)" if given.refused
            else f"deleted {deleted} event(s) and {refusals} refused payload(s)")  # fmt: skip
    run.output.result({"deleted": deleted, "refusals_deleted": refusals}, text)
    return 0


def _await_database(run: Run[ReceiverEventsOptions], deadline: Optional[float]) -> None:
    """Wait for a database the receiver has not made yet (it is starting beside this): one
    that does not exist, as long as --wait lets (for ever with --follow), and one it is
    still making (no tables yet) for up to STARTING_S. The store then says what is wrong."""
    import sqlite3

    from stac_events.receiver.store import NotAReceiverDatabase, Store

    path = _path(run)
    told = False
    making: Optional[float] = None  # when the file was first seen, not yet a database
    try:
        while True:
            try:
                with contextlib.closing(Store(path, read_only=True)) as store:
                    store.last_id()  # its tables are there
                return
            except FileNotFoundError:
                pass
            except (NotAReceiverDatabase, sqlite3.Error):
                making = making or time.monotonic()
                if time.monotonic() - making > STARTING_S:
                    return
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            if not told:
                run.output.note(f"waiting for {path}: a receiver makes it as it starts")
                told = True
            pause(POLL_S if left is None else min(POLL_S, left))
    except KeyboardInterrupt:
        raise Interrupted("interrupted; no database appeared", status=ExitStatus.INTERRUPTED,
                          kind="interrupted") from None  # fmt: skip


def _watch(
    run: Run[ReceiverEventsOptions],
    store: Store,
    filters: Filters,
    printer: _Printer,
    deadline: Optional[float],
) -> int:
    """--follow, --count/--wait: look at the database every POLL_S for events with an id
    above the last seen (another process writes it), until enough matched, the time ran
    out, or Ctrl-C; print them as they come (--follow), or once done."""
    given = run.options
    wanted = (given.at_least or 1) if given.wait is not None else None
    found: List[Stored] = []
    matched = last = 0
    status: int = ExitStatus.SUCCESS
    try:
        while True:
            if last and store.version < 4 and store.last_id() < last:
                last = 0  # cleared meanwhile: an older database's ids start over
            new = store.events(filters, after=last)
            if new:
                last, matched = new[-1].id, matched + len(new)
                if given.follow:
                    printer.events(new, last=False)
                else:
                    found.extend(new)
            if wanted is not None and matched >= wanted:
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                status = ExitStatus.TIMED_OUT
                break
            pause(POLL_S if left is None else min(POLL_S, left))
    except KeyboardInterrupt:
        status = ExitStatus.INTERRUPTED
    except Terminated as stop:
        status = stop.status
    printer.events(found, last=True)
    if status == ExitStatus.TIMED_OUT:
        run.output.warn(f"waited {given.wait:g} s: {matched} of {wanted} event(s) matched")
    elif status != ExitStatus.SUCCESS:
        run.output.note(f"stopped; {matched} event(s) matched")
    return status


class _Printer:
    """Prints stored events, or refusals, as -o asks; in parts, as they come: a JSON array
    is opened with the first part and closed with the last, each element on a line of its
    own as it comes (`,{...}`), so that a reader of lines has it at once."""

    def __init__(self, run: Run[ReceiverEventsOptions]) -> None:
        self.run = run
        self.format = run.options.output
        self.color = run.env.color_for(run.env.stdout_isatty)
        self.opened = False  # the JSON array's "[" is printed
        self.items = 0

    def events(self, found: Sequence[Stored], *, last: bool) -> None:
        lines = [stored.to_json() for stored in found] if self.format != "text" else [
            _line(stored.received, stored.event, self.color, dated=True).rstrip("\n")
            for stored in found
        ]  # fmt: skip
        self._write(lines, last=last)

    def refusals(self, found: Sequence[StoredRefusal]) -> None:
        if self.format != "text":
            self._write([refusal.to_json() for refusal in found], last=True)
            return
        lines = []
        for refusal in found:
            label = _paint(f"refused ({refusal.status})", "refused", self.color)
            reasons = [Reason(r.get("path", ""), r.get("reason", "")) for r in refusal.reasons]
            said = one_line(summary(reasons, limit=REASONS_SHOWN) or refusal.error)
            lines.append(f"{_clock(refusal.received, self.color, True)} {label} {said}")
        self._write(lines, last=True)

    def _write(self, lines: List[str], *, last: bool) -> None:
        if self.format == "json" and last and not self.opened:  # all at once
            text = "[" + ",\n".join(lines) + "]\n"
        elif self.format == "json":  # as they come: each element ends its line
            text = "" if self.opened else "["
            text += "".join(("," if self.items + n else "") + line + "\n"
                            for n, line in enumerate(lines))  # fmt: skip
            text += "]\n" if last else ""
            self.opened = True
        else:
            text = "".join(line + "\n" for line in lines)
        self.items += len(lines)
        stdout = self.run.env.stdout
        stdout.write(text)
        stdout.flush()


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

    path = _path(run)
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


def _path(run: Run[Union[ReceiverOptions, ReceiverEventsOptions]]) -> Path:
    """The database: --db, else receiver.db under the user state dir."""
    given = run.options.db
    return run.env.cwd / expand_user(given) if given else run.env.user_state_dir() / "receiver.db"


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
