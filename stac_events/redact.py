"""Masking of the API key in anything that may be shown, logged or written."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, Iterable, List, Optional, Set
from urllib.parse import quote, quote_plus

MASK = "***"
_ESCAPE = re.compile(r"%[0-9A-F]{2}")

# Whatever the key is, an `api_key=` query value is masked even when it is not ours to know;
# so is the password of an address's user info (`https://user:password@host`).
# A backslash ends the value too (in JSON text it escapes the quote that closes a string),
# and so does ";" (an old query separator, and the end of a clause in our own messages).
_QUERY_KEY = re.compile(r"(api_key=)[^&#;\s'\"\\]+", re.IGNORECASE)
# The user info runs to the last "@" before the host: a password may hold an "@", and
# the user name may be empty.
_URL_PASSWORD = re.compile(r"(://[^/?#@:\s]*:)[^/?#\s]*(?=@)")
_URL_PASSWORD_BYTES = re.compile(_URL_PASSWORD.pattern.encode())
_QUERY_KEY_BYTES = re.compile(_QUERY_KEY.pattern.encode(), re.IGNORECASE)


def redact(text: str, *secrets: Optional[str]) -> str:
    """`text` with every secret, raw or URL-encoded, every `api_key=` value and every
    address's password masked.

    A secret is masked wherever it stands, however short: glued to other text (`x${KEY}y`)
    it is still the secret."""
    return Masker(secrets).text(text)


def forms_of(secret: str) -> List[str]:
    """The ways a secret may be written: as it is, URL-encoded, inside a JSON string (as
    `json.dumps` escapes it, and with its non-ASCII characters as they are), inside a
    Python repr and inside a shell's single quotes;
    the longest first, so that one holding another is masked whole.

    A key read from a variable or argv may hold bytes that are not UTF-8 (kept as
    surrogates): they are quoted as the bytes they were; any other lone surrogate as its
    code point."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             # as Python quotes it in a message (`{value!r}`): in '' when the value holds
             # a ", in "" when it holds a ' and no "
             repr(f"{secret}\"'")[1:-4]}  # fmt: skip
    if '"' not in secret:
        forms.add(repr(f"{secret}'")[1:-2])
    if "'" in secret:  # as a shell quotes it (`shlex.quote`), in a command line shown back
        quoted = secret.replace("'", "'\"'\"'")
        forms |= {quoted, json.dumps(quoted)[1:-1], json.dumps(quoted, ensure_ascii=False)[1:-1]}
    for errors in ("surrogateescape", "surrogatepass"):
        try:
            encoded = {
                quote(secret, safe="", errors=errors),
                quote_plus(secret, errors=errors),
                quote(secret, errors=errors),
            }  # `/` left as it is: quote's default
        except UnicodeEncodeError:
            continue
        # and with lower-case hex digits (`%2f`), which some servers write
        forms |= encoded | {_ESCAPE.sub(lambda hex: hex[0].lower(), form) for form in encoded}
        break
    return sorted((form for form in forms if form), key=len, reverse=True)


# The names of the Receiver API's payloads, and of a `--file` event's own `name`: their
# structure, never masked.
STRUCTURE = frozenset({
    "events", "collection_timestamp", "internalHostname", "metrics", "service_checks",
    "topologies", "health", "event_type", "msg_title", "msg_text", "timestamp",
    "source_type_name", "tags", "context", "source", "category", "element_identifiers",
    "data", "source_links", "source_identifier", "title", "url", "name",
})  # fmt: skip
_LONG = 6  # a secret this long is masked inside a number too
_STRUCTURE_BYTES = sorted(name.encode() for name in STRUCTURE)
_WORD = re.compile(rb"[A-Za-z0-9_]+")

# What is never a secret, wherever it is given as one: nothing, and `-`, which stands for
# stdin in `--api-key -` (masked, it would mask every dash of every message).
_NO_SECRET = frozenset({"", "-"})


class Masker:
    """Masks texts, decoded JSON and serialized JSON documents (an event, a request body)
    with the forms of its secrets worked out once. A document is masked in its texts (see
    `value`) when anything in it needs masking: a secret, an address's
    password or an `api_key=` value. Most need none, and are handed back as they are,
    after a look that costs a few substring searches."""

    def __init__(self, secrets: Iterable[Optional[str]]) -> None:
        # as a key is taken: white space around it is not part of it
        kept = {secret.strip() for secret in secrets if secret} - _NO_SECRET
        self.text_forms = sorted({form for secret in kept for form in forms_of(secret)},
                                 key=len, reverse=True)  # fmt: skip
        found: Set[bytes] = set()
        for form in self.text_forms:
            with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate: no body has it
                found.add(form.encode("utf-8"))
        self.forms = sorted(found, key=len, reverse=True)
        self.longest = max((len(form) for form in self.forms), default=0)
        # A short key (`k`) is found in the Receiver API's own names (`source_links`),
        # which are never masked: in a compact JSON document such a name stands as
        # `"source_links":`, and a form of letters, digits and `_` found there and
        # nowhere else needs no masking. (`\"source_links":` ends another name: no help.)
        self.in_names = {
            form: [(b'"%s":' % name, b'\\"%s":' % name, name.count(form))
                   for name in _STRUCTURE_BYTES if form in name]
            for form in self.forms if _WORD.fullmatch(form)
        }  # fmt: skip

    def text(self, text: str) -> str:
        """`text` masked: the longest forms first, so that a secret holding another is
        masked whole."""
        for form in self.text_forms:
            if form in text:
                text = text.replace(form, MASK)
        if "://" in text:
            text = _URL_PASSWORD.sub(rf"\g<1>{MASK}", text)
        if "=" not in text:  # most texts: no `api_key=` to look for, at a fraction of the cost
            return text
        return _QUERY_KEY.sub(rf"\g<1>{MASK}", text)

    def name(self, name: str) -> str:
        """A name in a JSON document (an event's name, a key of its data) as `value`
        masks it: the Receiver API's own names are structure, never masked."""
        return name if name in STRUCTURE else self.text(name)

    def covers(self, other: Masker) -> bool:
        """Whether what this masks includes all that `other` masks."""
        return set(other.text_forms) <= set(self.text_forms)

    def value(self, value: Any, *, names: bool = True) -> Any:
        """`value` (decoded JSON) with every text in it masked, however deep: masked this
        way, JSON stays JSON whatever the secrets hold. Names are masked too (an event's
        name, its data's keys), but for the Receiver API's own (`events`, `msg_title`),
        which a one-letter key would wreck; a number is masked when it is a secret, or
        holds one of at least `_LONG` characters (a timestamp holds a one-digit key).
        `names=False`: no name is masked (a document of stac-events' own, a result, whose
        names are all its structure)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.name(key) if names else key:
                    self.value(item, names=names) for key, item in value.items()}  # fmt: skip
        if isinstance(value, list):
            return [self.value(item, names=names) for item in value]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and self.text_forms:
            digits = repr(value)
            if any(form == digits or (len(form) >= _LONG and form in digits)
                   for form in self.text_forms):  # fmt: skip
                return MASK
        return value

    def __call__(self, document: bytes) -> bytes:
        """A compact JSON document (as stac-events writes them) masked; as it is when
        nothing in it needs masking."""
        if not self.needed(document, compact_json=True):
            return document
        masked = self.value(json.loads(document))
        return json.dumps(masked, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def needed(self, document: bytes, *, compact_json: bool = False) -> bool:
        """Whether `document` holds anything to mask; for `compact_json`, a form found
        only in the Receiver API's own names does not count."""
        escapes: Optional[bool] = None  # whether a name may end in `\"`, looked up once
        for form in self.forms:
            found = document.count(form)
            if not found:
                continue
            names = self.in_names.get(form) if compact_json else None
            if names is None:
                return True
            if escapes is None:
                escapes = b'\\"' in document
            for name, escaped, times in names:
                if escapes and escaped in document:
                    return True
                found -= document.count(name) * times
                if found <= 0:
                    break
            if found > 0:
                return True
        if b"@" in document and _URL_PASSWORD_BYTES.search(document):
            return True
        # a search that ignores case is slow on a large document: most hold no `api_key=`
        if b"=" not in document or b"api_key=" not in document.lower():
            return False
        return _QUERY_KEY_BYTES.search(document) is not None

    def needed_in(self, text: str) -> bool:
        """Whether `text` holds anything to mask (as `needed`, for a text)."""
        return self.text(text) != text
