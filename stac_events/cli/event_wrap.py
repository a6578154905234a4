"""`stac-events event wrap -- CMD`: run a command, then send one event about how it went."""

from __future__ import annotations

from stac_events.cli import options as o
from stac_events.cli.event_flags import event_defaults
from stac_events.cli.event_send import deliver, prepare
from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError, named_by_flag
from stac_events.errors import InvalidInput, StacEventsError, Terminated, interruption
from stac_events.events import build_event
from stac_events.redact import redact, redact_value
from stac_events.settings import Setting

# After a signal came to end the command (a CI job cancelled, a step timed out), what is
# left of the job's life is short: a runner's SIGKILL follows within seconds. The event
# gets this long to be delivered; what is not through by then is queued.
SIGNALLED_GRACE_S = 5.0


def wrap(run: Run) -> int:
    given = run.given
    if not given.command:
        raise UsageError("give the command to run after '--'", hint="e.g. -- make deploy")
    if given.text == "-":
        raise UsageError("stdin belongs to the command; use @PATH", option=o.BODY_TEXT.long)
    settings = run.settings()
    defaults = event_defaults(run, event_type=given.event_type)
    try:  # flags that cannot make an event stop it before the command runs
        build_event(defaults._replace(title=defaults.title or "-"), now=run.env.clock())
    except InvalidInput as error:
        if error.field == "event_type":
            raise UsageError(error.reason, option=o.WRAP_EVENT_TYPE.long) from None
        raise
    if not given.dry_run:
        settings.target()  # and so does a receiver that is not configured,
        settings.spool()  # or a spool another user could change

    from stac_events.wrapped_command import run_command

    finished = run_command(given.command, run.env, tail_lines=given.tail_lines)
    if given.on == "failure" and finished.exit_code == 0:
        return finished.exit_code
    if finished.signalled is not None and settings.max_time.value > SIGNALLED_GRACE_S:
        settings = run.limit_delivery(
            Setting(SIGNALLED_GRACE_S, f"the grace after signal {finished.signalled}")
        )
    # The command's output and line may show the key (`set -x`, a curl line), and so may
    # flags built from them: the event never holds a secret this run knows.
    secrets = settings.secrets
    defaults = defaults._replace(
        title=redact(defaults.title or finished.title, *secrets),
        text=redact(defaults.text or finished.text(), *secrets),
        data=redact_value({**finished.data(), **(defaults.data or {})}, *secrets),  # -d wins
    )
    try:
        deliver(run, prepare(run, defaults), dry_run=given.dry_run, gzip=False)
    except StacEventsError as error:
        run.output.failure(named_by_flag(error))  # reported; the command's exit code stands
    except Terminated as stop:  # a CI step's timeout: the event is queued, CMD's code stands
        run.output.failure(interruption(stop))
    return finished.exit_code
