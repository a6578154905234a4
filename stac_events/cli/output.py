"""What a run shows: payloads and results on stdout, messages on stderr.

Colors only on a terminal and never with NO_COLOR. `rich` is loaded only to
highlight a payload on a terminal.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional

from stac_events.environment import Environment
from stac_events.errors import Interrupted, StacEventsError
from stac_events.redact import redact

if TYPE_CHECKING:
    from stac_events.delivery import Outcome

PROGRESS_MIN_EVENTS = 1000  # smaller inputs are sent before a bar would be worth reading
ISSUES_URL = "https://github.com/stac-events/stac-events/issues"
_ANSI = {"red": "31", "yellow": "33"}


class Output:
    """Renders for one run; `mode` is "text" or "json", `quiet` silences success."""

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
        self.secrets: List[str] = []

    # stderr: messages for people

    def _say(self, label: str, color: str, message: str) -> None:
        prefix = f"{self.prog}: {label}:"
        if self.env.color_for(self.env.stderr_isatty):
            prefix = f"\x1b[1;{_ANSI[color]}m{prefix}\x1b[0m"
        self.env.stderr.write(f"{prefix} {self.mask(message)}\n")
        self.env.stderr.flush()

    def mask(self, text: str) -> str:
        return redact(text, *self.secrets)

    def warn(self, message: str) -> None:
        self._say("warning", "yellow", message)

    def note(self, message: str) -> None:
        """Information a person may want; silent with -q."""
        if not self.quiet:
            self.env.stderr.write(self.mask(message) + "\n")
            self.env.stderr.flush()

    # stdout: data for programs

    def payload(self, body: bytes) -> None:
        """Print a payload: highlighted on a terminal, the exact wire bytes when piped."""
        if self.env.stdout_isatty:
            text = self.mask(json.dumps(json.loads(body), indent=2, ensure_ascii=False))
            if self.env.color_for(True):
                from rich.console import Console
                from rich.syntax import Syntax

                console = Console(file=self.env.stdout, force_terminal=True, soft_wrap=True)
                console.print(Syntax(text, "json", theme="ansi_dark", background_color="default"))
                return
            self.env.stdout.write(text + "\n")
        else:
            self.env.stdout.write(self.mask(body.decode()) + "\n")
        self.env.stdout.flush()

    def result(self, summary: Dict[str, Any], text: str) -> None:
        """A success: one JSON object with --output json, else a line on stderr."""
        if self.mode == "json":
            self.data({"ok": True, **summary})
        elif not self.quiet:
            self.note(text)

    def failure(self, error: StacEventsError) -> None:
        message = str(error)
        if self.mode == "json":
            body: Dict[str, Any] = {"kind": error.kind, **error.details(), "message": error.message}
            if error.hint:
                body["hint"] = error.hint
            self.data({"ok": False, "error": body})
        if isinstance(error, Interrupted):  # not an error of the run: the user stopped it
            self.env.stderr.write(f"{self.prog}: {self.mask(message)}\n")
            self.env.stderr.flush()
            return
        self._say("error", "red", message)

    def internal_error(self, error: BaseException) -> None:
        where = _origin(error)
        self.failure(
            _Internal(
                f"internal error: {type(error).__name__}: {error}{where}. "
                f"This is a bug in {self.prog}; please report it at {ISSUES_URL} "
                f"with the output of the same command run with --debug"
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
        """Send request logs (ours and urllib3's) to stderr, with the key masked."""
        import logging

        mask = self.mask

        class MaskingFormatter(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                return mask(super().format(record))

        handler = logging.StreamHandler(self.env.stderr)
        handler.setFormatter(MaskingFormatter("debug: %(name)s: %(message)s"))
        for name in ("stac_events", "urllib3"):
            logger = logging.getLogger(name)
            logger.setLevel(logging.DEBUG)
            logger.addHandler(handler)

    def data(self, document: Any) -> None:
        """One JSON document on stdout, for scripts; secrets masked."""
        self.env.stdout.write(self.mask(json.dumps(document, ensure_ascii=False)) + "\n")
        self.env.stdout.flush()

    def spool_report(self, outcome: Outcome) -> None:
        """What the spool gave and gave up on the way (stderr), whatever became of the run."""
        flushed = outcome.flushed
        if flushed.delivered and outcome.accepted:
            self.note(f"delivered {flushed.delivered} queued payload(s) first")
        if outcome.accepted and (flushed.rejected or flushed.failed):
            aside = [f"refused {flushed.rejected}"] if flushed.rejected else []
            aside += [f"failed on {flushed.failed}"] if flushed.failed else []
            self.warn(
                f"the receiver {' and '.join(aside)} queued payload(s); they were moved "
                f"aside, see 'stac-events spool list'"
            )
        if flushed.passed_over:
            from stac_events.spool import PASSED_OVER_LIMIT

            self.warn(
                f"{flushed.passed_over} queued payload(s) failed again while later ones got "
                f"through; each moves to failed/ after {PASSED_OVER_LIMIT} such runs"
            )
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
                          "failed": flushed.failed, "passed_over": flushed.passed_over},
            },
            summary_line(outcome.events, requests, outcome.status, address, outcome.elapsed_ms),
        )  # fmt: skip


class _Internal(StacEventsError):
    kind = "internal"


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
