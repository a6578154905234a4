"""A bounded chaos run of stac-events' delivery: so many events sent, so many arrived,
lost, duplicated and stuck, against a receiver that keeps failing in every way it can.

Run: make chaos   (or: .venv/bin/python benchmarks/chaos.py [--quick] [--seed N] [--json])

On 127.0.0.1 only, with a temporary HOME (the spool lives there), for about 100 s (30 s
with --quick), on 2 cores:

1. A receiver of its own flaps between modes every 0.5-2 s: `up` (stores, 202), `503`,
   `500`, `reset` (reads the request, then resets the connection; a share of these store
   the events first), `slow` (stores, then answers after the clients' --timeout), and
   `endless` (answers 202, having stored, or 503, with a body that says it is 100 GB
   long and streams until the client leaves).
2. Sender threads run `stac-events event send` one after the other, each event with a
   unique `chaos_id`; some are sent SIGTERM or SIGHUP. Wrapper threads run `stac-events
   event wrap -- sh -c 'sleep ...'`, some sent SIGTERM or SIGHUP while the command runs
   or while the event is on its way. Flusher threads run `stac-events spool flush`; some
   are killed with SIGKILL. A signal lands either at a random moment or right after the
   receiver stored one of the process's requests, before it answers.
3. Then the receiver stays up, and `spool retry --all` and `spool flush` run until the
   spool is empty (bounded in time).

Every process gets an API key of its own, so the receiver knows which one sent what.

How to read the figures:
- sent: events some `event send` or `event wrap` accepted: exit 0 (delivered), 75
  (queued), or ended by its signal (143 SIGTERM, 129 SIGHUP) having delivered or queued
  the event; a wrap, which exits with its command's code, by what its `-o json` says. A
  send terminated before it took its event on accepted nothing, and is counted apart.
  Exit -15, -1 and -9 are deaths by the signal itself: a signal while Python starts or
  exits, before or after the tool's handler, and every SIGKILL.
- arrived: distinct ids the receiver stored. lost: sent ids never stored (must be 0);
  those still in the spool are named.
- duplicated: ids stored more than once. Delivery is at-least-once, so a copy is
  explained when every copy before the last was stored by a request whose fate the
  client could not know: a slow answer, a reset after storing, an answer later than half
  the client's timeout, or the last stored request of a process killed or terminated
  before it exited. A copy sent again after a 202 the client got is unexplained.
- stuck: spool entries left after the drain, in any state (must be 0).

Exit status 0 when nothing is lost or stuck and every duplicate is explained, else 1.
The seed fixes the receiver's mode schedule and which processes get a signal when; how
real processes interleave with it still varies from run to run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

PYTHON = sys.executable
STAC = str(Path(PYTHON).with_name("stac-events"))
INTAKE = "/receiver/stsAgent/intake"

MODES = {"up": 40, "503": 15, "500": 10, "reset": 10, "slow": 15, "endless": 10}  # weights, in %
ENDLESS_STORED_SHARE = 0.5  # of the endless answers, 202 having stored (else 503)
MODE_SECONDS = (0.5, 2.0)
STORE_THEN_RESET_SHARE = 0.4  # of the requests reset: those stored first, fate unknown
TERMINATED_SEND_SHARE = 0.15  # of `event send` runs, sent SIGTERM or SIGHUP
TERMINATED_WRAP_SHARE = 0.3  # of `event wrap` runs, sent SIGTERM or SIGHUP
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
KILLED_FLUSH_SHARE = 0.35  # of `spool flush` runs, sent SIGKILL
SIGNAL_AT_RANDOM_SHARE = 0.5  # of those signals, sent at a random moment rather than mid-request
TRAP_PAUSE_S = 0.2  # how long the receiver holds its answer after a mid-request signal
PROCESS_LIMIT_S = 15.0  # a child running longer than this (--max-time is 4 s) has hung

# Unknown fates: why a stored request may be sent again.
SLOW = "slow answer"
RESET_AFTER_STORING = "reset after storing"
LATE = "late answer"
KILLED = "killed process"
TERMINATED = "terminated process"


@dataclass
class Request:
    """One POST the receiver got, and what it did with it."""

    number: int
    key: str  # the process that sent it
    mode: str
    ids: List[str]
    stored: bool
    started: float
    answered: Optional[float] = None


class Receiver:
    """The chaotic receiver: a mode that flaps on a timer, and a record of every request."""

    def __init__(self, seed: int, client_timeout: float) -> None:
        self.lock = threading.Lock()
        self.mode = "up"
        self.requests: List[Request] = []
        self.in_flight: Counter[str] = Counter()  # requests being handled, by key
        self.traps: Dict[str, Callable[[], None]] = {}  # by key: what to do mid-request
        self.client_timeout = client_timeout
        self.slow_s = client_timeout + 1.0
        self.chance = random.Random(f"{seed}-requests")
        self.stop_flapping = threading.Event()
        self.server = ChaosServer(("127.0.0.1", 0), IntakeHandler)
        self.server.receiver = self
        self.flapper = threading.Thread(target=self._flap, args=(random.Random(f"{seed}-modes"),))
        self.serving = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/receiver"

    def start(self) -> None:
        self.serving.start()
        self.flapper.start()

    def stay_up(self) -> None:
        self.stop_flapping.set()
        if self.flapper.is_alive():
            self.flapper.join()
        self.mode = "up"

    def stop(self) -> None:
        self.stay_up()
        self.server.shutdown()
        self.server.server_close()

    def _flap(self, rng: random.Random) -> None:
        names, weights = list(MODES), list(MODES.values())
        while not self.stop_flapping.wait(rng.uniform(*MODE_SECONDS)):
            self.mode = rng.choices(names, weights)[0]

    def take(self, key: str, body: bytes, encoding: Optional[str]) -> Request:
        """Record a request in the current mode, storing its events when the mode says so."""
        with self.lock:
            mode = self.mode
            stored = mode in ("up", "slow")
            if mode == "reset":
                stored = self.chance.random() < STORE_THEN_RESET_SHARE
            if mode == "endless":
                stored = self.chance.random() < ENDLESS_STORED_SHARE
            request = Request(len(self.requests), key, mode, event_ids(body, encoding),
                              stored, time.monotonic())  # fmt: skip
            self.requests.append(request)
            self.in_flight[key] += 1
        return request

    def spring_trap(self, request: Request) -> bool:
        """Signal the sender of a stored request before it is answered, if it is to be."""
        if request.mode != "up":
            return False
        with self.lock:
            trap = self.traps.pop(request.key, None)
        if trap is not None:
            trap()
        return trap is not None

    def set_trap(self, key: str, trap: Callable[[], None]) -> None:
        with self.lock:
            self.traps[key] = trap

    def clear_trap(self, key: str) -> None:
        with self.lock:
            self.traps.pop(key, None)

    def done(self, request: Request) -> None:
        with self.lock:
            request.answered = time.monotonic()
            self.in_flight[request.key] -= 1

    def busy_with(self, key: str) -> bool:
        """Whether a request of this process is being handled right now."""
        with self.lock:
            return self.in_flight[key] > 0


class ChaosServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class IntakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ChaosServer
    reset = False

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.split("?", 1)[0] != INTAKE:
            self.answer(404)
            return
        receiver = self.server.receiver
        key = self.headers.get("sts-api-key", "?")
        request = receiver.take(key, body, self.headers.get("Content-Encoding"))
        try:
            if request.mode == "reset":
                self.reset = True  # finish() resets the connection; no answer at all
                self.close_connection = True
            elif request.mode == "slow":
                time.sleep(receiver.slow_s)
                self.answer(202)  # to a client that gave up long ago
            elif request.mode in ("500", "503"):
                self.answer(int(request.mode))
            elif request.mode == "endless":
                self.endless(202 if request.stored else 503, until=time.monotonic() + 30)
            else:
                if receiver.spring_trap(request):
                    time.sleep(TRAP_PAUSE_S)  # the signal lands before the answer
                self.answer(202)
        finally:
            receiver.done(request)

    def answer(self, status: int) -> None:
        body = b'{"status": "ok"}' if status < 300 else b'{"status": "chaos"}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client is gone

    def endless(self, status: int, until: float) -> None:
        """An answer whose body says it is 100 GB long, streamed until the client leaves."""
        self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(100 * 10**9))
            self.end_headers()
            chunk = b"x" * 65536
            while time.monotonic() < until:
                self.wfile.write(chunk)
        except OSError:
            return  # the client took what it wanted, and went

    def finish(self) -> None:
        super().finish()
        if self.reset:  # SO_LINGER 0: close() sends a RST, not a FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def log_message(self, format: str, *args: object) -> None:
        pass


def event_ids(body: bytes, encoding: Optional[str]) -> List[str]:
    """The chaos ids of the events in a request body (a StackState common JSON object)."""
    try:
        found = json.loads(gzip.decompress(body) if encoding == "gzip" else body)
        return [
            str(event["context"]["data"]["chaos_id"])
            for events in found["events"].values()
            for event in events
        ]
    except (ValueError, KeyError, TypeError, OSError):
        return []


@dataclass
class Signal:
    """A signal a child is to get: `after` seconds from its start or, when None, once the
    receiver has stored one of its requests, before answering it."""

    number: int
    after: Optional[float] = None
    sent: bool = False
    mid_request: bool = False  # the receiver was handling one of the child's requests

    @classmethod
    def maybe(cls, rng: random.Random, share: float, number: int) -> Optional[Signal]:
        if rng.random() >= share:
            return None
        at_random = rng.random() < SIGNAL_AT_RANDOM_SHARE
        return cls(number, rng.uniform(0.05, 2.0) if at_random else None)


@dataclass
class Child:
    """One finished run of stac-events."""

    key: str  # its API key, which names it at the receiver
    code: int  # negative: ended by that signal
    out: str
    signal: Optional[Signal] = None
    err: str = ""

    @property
    def signalled(self) -> bool:
        return self.signal is not None and self.signal.sent


@dataclass
class Children:
    """Every process the run starts, so that none outlives it."""

    env: Dict[str, str]
    cwd: str
    receiver: Receiver
    live: Set[subprocess.Popen] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: Dict[str, str] = field(default_factory=dict)  # stderr's end, by key
    hung: List[str] = field(default_factory=list)

    def run(self, argv: Sequence[str], key: str, plan: Optional[Signal] = None) -> Child:
        """Run `stac-events ARGV` with API key `key` to its end, signalled as planned."""
        env = {**self.env, "STAC_EVENTS_API_KEY": key}
        process = subprocess.Popen([STAC, *argv], env=env, cwd=self.cwd, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        with self.lock:
            self.live.add(process)
        if plan is not None and plan.after is None:
            self.receiver.set_trap(key, lambda: self._signal(process, plan, mid_request=True))
        try:
            out, err = self._wait(process, key, plan)
        finally:
            self.receiver.clear_trap(key)
            with self.lock:
                self.live.discard(process)
        if err.strip():
            self.errors[key] = err.strip()[-400:]
        return Child(key, process.returncode, out, plan, err)

    def _wait(self, process: subprocess.Popen, key: str, plan: Optional[Signal]) -> Tuple[str, str]:
        try:
            return process.communicate(
                timeout=plan.after if plan and plan.after else PROCESS_LIMIT_S
            )
        except subprocess.TimeoutExpired:
            if plan is not None and plan.after is not None:
                self._signal(process, plan, mid_request=self.receiver.busy_with(key))
        try:
            return process.communicate(timeout=PROCESS_LIMIT_S)
        except subprocess.TimeoutExpired:
            self.hung.append(key)
            process.kill()
            return process.communicate()

    def _signal(self, process: subprocess.Popen, plan: Signal, mid_request: bool) -> None:
        with self.lock:
            if plan.sent or process.poll() is not None:
                return
            process.send_signal(plan.number)
            plan.sent, plan.mid_request = True, mid_request

    def kill_all(self) -> None:
        with self.lock:
            left = list(self.live)
        for process in left:
            process.kill()
            process.wait()


@dataclass
class Send:
    """One `event send` run and what became of its event."""

    id: str
    child: Child
    counts: Dict[str, int]  # what its `-o json` output says: delivered, queued, ...

    wrap: bool = False  # exits with its command's code: what it says is all there is

    @property
    def accepted(self) -> bool:
        took = self.counts.get("delivered", 0) + self.counts.get("queued", 0)
        if self.wrap:
            return took > 0
        if self.child.code in (0, 75):
            return True
        # a signal while Python exits, after the result was printed, ends it with the signal
        signum = self.child.signal.number if self.child.signal else signal.SIGTERM
        return self.child.code in (128 + signum, -signum) and took > 0


@dataclass
class Chaos:
    """One run: the receiver, the children, and what they did."""

    seed: int
    timeout: float
    receiver: Receiver
    children: Children
    until: float
    sends: List[Send] = field(default_factory=list)
    flushes: List[Child] = field(default_factory=list)

    def delivery_flags(self) -> List[str]:
        return ["--timeout", f"{self.timeout:g}", "--retries", "1", "--max-time", "4"]

    def signalled(self) -> Dict[str, Signal]:
        """The processes that got their signal, by key."""
        children = [send.child for send in self.sends] + self.flushes
        return {child.key: child.signal for child in children if child.signal and child.signal.sent}


def send_events(chaos: Chaos, number: int) -> None:
    """One sender thread: `event send` after `event send`, some terminated on the way."""
    rng = random.Random(f"{chaos.seed}-sender-{number}")
    count = 0
    while time.monotonic() < chaos.until:
        count += 1
        ident = f"{chaos.seed}-{number}-{count}"
        argv = ["event", "send", "ChaosEvent", "--title", f"chaos {ident}", "-m", "chaos run",
                "-o", "json", *chaos.delivery_flags(), "-d", f"chaos_id={ident}"]  # fmt: skip
        if rng.random() < 0.5:
            argv.append("--gzip")
        plan = Signal.maybe(rng, TERMINATED_SEND_SHARE, rng.choice(ENDING_SIGNALS))
        child = chaos.children.run(argv, f"sender-{number}-{count}", plan)
        chaos.sends.append(Send(ident, child, sent_counts(child.out)))


def wrap_commands(chaos: Chaos, number: int) -> None:
    """One wrapper thread: `event wrap` after `event wrap`, some signalled on the way, while
    the command runs or while the event is sent."""
    rng = random.Random(f"{chaos.seed}-wrapper-{number}")
    count = 0
    while time.monotonic() < chaos.until:
        count += 1
        ident = f"{chaos.seed}-w{number}-{count}"
        argv = ["event", "wrap", "--title", f"chaos {ident}", "-o", "json",
                *chaos.delivery_flags(), "-d", f"chaos_id={ident}", "--", "sh", "-c",
                f"sleep {rng.uniform(0.0, 0.5):.2f}"]  # fmt: skip
        plan = Signal.maybe(rng, TERMINATED_WRAP_SHARE, rng.choice(ENDING_SIGNALS))
        child = chaos.children.run(argv, f"wrapper-{number}-{count}", plan)
        # stdout is the command's: wrap's own JSON object is on stderr
        objects = [line for line in child.err.splitlines() if line.startswith("{")]
        counts = sent_counts(objects[-1]) if objects else {}
        chaos.sends.append(Send(ident, child, counts, wrap=True))


def sent_counts(out: str) -> Dict[str, int]:
    """What `event send -o json` says became of its events: delivered, queued, ..."""
    try:
        found = json.loads(out)
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    counts = found if found.get("ok") else found.get("error", {})
    names = ("delivered", "queued", "refused", "not_sent")
    return {name: counts[name] for name in names if isinstance(counts.get(name), int)}


def flush_spool(chaos: Chaos, number: int) -> None:
    """One flusher thread: `spool flush` after `spool flush`, some killed on the way."""
    rng = random.Random(f"{chaos.seed}-flusher-{number}")
    count = 0
    while time.monotonic() < chaos.until:
        count += 1
        plan = Signal.maybe(rng, KILLED_FLUSH_SHARE, signal.SIGKILL)
        argv = ["spool", "flush", "-o", "json", *chaos.delivery_flags()]
        chaos.flushes.append(chaos.children.run(argv, f"flusher-{number}-{count}", plan))
        time.sleep(rng.uniform(0.0, 0.5))


def spool_entries(children: Children) -> List[Dict[str, Any]]:
    listed = children.run(["spool", "list", "-o", "json"], "drain")
    if listed.code != 0:
        raise SystemExit(f"stac-events spool list exited {listed.code}: {children.errors['drain']}")
    return json.loads(listed.out)


def drain_spool(chaos: Chaos, limit_s: float) -> Tuple[Dict[str, int], int]:
    """With the receiver up, retry and flush until the spool is empty; returns what the
    spool held when the chaos ended (entries by state), and the rounds it took."""
    chaos.receiver.stay_up()
    until = time.monotonic() + limit_s
    rounds = 0
    held: Dict[str, int] = {}
    while time.monotonic() < until:
        entries = spool_entries(chaos.children)
        if not entries:
            break
        if not rounds:
            held = dict(Counter(entry["state"] for entry in entries))
        rounds += 1
        if any(entry["state"] in ("rejected", "failed") for entry in entries):
            chaos.children.run(["spool", "retry", "--all"], "drain")
        chaos.children.run(["spool", "flush", *chaos.delivery_flags()], "drain")
        time.sleep(0.2)
    return held, rounds


def ids_in_spool(spool: Path) -> Dict[str, str]:
    """The chaos ids in the spool's files, with the state each is in; read, never touched."""
    found = {}
    for path in sorted(spool.glob("*/*.payload*")):
        state = "claimed" if path.name.endswith(".claimed") else path.parent.name
        with path.open("rb") as stream:
            header = json.loads(stream.readline())
            body = stream.read()
        for ident in event_ids(body, header.get("encoding")):
            found[ident] = state
    return found


def unknown_fates(chaos: Chaos) -> Dict[int, str]:
    """The stored requests whose fate the client could not know, by number, with why."""
    why: Dict[int, str] = {}
    last_stored: Dict[str, Request] = {}
    for request in chaos.receiver.requests:
        if not request.stored:
            continue
        last_stored[request.key] = request
        took = (request.answered or time.monotonic()) - request.started
        if request.mode == "slow":
            why[request.number] = SLOW
        elif request.mode == "reset":
            why[request.number] = RESET_AFTER_STORING
        elif took > chaos.timeout / 2:
            why[request.number] = LATE
    for key, sent in chaos.signalled().items():
        if key in last_stored:
            cause = KILLED if sent.number == signal.SIGKILL else TERMINATED
            why.setdefault(last_stored[key].number, cause)
    return why


def duplicates(
    chaos: Chaos, stores: Dict[str, List[Request]], why: Dict[int, str]
) -> Tuple[Counter[str], List[Any]]:
    """Duplicated ids explained, counted by the first unknown fate (`why`, by request); those
    unexplained, each with its copies."""
    explained: Counter[str] = Counter()
    unexplained = []
    for ident, copies in stores.items():
        if len(copies) < 2:
            continue
        reasons = [why.get(request.number) for request in copies[:-1]]
        if all(reasons):
            explained[str(reasons[0])] += 1
            continue
        unexplained.append({
            "id": ident,
            "copies": [{"request": r.number, "key": r.key, "mode": r.mode,
                        "fate_unknown": why.get(r.number),
                        "answered_after_s": round((r.answered or 0) - r.started, 3),
                        "stderr": chaos.children.errors.get(r.key, "")}
                       for r in copies],
        })  # fmt: skip
    return explained, unexplained


def tally(chaos: Chaos, spool: Path, entries: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Every figure of the run, as one JSON-ready dict."""
    requests = chaos.receiver.requests
    stores: Dict[str, List[Request]] = {}
    for request in requests:
        if request.stored:
            for ident in request.ids:
                stores.setdefault(ident, []).append(request)
    accepted = {send.id for send in chaos.sends if send.accepted}
    lost = sorted(accepted - set(stores))
    in_spool = ids_in_spool(spool)
    why = unknown_fates(chaos)
    explained, unexplained = duplicates(chaos, stores, why)
    terminated = [send.child.signal for send in chaos.sends if send.child.signalled]
    killed = [child.signal for child in chaos.flushes if child.signalled]
    return {
        "seed": chaos.seed,
        "sent": len(accepted),
        "sends": len(chaos.sends),
        "wraps": sum(send.wrap for send in chaos.sends),
        "send_exit_statuses": dict(sorted(Counter(s.child.code for s in chaos.sends).items())),
        "sends_terminated": signals_sent(terminated),
        "sends_terminated_before_taking_the_event": sum(
            send.child.signalled and not send.accepted for send in chaos.sends
        ),
        "sends_odd": [
            {
                "id": send.id,
                "code": send.child.code,
                "counts": send.counts,
                "stderr": chaos.children.errors.get(send.child.key, ""),
            }
            for send in chaos.sends
            if (not send.accepted and not send.child.signalled) or send.counts.get("not_sent")
        ],
        "flushes": len(chaos.flushes),
        "flush_exit_statuses": dict(sorted(Counter(f.code for f in chaos.flushes).items())),
        "flushes_killed": signals_sent(killed),
        "processes_hung": list(chaos.children.hung),
        "requests": len(requests),
        "requests_by_mode": dict(sorted(Counter(r.mode for r in requests).items())),
        "unknown_fate_requests": dict(Counter(why.values())),
        "unknown_fate_ids": {
            cause: sorted(
                {ident for n, reason in why.items() if reason == cause for ident in requests[n].ids}
            )
            for cause in sorted(set(why.values()))
        },
        "arrived": len(stores),
        "arrived_not_sent": sorted(set(stores) - accepted),
        "lost": len(lost),
        "lost_ids": [{"id": ident, "in_spool": in_spool.get(ident)} for ident in lost],
        "duplicated": sum(len(copies) > 1 for copies in stores.values()),
        "extra_copies": sum(len(copies) - 1 for copies in stores.values()),
        "duplicates_explained": dict(explained),
        "duplicates_unexplained": unexplained,
        "stuck": len(entries),
        "stuck_by_state": dict(Counter(entry["state"] for entry in entries)),
        "temp_files_left": len(list(spool.glob("tmp/*"))),
    }


def signals_sent(sent: List[Optional[Signal]]) -> Dict[str, int]:
    """How many signals landed as the receiver stored a request, and at random moments."""
    at_random = [plan for plan in sent if plan and plan.after is not None]
    return {
        "as_stored": len(sent) - len(at_random),
        "at_random": len(at_random),
        "at_random_mid_request": sum(plan.mid_request for plan in at_random),
    }


def render(figures: Dict[str, Any]) -> str:
    """The figures as a few readable lines."""

    def listed(counts: Dict[Any, int], joiner: str = " ") -> str:
        return ", ".join(f"{what}{joiner}{n}" for what, n in counts.items()) or "none"

    def signals(sent: Dict[str, int]) -> str:
        return (f"{sent['as_stored'] + sent['at_random']} ({sent['as_stored']} between the "
                f"receiver storing a request and answering it, {sent['at_random']} at a random "
                f"moment, {sent['at_random_mid_request']} of those mid-request)")  # fmt: skip

    terminated, killed = figures["sends_terminated"], figures["flushes_killed"]
    explained = figures["duplicates_explained"]
    lines = [
        f"chaos run, seed {figures['seed']}: {figures['duration_s']} s "
        f"({figures['chaos_s']} s of chaos; the spool then held "
        f"{listed(figures['spool_after_chaos']) if figures['spool_after_chaos'] else 'nothing'}, "
        f"drained in {figures['drain_rounds']} round(s))",
        f"receiver: {figures['requests']} requests ({listed(figures['requests_by_mode'])}); "
        f"fate unknown to the client: {listed(figures['unknown_fate_requests'])}",
        f"sent {figures['sent']} events in {figures['sends']} sends, {figures['wraps']} of "
        f"them wraps (exit {listed(figures['send_exit_statuses'], ': ')}); SIGTERM or SIGHUP to "
        f"{signals(terminated)}; {figures['sends_terminated_before_taking_the_event']} of "
        f"those sends ended before taking their event on",
        f"flushes {figures['flushes']} (exit {listed(figures['flush_exit_statuses'], ': ')}); "
        f"SIGKILL to {signals(killed)}",
        f"arrived {figures['arrived']} unique"
        + (f" (and {len(figures['arrived_not_sent'])} never counted as sent)"
           if figures["arrived_not_sent"] else ""),
        f"lost {figures['lost']}" + (f": {figures['lost_ids'][:10]}" if figures["lost"] else ""),
        f"duplicated {figures['duplicated']} ({figures['extra_copies']} extra copies): "
        f"{sum(explained.values())} after requests whose fate was unknown "
        f"({listed(explained)}), {len(figures['duplicates_unexplained'])} unexplained",
        f"stuck {figures['stuck']}"
        + (f" {figures['stuck_by_state']}" if figures["stuck"] else "")
        + (f"; {figures['temp_files_left']} temp file(s) left by killed processes"
           if figures["temp_files_left"] else ""),
    ]  # fmt: skip
    for send in figures["sends_odd"][:5]:
        lines.append(f"a send that did not queue or deliver its event: {json.dumps(send)}")
    for duplicate in figures["duplicates_unexplained"][:5]:
        lines.append(f"unexplained duplicate: {json.dumps(duplicate)}")
    if figures["processes_hung"]:
        lines.append(f"killed as hung after {PROCESS_LIMIT_S:g} s: {figures['processes_hung']}")
    return "\n".join(lines)


def healthy(figures: Dict[str, Any]) -> bool:
    return figures["lost"] == 0 and figures["stuck"] == 0 and not figures["duplicates_unexplained"]


def child_environment(home: Path, url: str) -> Dict[str, str]:
    """A clean environment: the temporary home, the receiver, nothing of the user's."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "NO_PROXY": "127.0.0.1,localhost",
        "STAC_EVENTS_RECEIVER_URL": url,
        "STAC_EVENTS_HOSTNAME": "chaos",
    }


def run_chaos(seed: int, chaos_s: float, drain_s: float, senders: int, wrappers: int,
              flushers: int, timeout: float) -> Dict[str, Any]:  # fmt: skip
    """The whole run: chaos, drain, figures; nothing left running or on disk after it."""
    started = time.monotonic()
    receiver = Receiver(seed, timeout)
    with tempfile.TemporaryDirectory(prefix="stac-events-chaos-") as folder:
        home = Path(folder)
        children = Children(child_environment(home, receiver.url), folder, receiver)
        chaos = Chaos(seed, timeout, receiver, children, until=started + chaos_s)
        workers = [threading.Thread(target=send_events, args=(chaos, n)) for n in range(senders)]
        workers += [
            threading.Thread(target=wrap_commands, args=(chaos, n)) for n in range(wrappers)
        ]
        workers += [threading.Thread(target=flush_spool, args=(chaos, n)) for n in range(flushers)]
        receiver.start()
        try:
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            chaos_ended = time.monotonic() - started
            held, rounds = drain_spool(chaos, drain_s)
            figures = tally(
                chaos, home / "state" / "stac-events" / "spool", spool_entries(children)
            )
        finally:
            chaos.until = 0.0  # workers start nothing more, should the run end early
            children.kill_all()
            for worker in workers:
                if worker.is_alive():
                    worker.join()
            receiver.stop()
    timing = {"duration_s": round(time.monotonic() - started, 1), "chaos_s": round(chaos_ended, 1),
              "spool_after_chaos": held, "drain_rounds": rounds}  # fmt: skip
    return {"seed": seed, **timing, **figures}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 30 s instead of 100 s")
    parser.add_argument("--seed", type=int, help="repeat a run's schedule (default: random)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--senders", type=int, default=6, help="sender threads (default: 6)")
    parser.add_argument("--wrappers", type=int, default=2, help="wrapper threads (default: 2)")
    parser.add_argument("--flushers", type=int, default=2, help="flusher threads (default: 2)")
    parser.add_argument("--timeout", type=float, default=1.0,
                        help="the clients' --timeout in seconds (default: 1)")  # fmt: skip
    given = parser.parse_args(argv)
    seed = given.seed if given.seed is not None else random.SystemRandom().randrange(10**6)
    chaos_s, drain_s = (25.0, 15.0) if given.quick else (95.0, 30.0)
    figures = run_chaos(seed, chaos_s, drain_s, given.senders, given.wrappers, given.flushers,
                        given.timeout)  # fmt: skip
    print(json.dumps(figures, indent=2) if given.json else render(figures), flush=True)
    return 0 if healthy(figures) else 1


if __name__ == "__main__":
    sys.exit(main())
