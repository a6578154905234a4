"""Config files whose values YAML cannot make, and `config init --api-key -` with a stdin
that holds no key: a configuration or usage error naming what is wrong, never exit 1,
never a traceback, never the key.

The config files are real files in a temporary home, read by real command lines against
a real local receiver (pytest-httpserver); the stdin faults are real descriptors of real
processes: closed (`<&-`), /dev/null, an endless pipe from `yes`, bytes that are no UTF-8.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from stac_events.status import ExitStatus
from tests.conftest import API_KEY, Cli, Result, env_for, no_secret
from tests.processes import STAC_EVENTS, Either, Processes

URL = "https://sts.example.com/receiver"
FILE_KEY = "FILE-secret-key-0123"  # the key a config file holds
DOCUMENTED = {int(status) for status in ExitStatus} - {ExitStatus.INTERNAL_ERROR}
ANY_DOCUMENTED = Either(*sorted(DOCUMENTED), because="a generated config: any documented answer")

# Values PyYAML's safe constructors fail on with ValueError, KeyError, TypeError... (not
# YAMLError), or reject as YAML; each with the part of it that must not be echoed when it
# sits where a key does.
UNMAKEABLE = {
    "a timestamp with no such day": ("2024-02-30T10:00:00Z", "2024-02-30"),
    "a date with no such day": ("2001-02-30", "2001-02-30"),
    "a hex number with no digits": ("0x_", "0x_"),
    "an !!int that is no number": (f'!!int "{FILE_KEY}"', FILE_KEY),
    "a !!bool that is neither": (f'!!bool "{FILE_KEY}"', FILE_KEY),
    "a !!timestamp that is no date": (f'!!timestamp "{FILE_KEY}"', FILE_KEY),
    "a !!float that is no number": (f'!!float "{FILE_KEY}"', FILE_KEY),
    "!!binary that is no base64": ('!!binary "a"', None),
    "!!set of a scalar": ("!!set", None),
    "an unknown tag": (f"!!python/object:os.system {FILE_KEY}", FILE_KEY),
    "a 5,000-digit number": ("9" * 5000, "9" * 50),
}
# Values that PyYAML makes, but of no kind a key or an address can be.
NO_TEXT = {
    "nan": (".nan", ".nan"),
    "inf": (".inf", ".inf"),
    "!!binary of nothing": ('!!binary "@@"', "@@"),
    "a NaN of its own": ("!!float nan", "!!float nan"),  # not the one NaN PyYAML shares
}

# The key sits on line 7: what the error names.
WITH_KEY = """\
instances:
  default:
    receiver_api:
      url: {url}
    clients:
      default:
        api_key: {value}
"""
# The value sits in `base_api`, a section of the stac CLI's that stac-events never reads,
# on line 7 (in a list, so that the keys lead through an index).
IGNORED = """\
instances:
  default:
    base_api:
      url: http://localhost:7070/api
      since:
        - 1
        - {value}
    receiver_api:
      url: {url}
    clients:
      default:
        api_key: FILE-secret-key-0123
"""

COMMANDS = {
    "event send": ["event", "send", "DeployEvent", "--title", "t", "--retries", "0"],
    "event send --dry-run": ["event", "send", "DeployEvent", "--title", "t", "--dry-run"],
    "config show": ["config", "show"],
    "config path": ["config", "path"],
    "check": ["check"],
    "config init": ["config", "init", "--url", URL, "--api-key", API_KEY],
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def sound(result: Result, *secrets: str) -> None:
    """The answer is a documented status in plain words, with no key in it."""
    assert result.status in DOCUMENTED, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    assert "Error:" not in result.output  # an exception's name shown as is
    assert no_secret(result, [API_KEY, FILE_KEY, *secrets]), result.output


def in_place(home: Path, where: str, text: str) -> Tuple[Path, List[str], Dict[str, str]]:
    """Put a config file with `text` where `where` says; the file, and the flags and
    variables that make it the one read."""
    if where == "--config":
        path = write(home / "work" / "conf.yaml", text)
        return path, ["--config", str(path)], {}
    if where == "$STAC_EVENTS_CONFIG":
        path = write(home / "work" / "conf.yaml", text)
        return path, [], {"STAC_EVENTS_CONFIG": str(path)}
    if where == "user config dir":
        return write(home / ".config" / "stac-events" / "conf.yaml", text), [], {}
    return write(home / ".stackstate" / "cli" / "conf.yaml", text), [], {}


# A value YAML cannot make: a configuration error at its line, wherever it sits.


@pytest.mark.parametrize(
    ("template", "keys"),
    [(WITH_KEY, "instances.default.clients.default.api_key"),
     (IGNORED, "instances.default.base_api.since.1")],  # a section stac-events never reads
    ids=["the key", "an ignored section"],
)  # fmt: skip
@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(("value", "hidden"), UNMAKEABLE.values(), ids=list(UNMAKEABLE))
def test_a_value_yaml_cannot_make_is_a_config_error_at_its_line(
    cli: Cli, home: Path, receiver: HTTPServer, command: str, value: str, hidden: Optional[str],
    template: str, keys: str,
) -> None:  # fmt: skip
    text = template.format(url=receiver.url_for("/receiver"), value=value)
    path = write(home / "conf.yaml", text)
    expect = 0 if command == "config path" else 3
    result = cli("--config", str(path), *COMMANDS[command], expect=expect)
    sound(result, *([hidden] if hidden else []))
    if expect == 3:
        assert f"error: {path}:7: {keys}: " in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert path.read_text(encoding="utf-8") == text  # `config init` did not touch it
    assert not receiver.log  # nothing was sent with a file that does not load


@pytest.mark.parametrize("where", ["--config", "$STAC_EVENTS_CONFIG", "user config dir",
                                   "stac CLI"])  # fmt: skip
@pytest.mark.parametrize(("value", "hidden"), UNMAKEABLE.values(), ids=list(UNMAKEABLE))
def test_every_config_file_read_answers_alike(
    cli: Cli, home: Path, where: str, value: str, hidden: Optional[str]
) -> None:
    path, flags, env = in_place(home, where, WITH_KEY.format(url=URL, value=value))
    for command in ("config show", "event send --dry-run"):
        result = cli(*flags, *COMMANDS[command], env=env, expect=3)
        sound(result, *([hidden] if hidden else []))
        assert f"error: {path}:7: instances.default.clients.default.api_key: " in result.stderr


def test_the_reason_says_what_yaml_took_the_value_for(cli: Cli, home: Path) -> None:
    cases = {
        "2001-02-30": "YAML takes this value for a date, and it is not one; quote it if it is text",
        "0x_": "YAML takes this value for a whole number, and it is not one",
        '!!bool "maybe"': "the value tagged !!bool is not true or false",
        "9" * 5000: "a number of more than 4,300 characters, too long to read",
    }
    for value, reason in cases.items():
        path = write(home / "conf.yaml", WITH_KEY.format(url=URL, value=value))
        result = cli("--config", str(path), "config", "show", expect=3)
        assert reason in result.stderr


def test_a_number_that_takes_a_minute_to_compute_is_refused_at_once(cli: Cli, home: Path) -> None:
    # YAML 1.1 reads `1:1:1:...` as a number in base 60; PyYAML computes it in time that
    # grows as the square of its length: a minute for a file just under the size bound.
    bomb = ":".join(["1"] * 500_000)
    text = IGNORED.format(url=URL, value=bomb)
    path = write(home / "conf.yaml", text)
    result = cli("--config", str(path), "config", "show", expect=3)
    assert result.stderr == (
        f"stac-events: error: {path}:7: instances.default.base_api.since.1: "
        "a number of more than 4,300 characters, too long to read\n"
    )


def test_a_key_that_is_no_text_is_a_config_error_without_the_value(
    cli: Cli, home: Path, receiver: HTTPServer
) -> None:
    for value, hidden in NO_TEXT.values():
        text = WITH_KEY.format(url=receiver.url_for("/receiver"), value=value)
        path = write(home / "conf.yaml", text)
        for command in COMMANDS:
            result = cli("--config", str(path), *COMMANDS[command],
                         expect=0 if command == "config path" else 3)  # fmt: skip
            sound(result, hidden)
        assert path.read_text(encoding="utf-8") == text
    assert not receiver.log


@pytest.mark.parametrize(("value", "hidden"), NO_TEXT.values(), ids=list(NO_TEXT))
def test_a_value_that_is_no_text_is_ignored_where_it_is_never_read(
    cli: Cli, home: Path, receiver: HTTPServer, value: str, hidden: str
) -> None:
    text = IGNORED.format(url=receiver.url_for("/receiver"), value=value)
    path = write(home / "conf.yaml", text)
    for command in COMMANDS:
        if command != "config init":
            sound(cli("--config", str(path), *COMMANDS[command]))
    assert len(receiver.log) == 2  # `event send` and `check`
    result = cli("--config", str(path), *COMMANDS["config init"])
    sound(result)
    before, after = yaml.safe_load(text), yaml.safe_load(path.read_text(encoding="utf-8"))
    assert repr(after["instances"]["default"]["base_api"]) == repr(
        before["instances"]["default"]["base_api"]
    )  # kept as it was (repr: a NaN is not equal to itself)
    assert cli("--config", str(path), "config", "show", "-o", "json").json()["api_key"] == {
        "value": "***",
        "origin": f"{path}:12",
    }


# `config init` rewrites through ruamel.yaml, which reads some values otherwise.


@pytest.mark.parametrize(
    "value",
    ["+_", "!!float 1:6", "!!int 1:6", "3E560", "._4"],
    ids=["a sign alone", "a sexagesimal !!float", "a sexagesimal !!int", "a float too big",
         "a dot and an underscore"],
)  # fmt: skip
def test_init_refuses_a_file_ruamel_would_not_write_back_and_leaves_it(
    cli: Cli, home: Path, value: str
) -> None:
    text = IGNORED.format(url=URL, value=value)
    path = write(home / "conf.yaml", text)
    assert cli("--config", str(path), "config", "show").status == 0  # stac-events reads it
    result = cli("--config", str(path), *COMMANDS["config init"], expect=3)
    sound(result)
    assert f"error: {path}:7: " in result.stderr
    assert "nothing was written" in result.stderr or "cannot be rewritten" in result.stderr
    assert path.read_text(encoding="utf-8") == text


def test_init_rewrites_a_file_holding_nan_in_another_instance(cli: Cli, home: Path) -> None:
    text = (
        "instances:\n"
        "  other:\n"
        "    base_api: {timeout: !!float nan, limits: [.inf, -.inf, .NaN]}\n"
        "    receiver_api: {url: https://other.example.com/receiver}\n"
    )
    path = write(home / "conf.yaml", text)
    result = cli("--config", str(path), *COMMANDS["config init"])
    sound(result)
    after = yaml.safe_load(path.read_text(encoding="utf-8"))["instances"]
    assert repr(after["other"]) == repr(yaml.safe_load(text)["instances"]["other"])
    shown = cli("--config", str(path), "config", "show", "-o", "json").json()
    assert shown["address"]["value"] == URL + "/stsAgent/intake"


# The same, as real processes.


@pytest.mark.parametrize(("value", "hidden"), UNMAKEABLE.values(), ids=list(UNMAKEABLE))
def test_a_real_process_answers_a_broken_value_with_exit_3(
    run_script: Any, home: Path, value: str, hidden: Optional[str]
) -> None:
    path = write(home / ".config" / "stac-events" / "conf.yaml",
                 WITH_KEY.format(url=URL, value=value))  # fmt: skip
    result = run_script("stac-events", "event", "send", "DeployEvent", "--title", "t",
                        "--dry-run", expect=3)  # fmt: skip
    sound(result, *([hidden] if hidden else []))
    assert f"{path}:7: instances.default.clients.default.api_key: " in result.stderr


# Any YAML-ish text: a documented answer, never a traceback, never a key.

KEYS = st.sampled_from([
    "instances", "default", "prod", "receiver_api", "url", "clients", "api_key", "apikey",
    "basic_auth", "username", "password", "base_api", "admin_api", "ci_context", "hostname",
    "internal_hostname", "<<", "2001-02-30", "0x_", "!!int x", ".nan", "&k key", "? [a]",
    "9" * 5000, "!!binary a", "yes", "~", "5",
])  # fmt: skip
ODD_SCALARS = st.sampled_from([
    "2024-02-30T10:00:00Z", "2001-02-30", "2001-13-01", "0x_", "0x", "0b2", "0o9", "+_", "-_",
    "._", "._4", "3E560", "1:60", "!!float 1:6", "!!int 1:6", "9" * 5000, "-" + "9" * 5000,
    '!!int "x"', '!!bool "maybe"', '!!timestamp "x"', '!!float "x"', '!!binary "@@"',
    '!!binary "a"', "!!binary é", "!!set", "!!set {a, b}", "!!omap [a]", "!!pairs 5",
    "!!map x", "!!seq x", "!!null x", "!!str 5", "!!merge x", "!!value x", "!!yaml x",
    "!!python/object:os.system", "!!python/name:os.system", "!<tag:x> y", "!foo x", ".nan",
    ".inf", "-.inf", ".NaN", "~", "null", "yes", "off", "0123", "'q'", '"\\ud800"',
    '"\\x41"', "&a x", "*a", "&b [1, *a]", "{<<: *a}", "[1, {a: b}]", "{a: 1}", "{? [a]: 1}",
    "|", ">-", "%", "@x", "`x`", "http://localhost:1/receiver", "é", "\u2028",
])  # fmt: skip
TAGS = st.sampled_from(["!!int", "!!float", "!!bool", "!!timestamp", "!!binary", "!!str", "!!null",
                        "!!set", "!!omap", "!!pairs", "!!map", "!!seq", "!x", "!!x"])  # fmt: skip
LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029"),
    max_size=12,
)
SCALARS = st.one_of(
    ODD_SCALARS,
    st.builds("{} {}".format, TAGS, st.one_of(ODD_SCALARS, LINE_TEXT)),
    st.builds('{} "{}"'.format, TAGS, st.just(FILE_KEY)),
    st.just(FILE_KEY),
    LINE_TEXT,
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(st.tuples(KEYS, children), min_size=1, max_size=4),  # a mapping
        st.lists(children, min_size=1, max_size=3).map(tuple),  # a sequence
    ),
    max_leaves=12,
)


def rendered(tree: Any, indent: int = 0) -> str:
    """A tree of keys and values as block YAML (a scalar is written as it is drawn)."""
    pad = " " * indent
    if isinstance(tree, str):
        return " " + tree + "\n"
    if isinstance(tree, tuple):
        return "\n" + "".join(f"{pad}-{rendered(item, indent + 2)}" for item in tree)
    return "\n" + "".join(f"{pad}{key}:{rendered(value, indent + 2)}" for key, value in tree)


SKELETON = (
    "instances:\n  {instance}:\n    receiver_api:\n      url: {url}\n"
    "      basic_auth: {{username: u, password: {password}}}\n"
    "    clients:\n      default:\n        api_key: {key}\n    base_api:{extra}"
)
CONFIG_TEXTS = st.one_of(
    st.builds(
        SKELETON.format,
        instance=st.sampled_from(["default", "'x y'", "5", "2001-02-30", "&i default"]),
        url=st.one_of(st.just("http://localhost:1/receiver"), SCALARS),
        password=st.one_of(st.just(FILE_KEY), SCALARS),
        key=st.one_of(st.just(FILE_KEY), SCALARS),
        extra=TREES.map(rendered),
    ),
    TREES.map(lambda tree: rendered(tree).lstrip("\n")),
    st.builds("instances:\n  default:{}".format, TREES.map(lambda t: rendered(t, 4))),
    st.text(max_size=60),
)
EXAMPLES = int(os.environ.get("STAC_EVENTS_FUZZ_EXAMPLES", "80"))


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=CONFIG_TEXTS,
    where=st.sampled_from(["--config", "$STAC_EVENTS_CONFIG", "user config dir", "stac CLI"]),
)
def test_any_config_text_gets_a_documented_answer_and_never_a_key(
    own_server: HTTPServer, isolated_environ: Dict[str, str], text: str, where: str
) -> None:
    own_server.clear()
    own_server.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
    home = Path(tempfile.mkdtemp(dir=isolated_environ["HOME"]))
    cli = Cli(home=home, environ={**isolated_environ, "HOME": str(home),
                                  "XDG_CONFIG_HOME": str(home / ".config")})  # fmt: skip
    path, flags, env = in_place(home, where, "")
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    written = path.read_bytes()
    env = {**env, **env_for(own_server)}  # the key from the environment: masked too
    for command in COMMANDS:
        result = cli(*flags, *COMMANDS[command], env=env, expect=ANY_DOCUMENTED)
        sound(result)
        if command == "config init" and result.status != 0:
            assert path.read_bytes() == written  # refused: left as it was
    # The key from the file, when it holds one: masked as well.
    key_from_file = {name: value for name, value in env.items() if name != "STAC_EVENTS_API_KEY"}
    result = cli(*flags, *COMMANDS["event send"], env=key_from_file, expect=ANY_DOCUMENTED)
    sound(result)


# `config init --api-key -` with a stdin that holds no key, as real processes.


def real(
    processes: Processes,
    *args: str,
    stdin: Any = None,
    shell_redirect: str = "",
    env: Optional[Dict[str, str]] = None,
    expect: int = 0,
) -> Result:
    """Run `stac-events` as a real process with the stdin given (a descriptor, a pipe or
    a redirection for bash to make, such as `<&-`)."""
    if shell_redirect:
        return processes.shell(f'exec "$@" {shell_redirect}', STAC_EVENTS, *args, stdin=stdin,
                               env=env, expect=expect)  # fmt: skip
    return processes.cli(*args, stdin=stdin, env=env, expect=expect)


INIT_FROM_STDIN = ["config", "init", "--url", URL, "--api-key", "-"]


def conf_of(home: Path) -> Path:
    return home / ".config" / "stac-events" / "conf.yaml"


def test_init_with_stdin_closed_says_so(processes: Processes, home: Path) -> None:
    result = real(processes, *INIT_FROM_STDIN, shell_redirect="<&-", expect=2)
    assert result.stderr == (
        "stac-events: error: --api-key: - reads the key from stdin, and stdin is closed; "
        "e.g. --api-key - < key.txt, or set $STAC_EVENTS_API_KEY\n"
    )
    assert not conf_of(home).exists()


def test_init_with_stdin_at_dev_null_says_it_held_none(processes: Processes, home: Path) -> None:
    result = real(processes, *INIT_FROM_STDIN, stdin=subprocess.DEVNULL, expect=2)
    assert "--api-key: - reads the key from stdin, and stdin held none" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not conf_of(home).exists()


def test_init_with_an_endless_stdin_reads_a_few_kib_and_refuses(
    processes: Processes, home: Path
) -> None:
    # Its output is a pipe for the command to read, not one the helper reads.
    endless = subprocess.Popen(["yes", API_KEY], stdout=subprocess.PIPE)
    try:
        result = real(processes, *INIT_FROM_STDIN, stdin=endless.stdout, expect=2)
    finally:
        endless.kill()
        endless.wait(timeout=30)
    assert "stdin held more than 4 KiB: too much for a key" in result.stderr
    assert no_secret(result)
    assert not conf_of(home).exists()


@pytest.mark.parametrize(
    ("encoding", "status", "message"),
    [
        ("utf-8:strict", 2, "--api-key: - reads the key from stdin, and stdin is not UTF-8 text"),
        ("", 3, "the API key from stdin (--api-key -) holds characters an HTTP header cannot"),
    ],
    ids=["strict decoding", "the C locale's surrogateescape"],
)
def test_init_with_bytes_that_are_no_utf8_on_stdin(
    processes: Processes, home: Path, encoding: str, status: int, message: str
) -> None:
    key = API_KEY.encode() + b"\xff\xfe"
    with tempfile.TemporaryFile() as stdin:
        stdin.write(key + b"\n")
        stdin.seek(0)
        env = {"PYTHONIOENCODING": encoding} if encoding else {"LC_ALL": "C"}
        result = real(processes, *INIT_FROM_STDIN, stdin=stdin, env=env, expect=status)
    assert message in result.stderr
    assert no_secret(result)
    assert not conf_of(home).exists()


@pytest.mark.parametrize(
    ("stdin", "problem"),
    [
        (f"{API_KEY}\nsecond-line\n", "stdin held more than one line; give the key alone"),
        ("k" * 5000, "stdin held more than 4 KiB: too much for a key"),
    ],
    ids=["two lines", "one long line"],
)
def test_init_refuses_a_stdin_that_is_not_a_key_alone(
    cli: Cli, home: Path, stdin: str, problem: str
) -> None:
    result = cli("config", "init", "--url", URL, "--api-key", "-", stdin=stdin, expect=2)
    assert f"--api-key: - reads the key from stdin, and {problem}" in result.stderr
    assert no_secret(result, [API_KEY, "k" * 100])
    assert not conf_of(home).exists()


def test_init_takes_a_key_of_a_few_kib_from_a_pipe(processes: Processes, home: Path) -> None:
    key = "K" * 4000  # a long token still fits
    with tempfile.TemporaryFile() as stdin:
        stdin.write(key.encode() + b"\r\n")
        stdin.seek(0)
        result = real(processes, *INIT_FROM_STDIN, stdin=stdin)
    assert key not in result.output
    assert f'api_key: "{key}"' in conf_of(home).read_text()
