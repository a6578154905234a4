"""Every input a user can type gets an answer: exit 2 and one line naming the input, never
exit 1 ("this is a bug"). Pipes, FIFOs, closed stdin, bytes that are not UTF-8, JSON
nested too deep, out-of-range timestamps, lenient JSON, whole common objects, empty values.
"""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import pytest

from stac_events.cli import main
from tests.conftest import NOW, Cli, Result, events_of, isolated_environment, single_event
from tests.processes import STAC_EVENTS, Processes

EVENT = {"event_type": "DeployEvent", "msg_title": "t", "timestamp": int(NOW)}
LINE = json.dumps(EVENT)
SEND = ("event", "send", "--dry-run")
ONE = ("event", "send", "DeployEvent", "--title", "t", "--dry-run")


def one_line_error(result: Result, message: str) -> None:
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "bug" not in result.stderr


def nested(depth: int) -> str:
    """JSON arrays nested `depth` levels."""
    return "[" * depth + "]" * depth


def with_data(data: str) -> str:
    return json.dumps({**EVENT, "context": {"data": "DATA"}}).replace('"DATA"', data)


def run_bytes(processes: Processes, *args: str, stdin: Optional[bytes], expect: int) -> Result:
    """The installed script as a real process, fed raw bytes; `stdin=None`: fd 0 closed."""
    command: List[str] = [STAC_EVENTS, *args]
    if stdin is None:
        command = ["sh", "-c", 'exec "$@" <&-', "sh", *command]
    result = processes.run(*command, stdin=stdin, expect=expect)
    result.output.encode("utf-8")  # strictly: what it says is UTF-8 text, whatever it read
    return result


# 1. --file from a pipe, a FIFO or /dev/stdin


def test_a_fifo_as_file_is_read(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(LINE + "\n" + LINE + "\n"))
    writer.start()
    result = cli(*SEND, "--file", str(fifo))
    writer.join(timeout=10)
    assert len(events_of(json.loads(result.stdout))) == 2


def test_dev_stdin_as_file_is_read(run_script) -> None:
    result = run_script("stac-events", *SEND, "--file", "/dev/stdin", stdin=LINE + "\n")
    assert single_event(json.loads(result.stdout))["msg_title"] == "t"


# 2. stdin: not UTF-8, or closed


def test_stdin_not_utf8_in_process(cli: Cli) -> None:
    # Python decodes a stdin that is not UTF-8 to lone surrogates under a C locale
    result = cli(*SEND, "--file", "-", stdin='{"event_type": "A\udcff"}', expect=2)
    one_line_error(result, "--file: stdin: not UTF-8 text")


def test_stdin_not_utf8(processes: Processes) -> None:
    result = run_bytes(processes, *SEND, "--file", "-", stdin=b'[{"a": "\xff"}]', expect=2)
    one_line_error(result, "--file: stdin: not UTF-8 text")


def test_text_from_stdin_not_utf8(processes: Processes) -> None:
    result = run_bytes(processes, *ONE, "-m", "-", stdin=b"caf\xe9\n", expect=2)
    one_line_error(result, "--text: stdin: not UTF-8 text")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--file", "-"], "--file: stdin is closed, so there are no events to read"),
        (["DeployEvent", "--title", "t", "-m", "-"], "--text: stdin is closed"),
    ],
)
def test_closed_stdin(processes: Processes, flags: list, message: str):
    result = run_bytes(processes, *SEND, *flags, stdin=None, expect=2)
    one_line_error(result, message)


@pytest.mark.parametrize("flags", [["--file", "-"], ["DeployEvent", "--title", "t", "-m", "-"]])
def test_no_stdin_in_process(home: Path, flags: list) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    env = isolated_environment(home, stdin=None, stdout=stdout, stderr=stderr)
    assert main([*SEND, *flags], env) == 2
    assert "stdin is closed" in stderr.getvalue()


# 3. argv values that are not UTF-8 (lone surrogates, as Python decodes such bytes)


@pytest.mark.parametrize(
    ("flags", "option"),
    [
        (["-i", "\udcff"], "--identifier"),
        (["-t", "a\udcff"], "--tags"),
        (["--source-identifier", "\udcff"], "--source-identifier"),
        (["--source-type-name", "\udcff"], "--source-type-name"),
        (["-d", "k=\udcff"], "--data"),
        (["-d", '{"k": "\\udcff"}'], "--data"),
        (["--title", "\udcff"], "--title"),
        (["-m", "\udcff"], "--text"),
        (["-s", "\udcff"], "--source"),
        (["--links", "\udcff"], "--links"),
        (["--name", "Deploy\udcffEvent"], "--name"),
        (["--hostname", "\udcff"], "--hostname"),
    ],
)
def test_argv_not_utf8(cli: Cli, flags: list, option: str) -> None:
    result = cli(*ONE, *flags, expect=2)
    one_line_error(result, f"{option}: ")
    assert "not UTF-8 text" in result.stderr


def test_argv_bytes_not_utf8(run_script) -> None:
    # subprocess encodes the surrogate back into the byte 0xff, as a shell passes it
    result = run_script("stac-events", *ONE, "-i", "\udcff", expect=2)
    one_line_error(result, "--identifier: not UTF-8 text")


def test_json_escape_not_utf8_in_file(cli: Cli) -> None:
    line = json.dumps({**EVENT, "tags": ["ok", "\ud800"]}, ensure_ascii=True)
    result = cli(*SEND, "--file", "-", stdin=line, expect=2)
    one_line_error(result, "stdin line 1: tags[1]: not UTF-8 text")


# 4. JSON nested too deep: an event's data nests at most 64 levels


def test_data_depth_limit(cli: Cli) -> None:
    deepest = '{"a": ' + nested(63) + "}"  # the object is level 1
    assert single_event(cli(*ONE, "-d", deepest).json())["context"]["data"]["a"] == json.loads(
        nested(63)
    )
    result = cli(*ONE, "-d", '{"a": ' + nested(64) + "}", expect=2)
    one_line_error(result, "--data: nested deeper than 64 levels")


@pytest.mark.parametrize("depth", [300, 990, 3000])
def test_data_too_deep_flag(cli: Cli, depth: int) -> None:
    result = cli(*ONE, "-d", '{"a": ' + nested(depth) + "}", expect=2)
    one_line_error(result, "--data: ")
    assert "nested deeper than 64 levels" in result.stderr


MULTI_LINE = json.dumps({**EVENT, "context": {"data": {"a": 1}}}, indent=1)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[" + with_data('{"a": ' + nested(300) + "}") + "]", "stdin[0]: context.data: nested"),
        ("[" + with_data('{"a": ' + nested(990) + "}") + "]", "stdin[0]: "),
        # How deep the JSON parser goes depends on the Python version: past it, the input
        # is too deep; within it, the event is an array, not an object. Both are exit 2.
        ("[" + nested(3000) + "]", ("stdin[0]: the JSON is nested too deep",
                                    "stdin[0]: an event must be a JSON object")),
        (LINE + "\n" + with_data('{"a": ' + nested(80) + "}"), "stdin line 2: context.data"),
        (LINE + "\n" + with_data('{"a": ' + nested(300) + "}"), "stdin line 2: the JSON is nest"),
        (with_data('{"a": ' + nested(300) + "}") + "\n" + LINE,
         ("stdin line 1: the JSON is nest", "stdin line 1: context.data: nested deeper")),
        (MULTI_LINE.replace("1\n", nested(2000)),
         ("stdin line 1: the JSON is nested too deep", "stdin line 1: context.data: nested")),
    ],
)  # fmt: skip
def test_file_too_deep(cli: Cli, text: str, where: Union[str, Tuple[str, ...]]) -> None:
    result = cli(*SEND, "--file", "-", stdin=text, expect=2)
    answers = (where,) if isinstance(where, str) else where
    one_line_error(result, next((a for a in answers if a in result.stderr), answers[0]))
    assert "Extra data" not in result.stderr


# 5. Timestamps out of range


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0001-01-01", "'0001-01-01' is out of range for a timestamp; give a time after 1970"),
        ("9999-12-31T23:59:59Z", "'9999-12-31T23:59:59Z' is out of range for a timestamp"),
        ("1" * 400, "is too large for a timestamp"),
    ],
)
def test_timestamp_out_of_range(cli: Cli, value: str, message: str) -> None:
    result = cli(*ONE, "--timestamp", value, expect=2)
    one_line_error(result, message)
    assert result.stderr.startswith("stac-events: error: --timestamp: ")
    assert "milliseconds" not in result.stderr


def test_timestamp_out_of_range_in_local_time(run_script) -> None:
    result = run_script("stac-events", *ONE, "--timestamp", "9999-12-31T23:59:59",
                        env={"TZ": "America/New_York"}, expect=2)  # fmt: skip
    one_line_error(result, "--timestamp: '9999-12-31T23:59:59' is out of range for a timestamp")
    assert "milliseconds" not in result.stderr


def test_file_timestamp_of_400_digits(cli: Cli) -> None:
    line = json.dumps(EVENT).replace(str(int(NOW)), "1" * 400)
    result = cli(*SEND, "--file", "-", stdin=line, expect=2)
    one_line_error(result, "stdin line 1: timestamp: a 400-digit number is too large")


# 6. Where a multi-line input went wrong


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (json.dumps({"event_type": "AEvent"}, indent=2), "--file: stdin line 1: msg_title"),
        ("\n\n" + json.dumps({"event_type": "AEvent"}, indent=2), "--file: stdin line 3: msg"),
        ('{\n  "event_type": "AEvent",\n  oops\n}', "--file: stdin line 3: not valid JSON"),
    ],
)
def test_multi_line_input_names_its_line(cli: Cli, text: str, where: str) -> None:
    result = cli(*SEND, "--file", "-", stdin=text, expect=2)
    one_line_error(result, where)
    assert "stdin0" not in result.stderr


def test_multi_line_common_object_names_its_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    common = {"internalHostname": "h", "events": {"DeployEvent": [{"msg_title": "t"}]}}
    path.write_text(json.dumps(common, indent=2))
    result = cli(*SEND, "--file", str(path), expect=2)
    one_line_error(result, f"{path} line 1 events.DeployEvent[0]: event_type")


# 7. Lenient JSON refused, a byte order mark accepted


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (f"[{LINE},,,{LINE}]", "stdin[1]: an empty element"),
        (f"[{LINE} {LINE}]", "stdin[0]: a ',' is missing after it"),
        (f"[{LINE},]", "stdin[0]: a ',' before ']'"),
        (f"[,{LINE}]", "stdin[0]: an empty element"),
        (json.dumps({**EVENT, "name": {"x": 1}}), 'stdin line 1: "name" must be text'),
        (json.dumps({**EVENT, "name": ["x"]}), 'stdin line 1: "name" must be text'),
        ("[" + with_data('{"x": NaN}') + "]", "stdin[0]: not valid JSON: NaN"),
        (with_data('{"x": 1e999}'), "stdin line 1: context.data: x: inf is not a JSON number"),
    ],
)
def test_lenient_json_in_file_refused(cli: Cli, text: str, where: str) -> None:
    one_line_error(cli(*SEND, "--file", "-", stdin=text, expect=2), where)


@pytest.mark.parametrize("value", ['{"x": NaN}', '{"x": Infinity}', '{"x": -Infinity}',
                                   '{"x": [1e999]}'])  # fmt: skip
def test_data_not_a_json_number_refused(cli: Cli, value: str) -> None:
    result = cli(*ONE, "-d", value, expect=2)
    one_line_error(result, "--data: the value is not valid JSON: ")
    assert "is not a JSON number the receiver accepts" in result.stderr or "too large" in (
        result.stderr
    )


@pytest.mark.parametrize("text", [f"[{LINE}]", LINE + "\n" + LINE, json.dumps(EVENT, indent=2)])
def test_byte_order_mark_is_skipped(cli: Cli, tmp_path: Path, text: str) -> None:
    path = tmp_path / "events.json"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    from_file = cli(*SEND, "--file", str(path)).stdout
    from_stdin = cli(*SEND, "--file", "-", stdin="\ufeff" + text).stdout
    assert from_file == from_stdin
    assert all(e["msg_title"] == "t" for e in events_of(json.loads(from_file)))


# 8. A whole common JSON object: sent as it is, or refused


def common(**fields) -> Dict:
    return {"collection_timestamp": int(NOW) - 5, "internalHostname": "own-host",
            "events": {"DeployEvent": [EVENT]}, "metrics": [], "service_checks": [],
            "topologies": [], "health": [], **fields}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "held"),
    [
        ({"metrics": [{"m": 1}, {"m": 2}]}, "2 metrics"),
        ({"service_checks": [{}], "health": [{}]}, "1 service_checks, 1 health"),
        ({"topologies": [{}]}, "1 topologies"),
    ],
)
def test_common_object_with_more_than_events_is_refused(cli: Cli, fields: Dict, held: str):
    result = cli(*SEND, "--file", "-", stdin=json.dumps(common(**fields)), expect=2)
    one_line_error(result, "stdin line 1: stac-events sends events, and this object also holds "
                           f"{held}; send the whole object with curl, or remove them")  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metrics": "x"}, "stdin line 1: metrics must be a list"),
        ({"extra": 1}, "stdin line 1: the common JSON object has a field 'extra'"),
        ({"internalHostname": ""}, "stdin line 1: internalHostname: must be a host name"),
        ({"collection_timestamp": "soon"}, "stdin line 1: collection_timestamp: 'soon' is not"),
    ],
)
def test_common_object_fields_checked(cli: Cli, fields: Dict, message: str) -> None:
    result = cli(*SEND, "--file", "-", stdin=json.dumps(common(**fields)), expect=2)
    one_line_error(result, message)


@pytest.mark.parametrize("indent", [None, 2])
def test_common_object_keeps_its_own_head(cli: Cli, indent: Optional[int]) -> None:
    body = cli(*SEND, "--file", "-", stdin=json.dumps(common(), indent=indent)).json()
    assert body["internalHostname"] == "own-host"
    assert body["collection_timestamp"] == int(NOW) - 5
    flagged = cli(*SEND, "--file", "-", "--hostname", "flag-host", stdin=json.dumps(common()))
    assert flagged.json()["internalHostname"] == "flag-host"
    assert flagged.json()["collection_timestamp"] == int(NOW) - 5


def test_common_objects_that_disagree_on_the_host_are_refused(cli: Cli) -> None:
    lines = json.dumps(common()) + "\n" + json.dumps(common(internalHostname="other"))
    result = cli(*SEND, "--file", "-", stdin=lines, expect=2)
    one_line_error(result, "stdin line 2: internalHostname 'other' differs from 'own-host' "
                           "(stdin line 1)")  # fmt: skip
    agreed = cli(*SEND, "--file", "-", "--hostname", "h", stdin=lines).json()
    assert len(events_of(agreed)) == 2


# 9. Empty values are usage errors, never "not given"


@pytest.mark.parametrize(
    ("flags", "option"),
    [
        (["-i", ""], "--identifier"),
        (["-i", "a", ""], "--identifier"),
        (["-t", ""], "--tags"),
        (["--hostname", ""], "--hostname"),
        (["--text", ""], "--text"),
        (["-m", " "], "--text"),
        (["-s", ""], "--source"),
        (["--source-identifier", ""], "--source-identifier"),
        (["--source-type-name", ""], "--source-type-name"),
        (["--name", ""], "--name"),
        (["--links", ""], "--links"),
        (["-d", ""], "--data"),
        (["--timestamp", ""], "--timestamp"),
        (["--title", ""], "--title"),
    ],
)
def test_empty_values_are_usage_errors(cli: Cli, flags: list, option: str) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", "--dry-run", *flags, expect=2)
    one_line_error(result, f"{option}: is empty; give a value")


def test_empty_event_type(cli: Cli) -> None:
    one_line_error(cli(*SEND, "", "--title", "t", expect=2), "EVENT_TYPE: is empty")
