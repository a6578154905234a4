"""Floor for `event send --help`: the least Typer itself takes to show a command's help.

A bare app of the same shape as stac-events's `event send` (a group, a command with one
argument and 34 options of about 100 characters of help each, in 7 panels), rendered by
Typer with Rich, as stac-events's help is. Nothing of stac-events is imported.

Run: python typer_help.py event send --help
"""

import inspect
from typing import Annotated, Any, Optional

import typer

OPTIONS = 34
PANELS = 7
HELP = "What this option sets, said in about a hundred characters, as a newcomer reads it here."


def send(**values: Any) -> None:
    """Send one event to the receiver: the flags give its fields."""


send.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("event_type", inspect.Parameter.KEYWORD_ONLY, default=None,
                       annotation=Annotated[Optional[str], typer.Argument()])]
    + [inspect.Parameter(f"option_{number}", inspect.Parameter.KEYWORD_ONLY, default=None,
                         annotation=Annotated[Optional[str], typer.Option(
                             f"--option-{number}", help=HELP, metavar="TEXT",
                             rich_help_panel=f"Panel {number % PANELS}")])
       for number in range(OPTIONS)]
)  # fmt: skip

app = typer.Typer(rich_markup_mode="rich", add_completion=False)
events = typer.Typer(rich_markup_mode="rich", help="Events.")
events.command("send")(send)
app.add_typer(events, name="event")


@app.callback()
def root() -> None:
    """Push events to the receiver."""


if __name__ == "__main__":
    app()
