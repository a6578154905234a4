"""`stac-events config show|path|init`: what is configured, where it comes from, and set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError, flag_of
from stac_events.config_file import DEFAULT_NAME, locate, search_path, write_instance
from stac_events.errors import ConfigError
from stac_events.redact import MASK
from stac_events.settings import Setting, Settings, normalize_address

UNSET = "not set"


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
        elif candidate.path.is_file():
            state = "found, not used"
        else:
            state = "missing" if candidate.explicit else "not found"
        mark = "*" if candidate is chosen else " "
        rows.append((f"{mark} {number}.", candidate.label, str(candidate.path or "-"), state))
    _print_table(run, rows)
    return 0


def init(run: Run) -> int:
    given, env = run.given, run.env
    url, api_key, hostname = given.url, given.api_key, given.hostname
    interactive = bool(env.stdin_isatty and env.stderr_isatty)
    if (url is None or api_key is None) and not interactive:
        raise UsageError(
            "needs --url and --api-key when not run on a terminal",
            hint="e.g. stac-events config init --url https://stackstate.example.com/receiver "
            '--api-key "$KEY"',
        )
    if url is None:
        url = _ask(run, "Receiver address (e.g. https://stackstate.example.com/receiver)")
    normalize_address(url, origin=flag_of("url"))  # refuse what could never be sent to
    if api_key is None:
        api_key = _ask(run, "Receiver API key", secret=True)
        run.output.secrets.append(api_key)
    if hostname is None and interactive:
        hostname = _ask(run, f"Host name to report (Enter for {env.hostname()})", required=False)
    config = run.chosen("config")
    target = Path(config).expanduser() if config else env.user_config_dir() / "conf.yaml"
    instance = run.chosen("instance") or DEFAULT_NAME
    client = run.chosen("client") or DEFAULT_NAME
    write_instance(
        target, instance=instance, client=client, url=url, api_key=api_key, hostname=hostname
    )
    run.output.note(f"wrote {target} (instance {instance!r}, client {client!r}, mode 0600)")
    return 0


def _ask(run: Run, question: str, *, secret: bool = False, required: bool = True) -> str:
    """Ask on the terminal; a secret is read without echo."""
    import getpass

    env = run.env
    while True:
        if secret:
            answer = getpass.getpass(f"{question}: ", stream=env.stderr)
        else:
            env.stderr.write(f"{question}: ")
            env.stderr.flush()
            answer = env.stdin.readline()
            if not answer:
                raise UsageError("no answer given: the input ended")
        answer = answer.strip()
        if answer or not required:
            return answer
        env.stderr.write("A value is needed.\n")
