"""How long one TAB takes: the static bash script against a Python start-up.

Run: .venv/bin/python benchmarks/completion.py   (or `make bench`)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "completions" / "stac-events.bash"
LINES = ["stac-events ev", "stac-events event send --ti", "stac-events event send X -c "]
ROUNDS = 500


def bash_tab_ms() -> dict:
    """Per-TAB time of the completion function, measured inside one bash."""
    loops = []
    for line in LINES:
        loops.append(
            f"""
COMP_LINE={line!r}; read -r -a COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
start=$EPOCHREALTIME
for ((n = 0; n < {ROUNDS}; n++)); do _stac_events; done
end=$EPOCHREALTIME
echo "$start $end"
"""
        )
    program = f'start=$EPOCHREALTIME; source {SCRIPT}; end=$EPOCHREALTIME; echo "$start $end"\n'
    program += "\n".join(loops)
    output = subprocess.run(["bash", "--norc", "-c", program], capture_output=True, text=True,
                            check=True).stdout.split("\n")  # fmt: skip
    spans = [tuple(map(float, line.split())) for line in output if line.strip()]
    load_ms = (spans[0][1] - spans[0][0]) * 1000
    per_tab = [(end - start) * 1000 / ROUNDS for start, end in spans[1:]]
    return {"load_ms": load_ms, "tab_ms": statistics.median(per_tab)}


def python_start_ms(runs: int = 10) -> float:
    """What a dynamic completion pays on every TAB at least: starting the CLI."""
    exe = Path(sys.executable).with_name("stac-events")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(exe), "--version"], capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    bash = bash_tab_ms()
    python = python_start_ms()
    print("completion: one TAB in bash")
    print(
        f"  static script, per TAB        {bash['tab_ms']:8.3f} ms  (median of {len(LINES)} lines"
        f" x {ROUNDS})"
    )
    print(f"  static script, sourcing once  {bash['load_ms']:8.3f} ms")
    print(
        f"  starting the CLI (dynamic)    {python:8.1f} ms  (median of 10, stac-events --version)"
    )


if __name__ == "__main__":
    main()
