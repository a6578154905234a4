"""The GitHub Action (`action.yml`), run step by step as GitHub runs a composite action:
expressions substituted, `GITHUB_*` variables and a `GITHUB_OUTPUT` file per step, each
`shell: bash` step as `bash --noprofile --norc -eo pipefail {0}`, against a real local
receiver. The steps use the `stac-events` of this environment (`install: false`), so
nothing is downloaded; the install step itself is tried by `-m installs` (see the end)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping

import pytest

from tests import processes
from tests.conftest import API_KEY, received_events

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
BIN_DIR = str(Path(sys.executable).parent)
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STEP_KEYS = {"name", "id", "shell", "env", "run", "if", "uses", "with"}  # more fails the test
# The actions the action uses, as this runner stands in for them: setup-python (never
# needed here: this Python is 3.10 or newer) and a cache that holds nothing yet.
USES = {"actions/setup-python", "actions/cache"}

GITHUB = {
    "CI": "true",
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_WORKFLOW": "deploy",
    "GITHUB_JOB": "release",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_REF_NAME": "main",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_EVENT_NAME": "push",
    "RUNNER_OS": "Linux",
}


@dataclass
class ActionRun:
    status: int  # 0, or the exit status of the step that failed the action
    outputs: Dict[str, str]
    stdout: str
    stderr: str
    path: List[str]  # what the steps added to GITHUB_PATH, for the job's later steps
    masks: List[str]  # values the log shows as *** (`::add-mask::`), which the runner takes

    def annotations(self, level: str) -> List[str]:
        """The workflow commands `::LEVEL ...::message` it wrote, as the runner reads them."""
        return [line for line in (self.stdout + self.stderr).splitlines()
                if line.startswith(f"::{level} ") or line.startswith(f"::{level}::")]  # fmt: skip

    @property
    def output(self) -> str:
        return self.stdout + self.stderr + json.dumps(self.outputs)


def step_outputs(path: Path) -> Dict[str, str]:
    """A `GITHUB_OUTPUT` file: `name=value` lines and `name<<DELIMITER` blocks."""
    found: Dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            found[name] = "\n".join(iter(lambda: next(lines), delimiter))
        elif line:
            name, value = line.split("=", 1)
            found[name] = value
    return found


def run_action(inputs: Mapping[str, str], *, environ: Mapping[str, str], work: Path) -> ActionRun:
    """Run the action's steps in order as GitHub does, stopping at the first that fails."""
    import yaml

    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    declared = action["inputs"]
    assert set(inputs) <= set(declared), f"no such inputs: {set(inputs) - set(declared)}"
    values = {
        name: str(inputs.get(name, spec.get("default", ""))) for name, spec in declared.items()
    }
    steps: Dict[str, Dict[str, str]] = {}

    def value(name: str) -> str:
        words = name.split(".")
        if words[0] == "inputs" and len(words) == 2 and words[1] in values:
            return values[words[1]]
        if words == ["github", "action_path"]:
            return str(ROOT)
        if words in (["runner", "os"], ["runner", "arch"]):
            return {"os": "Linux", "arch": "X64"}[words[1]]
        if words[0] == "steps" and len(words) == 4 and words[2] == "outputs":
            return steps.get(words[1], {}).get(words[3], "")
        raise AssertionError(f"this runner cannot evaluate {name}")

    def evaluate(text: str) -> str:
        return EXPRESSION.sub(lambda match: value(match.group(1)), str(text))

    def holds(condition: str) -> bool:
        """An `if:` of comparisons with a literal, joined by `&&`: all this action needs."""
        for part in condition.split("&&"):
            found = re.fullmatch(r"\s*([\w.-]+)\s*(==|!=)\s*'([^']*)'\s*", part)
            assert found, f"this runner cannot evaluate if: {condition}"
            name, operator, literal = found.groups()
            if (value(name) == literal) != (operator == "=="):
                return False
        return True

    workspace, temp = work / "workspace", work / "runner-temp"
    workspace.mkdir(parents=True, exist_ok=True)
    temp.mkdir(parents=True, exist_ok=True)
    (work / "tool-cache").mkdir(exist_ok=True)
    path_file = temp / "path"
    path_file.touch()
    stdout, stderr = [], []
    masks: List[str] = []
    for number, step in enumerate(action["runs"]["steps"]):
        assert set(step) <= STEP_KEYS, f"step {number} uses {set(step) - STEP_KEYS}"
        if "if" in step and not holds(step["if"]):
            continue
        if "uses" in step:
            name, _, pin = step["uses"].partition("@")
            assert name in USES, step["uses"]
            assert re.fullmatch(r"[0-9a-f]{40}", pin), f"{step['uses']}: pinned by commit"
            assert name != "actions/setup-python", "this runner has a Python 3.10 or newer"
            continue  # the cache: nothing in it yet
        assert step["shell"] == "bash"
        output_file = temp / f"output-{number}"
        output_file.touch()
        script = temp / f"step-{number}.sh"
        script.write_text(step["run"], encoding="utf-8")
        env = {
            **environ,
            **GITHUB,
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_PATH": str(path_file),
            "RUNNER_TEMP": str(temp),
            "RUNNER_TOOL_CACHE": str(work / "tool-cache"),
            **{name: evaluate(value) for name, value in step.get("env", {}).items()},
        }
        # Not through tests/processes.py, which fails a test on a status it did not expect:
        # here a step's status is the runner's to report, and each test checks the run's.
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        # `::add-mask::VALUE` is the runner's, never shown: the value is masked from then on
        shown = []
        for line in done.stdout.splitlines(keepends=True):
            if line.startswith("::add-mask::"):
                masks.append(line[len("::add-mask::") :].rstrip("\n"))
            else:
                shown.append(line)
        stdout.append("".join(shown))
        stderr.append(done.stderr)
        if "id" in step:
            steps[step["id"]] = step_outputs(output_file)
        added = path_file.read_text(encoding="utf-8").splitlines()
        if done.returncode != 0:
            return ActionRun(done.returncode, {}, "".join(stdout), "".join(stderr), added, masks)
    outputs = {name: evaluate(spec["value"]) for name, spec in action["outputs"].items()}
    return ActionRun(0, outputs, "".join(stdout), "".join(stderr), added, masks)


@pytest.fixture
def environ(isolated_environ: Dict[str, str]) -> Dict[str, str]:
    """The runner's environment: this environment's stac-events on PATH, no receiver set."""
    return {**isolated_environ, "PATH": BIN_DIR + os.pathsep + os.environ.get("PATH", "")}


def closed_port_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/receiver"


def test_no_input_is_spliced_into_shell_text() -> None:
    """Every value reaches a step through `env:`; `run:` holds no expression GitHub would
    paste into the script, so no input can run as code."""
    import yaml

    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
        assert all(EXPRESSION.fullmatch(str(value)) for value in step.get("env", {}).values())


def test_the_action_sends_the_event_its_inputs_describe(environ, receiver, tmp_path) -> None:
    run = run_action(
        {
            "event-type": "DeployEvent",
            "title": "Deployed checkout 1.4.2",
            "text": "Rolled out by the pipeline",
            "identifiers": "urn:service:/checkout\nurn:service:/checkout-db urn:service:/cart",
            "category": "changes",
            "data": "version=1.4.2\nenvironment=staging\n",
            "links": "Release notes: https://example.com/releases/1.4.2\n\nhttps://example.com/x\n",
            "tags": "env:staging\nteam:payments",
            "receiver-url": receiver.url_for("/receiver"),
            "api-key": API_KEY,
            "install": "false",
        },
        environ=environ,
        work=tmp_path,
    )
    assert run.status == 0, run.stderr
    (event,) = received_events(receiver)
    assert event["event_type"] == "DeployEvent"
    assert event["msg_title"] == "Deployed checkout 1.4.2"
    assert event["msg_text"] == "Rolled out by the pipeline"
    context = event["context"]
    assert context["category"] == "Changes"
    assert context["element_identifiers"] == [
        "urn:service:/checkout", "urn:service:/checkout-db", "urn:service:/cart"
    ]  # fmt: skip
    assert {k: context["data"][k] for k in ("version", "environment")} == {
        "version": "1.4.2", "environment": "staging"
    }  # fmt: skip
    # ci-context is on by default: the run's link, ci.* data and the provider's tag
    assert context["data"]["ci.provider"] == "github-actions"
    assert context["data"]["ci.run_id"] == "4242"
    assert context["data"]["ci.commit"] == GITHUB["GITHUB_SHA"]
    links = [link["url"] for link in context["source_links"]]
    assert links[:2] == ["https://example.com/releases/1.4.2", "https://example.com/x"]
    assert "https://github.com/acme/shop/actions/runs/4242" in links
    assert {"env:staging", "team:payments", "ci_provider:github-actions"} <= set(event["tags"])
    request, _ = receiver.log[0]
    assert request.args["api_key"] == API_KEY
    assert request.headers["sts-api-key"] == API_KEY
    assert run.outputs["status"] == "sent"
    assert run.outputs["events"] == "1"
    assert run.outputs["exit-code"] == "0"
    assert json.loads(run.outputs["result"])["ok"] is True
    assert run.annotations("warning") == run.annotations("error") == []
    assert API_KEY not in run.output


def test_address_and_key_come_from_the_environment(environ, receiver, tmp_path) -> None:
    run = run_action(
        {"event-type": "DeployEvent", "title": "t", "ci-context": "false", "install": "false"},
        environ={
            **environ,
            "STAC_EVENTS_RECEIVER_URL": receiver.url_for("/receiver"),
            "STAC_EVENTS_API_KEY": API_KEY,
        },
        work=tmp_path,
    )
    assert run.status == 0, run.stderr
    (event,) = received_events(receiver)
    assert "context" not in event  # no ci-context, and no context flag
    assert receiver.log[0][0].args["api_key"] == API_KEY
    assert run.outputs["status"] == "sent"
    assert API_KEY not in run.output


@pytest.mark.parametrize(
    ("answer", "exit_code", "status", "says"),
    [
        (None, 75, "queued", "cannot connect to 127.0.0.1"),
        (401, 4, "failed", "the receiver answered 401"),
    ],
    ids=["receiver-down", "key-refused"],
)
@pytest.mark.parametrize("fail_on_error", ["false", "true"])
def test_an_event_not_delivered_warns_unless_fail_on_error(
    environ, httpserver, tmp_path, answer, exit_code, status, says, fail_on_error
) -> None:
    """By default a receiver that is down, or refuses, is a warning annotation and the job
    goes on; with `fail-on-error: true` it is an error annotation and the step fails."""
    if answer is None:
        url = closed_port_url()
    else:
        httpserver.expect_request("/receiver/stsAgent/intake").respond_with_data("no", answer)
        url = httpserver.url_for("/receiver")
    run = run_action(
        {"event-type": "DeployEvent", "title": "t", "receiver-url": url, "api-key": API_KEY,
         "retries": "0", "max-time": "10", "fail-on-error": fail_on_error, "install": "false"},
        environ=environ,
        work=tmp_path,
    )  # fmt: skip
    if fail_on_error == "true":
        assert run.status == exit_code
        (error,) = run.annotations("error")
        assert error.startswith("::error title=stac-events::event not delivered: ")
        assert says in error
        assert f"(exit {exit_code})" in error
        assert run.annotations("warning") == []
    else:
        assert run.status == 0, run.stderr
        (warning,) = run.annotations("warning")
        assert warning.startswith("::warning title=stac-events::event not delivered: ")
        assert says in warning
        assert "fail-on-error is false: the job goes on" in warning
        assert run.annotations("error") == []
        assert run.outputs["status"] == status
        assert run.outputs["events"] == "0"
        assert run.outputs["exit-code"] == str(exit_code)
        assert json.loads(run.outputs["result"])["ok"] is False
    if status == "queued":
        assert "the queue is on this runner" in (warning if fail_on_error == "false" else error)
    assert API_KEY not in run.output


def test_inputs_are_data_never_code(environ, receiver, tmp_path) -> None:
    """Quotes, `$(...)`, backticks, globs and newlines in inputs reach the event as they
    are; none runs, expands or starts a workflow command."""
    title = '"; touch pwned-1; echo "$(touch pwned-2)`touch pwned-3` * ${HOME}'
    run = run_action(
        {"event-type": "DeployEvent", "title": title, "ci-context": "false",
         "identifiers": "urn:a* $(touch pwned-4)", "tags": "a:`touch pwned-5`",
         "text": "line one\n::error::not an annotation", "api-key": API_KEY,
         "receiver-url": receiver.url_for("/receiver"), "install": "false"},
        environ=environ,
        work=tmp_path,
    )  # fmt: skip
    assert run.status == 0, run.stderr
    (event,) = received_events(receiver)
    assert event["msg_title"] == title
    assert event["msg_text"] == "line one\n::error::not an annotation"
    assert event["context"]["element_identifiers"] == ["urn:a*", "$(touch", "pwned-4)"]
    assert event["tags"] == ["a:`touch", "pwned-5`"]
    assert not list(tmp_path.rglob("pwned-*"))
    assert run.annotations("error") == []


def test_annotations_cannot_be_forged_by_a_value(environ, tmp_path) -> None:
    """A value that stac-events quotes in its error lands in the one annotation, with its
    line breaks escaped as the runner requires; a usage error fails the step, though
    fail-on-error is false."""
    run = run_action(
        {"event-type": "DeployEvent", "title": "t", "category": "Deploys%0A\n::error::forged",
         "receiver-url": "http://127.0.0.1:9/receiver", "install": "false", "api-key": "k"},
        environ=environ,
        work=tmp_path,
    )  # fmt: skip
    assert run.status == 2, run.stderr
    (error,) = run.annotations("error")
    assert "--category" in error
    assert error.endswith("(exit 2)")
    assert "%250A" in error  # a literal "%0A" in the value stays text
    assert run.annotations("warning") == []


def test_the_flags_it_runs_and_the_key_kept_off_the_command_line(environ, tmp_path) -> None:
    """The exact command line the inputs become, read by a stand-in `stac-events`; the key
    travels in `$STAC_EVENTS_API_KEY`, never as an argument."""
    stand_in = tmp_path / "bin" / "stac-events"
    stand_in.parent.mkdir()
    stand_in.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$@" > "$RUNNER_TEMP/argv"\n'
        'printf "%s" "$STAC_EVENTS_API_KEY" > "$RUNNER_TEMP/key"\n'
        'printf "%s" "$STAC_EVENTS_RECEIVER_URL,$STAC_EVENTS_CI_CONTEXT" > "$RUNNER_TEMP/env"\n'
        'echo \'{"ok": true, "events": 2, "delivered": 2, "spool": {"delivered": 5}}\'\n'
    )
    stand_in.chmod(0o755)
    run = run_action(
        {"event-type": "DeployEvent", "title": "-t", "text": "@notes.md", "identifiers": "a b",
         "category": "Changes", "data": '{"k": "v"}', "links": "Run: https://ci/1",
         "tags": "x y", "source": "release", "retries": "1", "max-time": "30",
         "receiver-url": "https://sts.example.com", "api-key": API_KEY, "install": "false"},
        environ={**environ, "PATH": f"{stand_in.parent}{os.pathsep}{environ['PATH']}"},
        work=tmp_path,
    )  # fmt: skip
    assert run.status == 0, run.stderr
    temp = tmp_path / "runner-temp"
    assert (temp / "argv").read_text().splitlines() == [
        "event", "send", "--title=-t", "--output=json", "--text=@notes.md",
        "--identifier=a", "--identifier=b", "--category=Changes", '--data={"k": "v"}',
        "--links=Run: https://ci/1", "--tags=x", "--tags=y", "--source=release",
        "--retries=1", "--max-time=30", "--", "DeployEvent",
    ]  # fmt: skip
    assert (temp / "key").read_text() == API_KEY
    assert (temp / "env").read_text() == "https://sts.example.com,1"
    assert run.outputs["events"] == "2"  # the events delivered, not the spool's
    assert API_KEY not in run.output


@pytest.mark.parametrize(
    ("inputs", "on_path", "status"),
    [
        ({"install": "false"}, False, 3),
        ({"install": "false", "fail-on-error": "true"}, False, 3),
        ({"install": "maybe"}, True, 2),
        ({"install": "false", "ci-context": "yes"}, True, 2),
        ({"install": "false", "fail-on-error": "no"}, True, 2),
        ({"install": "false", "flush": "yes"}, True, 2),
        ({"install": "false", "title": ""}, True, 2),
        ({"install": "false", "event-type": ""}, True, 2),
        ({"install": "false", "flush": "true", "run": "true"}, True, 2),
        ({"version": "1.0; rm -rf /"}, True, 2),
    ],
    ids=["no-stac-events", "no-stac-events-fail", "bad-install", "bad-ci-context", "bad-fail",
         "bad-flush", "no-title", "no-type", "flush-and-run", "bad-version"],
)  # fmt: skip
def test_a_misused_action_fails_the_step(isolated_environ, tmp_path, inputs, on_path, status):
    """A mistake in the step (an input that is not `true` or `false` where one must be, a
    missing title, no `stac-events` with `install: false`) fails it, whatever
    fail-on-error says: else a job would go green without ever sending an event."""
    path = (BIN_DIR + os.pathsep if on_path else "") + "/usr/bin:/bin"
    inputs = {"event-type": "E", "title": "t", "receiver-url": "http://127.0.0.1:9", **inputs}
    run = run_action(inputs, environ={**isolated_environ, "PATH": path}, work=tmp_path)
    (annotation,) = run.annotations("error")
    assert annotation.startswith("::error title=stac-events::")
    assert run.status == status
    assert run.annotations("warning") == []


def test_the_readme_example_works(environ, receiver, tmp_path) -> None:
    """The README's workflow steps: the action's step with its inputs, then the step that
    reads its outputs, with the workflow's own expressions filled in as GitHub would."""
    import yaml

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (steps,) = [document["steps"] for document in map(yaml.safe_load,
                re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL))
                if isinstance(document, dict) and "steps" in document]  # fmt: skip
    uses, after = steps
    assert re.fullmatch(r"[\w-]+/stac-events@[\w.-]+", uses["uses"])
    workflow = {
        "github.sha": GITHUB["GITHUB_SHA"],
        "vars.STACKSTATE_RECEIVER_URL": receiver.url_for("/receiver"),
        "secrets.STACKSTATE_RECEIVER_API_KEY": API_KEY,
    }
    inputs = {name: EXPRESSION.sub(lambda m: workflow[m.group(1)], str(value))
              for name, value in uses["with"].items()}  # fmt: skip
    run = run_action({**inputs, "install": "false"}, environ=environ, work=tmp_path)
    assert run.status == 0, run.stderr
    (event,) = received_events(receiver)
    assert event["msg_title"] == f"Deployed checkout {GITHUB['GITHUB_SHA']}"
    assert event["context"]["data"]["environment"] == "production"
    assert event["context"]["source_links"][0]["title"] == "Release notes"
    outputs = {f"steps.{uses['id']}.outputs.{name}": value for name, value in run.outputs.items()}
    env = {name: EXPRESSION.sub(lambda m: outputs[m.group(1)], value)
           for name, value in after["env"].items()}  # fmt: skip
    step = processes.shell_command("bash", after["run"], flags=["-eo", "pipefail"])
    said = processes.run(step, env={**environ, **env}, cwd=tmp_path)
    assert said.stdout == "sent, 1 event(s) delivered\n"


def test_it_puts_stac_events_on_the_path_and_says_which(environ, receiver, tmp_path) -> None:
    run = run_action(
        {"event-type": "DeployEvent", "title": "t", "receiver-url": receiver.url_for("/receiver"),
         "api-key": API_KEY, "install": "false"},
        environ=environ,
        work=tmp_path,
    )  # fmt: skip
    assert run.status == 0, run.stderr
    assert run.path == []  # `install: false`: it is on PATH already
    assert run.outputs["path"] == str(Path(BIN_DIR) / "stac-events")
    assert run.masks == [API_KEY]  # the log shows *** for it, whoever prints it
    from stac_events.version import __version__

    assert run.outputs["version"] == __version__


def test_run_wraps_the_command_and_ends_with_its_exit_code(environ, receiver, tmp_path) -> None:
    inputs = {"run": "echo building; echo warned >&2; exit 7", "event-type": "BuildEvent",
              "identifiers": "urn:service:/checkout", "receiver-url": receiver.url_for("/receiver"),
              "api-key": API_KEY, "install": "false"}  # fmt: skip
    run = run_action(inputs, environ=environ, work=tmp_path)
    assert run.status == 7  # the command's, whatever became of the event
    assert "building" in run.stdout
    assert "warned" in run.stderr
    (event,) = received_events(receiver)
    assert event["event_type"] == "BuildEvent"
    assert event["msg_title"] == "bash failed (exit 7)"
    assert event["context"]["data"]["exit_code"] == 7
    assert event["context"]["element_identifiers"] == ["urn:service:/checkout"]
    assert run.annotations("warning") == run.annotations("error") == []
    assert API_KEY not in run.output


@pytest.mark.parametrize("fail_on_error", ["false", "true"])
def test_run_with_the_receiver_down_keeps_the_commands_exit_code(
    environ, tmp_path, fail_on_error
) -> None:
    """A command that succeeded, its event queued: a warning (the step passes), or with
    fail-on-error an error and the queued exit status, 75."""
    inputs = {"run": "echo deployed", "receiver-url": closed_port_url(), "api-key": API_KEY,
              "retries": "0", "fail-on-error": fail_on_error, "install": "false"}  # fmt: skip
    run = run_action(inputs, environ=environ, work=tmp_path)
    level = "error" if fail_on_error == "true" else "warning"
    (annotation,) = run.annotations(level)
    assert "event not delivered: cannot connect to 127.0.0.1" in annotation
    assert run.status == (75 if fail_on_error == "true" else 0)
    if fail_on_error == "false":
        assert run.outputs["status"] == "queued"
        assert run.outputs["exit-code"] == "0"
        assert json.loads(run.outputs["result"])["error"]["kind"] == "queued"


def test_a_run_the_action_cannot_start_fails_before_the_command(environ, tmp_path) -> None:
    inputs = {"run": "touch ran", "category": "Deploys", "receiver-url": closed_port_url(),
              "install": "false", "api-key": API_KEY}  # fmt: skip
    run = run_action(inputs, environ=environ, work=tmp_path)
    assert run.status == 2
    (error,) = run.annotations("error")
    assert "--category" in error
    assert not list(tmp_path.rglob("ran"))


def test_flush_delivers_what_an_earlier_step_queued(environ, httpserver, tmp_path) -> None:
    """A send while the receiver is unavailable queues the event on the runner; a last
    step with `flush: true` (`if: always()` in a workflow) delivers it."""
    intake = "/receiver/stsAgent/intake"
    httpserver.expect_oneshot_request(intake).respond_with_data("busy", status=503)
    httpserver.expect_request(intake).respond_with_data("", status=202)
    receiver = httpserver
    url = httpserver.url_for("/receiver")
    down = {"event-type": "DeployEvent", "title": "queued first", "receiver-url": url,
            "api-key": API_KEY, "retries": "0", "install": "false"}  # fmt: skip
    first = run_action(down, environ=environ, work=tmp_path / "first")
    assert first.status == 0, first.stderr
    assert first.outputs["status"] == "queued"
    flush = {"flush": "true", "receiver-url": url, "api-key": API_KEY, "install": "false"}
    last = run_action(flush, environ=environ, work=tmp_path / "last")
    assert last.status == 0, last.stderr
    assert last.outputs["status"] == "flushed", last.outputs
    assert last.outputs["events"] == "1", last.outputs["result"]
    accepted = [json.loads(request.get_data()) for request, answer in receiver.log
                if answer.status_code == 202]  # fmt: skip
    assert [e["msg_title"] for body in accepted for e in body["events"]["DeployEvent"]] == [
        "queued first"
    ]
    again = run_action(flush, environ=environ, work=tmp_path / "again")
    assert again.outputs["status"] == "flushed"
    assert again.outputs["events"] == "0"


@pytest.mark.parametrize(
    "command", ["false\necho after a failed line", "false | cat", "exit 4"],
    ids=["a-failed-line", "a-failed-pipe", "exit-4"],
)  # fmt: skip
def test_run_fails_as_a_step_script_does(environ, receiver, tmp_path, command) -> None:
    """`run` runs as GitHub runs a step's script (`bash -eo pipefail`)."""
    inputs = {"run": command, "receiver-url": receiver.url_for("/receiver"), "api-key": API_KEY,
              "install": "false"}  # fmt: skip
    run = run_action(inputs, environ=environ, work=tmp_path)
    assert run.status != 0
    (event,) = received_events(receiver)
    assert "failed (exit" in event["msg_title"]


@pytest.mark.parametrize(
    "tail",
    ['x', '{"kind": "usage"}', '{"ok": true, "delivered": 99}'],
    ids=["no-line-break", "a-fake-usage-error", "a-fake-success"],
)  # fmt: skip
def test_what_the_command_writes_last_cannot_pass_for_the_result(environ, tmp_path, tail) -> None:
    """stac-events' result comes after the command's last words on stderr, even when they
    end without a line break or look like a result themselves."""
    inputs = {"run": f"printf '%s' '{tail}' >&2", "receiver-url": closed_port_url(),
              "api-key": API_KEY, "retries": "0", "fail-on-error": "true",
              "install": "false"}  # fmt: skip
    run = run_action(inputs, environ=environ, work=tmp_path)
    assert run.status == 75  # the command succeeded; its event was queued
    (error,) = run.annotations("error")
    assert "event not delivered: cannot connect to 127.0.0.1" in error


def test_run_keeps_the_steps_outputs_its_own(environ, receiver, tmp_path) -> None:
    inputs = {"run": 'echo "status=forged" >> "$GITHUB_OUTPUT"', "install": "false",
              "receiver-url": receiver.url_for("/receiver"), "api-key": API_KEY}  # fmt: skip
    run = run_action(inputs, environ=environ, work=tmp_path)
    assert run.status == 0, run.stderr
    assert run.outputs["status"] == "sent"


def test_an_event_type_that_looks_like_a_flag_is_an_event_type(environ, receiver, tmp_path):
    inputs = {"event-type": "--help", "title": "t", "install": "false",
              "receiver-url": receiver.url_for("/receiver"), "api-key": API_KEY}  # fmt: skip
    run = run_action(inputs, environ=environ, work=tmp_path)
    assert run.status == 0, run.stderr
    (event,) = received_events(receiver)
    assert event["event_type"] == "--help"


def test_a_flush_that_leaves_payloads_for_another_address_says_so(
    environ, httpserver, tmp_path
) -> None:
    queue = {"event-type": "DeployEvent", "title": "t", "receiver-url": closed_port_url(),
             "api-key": API_KEY, "retries": "0", "install": "false"}  # fmt: skip
    assert run_action(queue, environ=environ, work=tmp_path / "send").outputs["status"] == "queued"
    httpserver.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
    flush = {"flush": "true", "receiver-url": httpserver.url_for("/receiver"),
             "api-key": API_KEY, "install": "false"}  # fmt: skip
    run = run_action(flush, environ=environ, work=tmp_path / "flush")
    assert run.status == 0, run.stderr
    assert run.outputs["status"] == "queued"
    (warning,) = run.annotations("warning")
    assert "1 queued payload(s) are for another receiver address" in warning


def test_flush_without_a_receiver_address_fails_the_step(environ, tmp_path) -> None:
    run = run_action({"flush": "true", "install": "false"}, environ=environ, work=tmp_path)
    assert run.status == 3
    (error,) = run.annotations("error")
    assert "no receiver address is set" in error


INSTALLS = os.environ.get("STAC_EVENTS_TEST_INSTALLS") == "1"


def network_environ() -> Dict[str, str]:
    """This machine's variables, as a runner has its image's: proxies, certificate
    bundles and package indexes reach pip and uv; nothing of stac-events' own."""
    return {k: v for k, v in os.environ.items() if not k.startswith("STAC_EVENTS_")}


@pytest.mark.installs
@pytest.mark.skipif(not INSTALLS, reason="downloads from PyPI: STAC_EVENTS_TEST_INSTALLS=1")
def test_the_install_step_installs_from_the_actions_checkout(isolated_environ, tmp_path) -> None:
    """The action as a workflow uses it: it installs stac-events from its own checkout
    into $RUNNER_TEMP (with the Python on PATH, not this environment's), once per job."""
    import time

    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        server.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
        path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != BIN_DIR)
        inputs = {"event-type": "DeployEvent", "title": "installed",
                  "receiver-url": server.url_for("/receiver"), "api-key": API_KEY}  # fmt: skip
        environ = {**network_environ(), **isolated_environ, "PATH": path}
        first = run_action(inputs, environ=environ, work=tmp_path)
        assert first.status == 0, first.stderr
        assert first.outputs["status"] == "sent"
        venv = tmp_path / "runner-temp" / "stac-events-action"
        assert (venv / ".installed-from").read_text() == str(ROOT)
        # a later step finds stac-events on PATH, and the job's own python as it was
        assert first.path == [str(venv / "on-path")]
        assert [p.name for p in (venv / "on-path").iterdir()] == ["stac-events"]
        started = time.monotonic()
        second = run_action(inputs, environ=environ, work=tmp_path)
        assert second.status == 0, second.stderr
        assert time.monotonic() - started < 10  # installed once per job
        assert [e["msg_title"] for e in received_events(server)] == ["installed"] * 2
    finally:
        server.stop()


@pytest.mark.installs
@pytest.mark.skipif(not INSTALLS, reason="downloads from PyPI: STAC_EVENTS_TEST_INSTALLS=1")
def test_a_version_is_installed_into_the_tool_cache_once(isolated_environ, tmp_path) -> None:
    """`version:` installs that release by name, as from PyPI (here a wheel of this
    checkout, found through PIP_FIND_LINKS; its dependencies come from the index), into
    the tool cache that actions/cache keeps, and a job that finds it there installs
    nothing."""
    from pytest_httpserver import HTTPServer

    from stac_events.version import __version__

    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels),
             str(ROOT)]  # fmt: skip
    processes.run(build, env=dict(os.environ), timeout=300)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        server.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
        path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != BIN_DIR)
        inputs = {"event-type": "DeployEvent", "title": "released", "version": __version__,
                  "receiver-url": server.url_for("/receiver"), "api-key": API_KEY}  # fmt: skip
        environ = {**network_environ(), **isolated_environ, "PATH": path,
                   "PIP_FIND_LINKS": str(wheels), "UV_FIND_LINKS": str(wheels)}  # fmt: skip
        first = run_action(inputs, environ=environ, work=tmp_path)
        assert first.status == 0, first.stderr
        assert first.outputs["version"] == __version__
        (venv,) = (tmp_path / "tool-cache" / "stac-events" / __version__).iterdir()
        assert first.path == [str(venv / "on-path")]
        marker = venv / ".installed-from"
        assert marker.read_text() == __version__
        installed = marker.stat().st_mtime_ns
        second = run_action(inputs, environ=environ, work=tmp_path)
        assert second.status == 0, second.stderr
        assert marker.stat().st_mtime_ns == installed  # found in the cache: not installed again
        assert [e["msg_title"] for e in received_events(server)] == ["released"] * 2
    finally:
        server.stop()


def test_run_with_a_time_limit_stops_the_command_and_ends_with_124(
    environ, receiver, tmp_path
) -> None:
    inputs = {"run": "echo started; sleep 30", "time-limit": "1", "install": "false",
              "receiver-url": receiver.url_for("/receiver"), "api-key": API_KEY}  # fmt: skip
    run = run_action(inputs, environ=environ, work=tmp_path)
    assert run.status == 124  # as timeout(1) ends
    assert "started" in run.stdout
    (event,) = received_events(receiver)
    assert event["msg_title"] == "bash timed out after 1 s"
    assert event["context"]["category"] == "Alerts"
    assert event["context"]["data"]["timed_out"] is True
    assert run.annotations("warning") == run.annotations("error") == []


def test_a_time_limit_without_run_fails_the_step(environ, tmp_path) -> None:
    inputs = {"event-type": "E", "title": "t", "time-limit": "5", "install": "false"}
    run = run_action(inputs, environ=environ, work=tmp_path)
    assert run.status == 2
    (error,) = run.annotations("error")
    assert "time-limit goes with run" in error


def test_headers_reach_the_receiver_and_are_masked(environ, receiver, tmp_path) -> None:
    inputs = {"event-type": "E", "title": "t", "install": "false",
              "headers": "X-Gateway-Token: gw-secret-4321\nX-Other:  other-secret-8765 ",
              "receiver-url": receiver.url_for("/receiver"), "api-key": API_KEY}  # fmt: skip
    run = run_action(inputs, environ=environ, work=tmp_path)
    assert run.status == 0
    ((request, _),) = receiver.log
    assert request.headers["X-Gateway-Token"] == "gw-secret-4321"
    assert request.headers["X-Other"] == "other-secret-8765"
    assert {"gw-secret-4321", "other-secret-8765"} <= set(run.masks)
    assert "gw-secret-4321" not in run.output
    assert "other-secret-8765" not in run.output
