"""`--show-completion` and `--install-completion`: the static scripts, for the user's shell."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Tuple

import click

from stac_events.cli.context import Run, current_run
from stac_events.errors import UsageError


def detect_shell(run: Run) -> str:
    name = os.path.basename(run.env.environ.get("SHELL", ""))
    if name in ("bash", "zsh", "fish"):
        return name
    if name in ("pwsh", "powershell") or run.env.environ.get("PSModulePath"):
        return "powershell"
    raise UsageError(
        "cannot tell which shell this is from $SHELL",
        hint="name it: --install-completion bash|zsh|fish|powershell",
    )


def _shell(run: Run, value: str) -> str:
    from stac_events.completions import SHELLS

    shell = detect_shell(run) if value == "auto" else value.lower()
    if shell == "pwsh":
        shell = "powershell"
    if shell not in SHELLS:
        raise UsageError(f"{value!r} is not a shell stac-events completes; use one of "
                         f"{', '.join(SHELLS)}")  # fmt: skip
    return shell


def install_locations(run: Run, shell: str) -> Tuple[List[Path], Optional[str]]:
    """Where the script goes for this user, and what else they must do (if anything)."""
    env = run.env
    data = Path(env.environ.get("XDG_DATA_HOME") or env.home / ".local" / "share")
    config = Path(env.environ.get("XDG_CONFIG_HOME") or env.home / ".config")
    if shell == "bash":
        folder = data / "bash-completion" / "completions"
        return [folder / "stac-events", folder / "stac"], None
    if shell == "zsh":
        folder = data / "zsh" / "site-functions"
        return [folder / "_stac-events"], (
            f"add to ~/.zshrc, before compinit: fpath=({folder} $fpath)"
        )
    if shell == "fish":
        folder = config / "fish" / "completions"
        return [folder / "stac-events.fish", folder / "stac.fish"], None
    script = data / "stac-events" / "stac-events.ps1"
    return [script], f"add to your PowerShell $PROFILE: . {script}"


def _show(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from stac_events.completions import render

    run = current_run(ctx)
    run.env.stdout.write(render(_shell(run, value)))
    ctx.exit(0)


def _install(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> None:
    if value is None or ctx.resilient_parsing:
        return
    from stac_events.completions import render

    run = current_run(ctx)
    shell = _shell(run, value)
    script = render(shell)
    paths, next_step = install_locations(run, shell)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(script, encoding="utf-8")
        run.output.note(f"wrote {path}")
    run.output.note(next_step or "completion is active in new shells")
    ctx.exit(0)


def completion_options() -> List[click.Option]:
    common = {
        "is_flag": False,
        "flag_value": "auto",
        "default": None,
        "metavar": "[SHELL]",
        "type": click.Choice(["auto", "bash", "zsh", "fish", "powershell", "pwsh"]),
        "expose_value": False,
        "is_eager": True,
    }
    return [
        click.Option(
            param_decls=["--install-completion"],
            callback=_install,
            help="Install completion for your shell (bash, zsh, fish, powershell).",
            **common,
        ),
        click.Option(
            param_decls=["--show-completion"],
            callback=_show,
            help="Print the completion script for your shell, to install it by hand.",
            **common,
        ),
    ]
