"""Where every setting comes from: the receiver address, the key, the host name, how to
deliver, each with its origin.

Settings are resolved once into a `Settings` object. Every value carries its `origin`
(how the caller gave it, the variable, or the file and line) for `config show` and for
messages. Precedence, first match wins, is SPEC section 5:

address: --url, $STAC_EVENTS_RECEIVER_URL, $STACKSTATE_RECEIVER_API_ADDRESS,
         $STACKSTATE_BASE_URL (+ $STACKSTATE_RECEIVER_PORT), $STS_STS_URL, the config file
key:     --api-key, $STAC_EVENTS_API_KEY, $STACKSTATE_RECEIVER_API_KEY, $STS_API_KEY,
         an api_key in the address's query, the config file
"""

from __future__ import annotations

import base64
import ipaddress
import re
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generic,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Tuple,
    TypeVar,
)
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from stac_events import config_file
from stac_events import setting_specs as specs
from stac_events.environment import Environment, expand_user
from stac_events.errors import ConfigError, InvalidInput
from stac_events.headers import (
    Headers,
    check_header,
    merged,
    named,
    parse_header,
    parse_lines,
    secrets_of,
)
from stac_events.parse import InvalidValue, hostname_of, shortened
from stac_events.redact import MASK, redact
from stac_events.setting_specs import (
    CA_BUNDLE_VARIABLE,
    CI_CONTEXT_VARIABLE,
    CONNECT_TIMEOUT_S,
    HEADERS_VARIABLE,
    MAX_TIME_S,
    PORT_VARIABLE,
    READ_TIMEOUT_S,
    RETRIES,
    Overrides,
    SettingSpec,
)

if TYPE_CHECKING:
    from stac_events.config_schema import InstanceConfig
    from stac_events.spool import Spool

T = TypeVar("T")
E = TypeVar("E")

INTAKE_PATH = "/stsAgent/intake"
LINUX_RECEIVER_PORT = 7077
DEFAULT = "default"
# The longest receiver address, in UTF-8 bytes. A queued payload's spool header holds its
# address as JSON, in which a byte takes at most 6 (`\u0001`): 48 KiB of the header's 64
# KiB (spool.HEADER_BYTES), with room left for the reason a payload is set aside.
ADDRESS_BYTES = 8 * 1024


# Value types are NamedTuples rather than dataclasses: a dataclass costs about a
# millisecond to define, and a command line pays for every one it imports.


# A key shorter than this is likely a stand-in (`x`, `test`), and masking it changes
# ordinary words: `e` turns `release` into `r***l***as***`.
SHORT_KEY = 6


class Setting(Generic[T]):
    """A resolved value and where it came from (`--url`, `$STS_API_KEY`, `conf.yaml:7`).

    A `secret` one (the key, a password) never shows its value in its `repr`.
    """

    __slots__ = ("origin", "secret", "value")

    def __init__(self, value: T, origin: str, *, secret: bool = False) -> None:
        self.value = value
        self.origin = origin
        self.secret = secret

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Setting) and (self.value, self.origin) == (
            other.value,
            other.origin,
        )

    def __hash__(self) -> int:
        return hash((self.value, self.origin))

    def __repr__(self) -> str:
        shown = repr(MASK) if self.secret else repr(self.value)
        return f"Setting({shown}, {self.origin!r})"


class DeliveryOptions(NamedTuple):
    """How hard the transport tries, and whom it trusts (SPEC section 7): the `Settings`
    fields of the delivery settings (`SettingSpec.delivery`), and the backoff."""

    connect_timeout: float = CONNECT_TIMEOUT_S
    read_timeout: float = READ_TIMEOUT_S
    retries: int = RETRIES
    max_time: float = MAX_TIME_S  # for the whole delivery, retries and waits included
    tls_verify: bool = True
    ca_certs: Tuple[str, ...] = ()  # added to the default trust store
    backoff: float = 0.5  # seconds before the first retry; doubles each time, capped at 10


# How the caller names an override in origins and errors: `--url` on the command line.
OriginOf = Callable[[str], str]


def argument_origin(name: str) -> str:
    """The origin of a value passed to a Python function: "the url argument"."""
    return f"the {name} argument"


class Target(NamedTuple):
    """A normalized receiver address and what it takes to be let in."""

    address: str
    api_key: str
    basic_auth: Optional[Tuple[str, str]] = None
    headers: Headers = ()  # sent with every request, to this address alone

    @property
    def url(self) -> str:
        """The address with `api_key` in its query, as the receiver expects."""
        return with_query_key(self.address, self.api_key)

    @property
    def masked_url(self) -> str:
        return redact(self.url, self.api_key)

    @property
    def credentials(self) -> Optional[Tuple[str, str]]:
        """The basic auth to send: the config's, else the address's own user and password
        (`https://user:password@host`), decoded."""
        if self.basic_auth is not None:
            return self.basic_auth
        parts = urlsplit(self.address)
        if parts.password is None:
            return None
        return unquote(parts.username or ""), unquote(parts.password)

    @property
    def secrets(self) -> List[str]:
        """What must never be shown of this target: the key, a password, and the basic-auth
        header value built from them (a receiver may echo it back)."""
        found = [self.api_key]
        if self.credentials is not None:
            user, password = self.credentials
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            found += [password, token]
        return found + secrets_of(self.headers)


class Settings(NamedTuple):
    """Every setting of a run, each with its origin; made by `resolve`."""

    address: Optional[Setting[str]]
    api_key: Optional[Setting[str]]
    hostname: Setting[str]
    instance: Setting[str]
    client: Setting[str]
    config_file: Optional[Setting[str]] = None
    ci_context: Setting[bool] = Setting(False, DEFAULT)
    basic_auth: Optional[Setting[Tuple[str, str]]] = None
    connect_timeout: Setting[float] = Setting(CONNECT_TIMEOUT_S, DEFAULT)
    read_timeout: Setting[float] = Setting(READ_TIMEOUT_S, DEFAULT)
    retries: Setting[int] = Setting(RETRIES, DEFAULT)
    max_time: Setting[float] = Setting(MAX_TIME_S, DEFAULT)
    tls_verify: Setting[bool] = Setting(True, DEFAULT)
    ca_certs: Setting[Tuple[str, ...]] = Setting((), DEFAULT)
    headers: Setting[Headers] = Setting((), DEFAULT, secret=True)
    spool: Setting[Optional[str]] = Setting(None, DEFAULT)  # its folder; None: it is off
    warnings: Tuple[str, ...] = ()
    # every key and password the run read, used or not; a Setting, so that repr masks them
    read_secrets: Setting[Tuple[str, ...]] = Setting((), DEFAULT, secret=True)
    given_as: Tuple[str, str] = ("the url argument", "the api_key argument")  # as in hints

    @property
    def secrets(self) -> List[str]:
        """Values that must never be shown: what the target's are (the key, a basic-auth
        password, the address's own, and the header value built of them), and those the
        run read but did not use (a key of a source that lost, a password kept for another
        host)."""
        auth = self.basic_auth.value if self.basic_auth else None
        address, key = self.address, self.api_key
        known = Target(address.value if address else "", key.value if key else "", auth,
                       self.headers.value)  # fmt: skip
        found = [secret for secret in known.secrets if secret]
        return found + [secret for secret in self.read_secrets.value if secret not in found]

    def delivery_options(self, *, backoff: float = 0.5) -> DeliveryOptions:
        """What the transport needs to know of these settings: the fields of every
        delivery setting, as resolved."""
        resolved = self._asdict()
        fields = (name for spec in specs.SPECS if spec.delivery for name in spec.fields)
        return DeliveryOptions(backoff=backoff, **{name: resolved[name].value for name in fields})

    def open_spool(self) -> Optional[Spool]:
        """The queue for payloads that cannot be delivered now; None when it is off. A
        `ConfigError` when another user could change what is in it."""
        if self.spool.value is None:
            return None
        from stac_events.spool import Spool

        return Spool.trusted(Path(self.spool.value))

    def target(self) -> Target:
        """The receiver to send to; a `ConfigError` that says how to set what is missing."""
        if self.address is None:
            raise ConfigError(
                "no receiver address is set",
                hint=f"pass {self.given_as[0]} https://stackstate.example.com/receiver, set "
                "STAC_EVENTS_RECEIVER_URL (or STACKSTATE_BASE_URL, STS_STS_URL), "
                "or run 'stac-events config init'",
            )
        if self.api_key is None:
            raise ConfigError(
                "no API key is set",
                hint="set STAC_EVENTS_API_KEY (or STACKSTATE_RECEIVER_API_KEY, STS_API_KEY), "
                f"pass {self.given_as[1]}, or run 'stac-events config init'",
            )
        auth = self.basic_auth.value if self.basic_auth else None
        target = Target(self.address.value, self.api_key.value, auth, self.headers.value)
        if target.credentials is not None and named(target.headers, "Authorization") is not None:
            raise ConfigError(
                f"an Authorization header ({self.headers.origin}) and basic auth (the config's "
                "receiver_api.basic_auth, or a password in the address) would both be sent",
                hint="keep one of them",
            )
        return target


Source = Tuple[str, Callable[[], Optional[str]]]


def first(sources: Iterable[Source]) -> Optional[Setting[str]]:
    """The first source that has a non-blank value, in precedence order."""
    for origin, read in sources:
        value = read()
        if value is not None and value.strip():
            return Setting(value.strip(), origin)
    return None


def _env(env: Environment, name: str) -> Source:
    return f"${name}", lambda: env.environ.get(name)


def resolve(overrides: Overrides, env: Environment, *, origin_of: OriginOf) -> Settings:
    """Resolve every setting, once, from the caller's overrides, environment variables and
    the config file. `origin_of` says how the caller gave an override (`--url`)."""

    def checked(spec: SettingSpec[T]) -> Optional[T]:
        """The value given for `spec`, as its declaration checks it; None if not given."""
        value = overrides.get(spec)
        if value is None or spec.check is None:
            return value
        try:
            return spec.check(value)
        except InvalidValue as error:
            raise InvalidInput(str(error), field=spec.name) from None

    def given(spec: SettingSpec[T]) -> Optional[Setting[T]]:
        value = checked(spec)
        return None if value is None else Setting(value, origin_of(spec.name))

    for spec in (specs.URL, specs.API_KEY, specs.HOSTNAME):
        checked(spec)  # a blank one says so before anything else is read
    config = overrides.get(specs.CONFIG)
    config_path = None if config is None else _fspath(config)
    search = config_file.search_path(env, config_path, given_by=origin_of(specs.CONFIG.name))
    found = config_file.locate(search)
    conf = config_file.load(found.path) if found and found.path else None
    instance, client = (
        Setting(chosen, origin_of(spec.name))
        if chosen
        else Setting(config_file.DEFAULT_NAME, DEFAULT)
        for spec in (specs.INSTANCE, specs.CLIENT)
        for chosen in [overrides.get(spec)]
    )
    instance_conf = client_conf = None
    if conf is not None:
        instance_conf = _named(conf, conf.config.instances, instance, "instance")
        if instance_conf is not None:
            client_conf = _named(conf, instance_conf.clients, client, "client")
    file_keys = ("instances", instance.value)
    client_keys = (*file_keys, "clients", client.value)

    def from_file(value: Optional[str], *keys: str) -> Source:
        return (conf.origin(*keys) if conf else "config file"), lambda: value

    raw_address = first(
        [
            (origin_of(specs.URL.name), lambda: overrides.get(specs.URL)),
            *(_env(env, name) for name in specs.URL.variables),
            from_file(
                instance_conf.receiver_api.url if instance_conf else None,
                *file_keys, "receiver_api", "url",
            ),
        ]
    )  # fmt: skip
    port = _receiver_port(env)
    address = None
    key_in_address = None
    if raw_address is not None:
        normalized = normalize_address(
            raw_address.value, linux_port=port, origin=raw_address.origin
        )
        address = Setting(without_query_key(normalized), raw_address.origin)
        key_in_address = dict(parse_qsl(urlsplit(normalized).query)).get("api_key")
    api_key = first(
        [
            (origin_of(specs.API_KEY.name), lambda: overrides.get(specs.API_KEY)),
            *(_env(env, name) for name in specs.API_KEY.variables),
            (f"the api_key in the address ({raw_address.origin})" if raw_address else "",
             lambda: key_in_address),
            from_file(client_conf.api_key if client_conf else None, *client_keys, "api_key"),
        ]
    )  # fmt: skip
    if api_key is not None:
        api_key = Setting(api_key.value, api_key.origin, secret=True)
        check_api_key(api_key.value, api_key.origin)
    read_secrets = [overrides.get(specs.API_KEY), key_in_address]
    read_secrets += [env.environ.get(name, "").strip() for name in specs.API_KEY.variables]
    if conf is not None:  # every client's and instance's, not only those in use
        read_secrets += conf.secrets
        for entry in conf.config.instances.values():  # their headers' too (`secrets_of`)
            read_secrets += secrets_of(tuple((entry.receiver_api.headers or {}).items()))
    hostname = first(
        [
            (origin_of(specs.HOSTNAME.name), lambda: overrides.get(specs.HOSTNAME)),
            *(_env(env, name) for name in specs.HOSTNAME.variables),
            from_file(
                client_conf.internal_hostname if client_conf else None,
                *client_keys, "internal_hostname",
            ),
        ]
    ) or Setting(env.hostname(), "this machine's host name")  # fmt: skip

    ci_context = given(specs.CI_CONTEXT) or _ci_context(env, conf, instance_conf, file_keys)
    warnings = []
    if overrides.get(specs.INSECURE):
        warnings.append(
            f"TLS certificate checks are off ({origin_of(specs.INSECURE.name)}): anyone "
            f"between here and the receiver can read the API key"
        )
    if api_key is not None and len(api_key.value) < SHORT_KEY:
        warnings.append(
            f"the API key ({api_key.origin}) is {len(api_key.value)} character(s) long: "
            f"those characters are masked (***) wherever they stand, in the events' own text "
            f"too; a receiver's real key is longer"
        )
    local = config_file.unread_local_file(env, config_path)
    if local is not None:
        warnings.append(local)
    if conf is not None:
        warnings += config_file.unknown_keys(conf)
    if conf is not None and conf.holds_a_key():
        mode = config_file.loose_permissions(conf.path)
        if mode is not None:
            warnings.append(
                f"{conf.path} holds an API key and is readable by others (mode {mode:04o}); "
                f"run: chmod 600 {conf.path}"
            )
    timeout = given(specs.TIMEOUT)
    max_time = given(specs.MAX_TIME)
    retries = given(specs.RETRIES_SPEC)
    insecure = given(specs.INSECURE)
    headers = _headers(overrides, env, conf, instance_conf, file_keys, address, origin_of)
    read_secrets += secrets_of(headers.value)
    spool_off = given(specs.SPOOL)
    spool: Setting[Optional[str]] = Setting(str(spool_dir(env)), DEFAULT)
    if spool_off:
        spool = Setting(None, spool_off.origin)
    return Settings(
        address=address,
        api_key=api_key,
        hostname=hostname,
        instance=instance,
        client=client,
        config_file=Setting(str(conf.path), found.label) if conf and found else None,
        ci_context=ci_context,
        basic_auth=_basic_auth(conf, instance_conf, file_keys, address),
        connect_timeout=timeout or Setting(CONNECT_TIMEOUT_S, DEFAULT),
        read_timeout=timeout or Setting(READ_TIMEOUT_S, DEFAULT),
        retries=retries or Setting(RETRIES, DEFAULT),
        max_time=max_time or Setting(MAX_TIME_S, DEFAULT),
        tls_verify=Setting(False, insecure.origin) if insecure else Setting(True, DEFAULT),
        ca_certs=_ca_certs(given(specs.CA_CERT), env),
        headers=headers,
        spool=spool,
        warnings=tuple(warnings),
        read_secrets=Setting(tuple(s for s in read_secrets if s), "what was read", secret=True),
        given_as=(origin_of(specs.URL.name), origin_of(specs.API_KEY.name)),
    )


def _fspath(path: Any) -> str:
    import os

    return str(os.fspath(path))


def _named_in_file(
    overrides: Overrides, spec: SettingSpec[str], origin_of: OriginOf
) -> Setting[str]:
    """The instance or client the caller chose; an empty name is none."""
    chosen = overrides.get(spec)
    if chosen:
        return Setting(chosen, origin_of(spec.name))
    return Setting(config_file.DEFAULT_NAME, DEFAULT)


def _ca_certs(given: Optional[Setting[str]], env: Environment) -> Setting[Tuple[str, ...]]:
    """The CA files to trust besides the system's: the caller's, then $REQUESTS_CA_BUNDLE."""
    ca_certs, origins = [], []
    if given is not None and given.value:
        ca_certs.append(_ca_file(_fspath(given.value), given.origin, given=True))
        origins.append(given.origin)
    bundle = env.environ.get(CA_BUNDLE_VARIABLE, "").strip()
    if bundle:
        ca_certs.append(_ca_file(bundle, f"${CA_BUNDLE_VARIABLE}", given=False))
        origins.append(f"${CA_BUNDLE_VARIABLE}")
    if not ca_certs:
        return Setting((), DEFAULT)
    return Setting(tuple(ca_certs), ", ".join(origins))


def spool_dir(env: Environment) -> Path:
    """Where the spool is: `spool/` under the user state dir."""
    return env.user_state_dir() / "spool"


def check_api_key(key: str, origin: str, *, then: str = "") -> None:
    """The key travels in a header: control characters and non-ASCII cannot (and the key
    is never shown, so the message says where it came from instead). `then` says what
    the refusal means to the caller ("; nothing was written")."""
    if not all(" " <= char <= "~" for char in key):
        raise ConfigError(
            f"the API key from {origin} holds characters an HTTP header cannot carry "
            f"(control characters or non-ASCII){then}",
            hint="check how it was copied; the key itself is not shown",
        )


def _ca_file(path: str, origin: str, *, given: bool) -> str:
    """A file of PEM certificates to trust; one that cannot be used is the caller's
    mistake (`given`, exit 2) or the environment's (exit 3), named with `origin`."""
    resolved = expand_user(path)
    problem = _unusable_ca_file(resolved, path)
    if problem is not None:
        what, hint = problem
        if given:
            raise InvalidInput(what, field="ca_cert", hint=hint)
        raise ConfigError(f"{origin}: {what}", hint=hint)
    return str(resolved)


# What OpenSSL reads as a certificate in a CA file; anything else adds no trust.
_PEM_MARKERS = (b"-----BEGIN CERTIFICATE-----", b"-----BEGIN TRUSTED CERTIFICATE-----",
                b"-----BEGIN X509 CERTIFICATE-----")  # fmt: skip
_CHUNK = 64 * 1024
_CA_FILE_SCANNED = 16 * 1024 * 1024  # a system bundle is a few hundred KiB


def _unusable_ca_file(resolved: Path, path: str) -> Optional[Tuple[str, Optional[str]]]:
    """Why a CA file cannot be used, and what to do; None when it can.

    Only a PEM marker is looked for, no certificate parsed: loading one into an `ssl`
    context costs tens of ms, which `--dry-run` should not pay. A file whose certificate
    is broken all the same is reported at the first TLS connection (`transport`).
    """
    import errno
    import stat

    try:
        mode = resolved.stat().st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            return f"{path} is {kind}", "give a file of PEM certificates"
        with resolved.open("rb") as file:
            tail = b""
            for _ in range(_CA_FILE_SCANNED // _CHUNK):
                chunk = file.read(_CHUNK)
                if not chunk:
                    break
                if any(marker in tail + chunk for marker in _PEM_MARKERS):
                    return None
                tail = chunk[-40:]  # a marker split between two chunks
    except OSError as error:
        if error.errno == errno.ENOENT:
            return f"no such file: {path}", None
        if error.errno == errno.ELOOP:
            return f"{path} is a symbolic link loop", "point the link at a file"
        return f"cannot use {path}: {error.strerror or error}", None
    return f"{path} holds no PEM certificate", (
        "give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----); a DER file "
        f"converts with: openssl x509 -inform der -in {path} -out ca.pem"
    )


def _ci_context(
    env: Environment,
    conf: Optional[config_file.ConfigFile],
    instance_conf: Optional[InstanceConfig],
    keys: Tuple[str, ...],
) -> Setting[bool]:
    """Whether events describe the CI run, when no flag or argument said so."""
    text = env.environ.get(CI_CONTEXT_VARIABLE, "").strip().lower()
    if text:
        if text not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ConfigError(f"${CI_CONTEXT_VARIABLE} is {text!r}; use 1 or 0")
        return Setting(text in ("1", "true", "yes", "on"), f"${CI_CONTEXT_VARIABLE}")
    if conf is not None and instance_conf is not None and instance_conf.ci_context is not None:
        return Setting(instance_conf.ci_context, conf.origin(*keys, "ci_context"))
    return Setting(False, DEFAULT)


def _named(
    conf: config_file.ConfigFile, entries: Dict[str, E], chosen: Setting[str], what: str
) -> Optional[E]:
    """The instance or client named by `chosen`; naming a missing one explicitly is an error."""
    if chosen.value in entries:
        return entries[chosen.value]
    if chosen.origin != DEFAULT:
        known = ", ".join(sorted(entries)) or "none"
        raise ConfigError(
            f"{conf.path} has no {what} {chosen.value!r} (given by {chosen.origin}); "
            f"it has: {known}"
        )
    return None


def _basic_auth(
    conf: Optional[config_file.ConfigFile],
    instance_conf: Optional[InstanceConfig],
    keys: Tuple[str, ...],
    address: Optional[Setting[str]],
) -> Optional[Setting[Tuple[str, str]]]:
    """The config's basic auth, only for the host it was written for."""
    if conf is None or instance_conf is None or address is None:
        return None
    if instance_conf.receiver_api.basic_auth is None:
        return None
    configured = instance_conf.receiver_api.url
    if configured and host_of(normalize_address(configured)) != host_of(address.value):
        return None  # credentials stay with their own receiver, whatever overrides the address
    auth = instance_conf.receiver_api.basic_auth
    origin = conf.origin(*keys, "receiver_api", "basic_auth")
    return Setting((auth.username, auth.password), origin, secret=True)


def _headers(
    overrides: Overrides,
    env: Environment,
    conf: Optional[config_file.ConfigFile],
    instance_conf: Optional[InstanceConfig],
    keys: Tuple[str, ...],
    address: Optional[Setting[str]],
    origin_of: OriginOf,
) -> Setting[Headers]:
    """The extra headers: the config's (only for the host it was written for), then
    $STAC_EVENTS_HEADERS, then the caller's; a later one replaces an earlier one of the
    same name. One that cannot be sent is the caller's mistake (exit 2) or the
    environment's (exit 3); no message shows a value."""
    sources, origins = [], []
    configured = instance_conf.receiver_api.headers if instance_conf is not None else None
    if conf is not None and instance_conf is not None and configured:
        url = instance_conf.receiver_api.url
        if not url or address is None or host_of(normalize_address(url)) == host_of(address.value):
            at = (*keys, "receiver_api", "headers")
            found = []
            for name, value in configured.items():
                try:
                    found.append(check_header(name.strip(), value.strip(" \t")))
                except InvalidValue as error:
                    raise ConfigError(f"{conf.origin(*at, name)}: {error}") from None
            sources.append(found)
            origins.append(conf.origin(*at))
    text = env.environ.get(HEADERS_VARIABLE, "")
    if text.strip():
        try:
            sources.append([header for _, header in parse_lines(text)])
        except InvalidValue as error:
            raise ConfigError(f"${HEADERS_VARIABLE} {error}") from None
        origins.append(f"${HEADERS_VARIABLE}")
    given = overrides.get(specs.HEADERS) or ()
    if given:
        try:
            sources.append([parse_header(header) for header in given])
        except InvalidValue as error:
            raise InvalidInput(str(error), field=specs.HEADERS.name) from None
        origins.append(origin_of(specs.HEADERS.name))
    if not sources:
        return Setting((), DEFAULT, secret=True)
    return Setting(merged(*sources), ", ".join(origins), secret=True)


def host_of(address: str) -> str:
    """`host[:port]` of an address, without any user info."""
    return urlsplit(address).netloc.rpartition("@")[2].lower()


def _receiver_port(env: Environment) -> Optional[int]:
    text = env.environ.get(PORT_VARIABLE, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"${PORT_VARIABLE} is {text!r}; it must be a port number like 7077")
    return int(text)


def normalize_address(
    text: str, *, linux_port: Optional[int] = None, origin: str = "the address"
) -> str:
    """Complete a receiver address to its intake URL (SPEC section 5).

    No path means the Kubernetes form `BASE/receiver/stsAgent/intake`, or the Linux
    form `BASE:PORT/stsAgent/intake` when `linux_port` is given or the port is 7077.
    """
    raw = text.strip()
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > ADDRESS_BYTES:  # a queued payload could not be read back: it would never go
        raise ConfigError(
            f"{origin}: {shortened(redact(text), 80)!r} is {size} bytes long, more than a "
            f"receiver address may be ({ADDRESS_BYTES} bytes)"
        )
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
        hostname_of(parts.netloc)
    except ValueError as error:
        shown = shortened(redact(text), 80)
        raise ConfigError(f"{origin}: {shown!r} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{origin}: {shortened(redact(text), 80)!r} is not an http(s) URL",
            hint="e.g. https://stackstate.example.com/receiver",
        )
    problem = _host_problem(parts.hostname)
    if problem is not None:
        raise ConfigError(
            f"{origin}: {shortened(redact(text), 80)!r} is not an http(s) URL: {problem}",
            hint="e.g. https://stackstate.example.com/receiver",
        )
    netloc, path = parts.netloc, parts.path.rstrip("/")
    if path.endswith(INTAKE_PATH):
        pass
    elif path.endswith("/stsAgent"):
        path += "/intake"
    elif path.endswith("/receiver"):
        path += INTAKE_PATH
    elif not path:
        if linux_port is not None and port is None:
            netloc, port = f"{netloc}:{linux_port}", linux_port
        linux = linux_port is not None or port == LINUX_RECEIVER_PORT
        path = INTAKE_PATH if linux else "/receiver" + INTAKE_PATH
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


_LABEL = re.compile(r"[a-z0-9_-]{1,63}\Z")  # as hosts, containers and DNS name them, leniently


def _host_problem(host: str) -> Optional[str]:
    """Why `host` (as `urlsplit` gives it: lowercased, no brackets) can name no machine;
    None when it can. Such an address could never be delivered to: its events would only
    ever be queued."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if len(host) > 253:
        return f"its host name is {len(host)} characters long, more than a name can be (253)"
    for label in host.removesuffix(".").split("."):
        try:
            ascii_label = label.encode("idna").decode("ascii") if not label.isascii() else label
        except UnicodeError:
            ascii_label = " "  # a name no DNS could ask for
        if not label:
            why = "an empty part (two dots in a row, or one at the start)"
        elif len(ascii_label) > 63:
            why = "a part longer than 63 characters"
        elif not _LABEL.match(ascii_label):
            why = "a character no name can hold"
        else:
            continue
        return f"its host name {shortened(host)!r} has {why}"
    return None


def with_query_key(address: str, api_key: str) -> str:
    """Put `api_key` into the address's query, replacing any there already."""
    parts = urlsplit(address)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "api_key"]
    query.append(("api_key", api_key))
    return urlunsplit(parts._replace(query=urlencode(query)))


def without_query_key(address: str) -> str:
    parts = urlsplit(address)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "api_key"]
    return urlunsplit(parts._replace(query=urlencode(query)))
