"""Every ```sh example in the README runs as written and succeeds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parent.parent


def sh_examples() -> List[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        joined = block.replace("\\\n", " ")
        commands += [line for line in joined.splitlines() if line.strip()]
    return commands


def test_readme_has_examples() -> None:
    assert len(sh_examples()) >= 5


@pytest.mark.parametrize("command", sh_examples())
def test_readme_example_runs(command: str, isolated_environ: dict) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {**isolated_environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    completed = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "error:" not in completed.stderr
    assert (completed.stdout + completed.stderr).strip()


def ci_snippets() -> List[tuple]:
    """The commands of the README's GitHub Actions and GitLab CI snippets."""
    import yaml

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL):
        document = yaml.safe_load(block)
        if "jobs" in document:
            for job in document["jobs"].values():
                runs = [step["run"] for step in job["steps"] if "run" in step]
                found.append(("github", job.get("env", {}), runs))
        else:
            for job in document.values():
                if isinstance(job, dict) and "script" in job:
                    found.append(("gitlab", job.get("variables", {}), job["script"]))
    return found


CI_ENV = {
    "github": {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com",
               "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "42"},
    "gitlab": {"GITLAB_CI": "true", "CI_PIPELINE_URL": "https://gitlab.com/acme/shop/-/pipelines/7",
               "CI_PIPELINE_ID": "7"},
}  # fmt: skip


@pytest.mark.parametrize("receiver", ["up", "down"])
def test_readme_ci_snippets_work(
    isolated_environ: dict, tmp_path: Path, httpserver, receiver: str
) -> None:
    """Each snippet's commands, run as the CI system would, deliver their events; with the
    receiver down, no step fails and the events are queued."""
    import json

    snippets = ci_snippets()
    assert [kind for kind, _, _ in snippets] == ["github", "gitlab"]
    bin_dir = str(Path(sys.executable).parent)
    for kind, variables, commands in snippets:
        httpserver.clear()
        httpserver.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
        work = tmp_path / kind
        work.mkdir()
        (work / "deploy.sh").write_text("#!/bin/sh\necho deployed\n")
        (work / "deploy.sh").chmod(0o755)
        (work / "versions.ndjson").write_text(
            '{"event_type": "VersionChangedEvent", "msg_title": "checkout 1.4.2"}\n'
        )
        env = {
            **isolated_environ,
            **CI_ENV[kind],
            **{k: v for k, v in variables.items() if "${{" not in str(v)},
            "STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver")
            if receiver == "up"
            else "http://127.0.0.1:9/receiver",
            "STAC_EVENTS_API_KEY": "k",
            "PATH": bin_dir + os.pathsep + os.environ["PATH"],
            "XDG_STATE_HOME": str(work / "state"),
        }
        for command in commands:
            if command.startswith("pip install"):
                continue  # installed already
            done = subprocess.run(
                ["bash", "-e", "-c", command],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, (kind, command, done.stderr)
        if receiver == "down":
            queued = list((work / "state" / "stac-events" / "spool" / "pending").iterdir())
            assert len(queued) == 2  # the deploy's event and the versions, none lost
            continue
        events = [
            e
            for r, _ in httpserver.log
            for g in json.loads(r.get_data())["events"].values()
            for e in g
        ]
        assert [e["event_type"] for e in events] == ["DeployEvent", "VersionChangedEvent"]
        assert all(e["context"]["data"]["ci.provider"].startswith(kind) for e in events)


def test_readme_python_examples_send_their_events(isolated_environ: dict, httpserver) -> None:
    """The "From Python" example, run as a script, delivers its event."""
    import json

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks
    httpserver.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
    env = {
        **isolated_environ,
        "STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"),
        "STAC_EVENTS_API_KEY": "k",
    }
    for block in blocks:
        done = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True,
                              env=env, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "sent 1 event(s), the receiver answered 202" in done.stdout
    events = [json.loads(request.get_data())["events"] for request, _ in httpserver.log]
    assert [list(group) for group in events] == [["DeployEvent"]] * len(blocks)
