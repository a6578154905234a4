"""Masking of the API key in anything that may be shown, logged or written."""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import quote, quote_plus

MASK = "***"

# Whatever the key is, an `api_key=` query value is masked even when it is not ours to know.
_QUERY_KEY = re.compile(r"(api_key=)[^&#\s'\"]+", re.IGNORECASE)


def redact(text: str, *secrets: Optional[str]) -> str:
    """Return `text` with every secret, raw or URL-encoded, and every `api_key=` value masked."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, MASK)
    return _QUERY_KEY.sub(rf"\g<1>{MASK}", text)
