"""Shared fixtures: an isolated environment per test and a way to run the CLI in it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest

from stac_events.cli import main
from stac_events.environment import Environment

NOW = 1_700_000_000.0
API_KEY = "s3cr3t-K3y/with+chars"


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Cli:
    """Runs `stac-events` in-process with a test-made environment (no global state touched)."""

    home: Path
    environ: Dict[str, str] = field(default_factory=dict)
    now: float = NOW
    cwd: Optional[Path] = None

    def __call__(
        self,
        *args: str,
        stdin: str = "",
        env: Optional[Dict[str, str]] = None,
        tty: bool = False,
        prog: str = "stac-events",
    ) -> Result:
        stdout, stderr = io.StringIO(), io.StringIO()
        environment = Environment(
            stdin=io.StringIO(stdin),
            stdout=stdout,
            stderr=stderr,
            environ={**self.environ, **(env or {})},
            cwd=self.cwd or self.home,
            home=self.home,
            config_dir=self.home / ".config" / "stac-events",
            state_dir=self.home / ".local" / "state" / "stac-events",
            clock=lambda: self.now,
            retry_backoff=0.01,
            hostname=lambda: "test-host",
            stdin_isatty=tty,
            stdout_isatty=tty,
            stderr_isatty=tty,
        )
        status = main(list(args), environment, prog_name=prog)
        return Result(int(status), stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def isolated_environ(home: Path) -> Dict[str, str]:
    """Variables that point every user directory into the test's own folder."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "APPDATA": str(home / "AppData"),
        "PATH": os.environ.get("PATH", ""),
    }


@pytest.fixture
def cli(home: Path, isolated_environ: Dict[str, str]) -> Cli:
    return Cli(home=home, environ=dict(isolated_environ))


@pytest.fixture
def run_script(home: Path, isolated_environ: Dict[str, str]):
    """Run an installed console script (`stac-events` or `stac`) as a real process."""

    def run(
        script: str, *args: str, stdin: str = "", env: Optional[Dict[str, str]] = None
    ) -> Result:
        exe = Path(sys.executable).with_name(script)
        completed = subprocess.run(
            [str(exe), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**isolated_environ, **(env or {})},
            cwd=home,
            timeout=60,
            check=False,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    return run


def events_of(payload: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every event in a common JSON object, whatever its name."""
    return [event for group in payload["events"].values() for event in group]


def single_event(payload: Dict[str, Any]) -> Dict[str, Any]:
    (event,) = events_of(payload)
    return event


def no_secret(result: Result, secrets: Sequence[str] = (API_KEY,)) -> bool:
    from urllib.parse import quote, quote_plus

    text = result.output
    return not any(form in text for s in secrets for form in (s, quote(s, safe=""), quote_plus(s)))


@pytest.fixture
def own_server():
    """A receiver of the test's own, for slow handlers that must not outlive the test."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def valid_common_object(body: bytes) -> Dict[str, Any]:
    """The body, checked against the Receiver API's common object schema."""
    from stac_events.model import common_object_adapter

    return dict(common_object_adapter().validate_json(body))
