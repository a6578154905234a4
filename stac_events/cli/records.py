"""What each command receives: a typed record of its options, converted, defaults filled in.

A command's record is a NamedTuple in the command's own module (`SendOptions` in
`cli/event_send.py`), so that a command line creates only its own. Its fields are the
command's arguments and options, named as `cli.options` declares them
(`tests/test_declarations.py` keeps the two equal); `cli.typer_app` makes the record from
what Typer parsed, and the command reads `run.options.title`, typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, NamedTuple, Protocol, Tuple, Union

Values = Tuple[str, ...]  # a flag that takes several values: -i a b, or -i a -i b


class Record(Protocol):
    """What every record is: a NamedTuple of options."""

    def _asdict(self) -> Dict[str, Any]: ...


class NoOptions(NamedTuple):
    """Before a command runs, or for a line that names none."""


if TYPE_CHECKING:
    from stac_events.cli.event_send import SendOptions
    from stac_events.cli.event_wrap import WrapOptions

    # The options that describe an event, which `event send` and `event wrap` share.
    EventOptions = Union[SendOptions, WrapOptions]
