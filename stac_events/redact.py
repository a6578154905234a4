"""Masking of the API key in anything that may be shown, logged or written."""

from __future__ import annotations

import json
import re
from typing import Optional
from urllib.parse import quote, quote_plus

MASK = "***"

# Whatever the key is, an `api_key=` query value is masked even when it is not ours to know;
# so is the password of an address's user info (`https://user:password@host`).
# A backslash ends the value too (in JSON text it escapes the quote that closes a string),
# and so does ";" (an old query separator, and the end of a clause in our own messages).
_QUERY_KEY = re.compile(r"(api_key=)[^&#;\s'\"\\]+", re.IGNORECASE)
# The user info runs to the last "@" before the host: a password may hold an "@", and
# the user name may be empty.
_URL_PASSWORD = re.compile(r"(://[^/?#@:\s]*:)[^/?#\s]*(?=@)")


# A secret this short could be part of any word: it is masked only where it stands alone.
_SHORT = 8


def redact(text: str, *secrets: Optional[str]) -> str:
    """`text` with every secret, raw or URL-encoded, every `api_key=` value and every
    address's password masked."""
    for secret in secrets:
        if not secret:
            continue
        # A key read from a variable or argv may hold bytes that are not UTF-8 (kept as
        # surrogates): they are quoted as the bytes they were.
        quoted = quote(secret, safe="", errors="surrogateescape")
        plus = quote_plus(secret, errors="surrogateescape")
        in_json = json.dumps(secret)[1:-1]  # as it stands inside a JSON string
        for form in {secret, quoted, plus, in_json}:
            if len(form) >= _SHORT:
                text = text.replace(form, MASK)
            else:
                text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", MASK, text)
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}", text)
    return _QUERY_KEY.sub(rf"\g<1>{MASK}", text)
