"""The event's flags, shared by `event send` and `event wrap`, read into `EventDefaults`.

Each value typed after a flag is parsed here, once; a value that cannot be used is a
usage error naming its flag. An empty value is one: it is never taken as "not given".
"""

from __future__ import annotations

import io
from typing import IO, TYPE_CHECKING, Any, Callable, Optional, TypeVar

from stac_events.cli import options as o
from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError
from stac_events.events import EventDefaults
from stac_events.inputs import parse_data, read_bounded_text, read_text_file
from stac_events.parse import (
    LARGEST_REQUEST_BYTES,
    InvalidValue,
    check_event_name,
    check_text,
    parse_link,
    parse_tag,
    parse_timestamp,
)

if TYPE_CHECKING:
    from stac_events.cli.records import EventOptions

T = TypeVar("T")

# Every option whose values are typed text, checked alike.
_TYPED = (o.TITLE, o.BODY_TEXT, o.TAGS, o.TIMESTAMP, o.SOURCE_TYPE_NAME, o.NAME, o.IDENTIFIERS,
          o.SOURCE, o.DATA, o.LINKS, o.SOURCE_IDENTIFIER, o.HOSTNAME)  # fmt: skip


def event_defaults(
    run: Run[EventOptions], *, event_type: Optional[str], timestamp: Optional[str]
) -> EventDefaults:
    """What the flags say about the event (or, with --file, about every event)."""
    check_typed(run)
    given = run.options
    return EventDefaults(
        event_type=event_type,
        title=given.title,
        text=read_text(given.text, run.env.stdin) if given.text is not None else None,
        timestamp=_parsed(o.TIMESTAMP, parse_timestamp, timestamp),
        source_type_name=given.source_type_name,
        name=_parsed(o.NAME, check_event_name, given.name),
        source=given.source,
        category=given.category,
        source_identifier=given.source_identifier,
        identifiers=given.identifiers,
        tags=tuple(_parsed_value(o.TAGS, parse_tag, tag) for tag in given.tags),
        links=tuple(_parsed_value(o.LINKS, parse_link, link) for link in given.links),
        data=_parsed(o.DATA, parse_data, given.data) if given.data else None,
        # a context is added when any of these is given (SPEC section 3)
        context=bool(
            given.identifiers
            or given.source
            or given.category
            or given.data
            or given.links
            or given.source_identifier
        ),
    )


def check_typed(run: Run[EventOptions]) -> None:
    """Refuse an empty value, or one that is not UTF-8 text, naming its flag.

    Bytes that are not UTF-8 reach Python's argv as lone surrogates ('\\udcff'), which no
    JSON body can carry.
    """
    given = run.options._asdict()
    wrap = run.line.path[-1:] == ("wrap",)
    event_type_flag = o.WRAP_EVENT_TYPE.long if wrap else "EVENT_TYPE"
    required = () if wrap else ("EVENT_TYPE", o.TITLE.long)  # leaving them out is no way out
    typed = [(event_type_flag, given.get("event_type"))]
    typed += [(opt.long, given.get(opt.name)) for opt in _TYPED]
    for flag, values in typed:
        for value in values if isinstance(values, (list, tuple)) else [values]:
            if not isinstance(value, str):
                continue
            if not value.strip() and flag != o.WRAP_EVENT_TYPE.long:  # that one says more
                out = "" if flag in required else f", or leave {flag} out"
                raise UsageError("is empty", option=flag, hint=f"give a value{out}")
            _parsed_as(flag, check_text, value)


def _parsed(opt: o.Opt, parse: Callable[[Any], T], value: Any) -> Optional[T]:
    return _parsed_as(opt.long, parse, value)


def _parsed_value(opt: o.Opt, parse: Callable[[str], T], value: str) -> T:
    try:
        return parse(value)
    except InvalidValue as error:
        raise UsageError(str(error), option=opt.long) from None


def _parsed_as(flag: str, parse: Callable[[Any], T], value: Any) -> Optional[T]:
    if value is None:
        return None
    try:
        return parse(value)
    except InvalidValue as error:
        raise UsageError(str(error), option=flag) from None


def read_text(value: str, stdin: Optional[IO[str]]) -> str:
    """`--text` values: '-' reads stdin, '@PATH' reads a file, anything else is the text.

    Trailing newlines of stdin and files are dropped, as shell `$(...)` does. Text that is
    empty, or white space alone, is refused as `--text ""` is: never taken as "not given".
    """
    if value == "-":
        text, source = _read_stdin(stdin).rstrip("\n"), "stdin"
    elif value.startswith("@"):
        text = str(_parsed(o.BODY_TEXT, lambda path: read_text_file(path, "text"), value[1:]))
        text, source = text.rstrip("\n"), value[1:]
    else:
        return value
    if not text.strip():
        raise UsageError(
            f"{source} holds no text",
            option=o.BODY_TEXT.long,
            hint="give the text there, or leave --text out for the default text",
        )
    return text


def _read_stdin(stdin: Optional[IO[str]]) -> str:
    """All of stdin as UTF-8 text, at most LARGEST_REQUEST_BYTES of it (`yes` never ends);
    its bytes when it has them, so no locale decodes them."""
    flag = o.BODY_TEXT.long
    if stdin is None:
        raise UsageError("stdin is closed, so there is no text to read", option=flag,
                         hint=f"pipe the text in, or give it as {flag} TEXT or @PATH")  # fmt: skip
    try:
        binary = getattr(stdin, "buffer", None)
        if binary is None:  # text only (a test's StringIO): its lone surrogates stay invalid
            text = stdin.read(LARGEST_REQUEST_BYTES + 1)
            binary = io.BytesIO(text.encode("utf-8", "surrogatepass"))
        return read_bounded_text(binary, "stdin")
    except InvalidValue as error:
        raise UsageError(str(error), option=flag) from None
    except UnicodeDecodeError:
        raise UsageError("stdin: not UTF-8 text", option=flag) from None
    except (OSError, ValueError) as error:  # closed, or not readable
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"cannot read stdin: {reason}", option=flag) from None
