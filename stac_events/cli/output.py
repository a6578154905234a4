"""What a run shows: payloads and results on stdout, messages on stderr.

Colors only on a terminal and never with NO_COLOR. `rich` is loaded only to
highlight a payload on a terminal. A command that runs another (`event wrap`) leaves
stdout to it: its own payloads and results go to stderr, as `time` does.

The streams a run writes to are guarded (`guarded`): a stdout whose reader went away
stops the run (`ReaderGone`, exit 141), and a stderr no one can read any more is let go,
so that neither can end in exit 1.
"""

from __future__ import annotations

import _thread
import errno
import io
import json
from contextlib import contextmanager, suppress
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    cast,
)

from stac_events.environment import Environment
from stac_events.errors import Interrupted, StacEventsError
from stac_events.parse import as_typed
from stac_events.redact import Masker
from stac_events.status import ExitStatus

if TYPE_CHECKING:
    from stac_events.delivery import Outcome

PROGRESS_MIN_EVENTS = 1000  # smaller inputs are sent before a bar would be worth reading
_ANSI = {"red": "31", "yellow": "33"}


# The `--debug` runs of the process (main may be called in threads) and how the loggers
# were before the first of them.
_DEBUG_LOGGERS = ("stac_events", "urllib3")
_DEBUG_LOG_LOCK = _thread.allocate_lock()
_DEBUG_LOGS: List[Any] = []
_DEBUG_LOGGERS_WERE: List[Tuple[Any, int, bool]] = []


class ReaderGone(Exception):
    """stdout's reader went away (`| head -1`): the run stops and says nothing more.

    Not an `OSError`, so that no layer on the way to `cli.main` takes it for another
    failure (Typer's own `main` turns an EPIPE into exit 1)."""


class UnwritableStdout(StacEventsError):
    """stdout takes nothing, for another reason than a reader gone: a full disk, a
    descriptor that is closed or not open for writing. A matter of the set-up."""

    status = ExitStatus.CONFIG
    kind = "output"


class _Stdout:
    """stdout as a run writes to it: a failure is `ReaderGone` or `UnwritableStdout`."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError) as error:
            raise _failed(error) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError) as error:
            raise _failed(error) from None

    def abandon(self) -> None:
        """Write nothing more there: what it could not take is dropped, not tried again."""
        self._stream = io.StringIO()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _failed(error: Exception) -> Exception:
    if isinstance(error, OSError) and error.errno == errno.EPIPE:
        return ReaderGone()
    reason = error.strerror if isinstance(error, OSError) and error.strerror else "it is closed"
    return UnwritableStdout(f"cannot write to stdout: {reason}",
                            hint="check where the command's output is redirected to")  # fmt: skip


class _Stderr:
    """stderr as a run writes to it: messages for people, which a stderr that is closed
    or read by no one any more drops, rather than stop a run that may be sending."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        with suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guarded(env: Environment) -> Environment:
    """The same environment, its stdout and stderr guarded as the module says."""
    if isinstance(env.stdout, _Stdout):
        return env
    # Each stands in for its stream, and passes on what it does not define itself.
    stdout, stderr = cast(IO[str], _Stdout(env.stdout)), cast(IO[str], _Stderr(env.stderr))
    return env.replace(stdout=stdout, stderr=stderr)


class Output:
    """Renders for one run; `mode` is "text" or "json", `quiet` silences success.

    `data_on_stderr`: payloads and results go to stderr, stdout being another command's."""

    def __init__(
        self,
        env: Environment,
        *,
        prog: str = "stac-events",
        mode: str = "text",
        quiet: bool = False,
        debug: bool = False,
    ) -> None:
        self.env = env
        self.prog = prog
        self.mode = mode
        self.quiet = quiet
        self.debug = debug
        self.data_on_stderr = False
        self.secrets: List[str] = []
        self._masker: Optional[Masker] = None
        self._masked_for: List[str] = []
        self._covering: Tuple[Sequence[str], List[str]] = ((), [])
        self._covers = False
        self._debug_log: Optional[Any] = None  # its handler, taken off by `end_debug_log`

    # stderr: messages for people

    def _say(self, label: str, color: str, message: str) -> None:
        prefix = f"{self.prog}: {label}:"
        if self.env.color_for(self.env.stderr_isatty):
            prefix = f"\x1b[1;{_ANSI[color]}m{prefix}\x1b[0m"
        # one line, whatever a path or a value in it holds: no newline can forge another
        self.env.stderr.write(f"{prefix} {as_typed(self.mask(self.named(message)))}\n")
        self.env.stderr.flush()

    def mask(self, text: str) -> str:
        return self.masker().text(text)

    def masker(self) -> Masker:
        """A masker of `secrets` as they are now (they grow as a run learns them), worked
        out again only when they changed."""
        if self._masker is None or self._masked_for != self.secrets:
            self._masker, self._masked_for = Masker(self.secrets), list(self.secrets)
        return self._masker

    def _covered(self, masked: Optional[Sequence[str]]) -> bool:
        """Whether a document masked for `masked` needs no more masking for this run."""
        if masked is None:
            return False
        if self._covering != (masked, self.secrets):
            self._covering = (masked, list(self.secrets))
            self._covers = Masker(masked).covers(self.masker())
        return self._covers

    def named(self, text: str) -> str:
        """A message's commands as the user types the program: `'stac spool list'` when
        it runs as `stac` (the core, which words the hints, cannot know)."""
        if self.prog == "stac-events":
            return text
        return text.replace("'stac-events ", f"'{self.prog} ")

    def warn(self, message: str) -> None:
        self._say("warning", "yellow", message)

    def note(self, message: str) -> None:
        """Information a person may want; silent with -q."""
        if not self.quiet:
            self.env.stderr.write(self.mask(self.named(message)) + "\n")
            self.env.stderr.flush()

    # stdout: data for programs

    def _data_stream(self) -> Tuple[IO[str], Optional[bool]]:
        """Where payloads and results go, and whether that is a terminal."""
        if self.data_on_stderr:
            return self.env.stderr, self.env.stderr_isatty
        return self.env.stdout, self.env.stdout_isatty

    def payload(self, body: bytes, *, masked: Optional[Sequence[str]] = None) -> None:
        """Print a payload: highlighted on a terminal, the exact wire bytes when piped (but
        for a secret in them, masked in their texts: JSON stays JSON for `jq`). A body
        made with the `masked` secrets masked in it is only masked again for a secret
        this run learned besides them."""
        stream, isatty = self._data_stream()
        text = body.decode()
        masker = self.masker()
        needed = not self._covered(masked) and masker.needed(body, compact_json=True)
        if isatty or needed:
            document = json.loads(body)
            shape: Dict[str, Any] = {"indent": 2} if isatty else {"separators": (",", ":")}
            text = json.dumps(masker.value(document) if needed else document,
                              ensure_ascii=False, **shape)  # fmt: skip
        if isatty and self.env.color_for(True):
            from rich.console import Console
            from rich.syntax import Syntax

            console = Console(file=stream, force_terminal=True, soft_wrap=True)
            console.print(Syntax(text, "json", theme="ansi_dark", background_color="default"))
            return
        stream.write(text + "\n")
        stream.flush()

    def result(self, summary: Dict[str, Any], text: str) -> None:
        """A success: one JSON object with --output json, else a line on stderr.

        What succeeded (an event delivered, a payload dropped) stays done when stdout
        cannot take the object: a status that invites a retry would send it twice. So the
        run goes on to exit 0, and stderr says why stdout has nothing (but for a reader
        that went away: `| head -c0` asked for nothing)."""
        if self.mode != "json":
            if not self.quiet:
                self.note(text)
            return
        try:
            self.data({"ok": True, **summary})
        except ReaderGone:
            self._abandon_stdout()
        except UnwritableStdout as error:
            self._abandon_stdout()
            self.warn(f"done, but the result could not be written: {error.message}")

    def _abandon_stdout(self) -> None:
        abandon = getattr(self.env.stdout, "abandon", None)
        if abandon is not None:
            abandon()

    def failure(self, error: StacEventsError, *, data: bool = True) -> None:
        """Say why the run failed: on stderr, and as a JSON object with --output json
        (unless not `data`: stdout cannot take it)."""
        message = str(error)
        if data and self.mode == "json" and not isinstance(error, UnwritableStdout):
            body: Dict[str, Any] = {"kind": error.kind, **error.details(),
                                    "message": as_typed(self.named(error.message))}  # fmt: skip
            if error.hint:
                body["hint"] = self.named(error.hint)
            self.data({"ok": False, "error": body})
            if self.data_on_stderr:
                return  # that object, on stderr, already says it: once is enough
        if isinstance(error, Interrupted):  # not an error of the run: the user stopped it
            self.env.stderr.write(f"{self.prog}: {self.mask(self.named(message))}\n")
            self.env.stderr.flush()
            return
        self._say("error", "red", message)

    def internal_error(self, error: BaseException) -> None:
        from stac_events.version import ISSUES

        where = _origin(error)
        self.failure(
            _Internal(
                f"internal error: {type(error).__name__}: {error}{where}. "
                f"This is a bug in stac-events; please report it at {ISSUES} with this "
                f"message, "
                f"{_versions()}, and the output of the same command run with --debug "
                f"(which masks the key)"
            )
        )
        if self.debug:
            self.traceback(error)

    def traceback(self, error: BaseException) -> None:
        import traceback

        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self.env.stderr.write(self.mask(text))

    @contextmanager
    def progress(self, total: int, description: str) -> Iterator[Callable[[int], None]]:
        """A progress bar on a terminal for big inputs; elsewhere a call that does nothing."""
        if total < PROGRESS_MIN_EVENTS or self.quiet or not self.env.stderr_isatty:
            yield lambda done: None
            return
        from rich.console import Console
        from rich.progress import Progress

        console = Console(file=self.env.stderr, no_color=self.env.no_color)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda done: bar.advance(task, done)

    def enable_debug_log(self) -> None:
        """Send request logs (ours and urllib3's) to stderr, with the key masked, until
        `end_debug_log`."""
        import logging

        if self._debug_log is not None:
            return
        mask = self.mask

        class MaskingFormatter(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                return mask(super().format(record))

        handler = logging.StreamHandler(self.env.stderr)
        handler.setFormatter(MaskingFormatter("debug: %(name)s: %(message)s"))
        self._debug_log = handler
        with _DEBUG_LOG_LOCK:
            if not _DEBUG_LOGS:  # the first of the runs in the process: keep how they were
                for logger in map(logging.getLogger, _DEBUG_LOGGERS):
                    _DEBUG_LOGGERS_WERE.append((logger, logger.level, logger.propagate))
                    # to this run's stderr alone, not also to a caller's own handlers
                    logger.setLevel(logging.DEBUG)
                    logger.propagate = False
            _DEBUG_LOGS.append(handler)
            for name in _DEBUG_LOGGERS:
                logging.getLogger(name).addHandler(handler)

    def end_debug_log(self) -> None:
        """Take the debug log's handler off again, and, when no other run in the process
        logs, the loggers' levels back: a later run in the same process (`main` called
        again) logs only what it asks for, and where it asks."""
        import logging

        handler, self._debug_log = self._debug_log, None
        if handler is None:
            return
        with _DEBUG_LOG_LOCK:
            for name in _DEBUG_LOGGERS:
                logging.getLogger(name).removeHandler(handler)
            _DEBUG_LOGS.remove(handler)
            if not _DEBUG_LOGS:
                for logger, level, propagate in _DEBUG_LOGGERS_WERE:
                    logger.setLevel(level)
                    logger.propagate = propagate
                _DEBUG_LOGGERS_WERE.clear()

    def data(self, document: Any) -> None:
        """One JSON document on stdout (see `data_on_stderr`), for scripts; secrets masked."""
        stream, _ = self._data_stream()
        masker = self.masker()
        text = json.dumps(document, ensure_ascii=False)
        if masker.needed_in(text):  # most results hold nothing to mask: one look at them
            # its names are its structure (`ok`, `delivered`), whatever a short key holds
            text = json.dumps(masker.value(document, names=False), ensure_ascii=False)
        stream.write(text + "\n")
        stream.flush()

    def spool_report(self, outcome: Outcome) -> None:
        """What the spool gave and gave up on the way (stderr), whatever became of the run."""
        flushed = outcome.flushed
        if flushed.delivered and outcome.accepted:
            self.note(f"delivered {flushed.delivered} queued payload(s) first")
        aside = flushed.moved_aside()
        if outcome.accepted and aside is not None:
            self.warn(f"{aside}, see 'stac-events spool list'")
        if flushed.passed_over:
            from stac_events.spool import PASSED_OVER_LIMIT

            self.warn(
                f"{flushed.passed_over} queued payload(s) failed again while later ones got "
                f"through; each moves to failed/ after {PASSED_OVER_LIMIT} such runs"
            )
        if flushed.corrupt:
            self.warn(
                f"{flushed.corrupt} queued payload(s) could not be read or trusted; they were "
                f"set aside to corrupt/, see 'stac-events spool list'"
            )
        # said when the run's own events got through (when they are queued too, the error
        # line says what waits)
        if flushed.left is not None and outcome.accepted and outcome.events == outcome.accepted:
            waiting = outcome.waiting()
            if waiting:
                self.note(f"{waiting} queued payload(s) wait for a later run ({flushed.left})")
        if outcome.spool_trouble:
            self.warn(f"the spool could not be used as it should: {outcome.spool_trouble}")

    def outcome(self, outcome: Outcome, address: str) -> None:
        """Say what was sent."""
        flushed = outcome.flushed
        requests = len(outcome.receipts)
        self.result(
            {
                "events": outcome.events,
                "requests": requests,
                "status": outcome.status,
                "address": address,
                "attempts": outcome.attempts,
                "elapsed_ms": outcome.elapsed_ms,
                **outcome.counts(),
                "spool": {"delivered": flushed.delivered, "rejected": flushed.rejected,
                          "failed": flushed.failed, "passed_over": flushed.passed_over,
                          "corrupt": flushed.corrupt},
            },
            summary_line(outcome.events, requests, outcome.status, address, outcome.elapsed_ms),
        )  # fmt: skip


class _Internal(StacEventsError):
    kind = "internal"


def _versions() -> str:
    """What a bug report needs to say about where it ran."""
    import platform

    from stac_events.version import __version__

    return (f"stac-events {__version__}, {platform.python_implementation()} "
            f"{platform.python_version()} on {platform.platform(terse=True)}")  # fmt: skip


def _origin(error: BaseException) -> str:
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno})"


def summary_line(events: int, requests: int, status: Optional[int], address: str, ms: int) -> str:
    noun = "event" if events == 1 else "events"
    via = "" if requests == 1 else f" in {requests} requests"
    return f"sent {events} {noun}{via} to {address} ({status}, {ms} ms)"
