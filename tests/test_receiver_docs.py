"""The README's receiver examples run as written: each ```bash block as one script (they
start a receiver in the background and stop it), each ```python block of the receiver's
section as a test module."""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path
from typing import List

import pytest

from tests.processes import Processes, shell_command

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str, text: str = README) -> List[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_there_are_bash_examples() -> None:
    assert len(blocks("bash")) >= 2


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("script", blocks("bash"))
def test_bash_example_runs(script: str, tmp_path: Path, processes: Processes) -> None:
    for port in map(int, re.findall(r"127\.0\.0\.1:(\d+)", script)):
        if port_taken(port):
            pytest.skip(f"the example uses port {port}, which something here listens on")
    example = processes.start(
        *shell_command("bash", script, flags=["-euo", "pipefail"]), cwd=tmp_path,
        env={"TMPDIR": str(tmp_path)},
        start_new_session=True,  # what it leaves running is killed with its group, after
    )  # fmt: skip
    ended = example.finish(timeout=120)
    out, err = ended.stdout, ended.stderr
    assert "Traceback" not in err
    if "--timestamp 2025-01-01" in script:  # the refusal the Try-it section shows
        assert "refused, exit 4" in out
        assert "timestamp:" in err
        assert "StackState drops events older than it keeps" in err
        assert "DeployEvent 'Deployed checkout 1.4.2' urn:service:/checkout" in out


def test_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = README.split("## The local receiver", 1)[1].split("\n## ", 1)[0]
    (source,) = blocks("python", section)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    namespace: dict = {}
    exec(compile(source, "README.md", "exec"), namespace)  # noqa: S102
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        test(tmp_path)
