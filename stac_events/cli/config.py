"""`stac-events config show|path|init`: what is configured, where it comes from, and set-up."""

# No `from __future__ import annotations` here: Typer reads these annotations at run time.

from pathlib import Path
from typing import Any, List, Optional, Tuple

import typer

from stac_events.cli import options
from stac_events.cli.command import StacCommand
from stac_events.cli.context import Run, current_run
from stac_events.config_file import DEFAULT_NAME, locate, search_path, write_instance
from stac_events.errors import ConfigError, UsageError
from stac_events.redact import MASK
from stac_events.settings import Settings, normalize_address

app = typer.Typer(
    add_completion=False,  # completion is the root's: see stac_events.completions
    help="Show, locate and create the configuration (the stac CLI's conf.yaml format).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _rows(settings: Settings) -> List[Tuple[str, Optional[str], str]]:
    """(name, shown value, origin) for every setting; secrets are masked."""
    unset = "not set"
    auth = settings.basic_auth
    return [
        ("address", _value(settings.address), _origin(settings.address, unset)),
        ("api_key", MASK if settings.api_key else None, _origin(settings.api_key, unset)),
        ("hostname", settings.hostname.value, settings.hostname.origin),
        ("instance", settings.instance.value, settings.instance.origin),
        ("client", settings.client.value, settings.client.origin),
        ("config_file", _value(settings.config_file), _origin(settings.config_file, "none found")),
        ("basic_auth", f"{auth.value[0]}:{MASK}" if auth else None, _origin(auth, unset)),
        ("ci_context", "on" if settings.ci_context.value else "off", settings.ci_context.origin),
    ]


def _value(setting: Any) -> Optional[str]:
    return None if setting is None else str(setting.value)


def _origin(setting: Any, missing: str) -> str:
    return missing if setting is None else setting.origin


def _print_table(run: Run, rows: List[Tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
        run.env.stdout.write(run.output.mask("  ".join(cells).rstrip()) + "\n")


@app.command("show", cls=StacCommand)
def show(
    ctx: typer.Context,
    url: options.Url = None,
    api_key: options.ApiKey = None,
    hostname: options.Hostname = None,
    output: options.Output = options.OutputMode.text,
) -> None:
    """Show every setting, its value (the key masked) and where it came from.

    The same flags as 'event send' can be given, to see what they would change.
    """
    run = current_run(ctx)
    run.configure(output=output.value, quiet=False, debug=False, secret=api_key)
    rows = _rows(run.settings(url=url, api_key=api_key, hostname=hostname))
    if output is options.OutputMode.json:
        document = {name: {"value": value, "origin": origin} for name, value, origin in rows}
        run.output.data(document)
        return
    _print_table(run, [(name, value or "-", origin) for name, value, origin in rows])


@app.command("path", cls=StacCommand)
def path(ctx: typer.Context) -> None:
    """List the places a config file is looked for, in order; '*' marks the one in use."""
    run = current_run(ctx)
    candidates = search_path(run.env, run.selection.config)
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


@app.command("init", cls=StacCommand)
def init(
    ctx: typer.Context,
    url: options.Url = None,
    api_key: options.ApiKey = None,
    hostname: options.Hostname = None,
) -> None:
    """Write a conf.yaml with the receiver address and key (mode 0600).

    On a terminal it asks for what the flags do not give; the key is typed without echo.
    In scripts give --url and --api-key. Other instances in the file are kept.
    """
    run = current_run(ctx)
    run.configure(output="text", quiet=False, debug=False, secret=api_key)
    env = run.env
    interactive = bool(env.stdin_isatty and env.stderr_isatty)
    if (url is None or api_key is None) and not interactive:
        raise UsageError(
            "needs --url and --api-key when not run on a terminal",
            hint="e.g. stac-events config init --url https://stackstate.example.com/receiver "
            '--api-key "$KEY"',
        )
    if url is None:
        url = _ask(run, "Receiver address (e.g. https://stackstate.example.com/receiver)")
    normalize_address(url, origin="--url")  # refuse what could never be sent to
    if api_key is None:
        api_key = _ask(run, "Receiver API key", secret=True)
        run.output.secrets.append(api_key)
    if hostname is None and interactive:
        hostname = _ask(run, f"Host name to report (Enter for {env.hostname()})", required=False)
    target = Path(run.selection.config).expanduser() if run.selection.config else None
    target = target or env.user_config_dir() / "conf.yaml"
    instance = run.selection.instance or DEFAULT_NAME
    client = run.selection.client or DEFAULT_NAME
    write_instance(
        target, instance=instance, client=client, url=url, api_key=api_key, hostname=hostname
    )
    run.output.note(f"wrote {target} (instance {instance!r}, client {client!r}, mode 0600)")


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
