"""`make demo` runs scripts/demo.sh: the same script, run here as make runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the whole demo script, a receiver and three sends

DEMO = Path(__file__).resolve().parent.parent / "scripts" / "demo.sh"


def receivers_running(marker: str) -> list:
    """Processes whose command line holds `marker` (the demo's temporary folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in line:
                found.append(line)
    return found


def test_make_demo_delivers_for_real_and_leaves_nothing_behind(tmp_path, home, processes):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # As `make demo` runs it, with this environment's scripts first on PATH
    done = processes.run("bash", str(DEMO), env={"TMPDIR": str(scratch)}, timeout=120)
    stored = done.stdout.split("== What the receiver stored\n", 1)[1].splitlines()
    assert [line.split(" ", 3)[2] for line in stored[:5]] == [
        "DeployEvent", "PipelineEvent", "PipelineEvent", "FeatureFlagEvent", "CommandEvent",
    ]  # fmt: skip
    assert "'Deployed checkout 1.4.2 to staging' urn:service:/checkout" in stored[0]
    assert "'sh succeeded' urn:service:/checkout-db" in stored[4]
    assert "applying migration 0042_add_cart_index" in done.stdout  # the wrapped command's own
    assert done.stderr.count("(200, ") == 3  # three sends, each accepted at once
    assert "demo-key" not in done.stdout + done.stderr
    url = re.search(r"^   (http://127\.0\.0\.1:\d+)$", done.stdout, flags=re.MULTILINE)
    assert url
    ending = done.stdout.split("== Receiver stopped; the demo's folder is removed\n", 1)[1]
    assert ending.startswith("== To look at events in a browser\n")
    assert f"showed these events at {url.group(1)}/\n" in ending
    assert "stac-events receiver\n   then open http://127.0.0.1:7077/ " in ending

    assert list(scratch.iterdir()) == []  # the demo's folder is gone...
    assert receivers_running(str(scratch)) == []  # ...and so is its receiver
    assert list(home.iterdir()) == []  # the user's home is not touched
