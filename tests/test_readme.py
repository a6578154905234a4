"""Every ```sh example in the README runs as written and succeeds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parent.parent


def sh_examples() -> List[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        joined = block.replace("\\\n", " ")
        commands += [line for line in joined.splitlines() if line.strip()]
    return commands


def test_readme_has_examples() -> None:
    assert len(sh_examples()) >= 5


@pytest.mark.parametrize("command", sh_examples())
def test_readme_example_runs(command: str, isolated_environ: dict) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {**isolated_environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    completed = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "error:" not in completed.stderr
    assert (completed.stdout + completed.stderr).strip()
