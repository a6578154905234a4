"""`--show-completion` and `--install-completion`: the scripts, where the shell reads them.

The scripts themselves are generated from the command table by `cli.completion_scripts`
and kept in `completions/`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional, Tuple

from stac_events.cli.argv import AUTO
from stac_events.cli.options import SHELLS
from stac_events.cli.run import Run
from stac_events.cli.usage import UsageError
from stac_events.errors import ConfigError


def show(run: Run[Any], shell: str) -> None:
    from stac_events.cli.completion_scripts import render

    run.env.stdout.write(render(_shell(run, shell, "--show-completion")))
    run.env.stdout.flush()


def install(run: Run[Any], shell: str) -> None:
    from stac_events.cli.completion_scripts import render

    shell = _shell(run, shell, "--install-completion")
    script = render(shell)
    paths, next_step = install_locations(run, shell)
    for path in paths:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(script, encoding="utf-8")
        except OSError as error:
            raise ConfigError(
                f"cannot write the completion script to {path}: {error.strerror or error}",
                hint="or print it with --show-completion and put it where you like",
            ) from None
        run.output.note(f"wrote {path}")
    run.output.note(next_step or "completion is active in new shells")


def detect_shell(run: Run[Any], flag: str) -> str:
    name = os.path.basename(run.env.environ.get("SHELL", ""))
    if name in ("bash", "zsh", "fish"):
        return name
    if name in ("pwsh", "powershell") or run.env.environ.get("PSModulePath"):
        return "powershell"
    raise UsageError(
        "cannot tell which shell this is from $SHELL",
        hint=f"name it: {flag} bash|zsh|fish|powershell",
    )


def _shell(run: Run[Any], value: str, flag: str) -> str:
    shell = detect_shell(run, flag) if value == AUTO else value.lower()
    if shell == "pwsh":
        shell = "powershell"
    if shell not in SHELLS:
        raise UsageError(f"{value!r} is not a shell stac-events completes; use one of "
                         f"{', '.join(SHELLS)}")  # fmt: skip
    return shell


# Where the bash-completion package (2.x) keeps its loader, beyond $XDG_DATA_DIRS: only
# it makes bash read the per-user completions folder. Version 1.x (/etc/bash_completion
# alone) never reads that folder, so it does not count.
BASH_COMPLETION_SHARES = ("/usr/local/share", "/usr/share", "/opt/homebrew/share")


def install_locations(run: Run[Any], shell: str) -> Tuple[List[Path], Optional[str]]:
    """Where the script goes for this user, and what else they must do (if anything)."""
    env = run.env
    data = Path(env.environ.get("XDG_DATA_HOME") or env.home / ".local" / "share")
    config = Path(env.environ.get("XDG_CONFIG_HOME") or env.home / ".config")
    if shell == "bash":
        user_dir = env.environ.get("BASH_COMPLETION_USER_DIR")  # bash-completion's own
        folder = (Path(user_dir) if user_dir else data / "bash-completion") / "completions"
        script = folder / "stac-events"
        return [script, folder / "stac"], bash_next_step(script, bash_completion(run))
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


def bash_completion(run: Run[Any]) -> Optional[Path]:
    """The bash-completion package's loader, when it is installed."""
    shares = [d for d in run.env.environ.get("XDG_DATA_DIRS", "").split(os.pathsep) if d]
    for share in (*shares, *BASH_COMPLETION_SHARES):
        loader = Path(share) / "bash-completion" / "bash_completion"
        if loader.is_file():
            return loader
    return None


def bash_next_step(script: Path, loader: Optional[Path]) -> str:
    """What makes bash read `script`: bash-completion when it is there, else ~/.bashrc."""
    if loader is None:
        return (
            f"bash reads that folder only through the bash-completion package, which is not "
            f"installed; add to ~/.bashrc: source {script}"
        )
    return (
        f"completion is active in new shells that load bash-completion ({loader}); "
        f"if yours does not, add to ~/.bashrc: source {script}"
    )
