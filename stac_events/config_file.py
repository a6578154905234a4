"""The `stac` CLI's `conf.yaml`: finding it, and reading it with line numbers (see
`config_writer` for writing it).

Only the parts stac-events uses are checked; anything else in the file (`base_api`,
`admin_api`, ...) is ignored, so a file written for `stac` works unchanged.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, NamedTuple, Optional, Tuple

from stac_events.environment import Environment, expand_user
from stac_events.errors import ConfigError

if TYPE_CHECKING:
    from stac_events.config_schema import StacConfig

CONFIG_ENV = "STAC_EVENTS_CONFIG"
DEFAULT_NAME = "default"
LOCAL_FILE = Path("conf.d") / "conf.yaml"  # the old `stac` layout, relative to the cwd
# Values in a file once its aliases are expanded: a real config has dozens; an alias
# bomb of a few hundred bytes has billions.
MAX_VALUES = 10_000
MAX_BYTES = 1024 * 1024  # a real config is a few hundred bytes
# What stac-events reads, by where it sits; keys it does not know there draw a warning.
KNOWN_KEYS: Dict[str, Tuple[str, ...]] = {
    "": ("instances",),
    "instance": ("receiver_api", "clients", "ci_context", "base_api", "admin_api"),
    "receiver_api": ("url", "basic_auth", "headers"),
    "basic_auth": ("username", "password"),
    "client": ("api_key", "hostname", "internal_hostname"),
}

KeyPath = Tuple[str, ...]
# What names a secret in a config file, whatever the section: the stac CLI's own
# `api_key`, `password` and `apitoken_auth.token`, their misspellings, and the names
# people give to credentials of their own. A name is taken apart into its words
# (`apiToken2` is api, token; `auth_header` is auth, header) and judged by its last one,
# so that `key_file`, `auth_retries` and `max_keys`, which name no secret, are not taken
# for one: their values (a path, a 1) would be masked in every text.
_SECRET_WORDS = frozenset({
    "key", "apikey", "token", "tokens", "apitoken", "password", "passwd", "pass", "pwd",
    "passphrase", "secret", "secrets", "credential", "credentials", "bearer", "auth",
    "authorization",
})  # fmt: skip
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _names_a_secret(name: str) -> bool:
    words = [word.lower() for word in _WORDS.findall(name)]
    if not words:
        return False
    if words[-1] in ("header", "value") and len(words) > 1:
        return words[-2] in ("auth", "authorization", "bearer")  # `auth_header`
    return words[-1] in _SECRET_WORDS


class Candidate(NamedTuple):
    """One place a config file may be: how it is named to the user, and where it is."""

    label: str
    path: Optional[Path]
    explicit: bool = False


class ConfigFile(NamedTuple):
    """A parsed `conf.yaml` that knows the line of every key in it."""

    path: Path
    config: StacConfig
    lines: Dict[KeyPath, int]
    raw: Any = None  # the file's data as read, for the keys the schema ignores
    secrets: Tuple[str, ...] = ()  # see `_secrets`

    def origin(self, *keys: str) -> str:
        line = self.lines.get(tuple(keys))
        return f"{self.path}:{line}" if line else str(self.path)

    def holds_a_key(self) -> bool:
        return any(
            client.api_key for instance in self.config.instances.values()
            for client in instance.clients.values()
        )  # fmt: skip


def search_path(env: Environment, explicit: Optional[str], *, given_by: str) -> List[Candidate]:
    """Where a config file is looked for, in order; the first that exists wins.

    `explicit` is a file the caller named (`given_by` says how); it must exist. The
    working directory is never searched: a cloned repository must not be able to send
    the user's key to an address of its own choosing.
    """
    candidates: List[Candidate] = []
    if explicit is not None and not explicit.strip():
        raise ConfigError(f"{given_by} is empty; name a config file, or leave it out")
    if explicit:
        candidates.append(Candidate(given_by, env.cwd / expand_user(explicit), True))
    elif env.environ.get(CONFIG_ENV):
        path = env.cwd / expand_user(env.environ[CONFIG_ENV])
        candidates.append(Candidate(f"${CONFIG_ENV}", path, explicit=True))
    candidates += [
        Candidate("user config dir", env.user_config_dir() / "conf.yaml"),
        Candidate("stac CLI", env.home / ".stackstate" / "cli" / "conf.yaml"),
    ]
    appdata = env.environ.get("APPDATA")
    candidates.append(
        Candidate(
            "%APPDATA% (stac CLI on Windows)",
            Path(appdata) / "StackState" / "cli" / "conf.yaml" if appdata else None,
        )
    )
    return candidates


def unread_local_file(env: Environment, explicit: Optional[str]) -> Optional[str]:
    """A line about `./conf.d/conf.yaml` when it exists and was not named: it is not read."""
    if explicit or env.environ.get(CONFIG_ENV) or not (env.cwd / LOCAL_FILE).is_file():
        return None
    return (
        f"./{LOCAL_FILE.as_posix()} is not read from the working directory (a cloned "
        f"repository could send your key elsewhere); to use it: --config {LOCAL_FILE.as_posix()}"
    )


def locate(candidates: List[Candidate]) -> Optional[Candidate]:
    """The candidate in use: an explicit one must be a readable file; otherwise the first
    that exists."""
    for candidate in candidates:
        if candidate.explicit:
            problem = ("is not set", None) if candidate.path is None else unusable(candidate.path)
            if problem is not None:
                what, hint = problem
                raise ConfigError(
                    f"the config file {candidate.path} given by {candidate.label} {what}",
                    hint=hint,
                )
            return candidate
        if candidate.path is not None and is_file(candidate.path, candidate.label):
            return candidate
    return None


def is_file(path: Path, label: str) -> bool:
    """Whether `path` is a file; a path that cannot even be looked at (a name too long,
    a link loop) is a configuration error, not a file that is missing."""
    try:
        return path.is_file()
    except OSError as error:
        raise ConfigError(f"cannot use {path} ({label}): {error.strerror or error}") from None


def unusable(path: Path) -> Optional[Tuple[str, Optional[str]]]:
    """Why `path` cannot be read as a file, and what to do, as `("is a directory", hint)`;
    None when it is a regular file. Only `stat` is used: a FIFO is never opened."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        if error.errno == errno.ENOENT:
            return "does not exist", "create one with 'stac-events config init'"
        if error.errno == errno.ELOOP:
            return "is a symbolic link loop", "point the link at a file"
        if error.errno == errno.ENOTDIR:
            return "does not exist: a part of its path is a file", "check the path"
        return f"cannot be used: {error.strerror or error}", "check the path"
    if stat.S_ISDIR(mode):
        return "is a directory", f"name the file in it, e.g. {path / 'conf.yaml'}"
    if not stat.S_ISREG(mode):
        return "is not a regular file", "name a YAML file"
    return None


def load(path: Path) -> ConfigFile:
    """Read and check a config file; a `ConfigError` names the file, line and key at fault."""
    from pydantic import ValidationError

    from stac_events.config_schema import StacConfig

    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(f"{path}: over {MAX_BYTES // 1024} KiB; that is no config file")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"cannot read the config file {path}: {reason}") from None
    root, data = parse(text, path)
    lines: Dict[KeyPath, int] = {}
    if root is not None:
        _collect_lines(root, (), lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the file must be a mapping with an 'instances' key")
    try:
        config = StacConfig.model_validate(data)
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        keys = tuple(str(part) for part in problem["loc"])
        line = nearest_line(lines, keys)
        where = f"{path}:{line}" if line else str(path)
        hint = None
        if problem["type"] == "string_type" and not isinstance(problem["input"], (dict, list)):
            hint = "put the value in quotes: YAML reads a bare 5, yes or 0123 as no text"
        raise ConfigError(f"{where}: {'.'.join(keys)}: {problem['msg'].lower()}",
                          hint=hint) from None  # fmt: skip
    secrets = _secrets(root, text) if root is not None else ()
    return ConfigFile(path=path, config=config, lines=lines, raw=data, secrets=secrets)


def _secrets(root: Any, text: str) -> Tuple[str, ...]:
    """Every value the file holds under a name that says it is secret (`api_key`,
    `password`, a `token`), in any section, used or not, and every value in a mapping or
    list so named (`credentials: {github: ...}`) but for the names of who it is for (a
    `username`): none may ever be shown. Each as YAML reads it and as the file writes it
    (`'it''s'` is `it's`, `0123456` is 42798), and a value over several lines line by
    line, as `cat conf.yaml` shows them."""
    import yaml

    found = set()
    stack: List[Tuple[Any, str, bool]] = [(root, "", False)]
    seen = set()  # an alias names a node twice: again only if it is secret the second time
    while stack:
        node, name, secret = stack.pop()
        secret = (secret and name.lower() not in _WHO) or _names_a_secret(name)
        if (id(node), secret) in seen:
            continue
        seen.add((id(node), secret))
        if isinstance(node, yaml.MappingNode):
            stack += [(value, str(key.value), secret) for key, value in node.value]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, "", secret) for item in node.value]
        elif isinstance(node, yaml.ScalarNode) and secret:
            if node.tag in _NO_SECRET_TAGS:  # `use_auth: false` names no secret
                continue
            written = text[node.start_mark.index : node.end_mark.index]
            found |= {str(node.value), written, written.strip("'\""), *written.splitlines()}
    return tuple(sorted(form.strip() for form in found if form.strip() not in _NO_SECRET))


# Who a secret is for, beside it in a mapping named as a secret (`basic_auth`): no secret.
_WHO = frozenset({"username", "user", "login", "name", "url", "host", "hostname", "type"})


# What a value under a secret's name may be that holds no secret: a switch, a null, a
# block scalar's indicator, empty quotes. Masking them would mask every text.
_NO_SECRET_TAGS = frozenset({"tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"})
_NO_SECRET = frozenset({"", "|", ">", "|-", ">-", "|+", ">+", "''", '""'})


def parse(text: str, path: Path) -> Tuple[Any, Any]:
    """`text`, read from `path`, as its root node (None when empty) and its data; what is
    wrong is a `ConfigError` naming the line, and the keys where they are known."""
    import yaml

    loader = root = None
    try:
        loader = _loader()(text)  # refuses a control character already
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_size(root, path)  # before anything follows the aliases
        return root, loader.construct_document(root)
    except yaml.reader.ReaderError as error:
        raise _forbidden_character(error, text, path) from None
    except yaml.YAMLError as error:
        raise _not_loaded(error, root, path) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    finally:
        if loader is not None:
            loader.dispose()


@functools.cache
def _loader() -> Any:
    """PyYAML's safe loader, with a value its constructors fail on (`2001-02-30`, `0x_`,
    `!!int x`, a 5,000-digit number) made a `ConstructorError` at the value's own node:
    they raise ValueError, KeyError and others, which are no `YAMLError`."""
    import yaml

    class Unreadable(yaml.constructor.ConstructorError):
        explained = True  # the problem is said in our words, not PyYAML's

        def __init__(self, node: Any, reason: str) -> None:
            super().__init__(problem=reason, problem_mark=node.start_mark)

    class Loader(yaml.SafeLoader):
        def scan_flow_scalar_non_spaces(self, double: bool, start_mark: Any) -> Any:
            try:
                return super().scan_flow_scalar_non_spaces(double, start_mark)
            except (ValueError, OverflowError):  # chr() of a `\U` escape past the last
                raise yaml.scanner.ScannerError(
                    "while scanning a double-quoted scalar",
                    start_mark,
                    _NO_SUCH_CHARACTER,
                    self.get_mark(),
                ) from None

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            if (
                node.tag in _NUMBERS
                and isinstance(node.value, str)
                and len(node.value) > _MAX_NUMBER
            ):
                # Python's own bound on a number's digits, for all the ways YAML 1.1
                # writes one: `1:1:1:...` of a megabyte takes a minute to compute.
                raise Unreadable(node, _too_long(_MAX_NUMBER))
            try:
                data = super().construct_object(node, deep=deep)
            except (yaml.YAMLError, RecursionError):
                raise
            except Exception as error:  # whatever a constructor raises for a bad value
                raise Unreadable(node, _unreadable(self, node, error)) from None
            if type(data) is int and _has_too_many_digits(data):
                # `0x` and 4,298 hex digits is short, but its decimal form is longer than
                # Python will write: any message or model that shows it would fail later.
                raise Unreadable(node, _too_large(_max_digits()))
            if isinstance(data, str) and _SURROGATE.search(data):
                # "\ud800" makes half a character, which no file, header or message can
                # hold: UTF-8 cannot encode it.
                raise Unreadable(node, _HALF_A_CHARACTER)
            return data

    return Loader


_SURROGATE = re.compile("[\ud800-\udfff]")
_HALF_A_CHARACTER = (
    "a \\u escape in this value (\\uD800 to \\uDFFF) makes half a character; write the "
    "character itself, or \\U and its 8 digits"
)
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_MAX_NUMBER = 4300  # characters, as Python reads no whole number of more digits


def _too_long(limit: int) -> str:
    return f"a number of more than {limit:,} characters, too long to read"


def _too_large(limit: int) -> str:
    return f"a number of more than {limit:,} digits once written out, too large to use"


_NO_SUCH_CHARACTER = "a \\U escape past \\U0010FFFF names no character"


def _max_digits() -> int:
    """Python's bound on the digits of a whole number it writes or reads (0: none); the
    bound came in 3.10.7, 3.11."""
    return int(getattr(sys, "get_int_max_str_digits", lambda: 0)())


def _has_too_many_digits(number: int) -> bool:
    limit = _max_digits()
    # Below 3 bits a digit, a number is below 10 ** limit: only one above that has the
    # power worked out.
    return bool(limit) and number.bit_length() > 3 * limit and abs(number) >= 10**limit


# What a scalar of each type must look like, for the message about one that does not.
_KINDS = {
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:binary": "base64 data",
}


def _unreadable(loader: Any, node: Any, error: Exception) -> str:
    """Why a value could not be made, without the value (it may be a key) or the
    exception's words (which quote it)."""
    import yaml

    tag = str(node.tag)
    short = "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,") else tag
    kind = _KINDS.get(tag, f"a {short} value")
    if "integer string conversion" in str(error):  # PYTHONINTMAXSTRDIGITS set lower
        return _too_long(sys.get_int_max_str_digits())
    plain = isinstance(node, yaml.ScalarNode) and node.style is None
    if plain and loader.resolve(yaml.ScalarNode, node.value, (True, False)) == tag:
        return f"YAML takes this value for {kind}, and it is not one; quote it if it is text"
    return f"the value tagged {short} is not {kind}"


def _forbidden_character(error: Any, text: str, path: Path) -> ConfigError:
    """PyYAML's refusal of a character no YAML file may hold (a NUL, a control
    character), at its line: PyYAML says only where in the text it stands."""
    import unicodedata

    line = len(_LINE_BREAK.findall(text, 0, error.position)) + 1
    code = error.character if isinstance(error.character, int) else 0
    kind = "a control character" if unicodedata.category(chr(code)) == "Cc" else "a character"
    escape = f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"
    return ConfigError(
        f"{path}:{line}: not valid YAML: it holds U+{code:04X}, {kind} that YAML does not "
        f"allow; remove it, or write it as {escape} inside double quotes"
    )


# Where YAML starts a new line, as PyYAML counts lines for its own marks.
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _not_loaded(error: Any, root: Any, path: Path) -> ConfigError:
    """A `YAMLError` as one line: the file and line, the keys when the error is about a
    value of a file that parsed, and the problem."""
    mark = getattr(error, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    problem = getattr(error, "problem", None) or "it is not valid YAML"
    keys = _keys_at(root, mark) if root is not None and mark is not None else None
    if keys is None:
        return ConfigError(f"{where}: not valid YAML: {problem}")
    if not getattr(error, "explained", False):
        # PyYAML's words, up to the exception it quotes ("failed to decode base64 data: ...")
        problem = f"not valid YAML: {problem.split(': ')[0]}"
    return ConfigError(f"{where}: {'.'.join(keys) or 'the file'}: {problem}")


def _keys_at(root: Any, mark: Any) -> Optional[KeyPath]:
    """The keys that lead to the node starting at `mark` (to the mapping that holds it,
    for a key); None when no node starts there."""
    import yaml

    seen = set()
    stack: List[Tuple[Any, KeyPath]] = [(root, ())]
    while stack:
        node, keys = stack.pop()
        if node.start_mark is mark:
            return keys
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.start_mark is mark:
                    return keys
                stack.append((value_node, (*keys, str(key_node.value))))
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, (*keys, str(number))) for number, item in enumerate(node.value)]
    return None


def _check_size(root: Any, path: Path) -> None:
    """Refuse a file that holds more than `MAX_VALUES` values once its aliases are
    expanded, or an alias inside the value it names (which never ends)."""
    import yaml

    seen = 0
    stack: List[Tuple[Any, FrozenSet[int]]] = [(root, frozenset())]  # a node, its holders' ids
    while stack:
        node, holders = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ConfigError(
                f"{path}: more than {MAX_VALUES:,} values, counting each time a YAML alias "
                f"repeats one; that is no config file"
            )
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in holders:
                raise ConfigError(
                    f"{path}:{node.start_mark.line + 1}: a YAML alias names a value that "
                    f"holds the alias itself"
                )
            inside = holders | {id(node)}
            if isinstance(node, yaml.MappingNode):
                stack += [(part, inside) for pair in node.value for part in pair]
            else:
                stack += [(item, inside) for item in node.value]


def unknown_keys(conf: ConfigFile) -> List[str]:
    """Warnings for keys stac-events does not know where it reads (`apikey:`), each with
    the file, line and the closest known name."""
    import difflib

    found: List[str] = []

    def check(mapping: Any, keys: KeyPath, kind: str) -> None:
        if not isinstance(mapping, dict):
            return
        known = KNOWN_KEYS[kind]
        for key in mapping:
            if str(key) in known:
                continue
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            advice = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
            if kind == "instance" and not close:
                continue  # a section of the stac CLI's own, or of a newer version
            where = f"under {'.'.join(keys)}" if keys else "at the top"
            found.append(f"{conf.origin(*keys, str(key))}: unknown key '{key}' {where}; {advice}")

    data = conf.raw
    check(data, (), "")
    instances = data.get("instances") if isinstance(data, dict) else None
    for name, instance in (instances or {}).items() if isinstance(instances, dict) else ():
        at = ("instances", str(name))
        check(instance, at, "instance")
        if not isinstance(instance, dict):
            continue
        receiver = instance.get("receiver_api")
        check(receiver, (*at, "receiver_api"), "receiver_api")
        if isinstance(receiver, dict):
            check(receiver.get("basic_auth"), (*at, "receiver_api", "basic_auth"), "basic_auth")
        clients = instance.get("clients")
        for client, entry in clients.items() if isinstance(clients, dict) else ():
            check(entry, (*at, "clients", str(client)), "client")
    return found


def _collect_lines(node: Any, prefix: KeyPath, lines: Dict[KeyPath, int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, str(key_node.value))
            lines[key] = key_node.start_mark.line + 1
            _collect_lines(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):  # an item's keys hold its index, as pydantic's
        for number, item in enumerate(node.value):
            key = (*prefix, str(number))
            lines[key] = item.start_mark.line + 1
            _collect_lines(item, key, lines)


def nearest_line(lines: Dict[KeyPath, int], keys: KeyPath) -> Optional[int]:
    """The line of `keys` in the file, or of the nearest key that holds them."""
    for end in range(len(keys), 0, -1):
        if keys[:end] in lines:
            return lines[keys[:end]]
    return None


def loose_permissions(path: Path) -> Optional[int]:
    """The file's mode when group or others may read it (POSIX only), else None."""
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None
