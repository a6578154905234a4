"""`stac-events event wrap -- CMD`: run a command, then send one event about how it went."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, NamedTuple, Optional

from stac_events.cli import options as o
from stac_events.cli import signals
from stac_events.cli.event_flags import event_defaults
from stac_events.cli.event_send import deliver, prepare
from stac_events.cli.records import Values
from stac_events.cli.run import Run
from stac_events.cli.signals import Deferral
from stac_events.cli.usage import UsageError, named_by_flag
from stac_events.errors import InvalidInput, StacEventsError, Terminated, interruption
from stac_events.events import EventDefaults, build_event
from stac_events.settings import Setting
from stac_events.status import ExitStatus

if TYPE_CHECKING:
    from stac_events.wrapped_command import Finished

# After a signal came to end the command (a CI job cancelled, a step timed out), what is
# left of the job's life is short: a runner's SIGKILL follows within seconds. The event
# gets this long to be delivered; what is not through by then is queued.
SIGNALLED_GRACE_S = 5.0


class WrapOptions(NamedTuple):
    """What `event wrap` is given: its arguments and options (`cli.records`)."""

    command: Values
    event_type: str
    on: str
    tail_lines: int
    time_limit: Optional[float]
    title: Optional[str]
    text: Optional[str]
    tags: Values
    source_type_name: Optional[str]
    name: Optional[str]
    identifiers: Values
    source: Optional[str]
    category: str
    data: Values
    links: Values
    source_identifier: Optional[str]
    ci_context: bool
    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    timeout: Optional[float]
    retries: Optional[int]
    max_time: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    headers: Values
    spool: bool
    dry_run: bool
    output: str
    quiet: bool
    debug: bool
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


def wrap(run: Run[WrapOptions]) -> int:
    given = run.options
    if not given.command:
        several = run.line.several()
        if several:  # `-i urn:a make`: the flag took the command for one of its values
            last = several[-1]
            raise UsageError(
                f"took {run.line.argv[last.end - 1]!r} as one of its values, so no command "
                f"is left to run",
                option=last.flag,
                hint="put '--' before the command: -- make deploy",
            )
        raise UsageError(
            "give the command to run after '--'",
            hint="e.g. -- make deploy; 'stac-events event wrap --help' says more",
        )
    if given.text == "-":
        raise UsageError("stdin belongs to the command; use @PATH", option=o.BODY_TEXT.long)
    settings = run.settings()
    defaults = event_defaults(run, event_type=given.event_type, timestamp=None)
    try:  # flags that cannot make an event stop it before the command runs
        build_event(defaults._replace(title=defaults.title or "-"), now=run.env.clock())
    except InvalidInput as error:
        if error.field == "event_type":
            raise UsageError(error.reason, option=o.WRAP_EVENT_TYPE.long) from None
        raise
    if not given.dry_run:
        settings.target()  # and so does a receiver that is not configured,
        settings.open_spool()  # or a spool another user could change

    from stac_events.wrapped_command import run_command

    # From the command's exit on, a signal is held until the event's delivery starts,
    # which acts on it: the event is queued, rather than lost on the way.
    with signals.deferred(holding=False) as deferral:
        finished = run_command(given.command, run.env, tail_lines=given.tail_lines,
                               secrets=settings.secrets, on_exit=deferral.hold,
                               time_limit=given.time_limit)  # fmt: skip
        try:
            _report(run, finished, defaults, deferral)
        except StacEventsError as error:
            run.output.failure(named_by_flag(error))  # reported; the command's code stands
        except (KeyboardInterrupt, Terminated) as stop:  # a cancelled job: the event is
            run.output.failure(interruption(stop))  # queued, and the command's code stands
        with contextlib.suppress(KeyboardInterrupt, Terminated):
            deferral.end()  # held, never acted on: nothing was sent, as was said
    if finished.timed_out:
        return ExitStatus.TIMED_OUT  # as timeout(1) exits; the event has the command's code
    return finished.exit_code


def _report(
    run: Run[WrapOptions], finished: Finished, defaults: EventDefaults, deferral: Deferral
) -> None:
    """Send the event about the command, as the flags say (or not: `--on failure`)."""
    given = run.options
    if given.on == "failure" and finished.exit_code == 0:
        deferral.end()
        return
    settings = run.settings()
    if finished.signalled is not None and settings.max_time.value > SIGNALLED_GRACE_S:
        run.limit_delivery(
            Setting(SIGNALLED_GRACE_S, f"the grace after signal {finished.signalled}")
        )
    # The command's output and line may show the key (`set -x`, a curl line): they come
    # masked, and the whole event is masked as it is prepared, flags built from them too.
    if finished.timed_out and run.line.flags.isdisjoint(o.WRAP_CATEGORY.flags):
        defaults = defaults._replace(category="Alerts")  # unless -c said otherwise
    defaults = defaults._replace(
        title=defaults.title or finished.title,
        text=defaults.text or finished.text(),
        data={**finished.data(), **(defaults.data or {})},  # -d keys win
    )
    prepared = prepare(run, defaults)
    try:
        deliver(run, prepared, dry_run=given.dry_run, gzip=False, on_start=deferral.end)
    finally:
        prepared.close()
    deferral.end()  # a dry run sent nothing: a signal held acts now
