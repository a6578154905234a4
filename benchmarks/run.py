"""stac-events against its floors and against Datadog's `dog`, side by side, in one run.

Run: make bench   (or: .venv/bin/python benchmarks/run.py [--rounds N] [--quick])

Every figure is a median of alternating runs (A, B, C, A, B, C, ...) after a warm-up, so
that the machine's drift hits every candidate alike; ratios are taken within this run.
Peak memory is the child's maxrss from wait4. Nothing here is a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
FLOORS = BENCH / "floors"
PYTHON = sys.executable
STAC = str(Path(PYTHON).with_name("stac-events"))
DOG_VENV = ROOT / ".bench" / "dog"
# What any tool built on this stack pays before it does anything: a start-up's yardstick.
IMPORT_LINE = "import typer, pydantic, requests, rich"
# What a sender that checks events with pydantic-core and POSTs them with requests imports.
SENDER_IMPORTS = "import pydantic_core, requests"


class Sample(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds of the child
    peak_kib: int


def run(argv: Sequence[str], env: Dict[str, str]) -> Sample:
    """Wall and CPU seconds and peak RSS of one run; fails loudly on a non-zero exit."""
    started = time.perf_counter()
    process = subprocess.Popen(list(argv), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    assert process.stderr is not None
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{argv[0]} exited {code}: {errors.strip()[:500]}")
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def alternate(candidates: Dict[str, List[str]], env: Dict[str, str], rounds: int,
              warmup: int = 2) -> Dict[str, List[Sample]]:  # fmt: skip
    samples: Dict[str, List[Sample]] = {name: [] for name in candidates}
    for round_number in range(warmup + rounds):
        order = list(candidates.items())
        random.Random(round_number).shuffle(order)  # no candidate always runs first
        for name, argv in order:
            sample = run(argv, env)
            if round_number >= warmup:
                samples[name].append(sample)
    return samples


def ms(samples: List[Sample], what: str = "wall") -> float:
    return statistics.median(getattr(sample, what) for sample in samples) * 1000


def paired(ours: List[Sample], other: List[Sample]) -> float:
    """The median of the per-round ratios: runs of one round stand seconds apart, so the
    shared machine's drift, which moves medians by a tenth or more, mostly cancels."""
    return statistics.median(a.wall / b.wall for a, b in zip(ours, other, strict=True))


def ensure_dog() -> Optional[str]:
    """Datadog's CLI in a virtual environment of its own; None when it cannot be had."""
    dog = DOG_VENV / "bin" / "dog"
    if not dog.exists():
        print("installing datadog (for `dog`) into .bench/dog ...", file=sys.stderr)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(DOG_VENV)], check=True)
            subprocess.run([str(DOG_VENV / "bin" / "pip"), "install", "-q", "datadog"],
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        except (subprocess.CalledProcessError, OSError) as error:
            print(f"no dog: {error}", file=sys.stderr)
            return None
    return str(dog)


def make_events(path: Path, count: int) -> int:
    """NDJSON of realistic deploy events (~400 bytes each); returns the file's size."""
    rng = random.Random(count)
    now = int(time.time())
    with path.open("w") as stream:
        for number in range(count):
            service = f"service-{rng.randrange(200)}"
            event = {
                "event_type": "VersionChangedEvent",
                "msg_title": f"{service} deployed version 1.{number % 50}.{number % 7}",
                "msg_text": f"Rolled out by pipeline run {number} to production in eu-west-1",
                # the last half hour, as a pipeline's events are: none too old to send
                "timestamp": now - 1800 + number * 1800 // count,
                "tags": ["env:prod", f"team:team-{rng.randrange(20)}", "region:eu-west-1"],
                "context": {
                    "category": "Changes",
                    "element_identifiers": [f"urn:service:/{service}", f"urn:host:/{service}-1"],
                    "source": "release-train",
                    "data": {"version": f"1.{number % 50}.{number % 7}", "run": number},
                    "source_links": [{"title": "Pipeline", "url": f"https://ci.example/{number}"}],
                },
            }
            stream.write(json.dumps(event) + "\n")
    return path.stat().st_size


def start_receiver(env: Dict[str, str]) -> Tuple[subprocess.Popen, int]:
    process = subprocess.Popen([PYTHON, str(BENCH / "receiver.py")], env=env,
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def cpu_seconds(pid: int) -> float:
    """User + system seconds a running process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def local_receiver_ingest(events: Path, count: int, env: Dict[str, str], rounds: int,
                          floor: List[Sample]) -> Tuple[str, str, str, str]:  # fmt: skip
    """The same batch sent to `stac-events receiver`, which checks and stores every event:
    the CPU time it spends on them, against the time the bare sender takes to send them
    to a receiver that does nothing."""
    db = Path(env["HOME"]) / "ingest.db"
    process = subprocess.Popen([STAC, "receiver", "--port", "0", "-q", "--db", str(db)],
                               env=env, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdout is not None
    url = process.stdout.readline().split()[2]
    busy = []
    try:
        for round_number in range(1 + rounds):
            before = cpu_seconds(process.pid)
            run([STAC, "event", "send", "--file", str(events), "-q", "--url", url], env)
            used = cpu_seconds(process.pid) - before
            subprocess.run([STAC, "receiver", "events", "--db", str(db), "--clear", "-q"],
                           env=env, check=True)  # fmt: skip
            if round_number:  # the first is a warm-up
                busy.append(used)
    finally:
        process.terminate()
        process.wait()
    cpu, wall = statistics.median(busy), statistics.median(s.wall for s in floor)
    return (f"`stac-events receiver` taking in {count:,} events",
            f"{cpu:.2f} s of its CPU, {count / cpu:,.0f} ev/s", f"floor sends in {wall:.2f} s",
            f"{cpu / wall:.2f}x (target <= 0.5x)")  # fmt: skip


def least_parts(events: Path, intake: str, env: Dict[str, str], floor: List[Sample],
                imports: List[Sample]) -> List[Tuple[str, str, str, str]]:  # fmt: skip
    """The parts of a batch no validating design can leave out (`benchmarks/parts.py`),
    set beside the bare sender: together, the least such a sender could take; and the
    receiver's checks, the largest part of its work."""
    runs = []
    for _ in range(3):
        done = subprocess.run([PYTHON, str(BENCH / "parts.py"), str(events), intake], env=env,
                              check=True, capture_output=True, text=True)  # fmt: skip
        runs.append(json.loads(done.stdout))
    part = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    wall = statistics.median(s.wall for s in floor)
    start = ms(imports) / 1000
    least = part["read"] + part["validate"] + part["serialize"] + part["post"] + start
    return [
        ("  pydantic-core checking those events alone", f"{part['validate']:.2f} s",
         f"floor {wall:.2f} s", f"{part['validate'] / wall:.2f}x (no reading, packing, start)"),
        ("  the least a validating sender takes", f"{least:.2f} s",
         f"floor {wall:.2f} s", f"{least / wall:.2f}x (bounds the 0.5x target)"),
        ("    reading, checks, writing out, POSTs, imports", f"{part['read']:.2f} + "
         f"{part['validate']:.2f} + {part['serialize']:.2f} + {part['post']:.2f} + "
         f"{start:.2f} s", "", ""),
        ("  the receiver's checking call over those bodies alone", f"{part['receive']:.2f} s",
         f"floor {wall:.2f} s", f"{part['receive'] / wall:.2f}x (its checks alone)"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds of start-up runs")
    parser.add_argument("--batch-rounds", type=int, default=5, help="timed rounds of batches")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller batches")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.batch_rounds = 5, 1

    # Same conditions for every candidate: compiled bytecode, a home of its own.
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "stac_events"), str(FLOORS)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="stac-events-bench-"))
    env = {
        **os.environ,
        "HOME": str(work),
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_STATE_HOME": str(work / "state"),
        "NO_COLOR": "1",
        "PYTHONPATH": str(FLOORS),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    receiver, port = start_receiver(env)
    base = f"http://127.0.0.1:{port}"
    intake = f"{base}/receiver/stsAgent/intake?api_key=bench-key"
    env.update({"STAC_EVENTS_RECEIVER_URL": f"{base}/receiver", "STAC_EVENTS_API_KEY": "bench-key"})
    rows: List[Tuple[str, str, str, str]] = []
    try:
        event_flags = ["DeployEvent", "--title", "Deployed checkout 1.4.2"]
        times = alternate(
            {
                "dry floor": [PYTHON, str(FLOORS / "dry_run_floor.py"), *event_flags],
                "dry": [STAC, "event", "send", *event_flags, "--dry-run"],
                "send floor": [PYTHON, str(FLOORS / "send_floor.py"), *event_flags,
                               "--url", intake],
                "send": [STAC, "event", "send", *event_flags, "-q"],
                "help": [STAC, "event", "send", "--help"],
                "help floor": [PYTHON, str(FLOORS / "typer_help.py"), "event", "send", "--help"],
                "import line": [PYTHON, "-c", IMPORT_LINE],
                "sender imports": [PYTHON, "-c", SENDER_IMPORTS],
                **({"dog": [dog, "--api-key", "k", "--application-key", "a", "--api_host",
                            base, "event", "post", "Deployed checkout 1.4.2", "text"]}
                   if (dog := ensure_dog()) else {}),
            },
            env,
            args.rounds,
        )  # fmt: skip

        def compare(label: str, ours: str, other: str, target: str) -> None:
            wall, wall_other = ms(times[ours]), ms(times[other])
            rows.append((label, f"{wall:.0f} ms", f"{other} {wall_other:.0f} ms",
                         f"{paired(times[ours], times[other]):.2f}x {target}"))  # fmt: skip

        compare("event send --dry-run", "dry", "dry floor", "(target <= 1.15x)")
        compare("  against the import line", "dry", "import line", "(target <= 0.6x)")
        compare("event send --help", "help", "import line", "(target <= 1.0x)")
        compare(
            "  Typer's own --help, a bare app of that shape",
            "help floor",
            "import line",
            "(no app can do better with Typer's help)",
        )
        compare("  event send --help against it", "help", "help floor", "(what stac-events adds)")
        compare("event send to a local receiver", "send", "send floor", "(target <= 1.15x)")
        if "dog" in times:
            compare("  against `dog event post`", "send", "dog", "(target <= 1.1x)")
            compare("  the floor against `dog`", "send floor", "dog", "(ours should not be worse)")
        else:
            rows.append(("  against `dog event post`", "-", "dog not installable here", "-"))

        count = 20_000 if args.quick else 100_000
        events = work / "events.ndjson"
        size = make_events(events, count)
        send = [STAC, "event", "send", "--file", str(events)]

        def keyed(key: Optional[str]) -> List[str]:  # a dry run, the key set or not
            given = (
                ["env", f"STAC_EVENTS_API_KEY={key}"]
                if key
                else ["env", "-u", "STAC_EVENTS_API_KEY"]
            )
            return [*given, *send, "--dry-run"]

        batch = alternate(
            {
                "floor": [PYTHON, str(FLOORS / "batch_floor.py"), str(events), intake],
                "send": [*send, "-q"],
                "gzip": [*send, "-q", "--gzip"],
                "dry": keyed(None),
                "dry k": keyed("k"),  # a letter none of the events holds, but `source_links`
                "dry e": keyed("e"),  # a letter every event holds, many times
            },
            env,
            args.batch_rounds,
            warmup=1,
        )  # fmt: skip

        def against(label: str, ours: str, other: str, target: str) -> None:
            wall, wall_other = ms(batch[ours]) / 1000, ms(batch[other]) / 1000
            rows.append((label, f"{wall:.2f} s, {count / wall:,.0f} ev/s",
                         f"{other} {wall_other:.2f} s",
                         f"{paired(batch[ours], batch[other]):.2f}x {target}"))  # fmt: skip

        label = f"event send --file, {count:,} events ({size / 2**20:.0f} MiB)"
        against(label, "send", "floor", "(target <= 0.5x)")
        against("  the same, --gzip", "gzip", "floor", "(target <= 0.7x)")
        against("  --dry-run, a one-letter key (k)", "dry k", "dry", "(target <= 1.1x)")
        against("  --dry-run, a key in every event (e)", "dry e", "dry",
                "(masks every event; no target)")  # fmt: skip
        rows.extend(least_parts(events, intake, env, batch["floor"], times["sender imports"]))
        rows.append(local_receiver_ingest(events, count, env, args.batch_rounds, batch["floor"]))

        sizes = [50_000, 200_000] if not args.quick else [10_000, 40_000]
        peaks = []
        for n in sizes:
            path = work / f"memory-{n}.ndjson"
            megabytes = make_events(path, n) / 2**20
            sample = run([STAC, "event", "send", "--file", str(path), "-q"], env)
            peaks.append((n, megabytes, sample.peak_kib / 1024))
            path.unlink()
        (small_n, small_mb, small_rss), (big_n, big_mb, big_rss) = peaks
        rows.append((f"peak memory, {big_n:,} events ({big_mb:.0f} MiB)", f"{big_rss:.0f} MiB",
                     f"{small_n:,} events ({small_mb:.0f} MiB): {small_rss:.0f} MiB",
                     f"{'flat' if big_rss - small_rss < 10 else 'grows'} (target < 120 MiB)"))  # fmt: skip
    finally:
        receiver.terminate()
        receiver.wait()
        shutil.rmtree(work, ignore_errors=True)

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), "unknown CPU")  # fmt: skip
    print(f"stac-events benchmarks: Python {sys.version.split()[0]}, {os.cpu_count()} cores, {cpu}")
    print(
        f"times: medians of {args.rounds} rounds (batches: {args.batch_rounds}), each round "
        "running every candidate once, in shuffled order; ratios: the median of the rounds' "
        "own ratios, so that the shared machine's drift between rounds mostly cancels\n"
    )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        )


if __name__ == "__main__":
    main()
