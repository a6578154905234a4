"""Masking of the API key in anything that may be shown, logged or written."""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import quote, quote_plus

MASK = "***"

# Whatever the key is, an `api_key=` query value is masked even when it is not ours to know.
_QUERY_KEY = re.compile(r"(api_key=)[^&#\s'\"]+", re.IGNORECASE)


# A secret this short could be part of any word: it is masked only where it stands alone.
_SHORT = 8


def redact(text: str, *secrets: Optional[str]) -> str:
    """Return `text` with every secret, raw or URL-encoded, and every `api_key=` value masked."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            if len(form) >= _SHORT:
                text = text.replace(form, MASK)
            else:
                text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", MASK, text)
    return _QUERY_KEY.sub(rf"\g<1>{MASK}", text)
