"""Every ```sh example in the README runs as written and succeeds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from tests.processes import Processes, run, shell_command

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


def in_a_git_checkout() -> bool:
    """Whether git can read this project's history (not from an unpacked sdist)."""
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%H"],
                              capture_output=True, timeout=30, check=False)  # fmt: skip
    except OSError:
        return False
    return done.returncode == 0


@pytest.mark.parametrize("command", sh_examples())
def test_readme_example_runs(command: str, processes: Processes) -> None:
    if re.search(r"\bgit ", command) and not in_a_git_checkout():
        pytest.skip("the example reads git history: it needs a git checkout, not an sdist")
    completed = processes.shell(command, flags=["-o", "pipefail"], cwd=ROOT)
    assert "error:" not in completed.stderr
    assert (completed.stdout + completed.stderr).strip()


INSTALL_LINE = re.compile(r"\b(?:pipx|uv tool|pip) install\b")
INSTALLERS = ("pipx install ", "uv tool install ", "pip install pipx")


def install_lines() -> List[str]:
    """Every line of the README that installs something: in its console and sh blocks and
    in the CI snippets' steps, comments dropped (prose that says what fails is not one)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```(?:console|sh|bash|yaml)\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            command = re.sub(r"^\s*(?:- )?(?:run: )?|\s+#.*$", "", line)
            if INSTALL_LINE.search(command):
                found.append(command)
    return found


def test_readme_install_lines_are_ones_the_install_test_runs() -> None:
    """The install lines run for real (`-m installs`) are all of them, and of kinds that
    test knows how to check."""
    lines = install_lines()
    assert "pipx install ." in lines
    assert "uv tool install ." in lines
    assert sum("stac_events-*.whl" in line for line in lines) >= 3  # a wheel, and CI
    assert [line for line in lines if not line.startswith(INSTALLERS)] == []


INSTALLS = os.environ.get("STAC_EVENTS_TEST_INSTALLS") == "1"


@pytest.mark.installs
@pytest.mark.skipif(not INSTALLS, reason="downloads from PyPI: STAC_EVENTS_TEST_INSTALLS=1")
@pytest.mark.parametrize("line", install_lines())
def test_readme_install_line_works(line: str, tmp_path: Path) -> None:
    """The line, run in a copy of the checkout with the wheel `make dist` built in `dist/`
    and in `tools/` (where the CI snippets keep it), installs a `stac-events` and a `stac`
    that run; with a home, pipx and uv folders of its own."""
    import shutil

    from stac_events.version import __version__

    wheels = sorted((ROOT / "dist").glob(f"stac_events-{__version__}-*.whl"))
    assert wheels, "no wheel in dist/: run 'make dist' first"
    project = tmp_path / "project"
    skipped = (".venv*", ".git", "dist", "build", ".bench", ".*cache", ".hypothesis", "__pycache__")
    shutil.copytree(ROOT, project, symlinks=True, ignore=shutil.ignore_patterns(*skipped))
    for folder in ("dist", "tools"):
        (project / folder).mkdir()
        shutil.copy(wheels[-1], project / folder)
    bin_dir, tools = tmp_path / "bin", tmp_path / "tools"
    tools.mkdir()
    hidden = {str(Path(sys.executable).parent)}  # this environment's stac-events stays out
    for tool in ("pipx", "uv"):
        found = shutil.which(tool)
        assert found, f"{tool} is not on PATH (.ci/run installs it)"
        (tools / tool).symlink_to(found)
        hidden.add(str(Path(found).parent))
    path = [str(bin_dir), str(tools)]
    if line.startswith("pip install"):  # a CI image's own Python and pip
        subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
        path.insert(0, str(tmp_path / "venv" / "bin"))
    path += [p for p in os.environ["PATH"].split(os.pathsep) if p not in hidden]
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PIPX_", "UV_"))},
           "HOME": str(tmp_path / "home"), "PATH": os.pathsep.join(path),
           "XDG_CACHE_HOME": cache, "PIPX_HOME": str(tmp_path / "pipx"),
           "PIPX_BIN_DIR": str(bin_dir), "UV_TOOL_DIR": str(tmp_path / "uv-tools"),
           "UV_TOOL_BIN_DIR": str(bin_dir), "UV_PYTHON_DOWNLOADS": "never"}  # fmt: skip
    # Exactly this environment, not a test's: the line installs as a user's shell would.
    run(shell_command("bash", line, flags=["-e"]), cwd=project, env=env, timeout=600)
    if line.startswith("pip install pipx"):
        assert (tmp_path / "venv" / "bin" / "pipx").exists()
        return
    for command in ("stac-events", "stac"):
        ran = run([str(bin_dir / command), "--version"], env=env)
        assert ran.stdout.strip() == f"stac-events {__version__}", ran.stderr


def ci_snippets() -> List[tuple]:
    """The commands of the README's GitHub Actions and GitLab CI snippets."""
    import yaml

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL):
        document = yaml.safe_load(block)
        if not isinstance(document, dict):  # steps alone, as the action's examples give them
            continue
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


@pytest.mark.slow
@pytest.mark.parametrize("receiver", ["up", "down"])
def test_readme_ci_snippets_work(
    processes: Processes, tmp_path: Path, httpserver, receiver: str
) -> None:
    """Each snippet's commands, run as the CI system would, deliver their events; with the
    receiver down, no step fails and the events are queued."""
    import json

    snippets = ci_snippets()
    assert [kind for kind, _, _ in snippets] == ["github", "gitlab"]
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
            **CI_ENV[kind],
            **{k: v for k, v in variables.items() if "${{" not in str(v)},
            "STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver")
            if receiver == "up"
            else "http://127.0.0.1:9/receiver",
            "STAC_EVENTS_API_KEY": "k",
            "XDG_STATE_HOME": str(work / "state"),
        }
        for command in commands:
            if INSTALL_LINE.search(command):
                continue  # installed already; test_readme_install_line_works runs it
            processes.shell(command, flags=["-e"], cwd=work, env=env)
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


def test_readme_python_examples_send_their_events(processes: Processes, httpserver) -> None:
    """The "From Python" example, run as a script, delivers its event."""
    import json

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [block for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
              if "stac_events.send(" in block]  # fmt: skip
    assert blocks
    httpserver.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
    env = {"STAC_EVENTS_RECEIVER_URL": httpserver.url_for("/receiver"), "STAC_EVENTS_API_KEY": "k"}
    for block in blocks:
        done = processes.run(sys.executable, "-c", block, env=env)
        assert "sent 1 event(s), the receiver answered 202" in done.stdout
    events = [json.loads(request.get_data())["events"] for request, _ in httpserver.log]
    assert [list(group) for group in events] == [["DeployEvent"]] * len(blocks)


def test_timings_are_given_once_in_the_performance_section() -> None:
    """A figure measured once is stated once: prose elsewhere points at the table, so that
    two places cannot give two start-up times. Sample output in code blocks is exempt."""
    text = (ROOT / "README.md").read_text()
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    sections = re.split(r"^## ", prose, flags=re.M)
    outside = [s for s in sections if not s.startswith("Performance\n")]
    timings = [m.group(0) for s in outside for m in re.finditer(r"\b\d[\d,.]* ?ms\b", s)]
    assert timings == [], timings
    performance = next(s for s in sections if s.startswith("Performance\n"))
    assert "starting the CLI (`stac-events --version`)" in performance
