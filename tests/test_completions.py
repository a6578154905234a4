"""The static completion scripts: fresh, and completing in real shells."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from stac_events.cli.completion_scripts import (
    FILE_NAMES,
    SHELLS,
    CommandSpec,
    OptionSpec,
    command_tree,
    elsewhere,
    render,
    value_options,
)
from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"

needs = {shell: pytest.mark.skipif(shutil.which(shell) is None, reason=f"{shell} not installed")
         for shell in ("bash", "zsh", "fish")}  # fmt: skip


@pytest.mark.parametrize("shell", SHELLS)
def test_completions_folder_matches_the_generator(shell: str) -> None:
    """Fails when a flag changed and `python -m stac_events.completions` was not run."""
    assert (COMPLETIONS / FILE_NAMES[shell]).read_text(encoding="utf-8") == render(shell)


def test_generator_check_mode_reports_stale_files(processes: Processes, tmp_path: Path) -> None:
    generate = [sys.executable, "-m", "stac_events.cli.completion_scripts"]
    folder = tmp_path / "generated"
    folder.mkdir()
    stale = processes.run(*generate, str(folder), "--check", expect=1)
    assert "out of date" in stale.stderr
    processes.run(*generate, str(folder))
    processes.run(*generate, str(folder), "--check")
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILE_NAMES.values())


def declared_options() -> Dict[str, List[str]]:
    """Every command's own option names, from the declarations (help included)."""
    return {command.path: sorted(n for o in command.options for n in o.names)
            for command in command_tree()}  # fmt: skip


def test_every_option_of_every_command_is_in_every_script() -> None:
    scripts = {shell: render(shell) for shell in SHELLS}
    for command in command_tree():
        for option in command.options:
            for name in option.names:
                for shell, text in scripts.items():
                    needle = name if shell != "fish" else (
                        f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}"
                    )  # fmt: skip
                    assert needle in text, (shell, command.path, name)


def test_a_choice_completes_with_each_commands_own_values() -> None:
    """`-o` takes ndjson in `receiver events` alone (the shells show it in CASES; PowerShell,
    which no test runs, by its table)."""
    tree = command_tree()
    output = value_options(tree)["--output"]
    assert output.choices == ("text", "json")  # as most commands take it
    assert elsewhere(tree, output) == {"receiver events": ("text", "json", "ndjson")}
    assert "'receiver events -o' = @('text', 'json', 'ndjson')" in render("powershell")


def test_a_name_that_takes_a_value_in_one_command_takes_one_in_all() -> None:
    """The scripts skip an option's value by the option's name alone."""
    value = OptionSpec(("--x",), takes_value=True, kind="text")
    switch = OptionSpec(("--x",), takes_value=False, kind="flag")
    tree = [CommandSpec("a", "", {}, [value]), CommandSpec("b", "", {}, [switch])]
    with pytest.raises(ValueError, match="--x means different things"):
        value_options(tree)


def test_powershell_lists_each_commands_own_options() -> None:
    listed = {}
    for path, names in re.findall(r"^ {8}'([a-z ]*)' = @\(([^)]*)\)$", render("powershell"), re.M):
        if path not in listed:  # $commands comes first and names the subcommands
            listed[path] = []
        listed[path] = sorted(re.findall(r"'(-[^']+)'", names)) or listed[path]
    assert listed == declared_options()


# bash: the completion function, called as bash calls it on TAB


def bash_complete(line: str, processes: Processes, path: str = "") -> List[str]:
    script = COMPLETIONS / FILE_NAMES["bash"]
    program = f"""
source {script}
COMP_LINE={line!r}
read -r -a COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_stac_events
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    completed = processes.shell(program, env={"PATH": path} if path else {})
    assert completed.stderr == "", completed.stderr  # what a user sees at every TAB
    return [line for line in completed.stdout.splitlines() if line]


CASES = [
    ("stac-events ev", ["event"]),
    ("stac-events ", ["check", "config", "event", "receiver", "spool"]),
    ("stac-events event ", ["send", "wrap"]),
    ("stac-events event send --ti", ["--timeout", "--title", "--timestamp"]),
    ("stac-events event send DeployEvent -c ", ["Activities", "Alerts", "Anomalies", "Changes",
                                                "Others"]),
    ("stac-events event send DeployEvent --category Ch", ["Changes"]),
    ("stac-events event send --output ", ["json", "text"]),
    ("stac-events spool ", ["clear", "drop", "flush", "list", "retry"]),
    ("stac-events spool list --", ["--client", "--config", "--help", "--instance", "--output"]),
    ("stac-events --config conf.yaml event ", ["send", "wrap"]),
    ("stac-events event wrap --on ", ["always", "failure"]),
    ("stac event send -i a b --no-sp", ["--no-spool"]),
    ("stac-events config ", ["init", "path", "show"]),
    ("stac-events event send --title ", []),
    # a group that runs too: its options, its subcommand, and no subcommand after its options
    ("stac-events receiver --p", ["--port"]),
    ("stac-events receiver ", ["events"]),
    ("stac-events receiver --port 0 ", []),
    ("stac-events receiver -q ", []),
    ("stac-events --config c.yaml receiver ev", ["events"]),
    # -o takes ndjson in `receiver events` alone
    ("stac-events receiver events -o ", ["json", "ndjson", "text"]),
    ("stac-events receiver events --db x.db --output nd", ["ndjson"]),
    ("stac-events spool list -o ", ["json", "text"]),
]  # fmt: skip


@needs["bash"]
@pytest.mark.parametrize(("line", "expected"), CASES)
def test_bash_completes(line: str, expected: List[str], processes: Processes) -> None:
    assert sorted(bash_complete(line, processes)) == sorted(expected)


def option_lines() -> List[tuple]:
    return [(f"stac-events {path} -".replace("  ", " "), names)
            for path, names in declared_options().items()]  # fmt: skip


@needs["bash"]
@pytest.mark.parametrize(("line", "expected"), option_lines())
def test_bash_offers_each_commands_own_options(
    line: str, expected: List[str], processes: Processes
) -> None:
    assert sorted(bash_complete(line, processes)) == expected


@needs["bash"]
def test_bash_completes_files_and_at_files_and_instances(home: Path, processes: Processes) -> None:
    (home / "conf.yaml").write_text("x")
    (home / "data.json").write_text("{}")
    assert bash_complete("stac-events --config con", processes) == ["conf.yaml"]
    assert bash_complete("stac-events event send X -d @da", processes) == ["@data.json"]
    stac = home / ".stackstate" / "cli"
    stac.mkdir(parents=True)
    (stac / "conf.yaml").write_text(
        "instances:\n  default:\n    receiver_api: {url: x}\n  staging:\n    clients: {}\n"
        "other:\n  notme: 1\n"
    )
    assert sorted(bash_complete("stac-events --instance ", processes)) == ["default", "staging"]


@pytest.fixture
def a_tool(home: Path) -> str:
    """A PATH with one command on it whose name no other command starts with, and a file
    in the working folder: what completing a wrapped command offers is known."""
    bin_dir = home / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "zzwrapped-tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    (home / "data.json").write_text("{}")
    return f"{bin_dir}:/usr/bin:/bin"


WRAPPED = [
    # the command `event wrap` runs: its name, then files, and none of wrap's options
    ("stac-events event wrap zzwr", ["zzwrapped-tool"]),
    ("stac-events event wrap -q -- zzwr", ["zzwrapped-tool"]),
    ("stac-events event wrap --on failure zzwr", ["zzwrapped-tool"]),
    ("stac-events event wrap zzwrapped-tool da", ["data.json"]),
    ("stac-events event wrap -- zzwrapped-tool --on da", ["data.json"]),
    # -i takes every value up to the next option: its words are no command
    ("stac-events event wrap -i urn:a zzwr", []),
    ("stac-events event wrap -i urn:a urn:b --o", ["--on", "--output"]),
    ("stac-events event wrap --o", ["--on", "--output"]),
]  # fmt: skip


@needs["bash"]
@pytest.mark.parametrize(("line", "expected"), WRAPPED)
def test_bash_completes_the_command_wrap_runs(
    line: str, expected: List[str], processes: Processes, a_tool: str
) -> None:
    assert sorted(set(bash_complete(line, processes, a_tool))) == expected


@needs["bash"]
def test_bash_offers_no_wrap_option_after_the_command(processes: Processes, a_tool: str) -> None:
    assert bash_complete("stac-events event wrap zzwrapped-tool --o", processes, a_tool) == []


# zsh: the completion function, with zsh's completion builtins recording their candidates


def zsh_complete(line: str, processes: Processes, expect: int = 0) -> List[str]:
    """The candidates `_stac_events` offers for `line`; `expect`: its status, 1 when it
    offers none (as zsh's completion functions answer)."""
    script = COMPLETIONS / FILE_NAMES["zsh"]
    program = f"""
compadd() {{ local a; for a in "$@"; do [[ $a == -* ]] || print -r -- "$a"; done }}
compset() {{ [[ $2 == "@" ]] && cur=${{cur#@}} }}
_files() {{ print -r -- "<files>" }}
_describe() {{ local -a list; list=("${{(@P)4}}"); print -rl -- "${{list[@]%%:*}}" }}
compdef() {{ : }}
source {script}
words=(${{(z)LINE}})
[[ $LINE == *" " ]] && words+=("")
CURRENT=${{#words}}
_stac_events
"""
    completed = processes.shell(program, using="zsh", env={"LINE": line}, expect=expect)
    assert completed.stderr == "", completed.stderr
    prefix = line.split(" ")[-1]
    return [c for c in completed.stdout.splitlines() if c.startswith(prefix) or c == "<files>"]


@needs["zsh"]
@pytest.mark.parametrize(("line", "expected"), CASES)
def test_zsh_completes(line: str, expected: List[str], processes: Processes) -> None:
    assert sorted(zsh_complete(line, processes, expect=0 if expected else 1)) == sorted(expected)


@needs["zsh"]
@pytest.mark.parametrize(("line", "expected"), option_lines())
def test_zsh_offers_each_commands_own_options(
    line: str, expected: List[str], processes: Processes
) -> None:
    assert sorted(zsh_complete(line, processes)) == expected


@needs["zsh"]
def test_zsh_offers_files_for_file_options(processes: Processes) -> None:
    assert zsh_complete("stac-events event send X --ca-cert ", processes) == ["<files>"]


@needs["zsh"]
@pytest.mark.parametrize(
    ("line", "handed"),
    [("stac-events event wrap zzwr", "zzwr:1"),
     ("stac-events event wrap -q -- zzwr", "zzwr:1"),
     ("stac-events event wrap --on failure zzwr", "zzwr:1"),
     ("stac-events event wrap zzwrapped-tool da", "zzwrapped-tool da:2"),
     ("stac-events event wrap -- zzwrapped-tool --on da", "zzwrapped-tool --on da:3"),
     ("stac-events event wrap -i urn:a zzwr", None)],
)  # fmt: skip
def test_zsh_hands_the_command_wrap_runs_to_its_own_completion(
    line: str, handed: Optional[str], processes: Processes
) -> None:
    """zsh's `_normal` completes a command line as if typed alone: the words from the
    command's name on, and where in them the cursor is."""
    script = COMPLETIONS / FILE_NAMES["zsh"]
    program = f"""
compadd() {{ : }}
_describe() {{ : }}
_normal() {{ print -r -- "<normal:${{words[*]}}:$CURRENT>" }}
compdef() {{ : }}
source {script}
words=(${{(z)LINE}})
CURRENT=${{#words}}
_stac_events
"""
    completed = processes.shell(program, using="zsh", env={"LINE": line},
                                expect=1 if handed is None else 0)  # fmt: skip
    assert completed.stderr == ""
    assert completed.stdout == ("" if handed is None else f"<normal:{handed}>\n")


# fish: its own `complete -C` lists what TAB would offer


def fish_complete(line: str, processes: Processes) -> List[str]:
    script = COMPLETIONS / FILE_NAMES["fish"]
    completed = processes.shell(f"source {script}; complete -C {line!r}", using="fish")
    assert completed.stderr == "", completed.stderr
    return [c.split("\t")[0] for c in completed.stdout.splitlines() if c]


@needs["fish"]
@pytest.mark.parametrize(("line", "expected"), CASES)
def test_fish_completes(line: str, expected: List[str], processes: Processes) -> None:
    found = fish_complete(line, processes)
    prefix = line.split(" ")[-1]
    assert sorted(c for c in found if c.startswith(prefix)) == sorted(expected)


@needs["fish"]
@pytest.mark.parametrize(("line", "expected"), option_lines())
def test_fish_offers_each_commands_own_options(
    line: str, expected: List[str], processes: Processes
) -> None:
    longs = fish_complete(line + "-", processes)
    shorts = [c for c in fish_complete(line, processes) if not c.startswith("--")]
    assert sorted(set(longs + shorts)) == expected


@needs["fish"]
@pytest.mark.parametrize(("line", "expected"), WRAPPED)
def test_fish_completes_the_command_wrap_runs(
    line: str, expected: List[str], processes: Processes, a_tool: str
) -> None:
    script = COMPLETIONS / FILE_NAMES["fish"]
    completed = processes.shell(f"source {script}; complete -C {line!r}", using="fish",
                                env={"PATH": a_tool})  # fmt: skip
    assert completed.stderr == ""
    assert sorted(c.split("\t")[0] for c in completed.stdout.splitlines()) == expected


@needs["fish"]
def test_fish_completes_files_for_config(home: Path, processes: Processes) -> None:
    (home / "conf.yaml").write_text("x")
    assert "conf.yaml" in fish_complete("stac-events --config con", processes)


# Installing


@pytest.mark.parametrize(
    ("shell", "files"),
    [
        ("bash", [".local/share/bash-completion/completions/stac-events",
                  ".local/share/bash-completion/completions/stac"]),
        ("zsh", [".local/share/zsh/site-functions/_stac-events"]),
        ("fish", [".config/fish/completions/stac-events.fish",
                  ".config/fish/completions/stac.fish"]),
        ("powershell", [".local/share/stac-events/stac-events.ps1"]),
    ],
)  # fmt: skip
def test_install_completion(cli, home: Path, shell: str, files: List[str]) -> None:
    result = cli("--install-completion", shell)
    for name in files:
        assert (home / name).read_text() == render(shell)
        assert f"wrote {home / name}" in result.stderr


def test_install_completion_detects_the_shell(cli, home: Path) -> None:
    result = cli("--install-completion", env={"SHELL": "/usr/bin/zsh"})
    assert "fpath=(" in result.stderr
    unknown = cli("--install-completion", env={"SHELL": "/bin/tcsh"}, expect=2)
    assert "cannot tell which shell" in unknown.stderr


def test_show_completion(cli) -> None:
    result = cli("--show-completion", "fish")
    assert result.stdout == render("fish")


@needs["bash"]
def test_tab_starts_no_python(processes: Processes, tmp_path: Path) -> None:
    """A TAB must not start Python (or the CLI): decoys on PATH record any call."""
    decoys = tmp_path / "decoys"
    decoys.mkdir()
    marker = tmp_path / "called"
    for name in ("python", "python3", "stac-events", "stac"):
        decoy = decoys / name
        decoy.write_text(f"#!/bin/sh\necho {name} >> {marker}\n")
        decoy.chmod(0o755)
    script = COMPLETIONS / FILE_NAMES["bash"]
    for line in [line for line, _ in CASES] + ["stac-events --instance "]:
        program = (f"source {script}; COMP_WORDS=({line}); "
                   f"[[ {line!r} == *' ' ]] && COMP_WORDS+=(''); "
                   "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _stac_events")  # fmt: skip
        processes.shell(program, env={"PATH": f"{decoys}:/usr/bin:/bin"})
    assert not marker.exists()


def test_install_completion_where_it_cannot_write_is_a_clear_error(cli, home: Path) -> None:
    blocked = home / ".local" / "share" / "bash-completion" / "completions" / "stac-events"
    blocked.mkdir(parents=True)  # a folder where the script should go
    result = cli("--install-completion", "bash", expect=3)
    assert result.stderr.startswith(
        f"stac-events: error: cannot write the completion script to {blocked}"
    )
    assert len(result.stderr.splitlines()) == 1


def test_show_completion_names_its_own_flag_when_the_shell_is_unknown(cli) -> None:
    result = cli("--show-completion", env={"SHELL": "/bin/tcsh"}, expect=2)
    assert "name it: --show-completion bash|zsh|fish|powershell" in result.stderr
    named = cli("--show-completion", "tcsh", expect=2)
    assert "'tcsh' is not a shell stac-events completes" in named.stderr


@needs["bash"]
def test_bash_completes_file_names_whole(home: Path, processes: Processes) -> None:
    """A name with a space stays one, and a file named `*` is that file, not every file."""
    (home / "fi le.txt").write_text("")
    (home / "*").write_text("")
    (home / "other").write_text("")
    assert bash_complete("stac-events --config fi", processes) == ["fi le.txt"]
    assert bash_complete("stac-events event wrap -- ls fi", processes) == ["fi le.txt"]
    listed = bash_complete("stac-events event wrap -- ls ", processes)
    assert sorted(listed) == sorted(["*", "fi le.txt", "other"])


@needs["zsh"]
def test_zsh_completes_at_every_tab_of_a_session(home: Path, tmp_path: Path) -> None:
    """Autoloaded from $fpath, as compinit loads it: the second TAB completes as the first
    (the file is the completion function's body, run at each TAB)."""
    import pty
    import select
    import time

    functions = tmp_path / "functions"
    functions.mkdir()
    (functions / FILE_NAMES["zsh"]).write_text((COMPLETIONS / FILE_NAMES["zsh"]).read_text())
    (home / ".zshrc").write_text(
        f"fpath=({functions} $fpath)\nautoload -U compinit && compinit -u -D\n"
        "PS1='READY> '\nsetopt nobeep\n"
    )
    pid, terminal = pty.fork()
    if pid == 0:  # the child: an interactive zsh on a terminal of its own
        os.execvpe("zsh", ["zsh", "-i"], {"HOME": str(home), "ZDOTDIR": str(home),
                                          "TERM": "dumb", "PATH": "/usr/bin:/bin"})  # fmt: skip

    def shown_until(pattern: bytes) -> bytes:
        seen, deadline = b"", time.monotonic() + 30
        while pattern not in seen and time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.2)[0]:
                seen += os.read(terminal, 1 << 16)
        return seen

    try:
        assert b"READY> " in shown_until(b"READY> ")
        for tab in range(3):
            os.write(terminal, b"stac-events ev\t")
            assert b"stac-events event " in shown_until(b"stac-events event "), tab
            os.write(terminal, b"\x15")  # Ctrl-U: the line is cleared for the next one
    finally:
        os.write(terminal, b"exit\n")
        os.waitpid(pid, 0)
        os.close(terminal)
