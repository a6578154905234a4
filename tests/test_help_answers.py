"""What a person sees while learning the command: TAB in a real shell, the words of the
help, what `--install-completion` promises, and colors in CI logs."""

from __future__ import annotations

import itertools
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

from stac_events.cli.completion_scripts import FILE_NAMES
from tests.conftest import Cli
from tests.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
BASH_SCRIPT = ROOT / "completions" / FILE_NAMES["bash"]


# Bash: keys typed into an interactive bash, with readline and its own COMP_WORDBREAKS


def typed_in_bash(keys: str, home: Path) -> str:
    """The command line as bash ran it, after typing `keys` (TABs included) and Enter.

    A real interactive bash on a pseudo-terminal: readline splits the words at the
    characters of its default COMP_WORDBREAKS (`@`, `:` and `=` among them) and quotes
    what it inserts, as it does for a person. The command itself is a shell function
    that prints the line from the history, as typed.
    """
    import pty

    rc = home.parent / "bashrc"
    rc.write_text(
        f"source {BASH_SCRIPT}\n"
        "stac-events() { printf 'RAN:%s\\n' \"$(HISTTIMEFORMAT= history 1 | sed 's/^ *[0-9]* *//')\"; }\n"  # noqa: E501
        "stac() { stac-events; }\n"
        "PS1='READY> '\n"
    )
    inputrc = home.parent / "inputrc"
    inputrc.write_text("set bell-style none\nset enable-bracketed-paste off\n")
    leader, follower = pty.openpty()  # not through tests/processes.py: bash reads a terminal
    shell = subprocess.Popen(
        ["bash", "--noprofile", "--rcfile", str(rc), "-i"],
        stdin=follower, stdout=follower, stderr=follower, cwd=home, start_new_session=True,
        env={"HOME": str(home), "TERM": "dumb", "INPUTRC": str(inputrc),
             "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )  # fmt: skip
    os.close(follower)
    seen = b""

    def read_until(pattern: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 10
        while not re.search(pattern, seen) and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.1)[0]:
                try:
                    seen += os.read(leader, 4096)
                except OSError:  # the shell is gone
                    return

    try:
        read_until(rb"READY> ")
        for part in re.split("(\t)", keys):  # each TAB is answered before the next key
            os.write(leader, part.encode())
            if part == "\t":
                time.sleep(0.2)
        os.write(leader, b"\n")
        read_until(rb"RAN:[^\r\n]*\r?\n")
        os.write(leader, b"exit\n")
        shell.wait(10)
    finally:
        if shell.poll() is None:
            shell.kill()
        os.close(leader)
    ran = re.search(rb"RAN:([^\r\n]*)", seen)
    assert ran, seen.decode(errors="replace")
    return ran.group(1).decode()


needs_bash = pytest.mark.skipif(
    shutil.which("bash") is None or sys.platform == "win32", reason="needs bash on a tty"
)


@pytest.mark.slow
@needs_bash
@pytest.mark.parametrize(
    ("keys", "line"),
    [
        ("stac-events event send X -m @da\t", "stac-events event send X -m @data.json"),
        ("stac event send X --text=@da\t", "stac event send X --text=@data.json"),
        ("stac-events event send X -m @s\t", "stac-events event send X -m @sub/"),
        ("stac-events event send X -m @s\tn\t", "stac-events event send X -m @sub/notes.txt"),
        ("stac-events event send X -m @my\t", "stac-events event send X -m @my\\ notes.md"),
        ("stac-events event send X -c ch\t", "stac-events event send X -c Changes"),
        ("stac-events event send X --category=ch\t",
         "stac-events event send X --category=Changes"),
        ("stac-events event send X -i urn:service:/a -c an\t",
         "stac-events event send X -i urn:service:/a -c Anomalies"),
        ("stac-events event send X --output=j\t", "stac-events event send X --output=json"),
        ("stac-events --config da\t", "stac-events --config data.json"),
        ("stac-events receiver --p\t", "stac-events receiver --port"),
        ("stac-events receiver events -o nd\t", "stac-events receiver events -o ndjson"),
        ("stac-events receiver events --output=nd\t",
         "stac-events receiver events --output=ndjson"),
    ],
)  # fmt: skip
def test_tab_in_an_interactive_bash(keys: str, line: str, home: Path) -> None:
    (home / "data.json").write_text("{}")
    (home / "my notes.md").write_text("x")
    (home / "sub").mkdir()
    (home / "sub" / "notes.txt").write_text("x")
    assert typed_in_bash(keys, home).rstrip() == line


@pytest.mark.slow
@needs_bash
@pytest.mark.parametrize("flag", ["-m", "-d"])
def test_tab_after_a_lone_at_sign(flag: str, home: Path) -> None:
    (home / "data.json").write_text("{}")
    line = f"stac-events event send X {flag} @"
    assert typed_in_bash(line + "\t", home).rstrip() == line + "data.json"
    (home / "other.json").write_text("{}")  # no common start to add: it stays, unquoted
    assert typed_in_bash(line + "\t", home).rstrip() == line


def bash_function_answer(words: List[str], processes: Processes) -> List[str]:
    """COMPREPLY for a line bash split as `words` (the cursor in the last)."""
    program = (
        f"source {BASH_SCRIPT}\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE=""\n'
        "_stac_events\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = processes.shell(program, *words)
    return [line for line in done.stdout.splitlines() if line]


@needs_bash
def test_without_the_line_the_words_are_taken_as_given(processes: Processes) -> None:
    """Callers that set only COMP_WORDS (no COMP_LINE) still get answers."""
    assert bash_function_answer(["stac-events", "event", "send", "X", "-c", "ch"], processes) == [
        "Changes"
    ]


# --install-completion bash: honest about what makes bash read the script

LOADERS = [Path(share, "bash-completion", "bash_completion")
           for share in ("/usr/local/share", "/usr/share", "/opt/homebrew/share")]  # fmt: skip


def test_install_for_bash_with_bash_completion_says_it_is_active(cli: Cli, tmp_path: Path) -> None:
    loader = tmp_path / "share" / "bash-completion" / "bash_completion"
    loader.parent.mkdir(parents=True)
    loader.write_text("# the package's loader\n")
    result = cli("--install-completion", "bash", env={"XDG_DATA_DIRS": str(tmp_path / "share")})
    assert "completion is active in new shells that load bash-completion" in result.stderr


@pytest.mark.skipif(any(p.is_file() for p in LOADERS), reason="bash-completion is installed")
def test_install_for_bash_without_bash_completion_says_what_to_add(
    cli: Cli, home: Path, tmp_path: Path
) -> None:
    result = cli("--install-completion", "bash", env={"XDG_DATA_DIRS": str(tmp_path)})
    script = home / ".local" / "share" / "bash-completion" / "completions" / "stac-events"
    assert "active" not in result.stderr
    assert "bash-completion package, which is not installed" in result.stderr
    assert result.stderr.rstrip().endswith(f"add to ~/.bashrc: source {script}")


@needs_bash
def test_the_line_it_says_to_add_makes_bash_complete(cli: Cli, processes: Processes) -> None:
    """Both programs complete in a bash that runs only what the message says to add."""
    result = cli("--install-completion", "bash")
    line = re.search(r"add to ~/\.bashrc: (source \S+)", result.stderr)
    assert line, result.stderr
    program = (f"{line.group(1)}\n"
               "for COMP_LINE in 'stac-events ev' 'stac ev'; do\n"
               '  COMP_WORDS=($COMP_LINE); COMP_CWORD=1; COMP_POINT=${#COMP_LINE}\n'
               '  "$(complete -p ${COMP_WORDS[0]} | sed "s/.*-F \\([^ ]*\\).*/\\1/")"\n'
               '  echo "${COMPREPLY[@]}"\n'
               "done\n")  # fmt: skip
    done = processes.shell(program)
    assert done.stdout.split() == ["event", "event"]


def test_install_for_bash_honors_bash_completion_user_dir(cli: Cli, tmp_path: Path) -> None:
    own = tmp_path / "own"
    result = cli("--install-completion", "bash", env={"BASH_COMPLETION_USER_DIR": str(own)})
    assert (own / "completions" / "stac-events").is_file()
    assert (own / "completions" / "stac").is_file()
    assert f"wrote {own / 'completions' / 'stac'}" in result.stderr


# --help: what it says


def flat(text: str) -> str:
    """Help as one line of words: panels' borders gone, wrapped lines joined."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def option_help(help_text: str, flag: str) -> str:
    """The words of one option's row in a help panel, up to the next option."""
    words = flat(help_text)
    start = words.index(f" {flag} ")
    following = re.search(r" --[a-z][a-z-]+ ", words[start + len(flag) + 2 :])
    end = start + len(flag) + 2 + following.start() if following else len(words)
    return words[start:end]


def test_wrap_help_gives_wraps_own_defaults(cli: Cli) -> None:
    wrap = cli("event", "wrap", "--help").stdout
    assert "Default: Changes." in option_help(wrap, "--category")
    assert "Others." not in option_help(wrap, "--category").split("Default:")[1]
    assert "required" not in option_help(wrap, "--title")
    assert "Default: '<cmd> succeeded' or '<cmd> failed (exit N)'." in option_help(wrap, "--title")
    send = cli("event", "send", "--help").stdout  # send's own stay as they are
    assert "Default: Others." in option_help(send, "--category")
    assert "required for one event" in option_help(send, "--title")


def test_wrap_help_says_what_its_text_is_made_of(cli: Cli) -> None:
    text = option_help(cli("event", "wrap", "--help").stdout, "--text")
    assert "Default: the command line, its exit code and duration, and the last lines" in text
    assert "the title" not in text
    assert "reads stdin" not in text  # stdin is the command's


def every_help_path() -> List[List[str]]:
    from stac_events.cli.commands import COMMANDS, GROUPS

    return [[], *(g.path.split() for g in GROUPS if g.path), *(c.path.split() for c in COMMANDS)]


@pytest.mark.parametrize("args", every_help_path(), ids=" ".join)
def test_help_shows_the_words_a_person_reads(cli: Cli, args: List[str]) -> None:
    """No Python types (`<bool>`, `<str>`, `<list[str]>`) and no value after a flag."""
    from stac_events.cli import options
    from stac_events.cli.commands import COMMANDS

    shown = cli(*args, "--help", env={"COLUMNS": "200"}).stdout
    assert not re.search(r"<(bool|str|int|float|list\[\w+\])>", shown), shown
    rows = {m.group(1): m.group(2) for m in re.finditer(r"│ (--[a-z-]+)(.*?)│$", shown, re.M)}
    every = [*options.ROOT_OPTIONS, options.HELP, *(o for c in COMMANDS for o in c.options)]
    flags = {opt.long for opt in every if opt.kind == options.FLAG}
    for flag in set(rows) & flags:  # a flag's row: its short form at most, then the help
        assert re.fullmatch(r" *(-[a-zA-Z])? +[A-Z][^│]*", rows[flag]), (flag, rows[flag])
    assert rows["--help"].split() == ["-h", "Show", "this", "help", "and", "exit."]


def test_usage_lines_read_as_a_person_types_them(cli: Cli) -> None:
    def usage(*args: str) -> str:
        return re.search(r"Usage: (.*)", cli(*args, "--help").stdout).group(1).strip()

    assert usage("event", "wrap") == "stac-events event wrap [OPTIONS] -- CMD [ARG]..."
    assert usage("event", "send") == "stac-events event send [OPTIONS] [EVENT_TYPE]"
    assert usage("spool", "drop") == "stac-events spool drop [OPTIONS] [ID]"
    wrap = cli("event", "wrap", "--help").stdout
    assert "CMD [ARG]...: The command to run, after '--'." in flat(wrap)
    send = flat(cli("event", "send", "--help").stdout)
    assert "EVENT_TYPE: What happened, e.g. DeployEvent." in send


def test_a_wrapped_command_that_looks_like_an_option_is_the_commands(
    cli: Cli, tmp_path: Path
) -> None:
    """After `--` the line is the command's, even `--help` or a flag wrap does not know."""
    result = cli("event", "wrap", "--dry-run", "--", sys.executable, "-c",
                 "import sys; print(sys.argv[1:])", "--help", "--bogus")  # fmt: skip
    assert "['--help', '--bogus']" in result.stdout + result.stderr
    assert "Usage:" not in result.stdout + result.stderr


def test_help_names_the_variables_settings_read(cli: Cli) -> None:
    from stac_events.config_file import CONFIG_ENV
    from stac_events.setting_specs import (
        ADDRESS_VARIABLES,
        HOSTNAME_VARIABLE,
        KEY_VARIABLES,
        PORT_VARIABLE,
    )

    send = cli("event", "send", "--help").stdout
    url = option_help(send, "--url")
    named = [f"${name}" for name in ADDRESS_VARIABLES]  # in the order they win
    assert [url.index(name) for name in named] == sorted(url.index(n) for n in named), url
    assert f"${PORT_VARIABLE}" in url
    assert "config file" in url
    assert all(f"${name}" in option_help(send, "--api-key") for name in KEY_VARIABLES)
    assert f"${HOSTNAME_VARIABLE}" in option_help(send, "--hostname")
    assert f"${CONFIG_ENV}" in option_help(send, "--config")
    assert f"${CONFIG_ENV}" in option_help(cli("--help").stdout, "--config")


def test_a_group_that_runs_too_has_one_help() -> None:
    """`receiver --help` shows the group's help and epilog; its command's must say the same,
    or one of them would never be shown."""
    from stac_events.cli.commands import COMMANDS_BY_PATH, GROUPS

    both = [(g, COMMANDS_BY_PATH[g.path]) for g in GROUPS if g.path in COMMANDS_BY_PATH]
    assert both  # `receiver`
    for group, command in both:
        assert (group.help, group.epilog) == (command.help, command.epilog), group.path


EXIT_CODES = [0, 1, 2, 3, 4, 5, 75, 124, 130, 141, 143]


@pytest.mark.parametrize("args", [[], ["event", "send"]], ids=["root", "event send"])
def test_help_lists_the_exit_codes(cli: Cli, args: List[str]) -> None:
    from stac_events.status import ExitStatus

    shown = cli(*args, "--help").stdout
    listed = [
        int(code) for code in re.findall(r"^ +(\d+)  \S", shown.split("Exit codes:")[1], re.M)
    ]
    assert listed == EXIT_CODES
    assert {int(status) for status in ExitStatus} <= set(listed)


@pytest.mark.parametrize("prog", ["stac", "stac-events"])
@pytest.mark.parametrize(
    "args",
    [[], ["event", "send"], ["event", "wrap"], ["config", "init"], ["check"], ["receiver"],
     ["receiver", "events"]],
)  # fmt: skip
def test_help_speaks_of_the_program_as_it_was_typed(cli: Cli, prog: str, args: List[str]) -> None:
    shown = flat(cli(*args, "--help", prog=prog).stdout)
    # `stac event send` in backquotes is the old tool this one replaces
    commands = re.findall(
        r"(?<![`\w-])(stac(?:-events)?) (?:event|config|spool|check|receiver)\b", shown
    )
    assert set(commands) <= {prog}
    assert "Default: stac-events." in shown or "--source" not in shown  # a value, not a name


def test_help_examples_are_commands_for_the_program_typed(cli: Cli) -> None:
    shown = cli("event", "send", "--help", prog="stac").stdout
    example = 'stac event send DeployEvent --title "Deployed 1.4" --dry-run'
    assert example in [line.strip() for line in shown.splitlines()]
    assert "stac-events event" not in shown


def test_a_usage_hint_names_the_program_typed(cli: Cli) -> None:
    result = cli("event", "send", "E", "--frobnicate", prog="stac", expect=2)
    assert result.stderr.rstrip().endswith("see 'stac event send --help'")


# --help at 80 columns, as a terminal of that width shows it


def help_at(columns: int, run_script, *args: str) -> List[str]:
    shown = run_script("stac-events", *args, "--help", env={"COLUMNS": str(columns)})
    return shown.stdout.splitlines()


def example_lines(path: str) -> List[str]:
    """The example lines of the epilog its help shows (a group's, for a group that runs too),
    indented as `commands.examples` makes them."""
    from stac_events.cli.commands import COMMANDS_BY_PATH, GROUPS_BY_PATH
    from stac_events.cli.options import for_program

    shown = GROUPS_BY_PATH.get(path) or COMMANDS_BY_PATH[path]
    epilog = for_program(shown.epilog or "", "stac-events")
    found = [line.strip() for line in epilog.splitlines() if line.startswith("  ")]
    assert found, path
    return found


@pytest.mark.parametrize(
    ("args", "examples"),
    [
        ([], ['stac-events event send DeployEvent --title "Deployed 1.4" --dry-run']),
        (["event", "send"], ['stac-events event send DeployEvent --title "Deployed 1.4" --dry-run',
                             'stac-events event send DeployEvent --title "Deployed 1.4" \\',
                             "-i urn:service:/checkout -c Changes -d version=1.4",
                             "stac-events event send --file events.ndjson -s ci"]),
        (["event", "wrap"],
         ["stac-events event wrap -i urn:service:/checkout -- ./deploy.sh 1.4.2"]),
        (["receiver"], example_lines("receiver")),
        (["receiver", "events"], example_lines("receiver events")),
    ],
)  # fmt: skip
def test_examples_are_whole_lines_at_80_columns(
    run_script, args: List[str], examples: List[str]
) -> None:
    lines = help_at(80, run_script, *args)
    assert max(len(line) for line in lines) <= 80
    stripped = [line.strip() for line in lines]
    for example in examples:
        assert example in stripped


def test_paragraphs_reflow_at_80_columns(run_script) -> None:
    """A paragraph fills its lines: no line of it ends early for a break written in it."""
    lines = help_at(80, run_script, "event", "send")
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Flags that take"))
    paragraph = []
    for line in lines[start:]:
        if not line.strip():
            break
        paragraph.append(line.rstrip())
    assert " ".join(x.strip() for x in paragraph) == (
        "Flags that take several values (-i, -t, --links, -d) take them as `stac` did, up to "
        "the next option: -i a b, or repeated: -i a -i b. EVENT_TYPE goes before them."
    )
    for line, following in itertools.pairwise(paragraph):
        assert len(line) + 1 + len(following.split()[0]) > 79  # the next word did not fit


# Colors: FORCE_COLOR for CI logs, NO_COLOR above all


@pytest.mark.parametrize(
    ("environ", "isatty", "colored"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "true"}, False, True),
        ({"FORCE_COLOR": "3"}, False, True),
        ({"FORCE_COLOR": "0"}, False, False),
        ({"FORCE_COLOR": ""}, False, False),
        ({"FORCE_COLOR": "0"}, True, True),  # "0" forces nothing: a terminal still colors
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False, False),  # NO_COLOR wins
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ({"TERM": "dumb"}, True, False),
        ({"TERM": "dumb", "FORCE_COLOR": "1"}, False, True),  # asked for: given
    ],
)
def test_color_decision(environ: dict, isatty: bool, colored: bool, home: Path) -> None:
    from tests.conftest import isolated_environment

    env = isolated_environment(home, environ=environ)
    assert env.color_for(isatty) is colored


RED_ERROR = "\x1b[1;31mstac-events: error:\x1b[0m"


@pytest.mark.parametrize(
    ("environ", "colored"),
    [({"FORCE_COLOR": "1"}, True), ({}, False), ({"FORCE_COLOR": "0"}, False),
     ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False)],
)  # fmt: skip
def test_force_color_colors_messages_in_a_ci_log(cli: Cli, environ: dict, colored: bool) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", env=environ, expect=3)
    assert result.stderr.startswith(RED_ERROR) is colored
    assert ("\x1b[" in result.stderr) is colored


def test_force_color_leaves_a_piped_payload_as_the_exact_wire_bytes(cli: Cli) -> None:
    """FORCE_COLOR colors messages; the dry run's payload, piped, stays valid JSON for jq
    (SPEC section 6: piped, it prints the exact wire bytes)."""
    import json

    args = ("event", "send", "DeployEvent", "--title", "t", "--dry-run")
    result = cli(*args, env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in result.stdout
    assert json.loads(result.stdout)["events"]["DeployEvent"][0]["msg_title"] == "t"


def test_hints_in_messages_name_the_program_as_typed(cli: Cli) -> None:
    result = cli("spool", "drop", "zzz", prog="stac", expect=2)
    assert "see 'stac spool list'" in result.stderr
    assert "stac-events" not in result.stderr
    as_json = cli("spool", "drop", "zzz", "-o", "json", prog="stac", expect=2).json()
    assert as_json["error"]["hint"] == "see 'stac spool list'"


@pytest.mark.parametrize(
    "line",
    ["--install-completion -h", "--show-completion --help", "--show-completion bash -h",
     "-h --show-completion", "-h --install-completion", "-h event send"],
)  # fmt: skip
def test_help_wins_over_the_options_that_act_alone(cli: Cli, home: Path, line: str) -> None:
    """Asked for anywhere, help is all that happens: nothing is installed or printed
    instead, and a completion option given no shell is no usage error."""
    result = cli(*line.split())
    assert "Usage: stac-events [OPTIONS] COMMAND [ARGS]..." in result.stdout
    assert "complete -F" not in result.stdout
    assert result.stderr == ""
    assert not [p for p in home.rglob("*") if "completion" in str(p)]


@pytest.mark.parametrize(
    "after", [["--show-completion"], ["--config", "c.yaml"], ["--instance", "i", "--client", "c"]]
)
def test_the_version_wins_over_the_options_after_it(cli: Cli, after: List[str]) -> None:
    from stac_events import __version__

    assert cli("--version", *after).stdout == f"stac-events {__version__}\n"


def test_help_before_a_root_option_that_takes_a_value_is_help(cli: Cli) -> None:
    assert "Usage: stac-events [OPTIONS]" in cli("-h", "--config", "c.yaml").stdout


@pytest.mark.parametrize(
    "args",
    [["--insecure=no"], ["--dry-run=false"], ["--quiet=no"], ["--help=x"], ["--gzip=1"],
     ["-q=1"], ["-h="]],
)  # fmt: skip
def test_a_flag_given_a_value_is_a_usage_error(cli: Cli, args: List[str]) -> None:
    """`--insecure=no` turned the checks off: a flag given a value is refused, as argparse
    refuses it, rather than taken and its value dropped."""
    flag = args[0].split("=")[0]
    result = cli("event", "send", "DeployEvent", "--title", "t", *args, "--dry-run", expect=2)
    assert result.stderr == (
        f"stac-events: error: {flag}: takes no value; give {flag} alone; "
        "see 'stac-events event send --help'\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("variable", "value"),
    [("COLUMNS", "99999999999999999999"), ("COLUMNS", "100000"), ("COLUMNS", "0"),
     ("COLUMNS", "1"), ("COLUMNS", "abc"), ("TERMINAL_WIDTH", "abc"),
     ("TERMINAL_WIDTH", "-5"), ("TERMINAL_WIDTH", "99999999999999999999")],
)  # fmt: skip
def test_help_at_any_terminal_width_a_variable_claims(
    run_script, variable: str, value: str
) -> None:
    """A width too large for memory, none, or one too narrow to hold a letter: help is
    drawn between 40 and 1000 columns, whatever COLUMNS or TERMINAL_WIDTH say."""
    result = run_script("stac-events", "event", "send", "--help", env={variable: value})
    lines = result.stdout.splitlines()
    assert "Usage: stac-events event send" in result.stdout
    assert "Send one event" in result.stdout
    assert 40 <= max(len(line) for line in lines) <= 1000
    assert result.stderr == ""


def test_a_wrapped_command_keeps_the_width_it_was_given(run_script) -> None:
    """Only Rich's drawing is kept within bounds: the command sees COLUMNS as it was set."""
    result = run_script("stac-events", "event", "wrap", "--dry-run", "-q", "--", "sh", "-c",
                        'printf "%s" "$COLUMNS"', env={"COLUMNS": "100000"})  # fmt: skip
    assert result.stdout.startswith("100000")
