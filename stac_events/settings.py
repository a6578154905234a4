"""Where the receiver address, the key and the host name come from, each with its origin.

Settings are resolved once into a `Settings` object; `origin` says which flag, variable
or file gave each value, for `config show` and for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, Iterable, Optional, Tuple, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from stac_events.environment import Environment
from stac_events.errors import ConfigError
from stac_events.redact import redact

T = TypeVar("T")

INTAKE_PATH = "/stsAgent/intake"
LINUX_RECEIVER_PORT = 7077


@dataclass(frozen=True)
class Setting(Generic[T]):
    """A resolved value and where it came from (`--url`, `$STS_API_KEY`, a file)."""

    value: T
    origin: str


@dataclass(frozen=True)
class Overrides:
    """Values given on the command line; they beat every other source."""

    url: Optional[str] = None
    api_key: Optional[str] = None
    hostname: Optional[str] = None


@dataclass(frozen=True)
class Target:
    """A normalized receiver address and the key that goes with it."""

    address: str
    api_key: str
    basic_auth: Optional[Tuple[str, str]] = None

    @property
    def url(self) -> str:
        """The address with `api_key` in its query, as the receiver expects."""
        return with_query_key(self.address, self.api_key)

    @property
    def masked_url(self) -> str:
        return redact(self.url, self.api_key)


@dataclass(frozen=True)
class Settings:
    address: Optional[Setting[str]]
    api_key: Optional[Setting[str]]
    hostname: Setting[str]

    def target(self) -> Target:
        """The receiver to send to; a `ConfigError` that says how to set what is missing."""
        if self.address is None:
            raise ConfigError(
                "no receiver address is set",
                hint="pass --url https://stackstate.example.com/receiver "
                "or set STAC_EVENTS_RECEIVER_URL",
            )
        if self.api_key is None:
            raise ConfigError(
                "no API key is set",
                hint="pass --api-key or set STAC_EVENTS_API_KEY "
                "(the receiver API key of your StackState installation)",
            )
        return Target(address=self.address.value, api_key=self.api_key.value)


Source = Tuple[str, Callable[[], Optional[str]]]


def first(sources: Iterable[Source]) -> Optional[Setting[str]]:
    """The first source that has a non-empty value, in precedence order."""
    for origin, read in sources:
        value = read()
        if value is not None and value.strip():
            return Setting(value.strip(), origin)
    return None


def _env(env: Environment, name: str) -> Source:
    return f"${name}", lambda: env.environ.get(name)


def resolve(overrides: Overrides, env: Environment) -> Settings:
    """Resolve every setting from flags, then environment variables."""
    raw_address = first([("--url", lambda: overrides.url), _env(env, "STAC_EVENTS_RECEIVER_URL")])
    address = None
    if raw_address is not None:
        address = Setting(normalize_address(raw_address.value), raw_address.origin)
    api_key = first([("--api-key", lambda: overrides.api_key), _env(env, "STAC_EVENTS_API_KEY")])
    hostname = first([("--hostname", lambda: overrides.hostname)]) or Setting(
        env.hostname(), "this machine's host name"
    )
    return Settings(address=address, api_key=api_key, hostname=hostname)


def normalize_address(text: str) -> str:
    """Complete a receiver address to its intake URL (SPEC section 5)."""
    raw = text.strip()
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as error:
        raise ConfigError(f"the receiver address {redact(text)!r} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"the receiver address {redact(text)!r} is not an http(s) URL",
            hint="e.g. https://stackstate.example.com/receiver",
        )
    path = parts.path.rstrip("/")
    if path.endswith(INTAKE_PATH):
        pass
    elif path.endswith("/stsAgent"):
        path += "/intake"
    elif path.endswith("/receiver"):
        path += INTAKE_PATH
    elif not path:
        path = INTAKE_PATH if port == LINUX_RECEIVER_PORT else "/receiver" + INTAKE_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def with_query_key(address: str, api_key: str) -> str:
    """Put `api_key` into the address's query, replacing any there already."""
    parts = urlsplit(address)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "api_key"]
    query.append(("api_key", api_key))
    return urlunsplit(parts._replace(query=urlencode(query)))
