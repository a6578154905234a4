"""Extra request headers for the receiver (`-H 'Name: value'`): how they are read and which
are refused.

A header's value is a secret (a gateway's token, a proxy's credentials): no message here
ever holds one, only the header's name.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional, Tuple

from stac_events.parse import InvalidValue, shortened

Header = Tuple[str, str]
Headers = Tuple[Header, ...]

# A header's name is an HTTP token (RFC 9110, section 5.6.2).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
# What stac-events sets itself, or what HTTP itself frames a request by: another value
# would make the body unreadable, hide the key, or split the request in two.
RESERVED = (
    "Content-Type", "Content-Encoding", "Content-Length", "Transfer-Encoding", "Host",
    "sts-api-key", "Accept-Encoding", "Connection",
)  # fmt: skip
_RESERVED = {name.lower(): name for name in RESERVED}
MAX_HEADER_BYTES = 8 * 1024  # a name and value; servers refuse larger ones (8 KiB is usual)


def parse_header(text: str) -> Header:
    """`Name: value` as a header; an `InvalidValue` that never shows the value."""
    name, colon, value = text.partition(":")
    if not colon:
        raise InvalidValue("a header is 'Name: value', and this one has no ':'")
    return check_header(name.strip(), value.strip(" \t"))


def check_header(name: str, value: str) -> Header:
    """A header that may be sent as it is; an `InvalidValue` naming what is wrong."""
    if not name:
        raise InvalidValue("a header is 'Name: value', and this one has no name")
    if not _TOKEN.match(name):
        # not shown: what was meant as a value may be in it (`Bearer abc: x`)
        raise InvalidValue(
            "a header name holds characters a name cannot (letters, digits and "
            "!#$%&'*+-.^_`|~ only; a space ends it)"
        )
    reserved = _RESERVED.get(name.lower())
    if reserved is not None:
        raise InvalidValue(
            f"{reserved} is set by stac-events itself (or by HTTP), and cannot be replaced"
        )
    shown = shortened(name, 60)  # a name of kilobytes is not echoed whole
    if "\r" in value or "\n" in value or "\0" in value:
        raise InvalidValue(f"the value of {shown} holds a line break; a header is one line")
    if not all(" " <= char <= "~" or char == "\t" for char in value):
        raise InvalidValue(
            f"the value of {shown} holds characters a header cannot carry "
            "(control characters or non-ASCII)"
        )
    if len(name) + len(value) > MAX_HEADER_BYTES:
        raise InvalidValue(f"{shown} is longer than a header may be ({MAX_HEADER_BYTES} bytes)")
    return name, value


def parse_lines(text: str) -> Iterable[Tuple[int, Header]]:
    """The headers of `text`, one `Name: value` a line (blank lines skipped), with their
    line numbers; an `InvalidValue` names the line."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, parse_header(line)
        except InvalidValue as error:
            raise InvalidValue(f"line {number}: {error}") from None


def merged(*sources: Iterable[Header]) -> Headers:
    """Headers of several sources, in order: a header a later source names (in any case)
    replaces an earlier one's, as does a later one of the same source."""
    found: Dict[str, Header] = {}
    for source in sources:
        for name, value in source:
            found.pop(name.lower(), None)  # the order as last given
            found[name.lower()] = (name, value)
    return tuple(found.values())


# A value shorter than this is not masked: `X-Debug: 1` would mask every 1 in every text
# and number shown (a key that short draws a warning; a header that short is rarely one),
# unless the header's name says it holds a credential (`X-Api-Key: abc`).
SHORTEST_SECRET = 6
_CREDENTIAL_NAME = re.compile(
    r"auth|key|token|secret|pass|pwd|cookie|session|credential|signature|bearer", re.IGNORECASE
)


def secrets_of(headers: Headers) -> List[str]:
    """What of the headers' values must never be shown: each value, and each word of one
    after its first (`Bearer <token>`: the token, which may be shown alone); those
    shorter than `SHORTEST_SECRET` only when the header's name says it is a credential
    (`Authorization`, `X-Api-Key`, `Cookie`)."""
    found = []
    for name, value in headers:
        shortest = 1 if _CREDENTIAL_NAME.search(name) else SHORTEST_SECRET
        found += [word for word in (value.strip(), *value.split()[1:]) if len(word) >= shortest]
    return found


def named(headers: Headers, name: str) -> Optional[str]:
    """The value of the header `name` (in any case), if it is among `headers`."""
    for given, value in headers:
        if given.lower() == name.lower():
            return value
    return None
