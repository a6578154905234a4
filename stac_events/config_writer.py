"""Writing a receiver address and key into a `conf.yaml`: the library side of `config init`.

The file written is the one that would be read, so the new values are the ones used and
no new file hides one the user already has (SPEC section 5). The rewrite is a round trip
through `ruamel.yaml`: every other instance, section, comment, key order and quote style
stays as the user wrote it. The file is replaced atomically and is readable by its owner
only, from its first byte.
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Any, Callable, Iterator, List, MutableMapping, NamedTuple, Optional, Tuple

from stac_events import config_file, settings
from stac_events.environment import Environment, make_private_folders
from stac_events.errors import ConfigError

FILE_NAME = "conf.yaml"

# (sections under the instance, key, value): what `write_instance` sets.
Change = Tuple[Tuple[str, ...], str, str]


class Destination(NamedTuple):
    """The file `config init` writes, and why that one (said to the user)."""

    path: Path
    reason: str


class Written(NamedTuple):
    """The file written (a link's target when the path was a link), and whether it is new."""

    path: Path
    created: bool


def destination(env: Environment, explicit: Optional[str], *, given_by: str) -> Destination:
    """The file that would be read: the one named (`explicit`, else `$STAC_EVENTS_CONFIG`),
    even when it does not exist yet; else the first that exists; else the user config dir."""
    candidates = config_file.search_path(env, explicit, given_by=given_by)
    named = candidates[0]
    if named.explicit and named.path is not None:
        return Destination(named.path, f"named by {named.label}")
    found = config_file.locate(candidates)
    if found is not None and found.path is not None:
        return Destination(found.path, f"{found.label}: the config file that is read")
    return Destination(env.user_config_dir() / FILE_NAME, "user config dir: no config file existed")


def check_api_key(api_key: str, origin: str) -> None:
    """Refuse a key an HTTP header cannot carry; the message never shows the key."""
    if not api_key:
        raise ConfigError(f"the API key from {origin} is empty")
    settings.check_api_key(api_key, origin, then="; nothing was written")


def write_instance(
    path: Path,
    *,
    instance: str,
    client: str,
    url: str,
    api_key: str,
    hostname: Optional[str] = None,
    key_origin: str = "the caller",
) -> Written:
    """Set one instance's receiver address and one client's key (and host name) in the
    file at `path`, created when missing; everything else in it is kept as written.

    A file that does not load, or whose instance shares values with other parts of it
    (YAML anchors), is refused with a `ConfigError` and left as it was.
    """
    check_api_key(api_key, key_origin)
    try:
        real = _followed(path)  # keep a dotfile manager's link
        exists = real.exists()
    except (OSError, RuntimeError) as error:  # a link loop, a name too long
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"cannot use {path} as the config file: {reason}") from None
    if exists and not real.is_file():
        raise ConfigError(f"{path} is not a file; name a file with --config")
    if exists and not real.stat().st_mode & 0o200:  # root may write it: it was not meant to
        raise ConfigError(
            f"{real} is read-only (mode {real.stat().st_mode & 0o777:04o}); nothing was written",
            hint=f"make it writable first (chmod 600 {real}) if it should change",
        )
    with _locked(real):  # two inits at once must not lose each other's instance
        return _write_instance(real, instance, client, url, api_key, hostname)


def _write_instance(
    real: Path, instance: str, client: str, url: str, api_key: str, hostname: Optional[str]
) -> Written:
    conf = config_file.load(real) if real.exists() else None  # file:line for what is wrong
    before = _text_of(real) if conf else ""
    changes: List[Change] = [
        (("receiver_api",), "url", url),
        (("clients", client), "api_key", api_key),
    ]
    if hostname:
        changes += [(("clients", client), "hostname", hostname)]
        changes += [(("clients", client), "internal_hostname", hostname)]
    kept, after = _rewritten(before, real, instance, changes, conf)
    if conf is not None:
        _check_kept(before, kept, conf)
        _check_nothing_else_changed(before, after, conf, instance, changes)
    try:
        _write_private(real, after)
    except OSError as error:
        raise ConfigError(f"cannot write {real}: {error.strerror or error}") from None
    return Written(real, created=conf is None)


def _followed(path: Path) -> Path:
    """The file a link leads to (one that is missing, for a link not yet pointing at a
    file); a link loop raises `OSError` on every Python, as `resolve` does not."""
    if not path.is_symlink():
        return path
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        return Path(os.path.realpath(path))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold a lock on the file's folder while the file is read and rewritten (the file
    itself is replaced, so a lock on it would not hold); where `fcntl` is missing
    (Windows), go without."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    make_private_folders(path.parent)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _text_of(path: Path) -> str:
    """The file's text with its line ends as they are (CRLF is written back as CRLF)."""
    with path.open(encoding="utf-8", newline="") as stream:
        return stream.read().lstrip("\ufeff")


def _rewritten(
    text: str,
    path: Path,
    instance: str,
    changes: List[Change],
    conf: Optional[config_file.ConfigFile],
) -> Tuple[str, str]:
    """`text` written back unchanged, and with the changes made to `instance`, through a
    round trip that keeps the rest."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.util import load_yaml_guess_indent

    crlf = "\r\n" in text
    text = text.replace("\r\n", "\n")  # else a comment keeps its "\r" and gets another
    yaml = YAML()  # round trip: comments, key order and anchors are kept
    yaml.Constructor = _round_trip_constructor()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long value onto a second line
    try:
        data = yaml.load(text)
        # Read twice: 0.18.0's `load_yaml_guess_indent` cannot be given a configured YAML.
        _, indent, sequence_offset = load_yaml_guess_indent(text)
    except YAMLError as error:  # e.g. a key given twice, which PyYAML lets pass
        mark = getattr(error, "problem_mark", None)
        where = _where(conf, path, mark.line + 1 if mark is not None else None)
        # ruamel.yaml's own words quote the values, and a value here may be a key
        problem = ("a key is given twice in one mapping" if isinstance(error, DuplicateKeyError)
                   else "ruamel.yaml cannot read it back as written")  # fmt: skip
        raise ConfigError(f"{where}: cannot be rewritten keeping its comments: {problem}",
                          hint=_BY_HAND) from None  # fmt: skip
    except Exception:  # ruamel.yaml reading what its constructor did not
        raise ConfigError(
            f"{path}: cannot be rewritten keeping its comments: ruamel.yaml cannot read it "
            f"back as written",
            hint=_BY_HAND,
        ) from None
    if indent:
        offset = sequence_offset or 0
        yaml.indent(mapping=indent, sequence=max(indent, offset + 2), offset=offset)
    yaml.explicit_start = _first_content_line(text).startswith("---")
    head = ""
    if data is None:  # an empty file, or comments alone: keep them above the new entry
        head = "".join(line for line in text.splitlines(keepends=True) if _is_comment(line))
        data = CommentedMap()
        kept = text
    else:
        kept = _dumped(yaml, data, path)
    _apply(data, instance, changes, CommentedMap, _styled)
    written = head + _dumped(yaml, data, path)
    if crlf:
        kept, written = kept.replace("\n", "\r\n"), written.replace("\n", "\r\n")
    return kept, written


_BY_HAND = "edit the file by hand, or give another file with --config"


@functools.cache
def _round_trip_constructor() -> Any:
    """ruamel.yaml's round-trip constructor, with a value it fails on (`+_`, `!!float 1:6`,
    which PyYAML reads) made a `ConstructorError` at the value's line: it raises
    ValueError, IndexError and others, which are no `YAMLError`."""
    from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
    from ruamel.yaml.error import YAMLError

    class Constructor(RoundTripConstructor):
        def construct_object(self, node: Any, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep=deep)
            except (YAMLError, RecursionError):
                raise
            except Exception:  # whatever a constructor raises for a bad value
                raise ConstructorError(
                    problem="a value it cannot read", problem_mark=node.start_mark
                ) from None

    return Constructor


def _dumped(yaml: Any, data: Any, path: Path) -> str:
    import io

    stream = io.StringIO()
    try:
        yaml.dump(data, stream)
    except Exception:  # ruamel.yaml writing back what it read
        raise ConfigError(
            f"{path}: cannot be rewritten keeping its comments: ruamel.yaml cannot write it "
            f"back as it was read; nothing was written",
            hint=_BY_HAND,
        ) from None
    return stream.getvalue()


def _where(conf: Optional[config_file.ConfigFile], path: Path, line: Optional[int]) -> str:
    """`file:line`, and the keys of the value on that line when there is one alone."""
    if line is None:
        return str(path)
    on_line = [keys for keys, at in (conf.lines.items() if conf else ()) if at == line]
    keys = max(on_line, key=len, default=())
    if not all(keys[: len(other)] == other for other in on_line):  # `{a: 1, b: 2}`
        keys = ()
    return f"{path}:{line}: {'.'.join(keys)}" if keys else f"{path}:{line}"


def _first_content_line(text: str) -> str:
    return next((line for line in text.splitlines() if not _is_comment(line)), "")


def _is_comment(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def _apply(
    root: MutableMapping[str, Any],
    instance: str,
    changes: List[Change],
    new_mapping: Callable[[], MutableMapping[str, Any]],
    styled: Callable[[Any, str], Any],
) -> None:
    """Make `changes` under `instances.<instance>`, creating the mappings on the way."""
    entry = _child(_child(root, "instances", new_mapping), instance, new_mapping)
    for sections, key, value in changes:
        mapping = entry
        for name in sections:
            mapping = _child(mapping, name, new_mapping)
        mapping[key] = styled(mapping.get(key), value)


def _child(
    parent: MutableMapping[str, Any], key: str, new_mapping: Callable[[], MutableMapping[str, Any]]
) -> MutableMapping[str, Any]:
    """The mapping under `key`, made empty when it is missing or null."""
    value = parent.get(key)
    if not isinstance(value, MutableMapping):
        value = parent[key] = new_mapping()
    return value


def _styled(old: Any, new: str) -> Any:
    """`new`, quoted as the value it replaces was; a new value in double quotes, as in the
    stac CLI's own example. A plain value stays plain only when PyYAML, which reads the
    file (YAML 1.1: `on`, `0123`, `12:30`), would read it back as the same text."""
    import yaml
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

    if isinstance(old, ScalarString):
        return type(old)(new)
    # Untyped in types-PyYAML: a node's class, its value and (implicit when plain, when
    # quoted) in; the tag it resolves to out.
    resolve: Callable[[type, str, Tuple[bool, bool]], str] = yaml.resolver.Resolver().resolve
    plain_tag = resolve(yaml.ScalarNode, new, (True, False))
    if old is not None and plain_tag == "tag:yaml.org,2002:str":
        return new
    return DoubleQuotedScalarString(new)


def _check_kept(before: str, kept: str, conf: config_file.ConfigFile) -> None:
    """Refuse a file that ruamel.yaml would not write back as PyYAML reads it (`3E560`
    becomes `.inf`, `._4` becomes `.40`): a value the user did not ask to change."""
    moved = _first_difference(_read(before, conf.path), _read(kept, conf.path))
    if moved is not None:
        where = _where(conf, conf.path, config_file.nearest_line(conf.lines, moved))
        raise ConfigError(
            f"{where}: ruamel.yaml, which keeps the comments, would not write this value "
            f"back as it is read; nothing was written",
            hint="put the value in quotes, or edit the file by hand",
        )


def _check_nothing_else_changed(
    before: str, after: str, conf: config_file.ConfigFile, instance: str, changes: List[Change]
) -> None:
    """Read both texts as stac-events reads files: only the instance's values may differ.

    A mapping shared through an anchor or a merge key (`<<: *base`) would carry the
    change to every instance that shares it: another instance's key replaced unseen.
    """
    expected = _read(before, conf.path) or {}
    _apply(expected, instance, changes, dict, lambda _old, new: new)
    if _read(after, conf.path) != expected:
        where = conf.origin("instances", instance)
        raise ConfigError(
            f"{where}: instance {instance!r} shares values with other parts of the file "
            f"(a YAML anchor, alias or merge key); changing it here would change them too, "
            f"so nothing was written",
            hint="edit the file by hand, or give another file with --config",
        )


def _read(text: str, path: Path) -> Any:
    """`text` as stac-events reads a config file, in a form that compares equal when the
    values are (aliases expanded, NaN equal to NaN)."""
    try:
        _, data = config_file.parse(text, path)
    except ConfigError:
        raise ConfigError(
            f"{path}: ruamel.yaml, which keeps the comments, would write it back in a form "
            f"that does not read; nothing was written",
            hint=_BY_HAND,
        ) from None
    return _unshared(data)


# Stands for every NaN: a NaN is not equal to itself, so a file holding one would
# otherwise never read back the same.
_NAN = ("not a number",)


def _unshared(value: Any) -> Any:
    """A copy in which no two places hold the same mapping or list (aliases expanded;
    `config_file.load` has bounded how far), and every NaN is `_NAN`."""
    if isinstance(value, dict):
        return {_unshared(key): _unshared(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unshared(item) for item in value]
    if isinstance(value, set):
        return {_unshared(item) for item in value}
    if isinstance(value, float) and value != value:
        return _NAN
    return value


def _first_difference(old: Any, new: Any, keys: Tuple[str, ...] = ()) -> Optional[Tuple[str, ...]]:
    """The keys of the first value that differs between two readings of a file."""
    if isinstance(old, dict) and isinstance(new, dict) and list(old) == list(new):
        for key in old:
            found = _first_difference(old[key], new[key], (*keys, str(key)))
            if found is not None:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for number, (was, now) in enumerate(zip(old, new, strict=True)):
            found = _first_difference(was, now, (*keys, str(number)))
            if found is not None:
                return found
        return None
    return None if old == new else keys


# A file made new (never one that was there, nor a link's target); binary on Windows, as
# the text written is already what the file is to hold.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _write_private(path: Path, text: str) -> None:
    """Replace `path` atomically by a file readable by its owner only from its first byte.

    The temporary file is named before it is made, inside the `try` that removes it
    whatever happens next: `mkstemp` names it only once it is made, so a signal at that
    instant left an empty `.conf.yaml.XXXX.tmp` beside the config for good.
    """
    make_private_folders(path.parent)
    temporary = path.with_name(f".{path.name}.{os.urandom(8).hex()}.tmp")
    try:
        fd = os.open(temporary, _NEW_FILE, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            os.chmod(temporary, 0o600)  # as asked of os.open; a umask may have taken more
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except FileExistsError:
        raise  # only os.open says so: the file of that name was there before, not ours
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); where a folder cannot be opened, skip it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
