"""Everything a run reads from the outside world, gathered so tests can build their own."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Mapping, Optional


def machine_hostname() -> str:
    """This machine's name, as `hostname` prints it (without importing `socket` on POSIX)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_private_folders(folder: Path) -> None:
    """Create `folder` and its missing parents, each 0700 whatever the umask (mkdir's mode
    is filtered by it): the spool and the config file hold what is no one else's."""
    missing = []
    while not folder.is_dir() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made by a run beside this one, with its own mode
        os.chmod(created, 0o700)


def expand_user(path: str) -> Path:
    """`~` and `~user` expanded as a shell does: left as written when there is no such user
    (`~0`) or no home to be found."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


@dataclass
class Environment:
    """Streams, variables, clock and host name of one run (HTTPie's idea of an environment)."""

    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    clock: Callable[[], float] = time.time
    hostname: Callable[[], str] = machine_hostname
    home: Path = field(default_factory=Path.home)
    config_dir: Optional[Path] = None  # None: the platform's user config dir, when first needed
    state_dir: Optional[Path] = None  # None: the platform's user state dir, when first needed
    retry_backoff: float = 0.5  # seconds before the first retry; tests make it small
    stdin_isatty: Optional[bool] = None
    stdout_isatty: Optional[bool] = None
    stderr_isatty: Optional[bool] = None

    def __post_init__(self) -> None:
        if self.stdin_isatty is None:
            self.stdin_isatty = _isatty(self.stdin)
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)

    def user_config_dir(self) -> Path:
        """Where stac-events keeps its own `conf.yaml` (XDG_CONFIG_HOME on Linux)."""
        if self.config_dir is None:
            self.config_dir = self._user_dir("XDG_CONFIG_HOME", ".config", "user_config_path")
        return self.config_dir

    def user_state_dir(self) -> Path:
        """Where stac-events keeps state such as the spool (XDG_STATE_HOME on Linux)."""
        if self.state_dir is None:
            self.state_dir = self._user_dir("XDG_STATE_HOME", ".local/state", "user_state_path")
        return self.state_dir

    def _user_dir(self, variable: str, default: str, platformdirs_function: str) -> Path:
        # On Linux the XDG rule is two lines, read from this environment's variables;
        # importing platformdirs for it would cost ~3 ms of every start-up.
        if sys.platform.startswith("linux"):
            base = self.environ.get(variable, "").strip()
            root = Path(base) if base and Path(base).is_absolute() else self.home / default
            return root / "stac-events"
        import platformdirs

        return getattr(platformdirs, platformdirs_function)("stac-events", appauthor=False)

    @property
    def no_color(self) -> bool:
        """True when colors are unwanted: https://no-color.org, or a dumb terminal."""
        return bool(self.environ.get("NO_COLOR")) or self.environ.get("TERM") == "dumb"

    @property
    def force_color(self) -> bool:
        """True when colors are wanted off a terminal too, as CI logs show them (GitHub
        Actions, GitLab): FORCE_COLOR set to anything but "" or "0"."""
        return self.environ.get("FORCE_COLOR", "").strip() not in ("", "0")

    def color_for(self, stream_isatty: Optional[bool]) -> bool:
        """Whether to color what goes to a stream: NO_COLOR wins, then FORCE_COLOR, then
        a terminal that is not dumb."""
        if self.environ.get("NO_COLOR"):
            return False
        return self.force_color or (bool(stream_isatty) and not self.no_color)
