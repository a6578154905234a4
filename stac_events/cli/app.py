"""The command tree: `stac-events [global options] COMMAND ...`."""

# No `from __future__ import annotations` here: before Python 3.11, Typer cannot see
# through string annotations whose default is None, and the options lose their names.

from typing import Annotated, Any, ClassVar, Dict, Optional

import typer

from stac_events import __version__
from stac_events.cli.command import LazyGroup, global_options
from stac_events.cli.completion import completion_options
from stac_events.cli.context import current_run


class StacGroup(LazyGroup):
    """The root command: global options before the subcommand, subcommands loaded lazily."""

    lazy_commands: ClassVar[Dict[str, str]] = {
        "event": "stac_events.cli.event:app",
        "config": "stac_events.cli.config:app",
        "spool": "stac_events.cli.spool:app",
        "check": "stac_events.cli.check:app",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(global_options())
        self.params.extend(completion_options())


app = typer.Typer(
    cls=StacGroup,
    name="stac-events",
    help=(
        "Push events into StackState's Receiver API from a terminal, a script or a CI "
        "pipeline. A drop-in for the old `stac event send`.\n\n"
        'Try: stac-events event send DeployEvent --title "Deployed 1.4" --dry-run'
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,  # ours are static scripts: see stac_events.completions
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(ctx: typer.Context, value: bool) -> None:
    if value:
        current_run(ctx).env.stdout.write(f"stac-events {__version__}\n")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        Optional[bool],
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = None,
) -> None:
    """Push events into StackState from the command line."""
