"""Whatever a user types, the answer is a documented exit status, never a traceback, never
the key: generated command lines, environments, config files and `--file` inputs, run
in-process against a real local receiver.

The suite runs a few dozen examples; `make fuzz` runs the same test with many more
(`STAC_EVENTS_FUZZ_EXAMPLES`, 20,000 there).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from stac_events.cli.commands import COMMANDS_BY_PATH
from stac_events.cli.options import FLAG, MANY
from stac_events.status import ExitStatus
from tests.conftest import Cli
from tests.processes import Either

pytestmark = pytest.mark.slow  # many generated command lines and inputs

EXAMPLES = int(os.environ.get("STAC_EVENTS_FUZZ_EXAMPLES", "60"))
SECRET = "FUZZ-secret-key-0123"
DOCUMENTED = {int(status) for status in ExitStatus} - {ExitStatus.INTERNAL_ERROR}
# A generated input may be fine or wrong in any documented way: what must never come is an
# internal error (exit 1), a traceback or the key.
ANY_DOCUMENTED = Either(*sorted(DOCUMENTED), because="a generated input: any documented answer")
# Every command but `event wrap`, which runs a command, and `receiver`, which serves until
# it is stopped (its failures to start are tests/test_receiver.py's); `event send` four
# times as often: it is where most input goes.
COMMANDS = [path.split() for path in COMMANDS_BY_PATH if path not in ("event wrap", "receiver")]
COMMANDS += [["event", "send"]] * 3
# `receiver events` reads, and with --clear writes, the database its --db names: relative
# to the run's folder, a temporary home, its values must stay in it (a stray word can take
# the place of one).
LOCAL_DB = ["receiver", "events"]

# Values a user might type: words, numbers, dates, paths, JSON, URLs, odd text.
ODD_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)
VALUES = st.one_of(
    st.sampled_from(["", "-", "--", "@", "@missing.txt", "DeployEvent", "Changes", "changes",
                     "urn:service:/checkout", "k=v", "k=", "=v", '{"a": 1}', "[1, 2]", '{"a": NaN}',
                     "0", "-1", "1e999", "inf", "nan", "3", "0.001", "86401", "99999999999",
                     "1700000000", "1700000000000", "2024-05-01T12:00:00Z", "0001-01-01",
                     "9999-12-31T23:59:59", "https://sts.example.com", "http://127.0.0.1:9",
                     "ftp://x", "json", "text", "yes", "A: https://x", "\udcff", "a\nb"]),
    ODD_TEXT,
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)  # fmt: skip
EVENTS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ODD_TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(ODD_TEXT, children, max_size=3)
    ),
    max_leaves=10,
)
FILE_TEXTS = st.one_of(
    st.lists(st.fixed_dictionaries(
        {"event_type": st.sampled_from(["AEvent", "", 5]), "msg_title": VALUES},
        optional={"context": EVENTS, "tags": EVENTS, "timestamp": EVENTS, "name": EVENTS,
                  "msg_text": VALUES},
    ), max_size=4).map(lambda events: "\n".join(json.dumps(e) for e in events)),
    EVENTS.map(json.dumps),
    ODD_TEXT,
)  # fmt: skip
CONFIG_TEXTS = st.one_of(
    st.builds(
        "instances:\n  {instance}:\n    receiver_api:\n      url: {url}\n    clients:\n"
        "      default:\n        api_key: {key}\n".format,
        instance=st.sampled_from(["default", "prod", "'x y'", "5"]),
        url=st.sampled_from(["https://sts.example.com", "5", "[a]", "''", "&a x"]),
        key=st.sampled_from([SECRET, "0123", "''", "*a", "{a: 1}"]),
    ),
    ODD_TEXT,
    st.just("a: &a [1, 2]\nb: &b [*a, *a]\ninstances: {default: {base_api: *b}}\n"),
)  # fmt: skip


@st.composite
def command_lines(draw: Any) -> List[str]:
    """Mostly well-formed lines (each option with a value of its kind, often a bad one),
    so that inputs get past the parser and into the work; now and then a stray token."""
    path = draw(st.sampled_from(COMMANDS))
    command = COMMANDS_BY_PATH[" ".join(path)]
    values = VALUES.filter(stays_home) if path == LOCAL_DB else VALUES
    line: List[str] = list(path)
    if command.arguments and draw(st.integers(0, 3)):
        line.append(draw(st.one_of(st.sampled_from(["DeployEvent", "AEvent", "x"]), VALUES)))
    if path == ["event", "send"] and draw(st.integers(0, 3)):
        line += ["--title", draw(st.one_of(st.just("Deployed"), VALUES))]
    for opt in draw(st.lists(st.sampled_from(command.options), max_size=5)):
        flag = draw(st.sampled_from(opt.flags))
        if opt.kind == FLAG:
            line.append(flag)
        elif opt.kind == MANY:
            line += [flag, *draw(st.lists(VALUES, min_size=1, max_size=3))]
        elif opt.choices:
            line += [flag, draw(st.one_of(st.sampled_from(opt.choices), VALUES))]
        elif opt.name == "file":
            line += [flag, draw(st.sampled_from(["-", "events.ndjson", "missing.json", "."]))]
        elif opt.name == "data":
            line += [flag, draw(st.one_of(EVENTS.map(json.dumps), VALUES))]
        elif opt.name == "db":
            line += [flag, draw(st.one_of(st.sampled_from(["r.db", "events.ndjson", "."]),
                                          values))]  # fmt: skip
        else:
            line += [flag, draw(values)]
    if draw(st.integers(0, 9)) == 0:
        line.insert(draw(st.integers(len(path), len(line))), draw(values))
    return line


def stays_home(value: str) -> bool:
    """Whether a path, read from a folder, stays in it: relative, and no `..` or `~`."""
    return not value.startswith(("/", "~")) and ".." not in Path(value).parts


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    line=command_lines(),
    stdin=FILE_TEXTS,
    file_text=FILE_TEXTS,
    config_text=CONFIG_TEXTS,
    variables=st.dictionaries(
        st.sampled_from(["STAC_EVENTS_CONFIG", "STAC_EVENTS_CI_CONTEXT", "STS_STS_URL",
                         "STACKSTATE_RECEIVER_PORT", "STAC_EVENTS_HOSTNAME", "NO_COLOR",
                         "TZ", "GITHUB_ACTIONS", "REQUESTS_CA_BUNDLE", "STAC_EVENTS_HEADERS"]),
        VALUES, max_size=3,
    ),
    key_by_flag=st.booleans(),
)  # fmt: skip
def test_any_input_gets_a_documented_answer_and_never_the_key(
    own_server: HTTPServer,
    isolated_environ: Dict[str, str],
    line: List[str],
    stdin: str,
    file_text: str,
    config_text: str,
    variables: Dict[str, str],
    key_by_flag: bool,
) -> None:
    own_server.clear()
    own_server.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
    home = Path(tempfile.mkdtemp(dir=isolated_environ["HOME"]))
    (home / "events.ndjson").write_text(file_text, encoding="utf-8", errors="surrogateescape")
    config = home / ".config" / "stac-events" / "conf.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(config_text, encoding="utf-8", errors="surrogateescape")
    cli = Cli(home=home, environ={**isolated_environ, "HOME": str(home)}, cwd=home)
    env = {"STAC_EVENTS_RECEIVER_URL": own_server.url_for("/receiver"), **variables}
    if variables.get("STAC_EVENTS_CONFIG") == "":
        del env["STAC_EVENTS_CONFIG"]
    args = [*line, "--api-key", SECRET] if key_by_flag else line
    if not key_by_flag:
        env["STAC_EVENTS_API_KEY"] = SECRET
    if "--retries" not in args:
        args = [*args, "--retries", "0"] if args[:2] == ["event", "send"] else args
    command = max((path for path in COMMANDS_BY_PATH if line[: len(path.split())] == path.split()),
                  key=len)  # fmt: skip
    assert command != "receiver", line  # it would serve until stopped
    result = cli(*args, stdin=stdin, env=env, expect=ANY_DOCUMENTED)
    event(f"{command}: exit {result.status}")  # how far inputs get: `make fuzz` shows it
    assert "Traceback" not in result.output
    assert SECRET not in result.output
