"""`stac-events config show|path|init`: what is configured, where it comes from, and set-up."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, TextIO, Tuple, cast

from stac_events import config_writer
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
from stac_events.settings import Setting, Settings, normalize_address

UNSET = "not set"
URL_VARIABLE = "STAC_EVENTS_RECEIVER_URL"  # what `config init` takes when --url is not given
KEY_VARIABLE = "STAC_EVENTS_API_KEY"
FROM_STDIN = "-"  # --api-key -
MAX_KEY_CHARS = 4096  # a key is a line of a few dozen characters; a stream is no key
ON_THE_TERMINAL = "the terminal"


def show(run: Run) -> int:
    rows = _rows(run.settings())
    if run.given.output == "json":
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
    """(name, value as shown, origin) for every setting; secrets are masked."""
    auth = settings.basic_auth
    return [
        ("address", _value(settings.address), _origin(settings.address, UNSET)),
        ("api_key", MASK if settings.api_key else None, _origin(settings.api_key, UNSET)),
        ("hostname", settings.hostname.value, settings.hostname.origin),
        ("instance", settings.instance.value, settings.instance.origin),
        ("client", settings.client.value, settings.client.origin),
        ("config_file", _value(settings.config_file), _origin(settings.config_file, "none found")),
        ("basic_auth", f"{auth.value[0]}:{MASK}" if auth else None, _origin(auth, UNSET)),
        ("ci_context", settings.ci_context.value, settings.ci_context.origin),
        ("connect_timeout", settings.connect_timeout.value, settings.connect_timeout.origin),
        ("read_timeout", settings.read_timeout.value, settings.read_timeout.origin),
        ("retries", settings.retries.value, settings.retries.origin),
        ("max_time", settings.max_time.value, settings.max_time.origin),
        ("tls_verify", settings.verify_tls.value, settings.verify_tls.origin),
        ("ca_certs", list(settings.ca_certs.value),
         settings.ca_certs.origin if settings.ca_certs.value else "only the system's"),
        ("spool", settings.spool_dir.value, settings.spool_dir.origin),
    ]  # fmt: skip


def _value(setting: Optional[Setting[Any]]) -> Optional[str]:
    return None if setting is None else str(setting.value)


def _origin(setting: Optional[Setting[Any]], missing: str) -> str:
    return missing if setting is None else setting.origin


def _print_table(run: Run, rows: Sequence[Tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]]
        run.env.stdout.write(run.output.mask("  ".join(cells).rstrip()) + "\n")


def path(run: Run) -> int:
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


def init(run: Run) -> int:
    env = run.env
    interactive = bool(env.stdin_isatty and env.stderr_isatty)
    url = _flag_or_variable(run, "url", URL_VARIABLE)
    api_key = _flag_or_variable(run, "api_key", KEY_VARIABLE, secret=True)
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
    hostname = run.given.hostname
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
    run: Run, name: str, variable: str, *, secret: bool = False
) -> Optional[Setting[str]]:
    """The flag's value, else the variable's; a flag given empty is a mistake (an unset
    `$KEY` in `--api-key "$KEY"`), a variable set empty counts as unset."""
    flag = flag_of(name)
    value = run.given.get(name)
    if value is not None:
        if not value.strip():
            raise UsageError("is empty", option=flag)
        return Setting(value.strip(), flag, secret=secret)
    value = run.env.environ.get(variable, "").strip()
    return Setting(value, f"${variable}", secret=secret) if value else None


def _key_from_stdin(run: Run) -> Setting[str]:
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


def _key_from_terminal(run: Run) -> Setting[str]:
    return Setting(_ask(run, "Receiver API key", secret=True), ON_THE_TERMINAL, secret=True)


def _ask(run: Run, question: str, *, secret: bool = False, required: bool = True) -> str:
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
