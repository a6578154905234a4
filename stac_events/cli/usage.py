"""Usage errors: what the user typed that cannot be used, named by its flag.

The library's errors name event fields and settings (`msg_title`, `timeout`); this is
where the command line turns those names into the flags a user typed (`--title`).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from stac_events.cli import options as o
from stac_events.errors import InvalidInput, StacEventsError
from stac_events.status import ExitStatus

# The flag that sets each event field; settings are named as their options are.
FLAG_FOR_FIELD: Dict[str, str] = {
    "event_type": "EVENT_TYPE",
    "msg_title": o.TITLE.long,
    "msg_text": o.BODY_TEXT.long,
    "timestamp": o.TIMESTAMP.long,
    "tags": o.TAGS.long,
    "source_type_name": o.SOURCE_TYPE_NAME.long,
    "name": o.NAME.long,
    "category": o.CATEGORY.long,
    "source": o.SOURCE.long,
    "element_identifiers": o.IDENTIFIERS.long,
    "data": o.DATA.long,
    "source_identifier": o.SOURCE_IDENTIFIER.long,
    "source_links": o.LINKS.long,
    **{opt.name: opt.long for opt in (*o.RECEIVER_OPTIONS, *o.DELIVERY_OPTIONS, *o.BATCH_OPTIONS)},
}


class UsageError(StacEventsError):
    """A bad flag or an invalid event; `option` names the flag at fault."""

    status = ExitStatus.USAGE
    kind = "usage"

    def __init__(self, message: str, *, option: Optional[str] = None, hint: Optional[str] = None):
        super().__init__(f"{option}: {message}" if option else message, hint=hint)
        self.option = option

    def details(self) -> Dict[str, Any]:
        return {"option": self.option} if self.option else {}


def flag_of(name: str) -> str:
    """How the command line gives a setting: `api_key` -> `--api-key`."""
    return FLAG_FOR_FIELD.get(name) or "--" + name.replace("_", "-")


def from_invalid_input(error: InvalidInput, *, file_option: str = o.FILE.long) -> UsageError:
    """The library's `InvalidInput`, as the flag that gave the value.

    An input with a `where` came from a file of events (`--file`); one without came from
    a flag, found from the field it set.
    """
    if error.where is not None:
        return UsageError(error.message, option=file_option, hint=error.hint)
    field = (error.field or "").rsplit(".", 1)[-1]
    option = FLAG_FOR_FIELD.get(field)
    hint = error.hint or (f"give another with {o.NAME.long}" if field == "name" else None)
    return UsageError(error.reason if option else error.message, option=option, hint=hint)


def named_by_flag(error: StacEventsError) -> StacEventsError:
    """The error as the command line shows it: invalid input named by its flag."""
    return from_invalid_input(error) if isinstance(error, InvalidInput) else error
