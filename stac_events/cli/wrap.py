"""`stac-events event wrap -- CMD`: run a command, then send one event about how it went."""

# No `from __future__ import annotations` here: Typer reads these annotations at run time.

from enum import Enum
from typing import Annotated, List, Optional

import typer

from stac_events.cli import options
from stac_events.cli.command import StacCommand
from stac_events.cli.context import current_run
from stac_events.cli.sending import ci_of, dispatch, one_event
from stac_events.compose import EventFlags, read_text, template_from_flags
from stac_events.errors import StacEventsError, UsageError


class When(str, Enum):
    always = "always"
    failure = "failure"


app = typer.Typer(add_completion=False, context_settings={"help_option_names": ["-h", "--help"]})


def wrap(
    ctx: typer.Context,
    command: Annotated[
        Optional[List[str]],
        typer.Argument(
            metavar="-- CMD [ARG]...",
            help="The command to run, after '--'. Its output streams live.",
            show_default=False,
        ),
    ] = None,
    event_type: Annotated[
        str,
        typer.Option("--event-type", help="The event's type.", rich_help_panel=options.EVENT),
    ] = "CommandEvent",
    on: Annotated[
        When,
        typer.Option(
            "--on",
            help="'failure' sends only when the command fails.",
            rich_help_panel=options.EVENT,
        ),
    ] = When.always,
    tail_lines: Annotated[
        int,
        typer.Option(
            "--tail-lines",
            metavar="N",
            min=0,
            help="How many of the last output lines go into the event's text.",
            rich_help_panel=options.EVENT,
        ),
    ] = 20,
    title: options.Title = None,
    text: options.Text = None,
    tags: options.Tags = None,
    source_type_name: options.SourceTypeName = None,
    name: options.Name = None,
    identifiers: options.Identifiers = None,
    source: options.Source = None,
    category: options.Category = None,
    data: options.Data = None,
    links: options.Links = None,
    source_identifier: options.SourceIdentifier = None,
    ci_context: options.CiContext = False,
    url: options.Url = None,
    api_key: options.ApiKey = None,
    hostname: options.Hostname = None,
    timeout: options.Timeout = None,
    retries: options.Retries = 3,
    insecure: options.Insecure = False,
    ca_cert: options.CaCert = None,
    no_spool: options.NoSpool = False,
    dry_run: options.DryRun = False,
    output: options.Output = options.OutputMode.text,
    quiet: options.Quiet = False,
    debug: options.Debug = False,
) -> None:
    """Run a command, then send an event saying whether it succeeded, with its output's tail.

    Exits with the command's exit code: a failed delivery is reported, and queued in the
    spool, but never changes it. Flags and settings are checked before the command runs.
    """
    run = current_run(ctx)
    run.configure(output=output.value, quiet=quiet, debug=debug, secret=api_key)
    if not command:
        raise UsageError("give the command to run after '--'", hint="e.g. -- make deploy")
    if text == "-":
        raise UsageError("stdin belongs to the command; use @PATH", option="--text")
    delivery_options = run.delivery_options(
        timeout=timeout, retries=retries, insecure=insecure, ca_cert=ca_cert
    )
    settings = run.settings(url=url, api_key=api_key, hostname=hostname, ci_context=ci_context)
    flags = EventFlags(
        event_type=event_type,
        title=title,
        text=read_text(text, run.env.stdin) if text is not None else None,
        identifiers=identifiers or (),
        source=source,
        category=category or "Changes",
        data=data or (),
        links=links or (),
        source_identifier=source_identifier,
        tags=tags or (),
        source_type_name=source_type_name,
        name=name,
    )
    template_from_flags(flags)  # bad flags stop here, before the command runs
    if not dry_run:
        settings.target()  # and so does a receiver that is not configured

    from stac_events.running import run_command

    finished = run_command(command, run.env, tail_lines=tail_lines)
    if on is When.failure and finished.exit_code == 0:
        raise typer.Exit(finished.exit_code)
    flags = flags._replace(
        title=title or finished.title,
        text=flags.text or finished.text(),
        data=[finished.data_json(), *flags.data],  # the user's -d keys win
    )
    try:
        now = run.env.clock()
        payload = one_event(run, settings, flags, now=now, ci=ci_of(run, settings))
        dispatch(run, settings, [payload], total=1, dry_run=dry_run, gzip=False,
                 options=delivery_options, no_spool=no_spool)  # fmt: skip
    except StacEventsError as error:
        run.output.failure(error)  # reported, but the command's exit code stands
    raise typer.Exit(finished.exit_code)


app.command(
    "wrap",
    cls=StacCommand,
    no_args_is_help=True,
    # Everything from CMD on is CMD's: `wrap make -j4` must not read -j4 as ours.
    context_settings={"allow_interspersed_args": False},
    epilog='Example: stac-events event wrap -i urn:service:/checkout -- ./deploy.sh "1.4.2"',
)(wrap)
