"""The command line as read before Typer: argparse's rule for several values, as a table
and as properties over any argv."""

from __future__ import annotations

from typing import List, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stac_events.cli.argv import UnusableLine, looks_like_option, read
from stac_events.cli.commands import COMMANDS, COMMANDS_BY_PATH, GROUPS, shapes

SHAPES = shapes()


def args_of(*argv: str) -> List[str]:
    """The line for Typer, then `--` and the command that `event wrap` runs (Typer never
    sees that one)."""
    line = read(argv, SHAPES)
    return [*line.args, *(["--", *line.command] if line.command else [])]


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        # stac's own form and the repeated form give the same line
        ("event send E -i a b", "event send E -i a -i b"),
        ("event send E -i a -i b", "event send E -i a -i b"),
        ("event send E -i a b -t x y --dry-run", "event send E -i a -i b -t x -t y --dry-run"),
        # values run to the next option: a late EVENT_TYPE is a value, not guessed back
        ("event send --title t -i a b E", "event send --title t -i a -i b -i E"),
        ("event send --title t -t env:prod web", "event send --title t -t env:prod -t web"),
        # ... or to `--`, after which everything is positional
        ("event send -i a -- E", "event send -i a -- E"),
        # an attached value is the flag's only one (argparse: `--links=A B` leaves B alone)
        ("event send E '--links=A: x' 'B: y'", "event send E --links 'A: x' 'B: y'"),
        ("event send E -iA B", "event send E -i A B"),
        ("event send E -i=A B", "event send E -i A B"),
        ("event send E -c=changes", "event send E -c changes"),
        # short options together, as argparse and Click read them
        ("event send E -qi a b", "event send E -q -i a -i b"),
        ("event send E -qo json", "event send E -q -o json"),
        ("event send E -qojson", "event send E -q -o json"),
        ("event wrap -qi a -- make", "event wrap -q -i a -- make"),
        ("event wrap -qi urn:a -- echo hi", "event wrap -q -i urn:a -- echo hi"),
        # `-` and negative numbers are values, as argparse says
        ("event send E -i a - -5 -0.5 b", "event send E -i a -i - -i -5 -i -0.5 -i b"),
        # a single-value flag takes one value; words with a space are values, as argparse says
        ("event send E --title '-x y' -m -", "event send E --title '-x y' -m -"),
        # the configuration options, before the command and after it
        ("--config c.yaml --instance i event send E -i a b --client c",
         "--config c.yaml --instance i event send E -i a -i b --client c"),
        ("--config=c.yaml event send E -i a b", "--config c.yaml event send E -i a -i b"),
        ("--config=c.yaml event", "--config c.yaml event --help"),
        # event wrap: from CMD on, everything is CMD's
        ("event wrap --on failure make -j4", "event wrap --on failure -- make -j4"),
        ("event wrap -i a b make", "event wrap -i a -i b -i make"),  # `--` marks CMD there
        ("event wrap -i a -- make -j4 -i x", "event wrap -i a -- make -j4 -i x"),
        ("event wrap --tail-lines 5 sh -c 'exit 3'", "event wrap --tail-lines 5 -- sh -c 'exit 3'"),
        # bare groups show their help; a bare command runs, and says what it lacks
        ("", "--help"),
        ("event", "event --help"),
        ("event send", "event send"),
        ("--config c.yaml", "--config c.yaml --help"),
        # a command that runs with nothing runs
        ("config path", "config path"),
        ("spool list", "spool list"),
        # the root's completion options take a shell, or detect it
        ("--show-completion", "--show-completion auto"),
        ("--show-completion zsh", "--show-completion zsh"),
        ("--show-completion=zsh", "--show-completion zsh"),
        ("--show-completion tcsh", "--show-completion tcsh"),  # refused by the command itself
        ("--show-completion event", "--show-completion auto event"),
        ("--install-completion --help", "--help"),  # help, and nothing installed
        # what the rules do not know is left for Typer to refuse
        ("evnt send -i a b", "evnt send -i a b"),
        ("event send E --frobnicate a b", "event send E --frobnicate a b"),
        # a group that is a command too runs bare, or with its options read as a command's
        ("receiver", "receiver"),
        ("receiver --port 0 -q --db x.db", "receiver --port 0 -q --db x.db"),
        ("receiver -q --port=0 --max-age=1d", "receiver -q --port 0 --max-age 1d"),
        ("--config c.yaml receiver", "--config c.yaml receiver"),
        ("receiver --db events", "receiver --db events"),  # a value, as argparse says
        ("receiver bogus", "receiver bogus"),  # Typer: no such command
        ("receiver events", "receiver events"),
        ("receiver events -o=ndjson --identifier a", "receiver events -o ndjson --identifier a"),
        ("receiver events --identifier a b", "receiver events --identifier a b"),  # one value
    ],
)  # fmt: skip
def test_read(typed: str, parsed: str) -> None:
    import shlex

    assert args_of(*shlex.split(typed)) == shlex.split(parsed)


@pytest.mark.parametrize(
    ("typed", "path", "positionals", "bare"),
    [
        ("event send E --title t", ("event", "send"), ("E",), False),
        ("--config x event send --title t -i a b", ("event", "send"), (), False),
        ("event send -i a -- E F", ("event", "send"), ("E", "F"), False),
        ("event wrap -i a make", ("event", "wrap"), (), False),
        ("check", ("check",), (), False),
        ("event", ("event",), (), True),
        ("receiver", ("receiver",), (), False),
        ("receiver --port 0", ("receiver",), (), False),
        ("receiver bogus", ("receiver",), ("bogus",), False),
        ("receiver events", ("receiver", "events"), (), False),
        ("receiver events --db x", ("receiver", "events"), (), False),
        ("receiver --help events", ("receiver",), ("events",), False),  # the group's help
    ],
)
def test_path_and_positionals(
    typed: str, path: Tuple[str, ...], positionals: Tuple[str, ...], bare: bool
) -> None:
    line = read(typed.split(), SHAPES)
    assert (line.path, line.positionals, line.bare) == (path, positionals, bare)


@pytest.mark.parametrize(
    ("typed", "flag"),
    [
        ("event send E -i --dry-run", "-i"),
        ("event send E -t -- x", "-t"),
        ("event send E -d -q", "-d"),
        ("event send E -qi", "-i"),
        ("event send E --title --dry-run", "--title"),
        ("event send E --title", "--title"),
        ("--config --instance x event send E", "--config"),
    ],
)
def test_a_flag_that_takes_a_value_needs_one(typed: str, flag: str) -> None:
    """argparse refuses an option where a value should be: a dry run must never be sent
    because `--title --dry-run` made `--dry-run` the title."""
    with pytest.raises(UnusableLine, match=r"expected (at least one value|a value)") as raised:
        read(typed.split(), SHAPES)
    assert raised.value.flag == flag
    assert raised.value.path == (() if typed.startswith("--config") else ("event", "send"))


@pytest.mark.parametrize("path", [c.path for c in COMMANDS] + [g.path for g in GROUPS])
def test_alone_each_command_runs_and_each_group_shows_its_help(path: str) -> None:
    """Only a group that is not a command too turns a line that ends at its name into
    `--help`; a command that needs an argument runs, and says which it lacks."""
    command = COMMANDS_BY_PATH.get(path)
    line = read(path.split(), SHAPES)
    assert line.path == tuple(path.split())
    assert line.bare is (command is None)


@pytest.mark.parametrize(
    ("typed", "flag"),
    [
        ("receiver --port 1 events", "--port"),
        ("receiver -q events --db x", "-q"),
        ("receiver --db=x.db events", "--db"),
        ("receiver --host h -q -- events", "--host"),
    ],
)
def test_a_groups_own_options_before_a_subcommand_are_refused(typed: str, flag: str) -> None:
    """`receiver --db x events` would read another database than --db says: refused, not
    dropped."""
    with pytest.raises(UnusableLine, match=r"only for 'receiver' run alone") as raised:
        read(typed.split(), SHAPES)
    assert (raised.value.flag, raised.value.path) == (flag, ("receiver",))


@pytest.mark.parametrize(
    ("typed", "fixed"),
    [
        ("event send --title t -i a b DeployEvent", "event send DeployEvent --title t -i a b"),
        ("event send --title t -i a", "event send EVENT_TYPE --title t -i a"),
        ("event send --title t -i a b", "event send EVENT_TYPE --title t -i a b"),
        ("--instance x event send -t a AEvent", "--instance x event send AEvent -t a"),
        ("event send -t a BEvent -i c d", "event send BEvent -t a -i c d"),
        ("event send --title t", "event send EVENT_TYPE --title t"),
    ],
)
def test_the_line_with_its_first_argument(typed: str, fixed: str) -> None:
    line = read(typed.split(), SHAPES)
    assert line.with_first_argument("EVENT_TYPE", looks_right="Event") == fixed.split()


# Properties, over lines made of the flags that matter and arbitrary words, against a
# model of argparse's rule written out plainly.

MULTI = ("-i", "-t", "--links", "-d")
VALUE = st.text(alphabet="abxy:/.-_=5", min_size=1, max_size=5)
TOKEN = st.one_of(VALUE, st.sampled_from([*MULTI, "--title", "--dry-run", "-q", "--", "-"]))


def model(tokens: List[str]) -> List[str]:
    """argparse's nargs='+', spelled out for Typer: each value after its own flag."""
    out: List[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            return out + tokens[i:]
        if token in (*MULTI, "--title"):
            j = i + 1
            limit = len(tokens) if token in MULTI else min(len(tokens), i + 2)
            while j < limit and tokens[j] != "--" and not looks_like_option(tokens[j]):
                out += [token, tokens[j]]
                j += 1
            if j == i + 1:
                raise UnusableLine("no value", token, ("event", "send"))
            i = j
        else:
            out.append(token)
            i += 1
    return out


@given(st.lists(TOKEN, min_size=1, max_size=14))
def test_spreading_follows_argparse(tokens: List[str]) -> None:
    try:
        expected = model(tokens)
    except UnusableLine as error:
        refused = error
    else:
        assert list(read(["event", "send", *tokens], SHAPES).args) == ["event", "send", *expected]
        return
    with pytest.raises(UnusableLine) as raised:
        read(["event", "send", *tokens], SHAPES)
    assert raised.value.flag == refused.flag


@given(st.lists(TOKEN, min_size=1, max_size=14))
def test_reading_is_idempotent(tokens: List[str]) -> None:
    try:
        once = read(["event", "send", *tokens], SHAPES)
    except UnusableLine:
        return
    assert read(once.args, SHAPES).args == once.args


@given(st.lists(VALUE, min_size=1, max_size=6), st.lists(VALUE, max_size=4))
def test_stac_form_equals_repeated_form(values: List[str], after: List[str]) -> None:
    values = [v for v in values if not looks_like_option(v)] or ["a"]
    stac_form = read(["event", "send", "E", "-i", *values, "--dry-run", *after], SHAPES)
    repeated = [t for v in values for t in ("-i", v)]
    assert stac_form.args == ("event", "send", "E", *repeated, "--dry-run", *after)


@given(st.lists(TOKEN, max_size=10), st.lists(st.text(min_size=1, max_size=4), max_size=5))
def test_a_wrapped_command_is_passed_on_untouched(ours: List[str], theirs: List[str]) -> None:
    try:
        line = read(["event", "wrap", *ours, "--", *theirs], SHAPES)
    except UnusableLine:
        return
    assert list(line.command[len(line.command) - len(theirs) :]) == theirs
