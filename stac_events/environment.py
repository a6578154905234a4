"""Everything a run reads from the outside world, gathered so tests can build their own."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Mapping, Optional


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


_UNSET: Any = object()  # an argument not given: its default is read when the run starts


class Environment:
    """Streams, variables, clock and host name of one run (HTTPie's idea of an environment).

    A plain class rather than a dataclass: `dataclasses` (and the `inspect` it imports)
    would cost every start-up some milliseconds."""

    __slots__ = _FIELDS = (
        "stdin", "stdout", "stderr", "environ", "cwd", "clock", "hostname", "home",
        "config_dir", "state_dir", "retry_backoff", "stdin_isatty", "stdout_isatty",
        "stderr_isatty",
    )  # fmt: skip

    def __init__(
        self,
        stdin: IO[str] = _UNSET,
        stdout: IO[str] = _UNSET,
        stderr: IO[str] = _UNSET,
        environ: Mapping[str, str] = _UNSET,
        cwd: Path = _UNSET,
        clock: Callable[[], float] = time.time,
        hostname: Callable[[], str] = machine_hostname,
        home: Path = _UNSET,
        config_dir: Optional[Path] = None,  # None: the platform's user config dir, when needed
        state_dir: Optional[Path] = None,  # None: the platform's user state dir, when needed
        retry_backoff: float = 0.5,  # seconds before the first retry; tests make it small
        stdin_isatty: Optional[bool] = None,
        stdout_isatty: Optional[bool] = None,
        stderr_isatty: Optional[bool] = None,
    ) -> None:
        self.stdin: IO[str] = sys.stdin if stdin is _UNSET else stdin
        self.stdout: IO[str] = sys.stdout if stdout is _UNSET else stdout
        self.stderr: IO[str] = sys.stderr if stderr is _UNSET else stderr
        self.environ: Mapping[str, str] = dict(os.environ) if environ is _UNSET else environ
        self.cwd: Path = Path.cwd() if cwd is _UNSET else cwd
        self.clock = clock
        self.hostname = hostname
        self.home: Path = Path.home() if home is _UNSET else home
        self.config_dir = config_dir
        self.state_dir = state_dir
        self.retry_backoff = retry_backoff
        self.stdin_isatty = _isatty(self.stdin) if stdin_isatty is None else stdin_isatty
        self.stdout_isatty = _isatty(self.stdout) if stdout_isatty is None else stdout_isatty
        self.stderr_isatty = _isatty(self.stderr) if stderr_isatty is None else stderr_isatty

    def replace(self, **changes: Any) -> Environment:
        """A copy with `changes`, as `dataclasses.replace` makes one."""
        values = {name: getattr(self, name) for name in self._FIELDS}
        values.update(changes)
        return Environment(**values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Environment):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"Environment({values})"

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
