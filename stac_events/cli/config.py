"""`stac-events config show|path|init`: what is configured, where it comes from, and set-up."""

from __future__ import annotations

from typing import Any, List, NamedTuple, Optional, Sequence, TextIO, Tuple, cast

from stac_events import config_writer
from stac_events import setting_specs as specs
from stac_events.cli.records import Values
from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError, flag_of
from stac_events.config_file import (
    DEFAULT_NAME,
    Candidate,
    locate,
    search_path,
    unread_local_file,
)
from stac_events.errors import ConfigError
from stac_events.redact import MASK
from stac_events.setting_specs import API_KEY, FILE_ONLY_FIELDS, URL
from stac_events.settings import Setting, Settings, normalize_address

UNSET = "not set"
URL_VARIABLE = URL.variables[0]  # what `config init` takes when --url is not given
KEY_VARIABLE = API_KEY.variables[0]
FROM_STDIN = "-"  # --api-key -
MAX_KEY_CHARS = 4096  # a key is a line of a few dozen characters; a stream is no key
ON_THE_TERMINAL = "the terminal"


class ConfigShowOptions(NamedTuple):
    """What `config show` is given: its arguments and options (`cli.records`)."""

    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    timeout: Optional[float]
    retries: Optional[int]
    max_time: Optional[float]
    insecure: bool
    ca_cert: Optional[str]
    headers: Values
    spool: bool
    output: str
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class ConfigPathOptions(NamedTuple):
    """What `config path` is given: its arguments and options (`cli.records`)."""

    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


class ConfigInitOptions(NamedTuple):
    """What `config init` is given: its arguments and options (`cli.records`)."""

    url: Optional[str]
    api_key: Optional[str]
    hostname: Optional[str]
    config: Optional[str]
    instance: Optional[str]
    client: Optional[str]


def show(run: Run[ConfigShowOptions]) -> int:
    rows = _rows(run.settings())
    if run.options.output == "json":
        run.output.data({name: {"value": value, "origin": origin} for name, value, origin in rows})
        return 0
    _print_table(run, [(name, _shown(name, value), origin) for name, value, origin in rows])
    return 0


def _shown(name: str, value: Any) -> str:
    """A value as the table shows it: seconds with their unit, switches as on or off."""
    if value is None:
        return "off" if name == "spool" else "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    if name.endswith("timeout") or name == "max_time":
        return f"{value:g} s"
    if isinstance(value, (list, tuple)):
        return ", ".join(value) or "-"
    return str(value)


def _rows(settings: Settings) -> List[Tuple[str, Any, str]]:
    """(name, value as shown, origin) for every setting, in the order they are declared
    (`setting_specs.SPECS`); secrets are masked."""
    resolved = settings._asdict()
    names = [field for spec in specs.SPECS for field in spec.fields]
    at = names.index("ci_context")  # those of the config file alone go before it
    names[at:at] = FILE_ONLY_FIELDS
    return [(name, *_row(name, resolved[name])) for name in names]


def _row(name: str, setting: Optional[Setting[Any]]) -> Tuple[Any, str]:
    """A setting's value as shown, and its origin."""
    if setting is None:
        return None, "none found" if name == "config_file" else UNSET
    if name == "api_key":
        return MASK, setting.origin
    if name == "basic_auth":
        return f"{setting.value[0]}:{MASK}", setting.origin
    if name == "headers":  # their names: the values are secrets
        return [f"{header}: {MASK}" for header, _ in setting.value], setting.origin
    if name == "ca_certs":
        return list(setting.value), setting.origin if setting.value else "only the system's"
    if name in ("address", "config_file"):
        return str(setting.value), setting.origin
    return setting.value, setting.origin


def _value(setting: Optional[Setting[Any]]) -> Optional[str]:
    return None if setting is None else str(setting.value)


def _origin(setting: Optional[Setting[Any]], missing: str) -> str:
    return missing if setting is None else setting.origin


def _print_table(run: Run[Any], rows: Sequence[Tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]]
        run.env.stdout.write(run.output.mask("  ".join(cells).rstrip()) + "\n")


def path(run: Run[ConfigPathOptions]) -> int:
    candidates = search_path(run.env, run.chosen("config"), given_by=flag_of("config"))
    try:
        chosen = locate(candidates)
    except ConfigError:
        chosen = None  # an explicit file that is missing: shown as "missing" below
    rows = []
    for number, candidate in enumerate(candidates, start=1):
        if candidate.path is None:
            state = "not applicable"
        elif candidate is chosen:
            state = "in use"
        else:
            state = _state(candidate)
        mark = "*" if candidate is chosen else " "
        rows.append((f"{mark} {number}.", candidate.label, str(candidate.path or "-"), state))
    _print_table(run, rows)
    local = unread_local_file(run.env, run.chosen("config"))
    if local is not None:
        run.output.warn(local)
    return 0


def _state(candidate: Candidate) -> str:
    """What is at a place that is not in use."""
    assert candidate.path is not None
    try:
        if candidate.path.is_file():
            return "found, not used"
    except OSError as error:
        return f"unusable: {error.strerror or error}"
    return "missing" if candidate.explicit else "not found"


def init(run: Run[ConfigInitOptions]) -> int:
    env = run.env
    interactive = bool(env.stdin_isatty and env.stderr_isatty)
    url = _flag_or_variable(run, "url", run.options.url, URL_VARIABLE)
    api_key = _flag_or_variable(run, "api_key", run.options.api_key, KEY_VARIABLE, secret=True)
    reads_stdin = (
        api_key is not None and api_key.value == FROM_STDIN and api_key.origin == flag_of("api_key")
    )
    if not interactive and (url is None or api_key is None):
        missing = [
            f"{flag_of(name)} (or ${variable})"
            for name, variable, found in (
                ("url", URL_VARIABLE, url),
                ("api_key", KEY_VARIABLE, api_key),
            )
            if found is None
        ]
        raise UsageError(
            f"needs {' and '.join(missing)} when not run on a terminal",
            hint="e.g. stac-events config init --url https://stackstate.example.com/receiver "
            "--api-key - < key.txt (- reads the key from stdin)",
        )
    if url is None:
        url = Setting(
            _ask(run, "Receiver address (e.g. https://stackstate.example.com/receiver)"),
            ON_THE_TERMINAL,
        )
    normalize_address(url.value, origin=url.origin)  # refuse what could never be sent to
    if api_key is None:
        api_key = _key_from_terminal(run)
    elif reads_stdin:
        api_key = _key_from_stdin(run)
    run.output.secrets.append(api_key.value)
    hostname = run.options.hostname
    if hostname is None and interactive:
        hostname = _ask(run, f"Host name to report (Enter for {env.hostname()})", required=False)
    destination = config_writer.destination(env, run.chosen("config"), given_by=flag_of("config"))
    instance = run.chosen("instance") or DEFAULT_NAME
    client = run.chosen("client") or DEFAULT_NAME
    written = config_writer.write_instance(
        destination.path,
        instance=instance,
        client=client,
        url=url.value,
        api_key=api_key.value,
        hostname=hostname or None,
        key_origin=api_key.origin,
    )
    from_variables = [
        f"the {what} from {setting.origin}"
        for what, setting in (("address", url), ("API key", api_key))
        if setting.origin.startswith("$")
    ]
    if from_variables:
        run.output.note(f"took {' and '.join(from_variables)}")
    link = f" (a link to {written.path})" if written.path != destination.path else ""
    run.output.note(
        f"{'created' if written.created else 'updated'} {destination.path}{link} "
        f"({destination.reason}): instance {instance!r}, client {client!r}, mode 0600"
    )
    return 0


def _flag_or_variable(
    run: Run[ConfigInitOptions],
    name: str,
    value: Optional[str],
    variable: str,
    *,
    secret: bool = False,
) -> Optional[Setting[str]]:
    """The flag's value, else the variable's; a flag given empty is a mistake (an unset
    `$KEY` in `--api-key "$KEY"`), a variable set empty counts as unset."""
    flag = flag_of(name)
    if value is not None:
        if not value.strip():
            raise UsageError("is empty", option=flag)
        return Setting(value.strip(), flag, secret=secret)
    value = run.env.environ.get(variable, "").strip()
    return Setting(value, f"${variable}", secret=secret) if value else None


def _key_from_stdin(run: Run[Any]) -> Setting[str]:
    """`--api-key -`: the key alone on stdin, read to its end (a few KiB at most); on a
    terminal it is typed without echo."""
    flag = flag_of("api_key")
    stdin = run.env.stdin
    if stdin is None or getattr(stdin, "closed", False):  # `<&-`: Python gives no stdin
        raise _no_key_on_stdin("stdin is closed")
    if run.env.stdin_isatty:
        return _key_from_terminal(run)
    try:
        text = stdin.read(MAX_KEY_CHARS + 1)
    except UnicodeDecodeError:
        raise _no_key_on_stdin("stdin is not UTF-8 text") from None
    except (OSError, ValueError) as error:  # EIO from a terminal gone; a stream closed
        raise _no_key_on_stdin(f"stdin cannot be read ({_why(error)})") from None
    if len(text) > MAX_KEY_CHARS:
        too_much = f"stdin held more than {MAX_KEY_CHARS // 1024} KiB: too much for a key"
        raise _no_key_on_stdin(too_much)
    key = text.strip()
    if not key:
        raise _no_key_on_stdin("stdin held none")
    if "\n" in key:
        raise _no_key_on_stdin("stdin held more than one line", hint="give the key alone")
    return Setting(key, f"stdin ({flag} {FROM_STDIN})", secret=True)


def _no_key_on_stdin(problem: str, *, hint: Optional[str] = None) -> UsageError:
    return UsageError(
        f"{FROM_STDIN} reads the key from stdin, and {problem}",
        option=flag_of("api_key"),
        hint=hint or f"e.g. --api-key - < key.txt, or set ${KEY_VARIABLE}",
    )


def _why(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _key_from_terminal(run: Run[Any]) -> Setting[str]:
    return Setting(_ask(run, "Receiver API key", secret=True), ON_THE_TERMINAL, secret=True)


def _ask(run: Run[Any], question: str, *, secret: bool = False, required: bool = True) -> str:
    """Ask on the terminal; a secret is read without echo."""
    import getpass

    env = run.env
    asked = question.split(" (")[0]  # without its example
    while True:
        try:
            if secret:  # Ctrl-D on an empty line raises EOFError
                # it writes and flushes, as any IO[str] can; its stub asks for a TextIO
                answer = getpass.getpass(f"{question}: ", stream=cast(TextIO, env.stderr))
            else:
                env.stderr.write(f"{question}: ")
                env.stderr.flush()
                answer = env.stdin.readline()
                if not answer:  # the input's end: an empty line is "\n"
                    raise EOFError
        except EOFError:
            env.stderr.write("\n")  # the error on a line of its own, not after the question
            raise UsageError(f"no answer to {asked!r}: the input ended") from None
        except UnicodeDecodeError:  # a terminal set to another encoding, or a stray byte
            if secret:  # not echoed: nor was the Enter that ended it
                env.stderr.write("\n")
            raise UsageError(f"the answer to {asked!r} is not UTF-8 text") from None
        except OSError as error:  # EIO: asked from a background job, or a terminal gone
            raise UsageError(f"the terminal cannot be read ({_why(error)})") from None
        answer = answer.strip()
        if answer or not required:
            return answer
        env.stderr.write("A value is needed.\n")
