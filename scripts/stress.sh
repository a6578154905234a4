#!/usr/bin/env bash
# `make stress`: the tests that start processes, send signals and hold sockets, run
# STRESS_ROUNDS times in a row (10 by default) while a CPU hog runs on every core, with
# `make demo`'s script after each round. A race that shows once in ten runs on a busy
# machine shows here; the first failure stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${STRESS_ROUNDS:-10}"
python="${PYTHON_BIN:-.venv/bin/python}"
tests=(
    tests/test_signals.py tests/test_wrap.py tests/test_wrap_process.py tests/test_wrap_output.py
    tests/test_receiver.py tests/test_receiver_faults.py tests/test_receiver_limits.py
    tests/test_receiver_more_limits.py tests/test_delivery_faults.py tests/test_deadlines.py
    tests/test_spool_lifecycle.py tests/test_odd_inputs.py tests/test_demo.py
    tests/test_delivery.py tests/test_startup.py tests/test_help_answers.py
    tests/test_config_init.py tests/test_config_faults.py tests/test_config_more_faults.py
    tests/test_receiver_docs.py tests/test_wrap_time_limit.py tests/test_receiver_waits.py
    tests/test_receiver_follow.py tests/test_receiver_page.py
)

hogs=()
stop_hogs() {
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_hogs EXIT
cores="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
for _ in $(seq "$cores"); do
    yes >/dev/null &
    hogs+=("$!")
done
echo "stress: $rounds round(s), $cores CPU hog(s) running"

for round in $(seq "$rounds"); do
    started=$SECONDS
    "$python" -m pytest -q -x -p no:cacheprovider "${tests[@]}" >"${TMPDIR:-/tmp}/stress-round.log" 2>&1 \
        || { tail -n 60 "${TMPDIR:-/tmp}/stress-round.log"; echo "stress: round $round failed"; exit 1; }
    PATH="$(dirname "$python"):$PATH" scripts/demo.sh >/dev/null 2>"${TMPDIR:-/tmp}/stress-demo.log" \
        || { cat "${TMPDIR:-/tmp}/stress-demo.log"; echo "stress: make demo failed in round $round"; exit 1; }
    echo "stress: round $round passed ($(tail -n 1 "${TMPDIR:-/tmp}/stress-round.log"); demo ok) in $((SECONDS - started)) s"
done
echo "stress: $rounds round(s) in a row passed"
