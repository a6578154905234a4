"""Every setting, declared once: its name, type, flag, variables, config key, default and help.

A `SettingSpec` is what a caller can set. Its `name` is the keyword argument of
`stac_events.resolve_settings`, the key of an `Overrides` and the option's name on the
command line; its `fields` are the `Settings` fields it resolves to, which are also the
rows of `config show` and, for a delivery setting, the `DeliveryOptions` fields. The
command line's options (`cli.options`), the library's arguments (`api.resolve_settings`),
`config show`'s rows and the delivery options are all made from `SPECS`, so that adding a
setting touches its declaration here and its use in `settings.resolve`.

This module imports nothing heavy: the command line reads it for `--help`.
"""

from __future__ import annotations

import math
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generic,
    Mapping,
    Optional,
    Tuple,
    TypedDict,
    TypeVar,
    Union,
)

from stac_events.parse import InvalidValue, parse_count, parse_seconds

if TYPE_CHECKING:
    import os

T = TypeVar("T")

# Stands for the program's name in help texts: `stac` when run as `stac`.
PROG = "{prog}"

# Where the address and key come from, first match wins (SPEC section 5).
ADDRESS_VARIABLES = (
    "STAC_EVENTS_RECEIVER_URL",
    "STACKSTATE_RECEIVER_API_ADDRESS",
    "STACKSTATE_BASE_URL",
    "STS_STS_URL",
)
PORT_VARIABLE = "STACKSTATE_RECEIVER_PORT"
KEY_VARIABLES = ("STAC_EVENTS_API_KEY", "STACKSTATE_RECEIVER_API_KEY", "STS_API_KEY")
HOSTNAME_VARIABLE = "STAC_EVENTS_HOSTNAME"
CI_CONTEXT_VARIABLE = "STAC_EVENTS_CI_CONTEXT"
CA_BUNDLE_VARIABLE = "REQUESTS_CA_BUNDLE"
CONFIG_VARIABLE = "STAC_EVENTS_CONFIG"
HEADERS_VARIABLE = "STAC_EVENTS_HEADERS"

MAX_TIMEOUT_S = 86400.0  # a day: more is a typo, and beyond what sockets take
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
RETRIES = 3
MAX_TIME_S = 60.0  # a CI step's own timeout is rarely shorter; what is left is queued


class SettingSpec(Generic[T]):
    """One setting a caller can give, and everything said of it in one place.

    `kind` is the Python type a caller passes (`float` for seconds); `convert` turns the
    command line's text into it. `switch` settings are flags on the command line that
    take no value: giving the flag sets `flag_value`. `check` refuses a value that cannot
    be used, however it was given (`InvalidValue`), or returns it as it is used.
    """

    __slots__ = (
        "check",
        "config_key",
        "convert",
        "default",
        "delivery",
        "fields",
        "flag",
        "flag_value",
        "help",
        "kind",
        "metavar",
        "name",
        "path",
        "secret",
        "short",
        "switch",
        "variables",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        kind: type,
        *,
        fields: Tuple[str, ...],
        flag: str,
        help: str,
        default: Optional[T] = None,
        metavar: Optional[str] = None,
        variables: Tuple[str, ...] = (),
        config_key: Optional[str] = None,
        convert: Optional[Callable[[str], T]] = None,
        check: Optional[Callable[[T], T]] = None,
        switch: bool = False,
        flag_value: bool = True,
        secret: bool = False,
        path: bool = False,
        delivery: bool = False,
        short: Optional[str] = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.fields = fields  # the `Settings` fields (and `config show` rows) it decides
        self.flag = flag
        self.metavar = metavar
        self.help = help
        self.variables = variables  # environment variables read for it, first wins
        self.config_key = config_key  # where the config file holds it, e.g. "receiver_api.url"
        self.default = default  # the value when nothing gives one (None: computed, or unset)
        self.convert = convert
        self.check = check
        self.switch = switch
        self.flag_value = flag_value
        self.secret = secret  # never shown
        self.path = path  # a file name: `os.PathLike` is taken too
        self.delivery = delivery  # its fields are `DeliveryOptions` fields
        self.short = short  # the flag's one-letter form, if it has one

    def __repr__(self) -> str:
        return f"SettingSpec({self.name!r})"

    def accepts(self, value: object) -> bool:
        """Whether a Python caller's `value` is of this setting's kind (None: not given)."""
        if value is None:
            return True
        if self.kind is bool:
            return isinstance(value, bool)
        if isinstance(value, bool):  # True is an int to Python, never a count or seconds
            return False
        if self.kind is float:
            return isinstance(value, (int, float))
        if self.path:
            import os

            return isinstance(value, (str, os.PathLike))
        if self.kind is tuple:
            return isinstance(value, tuple) and all(isinstance(item, str) for item in value)
        return isinstance(value, self.kind)

    def kind_name(self) -> str:
        if self.path:
            return "str or os.PathLike"
        if self.kind is tuple:
            return "tuple of str"
        return "int or float" if self.kind is float else self.kind.__name__


def _retries(text: str) -> int:
    return parse_count(text, minimum=0)


def _not_blank(text: str) -> str:
    if not text.strip():  # given, and empty: never "not given"
        raise InvalidValue("is empty; give a value, or leave it out")
    return text


def _time_limit(seconds: float) -> float:
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT_S):
        raise InvalidValue(
            f"{seconds:g} is not a time limit; give seconds above 0, at most {MAX_TIMEOUT_S:g}"
        )
    return float(seconds)


def _headers(given: Tuple[str, ...]) -> Tuple[str, ...]:
    from stac_events.headers import parse_header

    for text in given:
        parse_header(text)
    return given


def _not_negative(retries: int) -> int:
    if retries < 0:
        raise InvalidValue(f"{retries} retries; give 0 or more")
    return retries


URL: SettingSpec[str] = SettingSpec(
    "url", str, fields=("address",), flag="--url", metavar="URL",
    check=_not_blank,
    variables=ADDRESS_VARIABLES, config_key="instances.NAME.receiver_api.url",
    help="Receiver address, e.g. https://stackstate.example.com/receiver. Default: "
    "$STAC_EVENTS_RECEIVER_URL, $STACKSTATE_RECEIVER_API_ADDRESS, $STACKSTATE_BASE_URL "
    "(with $STACKSTATE_RECEIVER_PORT), $STS_STS_URL, else the config file; "
    f"'{PROG} config show' says which.",
)  # fmt: skip
API_KEY: SettingSpec[str] = SettingSpec(
    "api_key", str, fields=("api_key",), flag="--api-key", metavar="KEY", secret=True,
    check=_not_blank,
    variables=KEY_VARIABLES, config_key="instances.NAME.clients.NAME.api_key",
    help="Receiver API key. Prefer $STAC_EVENTS_API_KEY (or $STACKSTATE_RECEIVER_API_KEY, "
    "$STS_API_KEY) or the config file: flags show up in process lists and shell history.",
)  # fmt: skip
HOSTNAME: SettingSpec[str] = SettingSpec(
    "hostname", str, fields=("hostname",), flag="--hostname", metavar="NAME",
    check=_not_blank,
    variables=(HOSTNAME_VARIABLE,), config_key="instances.NAME.clients.NAME.internal_hostname",
    help="Host the data is reported from (internalHostname). Default: $STAC_EVENTS_HOSTNAME, "
    "the config's internal_hostname, else this machine's name.",
)  # fmt: skip
CONFIG: SettingSpec[str] = SettingSpec(
    "config", str, fields=("config_file",), flag="--config", metavar="PATH", path=True,
    variables=(CONFIG_VARIABLE,),
    help="Config file to use instead of searching for one; also $STAC_EVENTS_CONFIG. "
    f"'{PROG} config path' lists the places searched.",
)  # fmt: skip
INSTANCE: SettingSpec[str] = SettingSpec(
    "instance", str, fields=("instance",), flag="--instance", metavar="NAME", default="default",
    help="Instance of the config file to use. Default: default.",
)  # fmt: skip
CLIENT: SettingSpec[str] = SettingSpec(
    "client", str, fields=("client",), flag="--client", metavar="NAME", default="default",
    help="Client of the instance to use. Default: default.",
)  # fmt: skip
CI_CONTEXT: SettingSpec[bool] = SettingSpec(
    "ci_context", bool, fields=("ci_context",), flag="--ci-context", switch=True, default=False,
    variables=(CI_CONTEXT_VARIABLE,), config_key="instances.NAME.ci_context",
    help="Add the CI run's link, ci.* data and a ci_provider tag (GitHub Actions, GitLab CI, "
    "Jenkins, CircleCI, Azure Pipelines, Bitbucket Pipelines, Buildkite). Also "
    "$STAC_EVENTS_CI_CONTEXT=1.",
)  # fmt: skip
TIMEOUT: SettingSpec[float] = SettingSpec(
    "timeout", float, fields=("connect_timeout", "read_timeout"), flag="--timeout",
    check=_time_limit,
    metavar="SECONDS", convert=parse_seconds, delivery=True,
    help="Time limit of each attempt, connecting and answering together. Default: 5 s to "
    "connect, 30 s in all.",
)  # fmt: skip
RETRIES_SPEC: SettingSpec[int] = SettingSpec(
    "retries", int, fields=("retries",), flag="--retries", metavar="N", convert=_retries,
    check=_not_negative,
    default=RETRIES, delivery=True,
    help="Retries after a connection error, timeout, 408, 429 or 5xx, with exponential "
    "backoff (capped at 10 s) and Retry-After honored. Default: 3.",
)  # fmt: skip
MAX_TIME: SettingSpec[float] = SettingSpec(
    "max_time", float, fields=("max_time",), flag="--max-time", metavar="SECONDS",
    check=_time_limit,
    convert=parse_seconds, default=MAX_TIME_S, delivery=True,
    help="Time limit of the whole delivery, retries and waits included; what is not "
    "delivered by then is queued. Default: 60.",
)  # fmt: skip
INSECURE: SettingSpec[bool] = SettingSpec(
    "insecure", bool, fields=("tls_verify",), flag="--insecure", switch=True, default=False,
    delivery=True,
    help="Do not verify the receiver's TLS certificate (prints a warning every time).",
)  # fmt: skip
CA_CERT: SettingSpec[str] = SettingSpec(
    "ca_cert", str, fields=("ca_certs",), flag="--ca-cert", metavar="PATH", path=True,
    variables=(CA_BUNDLE_VARIABLE,), delivery=True,
    help="Also trust the CA certificate(s) in this PEM file. REQUESTS_CA_BUNDLE works too.",
)  # fmt: skip
HEADERS: SettingSpec[Tuple[str, ...]] = SettingSpec(
    "headers", tuple, fields=("headers",), flag="--header", short="-H", metavar="'NAME: VALUE'",
    check=_headers, secret=True,
    variables=(HEADERS_VARIABLE,), config_key="instances.NAME.receiver_api.headers",
    help="Add a header to every request to the receiver, as curl -H does (give several); "
    "its value is masked like the key, and never sent anywhere else. Also "
    "$STAC_EVENTS_HEADERS (a header a line) and the config's receiver_api.headers; one "
    "given here replaces theirs of the same name.",
)  # fmt: skip
SPOOL: SettingSpec[bool] = SettingSpec(
    "spool", bool, fields=("spool",), flag="--no-spool", switch=True, flag_value=False,
    default=True,
    help="Do not queue on failure (exit 5 instead of 75), and do not flush the queue.",
)  # fmt: skip

# In the order `config show` lists them; `basic_auth` is the config file's alone.
SPECS: Tuple[SettingSpec[Any], ...] = (
    URL, API_KEY, HOSTNAME, INSTANCE, CLIENT, CONFIG, CI_CONTEXT, TIMEOUT, RETRIES_SPEC,
    MAX_TIME, INSECURE, CA_CERT, HEADERS, SPOOL,
)  # fmt: skip
BY_NAME: Dict[str, SettingSpec[Any]] = {spec.name: spec for spec in SPECS}
FILE_ONLY_FIELDS = ("basic_auth",)  # set in the config file only: no flag, no argument


class SettingArguments(TypedDict, total=False):
    """The settings as `stac_events.resolve_settings` takes them, typed for type checkers
    and editors: a name and type for each of `SPECS` (a test keeps the two equal)."""

    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    instance: Optional[str]
    client: Optional[str]
    config: Union[str, os.PathLike[str], None]
    ci_context: Optional[bool]
    timeout: Optional[float]
    retries: Optional[int]
    max_time: Optional[float]
    insecure: Optional[bool]
    ca_cert: Union[str, os.PathLike[str], None]
    headers: Optional[tuple[str, ...]]
    spool: Optional[bool]


class Overrides:
    """Values the caller gives directly (flags, or arguments), by setting; they beat every
    other source. A setting not given is absent (`get` answers None)."""

    __slots__ = ("_values",)

    def __init__(self, values: Optional[Mapping[str, Any]] = None) -> None:
        found: Dict[str, Any] = {}
        for name, value in (values or {}).items():
            spec = BY_NAME.get(name)
            if spec is None:
                raise TypeError(f"{name!r} is not a setting")
            if not spec.accepts(value):
                raise TypeError(f"{name}: give {spec.kind_name()}, not {type(value).__name__}")
            if value is not None and not (spec.switch and value == spec.default):
                found[name] = value
        self._values = found

    def get(self, spec: SettingSpec[T]) -> Optional[T]:
        """The value given for `spec`; None when it was not given."""
        value: Optional[T] = self._values.get(spec.name)
        return value

    def given(self, spec: SettingSpec[Any]) -> bool:
        return spec.name in self._values

    def __repr__(self) -> str:
        shown = {k: "***" if BY_NAME[k].secret else v for k, v in self._values.items()}
        return f"Overrides({shown!r})"


def described(indent: str) -> str:
    """Every setting, a line each, for the library's documentation; `indent` starts all
    but the first."""
    lines = []
    for spec in SPECS:
        where = [spec.flag, *(f"${name}" for name in spec.variables)]
        if spec.config_key:
            where.append(f"config {spec.config_key}")
        if spec.switch and not spec.flag_value:  # `spool=False` is what its flag means
            where[0] = f"False is {spec.flag}"
        text = spec.help.replace(PROG, "stac-events")
        lines.append(f"- {spec.name} ({spec.kind_name()}; {', '.join(where)}): {text}")
    return f"\n{indent}".join(lines)
