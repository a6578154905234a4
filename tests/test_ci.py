"""--ci-context: each provider's variables to a link, ci.* data, a tag and a source."""

from __future__ import annotations

import json
from typing import Dict, Optional

import pytest

from stac_events.ci import detect
from tests.conftest import Cli

PROVIDERS = {
    "github-actions": (
        {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com",
         "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "42", "GITHUB_WORKFLOW": "deploy",
         "GITHUB_JOB": "release", "GITHUB_SHA": "abc123", "GITHUB_REF_NAME": "main",
         "GITHUB_ACTOR": "octocat"},
        "https://github.com/acme/shop/actions/runs/42",
        {"ci.pipeline": "deploy", "ci.run_id": "42", "ci.job": "release", "ci.commit": "abc123",
         "ci.branch": "main", "ci.repository": "acme/shop", "ci.actor": "octocat"},
    ),
    "gitlab-ci": (
        {"GITLAB_CI": "true", "CI_PIPELINE_URL": "https://gitlab.com/acme/shop/-/pipelines/7",
         "CI_PIPELINE_ID": "7", "CI_JOB_NAME": "deploy", "CI_COMMIT_SHA": "def456",
         "CI_COMMIT_REF_NAME": "main", "CI_PROJECT_PATH": "acme/shop",
         "GITLAB_USER_LOGIN": "dev"},
        "https://gitlab.com/acme/shop/-/pipelines/7",
        {"ci.pipeline": "acme/shop", "ci.run_id": "7", "ci.job": "deploy", "ci.commit": "def456",
         "ci.branch": "main", "ci.repository": "acme/shop", "ci.actor": "dev"},
    ),
    "jenkins": (
        {"JENKINS_URL": "https://ci.acme.io/", "BUILD_NUMBER": "99",
         "BUILD_URL": "https://ci.acme.io/job/shop/99/", "JOB_NAME": "shop",
         "GIT_COMMIT": "0ff1ce", "GIT_BRANCH": "origin/main"},
        "https://ci.acme.io/job/shop/99/",
        {"ci.pipeline": "shop", "ci.run_id": "99", "ci.commit": "0ff1ce",
         "ci.branch": "origin/main"},
    ),
    "circleci": (
        {"CIRCLECI": "true", "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/shop/5",
         "CIRCLE_BUILD_NUM": "5", "CIRCLE_JOB": "deploy", "CIRCLE_SHA1": "beef",
         "CIRCLE_BRANCH": "main", "CIRCLE_PROJECT_USERNAME": "acme",
         "CIRCLE_PROJECT_REPONAME": "shop", "CIRCLE_WORKFLOW_ID": "wf-1",
         "CIRCLE_USERNAME": "dev"},
        "https://circleci.com/gh/acme/shop/5",
        {"ci.pipeline": "wf-1", "ci.run_id": "5", "ci.job": "deploy", "ci.commit": "beef",
         "ci.branch": "main", "ci.repository": "acme/shop", "ci.actor": "dev"},
    ),
    "azure-pipelines": (
        {"TF_BUILD": "True", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
         "SYSTEM_TEAMPROJECT": "shop", "BUILD_BUILDID": "314", "BUILD_DEFINITIONNAME": "CD",
         "SYSTEM_JOBDISPLAYNAME": "Deploy", "BUILD_SOURCEVERSION": "cafe",
         "BUILD_SOURCEBRANCHNAME": "main", "BUILD_REPOSITORY_NAME": "shop",
         "BUILD_REQUESTEDFOR": "Dev One"},
        "https://dev.azure.com/acme/shop/_build/results?buildId=314",
        {"ci.pipeline": "CD", "ci.run_id": "314", "ci.job": "Deploy", "ci.commit": "cafe",
         "ci.branch": "main", "ci.repository": "shop", "ci.actor": "Dev One"},
    ),
    "bitbucket-pipelines": (
        {"BITBUCKET_BUILD_NUMBER": "12", "BITBUCKET_REPO_FULL_NAME": "acme/shop",
         "BITBUCKET_COMMIT": "f00d", "BITBUCKET_BRANCH": "main",
         "BITBUCKET_PIPELINE_UUID": "{p-1}", "BITBUCKET_STEP_UUID": "{s-1}"},
        "https://bitbucket.org/acme/shop/pipelines/results/12",
        {"ci.pipeline": "{p-1}", "ci.run_id": "12", "ci.job": "{s-1}", "ci.commit": "f00d",
         "ci.branch": "main", "ci.repository": "acme/shop"},
    ),
    "buildkite": (
        {"BUILDKITE": "true", "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/shop/builds/8",
         "BUILDKITE_BUILD_NUMBER": "8", "BUILDKITE_PIPELINE_SLUG": "shop",
         "BUILDKITE_LABEL": ":rocket: deploy", "BUILDKITE_COMMIT": "d00d",
         "BUILDKITE_BRANCH": "main", "BUILDKITE_REPO": "git@github.com:acme/shop.git",
         "BUILDKITE_BUILD_CREATOR": "Dev"},
        "https://buildkite.com/acme/shop/builds/8",
        {"ci.pipeline": "shop", "ci.run_id": "8", "ci.job": ":rocket: deploy", "ci.commit": "d00d",
         "ci.branch": "main", "ci.repository": "git@github.com:acme/shop.git", "ci.actor": "Dev"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("provider", PROVIDERS)
def test_detect(provider: str) -> None:
    env, url, data = PROVIDERS[provider]
    found = detect(env)
    assert found is not None
    assert found.provider == provider
    assert found.url == url
    assert found.data == {"ci.provider": provider, **data}
    assert found.tag == f"ci_provider:{provider}"


def test_nothing_detected_outside_ci() -> None:
    assert detect({"HOME": "/home/me", "CI": "true"}) is None


def dry_event(cli: Cli, *args: str, env: Optional[Dict[str, str]] = None) -> dict:
    result = cli("event", "send", "DeployEvent", "--title", "t", "--dry-run", *args, env=env)
    (group,) = json.loads(result.stdout)["events"].values()
    return group[0]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_ci_context_on_an_event(cli: Cli, provider: str) -> None:
    env, url, data = PROVIDERS[provider]
    event = dry_event(cli, "--ci-context", env=env)
    assert event["context"]["source"] == provider
    assert event["context"]["source_links"][0]["url"] == url
    assert event["context"]["data"] == {"ci.provider": provider, **data}
    assert event["tags"] == [f"ci_provider:{provider}"]


def test_explicit_flags_win(cli: Cli) -> None:
    env = PROVIDERS["github-actions"][0]
    event = dry_event(cli, "--ci-context", "-s", "deployer", "-d", "ci.branch=release",
                      "--links", "Docs: https://docs", "-t", "team:web", env=env)  # fmt: skip
    context = event["context"]
    assert context["source"] == "deployer"
    assert context["data"]["ci.branch"] == "release"
    assert context["data"]["ci.run_id"] == "42"
    assert context["source_links"][0] == {"title": "Docs", "url": "https://docs"}
    assert context["source_links"][1]["title"] == "GitHub Actions run 42"
    assert event["tags"] == ["team:web", "ci_provider:github-actions"]


def test_without_the_switch_nothing_is_added(cli: Cli) -> None:
    event = dry_event(cli, env=PROVIDERS["gitlab-ci"][0])
    assert "context" not in event
    assert "tags" not in event


def test_switch_from_the_environment_and_the_config(cli: Cli, tmp_path) -> None:
    env = {**PROVIDERS["buildkite"][0], "STAC_EVENTS_CI_CONTEXT": "1"}
    assert dry_event(cli, env=env)["context"]["source"] == "buildkite"
    off = {**env, "STAC_EVENTS_CI_CONTEXT": "0"}
    assert "context" not in dry_event(cli, env=off)
    path = tmp_path / "conf.yaml"
    path.write_text("instances:\n  default:\n    ci_context: true\n")
    event = dry_event(cli, "--config", str(path), env=PROVIDERS["buildkite"][0])
    assert event["context"]["source"] == "buildkite"
    shown = cli("config", "show", "-o", "json", "--config", str(path)).json()
    assert shown["ci_context"] == {"value": True, "origin": f"{path}:3"}


def test_switch_outside_ci_says_so(cli: Cli) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", "--dry-run", "--ci-context")
    assert "no CI system detected, so nothing CI-specific is added\n" in result.stderr
    variable = cli("event", "send", "DeployEvent", "--title", "t", "--dry-run",
                   env={"STAC_EVENTS_CI_CONTEXT": "1"})  # fmt: skip
    assert "nothing CI-specific is added (asked for by $STAC_EVENTS_CI_CONTEXT)" in variable.stderr
    assert "context" not in json.loads(result.stdout)["events"]["DeployEvent"][0]


def test_ci_context_in_batches_and_wrap(cli: Cli) -> None:
    env = PROVIDERS["github-actions"][0]
    lines = "\n".join(json.dumps({"event_type": "AEvent", "msg_title": f"{i}"}) for i in range(3))
    result = cli("event", "send", "--file", "-", "--ci-context", "--dry-run", stdin=lines, env=env)
    events = json.loads(result.stdout)["events"]["AEvent"]
    assert all(e["context"]["data"]["ci.run_id"] == "42" for e in events)
    wrapped = cli("event", "wrap", "--ci-context", "--dry-run", "-q", "--", "true", env=env)
    event = json.loads(wrapped.stderr.splitlines()[-1])["events"]["CommandEvent"][0]
    assert event["context"]["data"]["ci.provider"] == "github-actions"
    assert event["context"]["data"]["exit_code"] == 0


def test_bad_switch_value(cli: Cli) -> None:
    result = cli("event", "send", "DeployEvent", "--title", "t", "--dry-run",
                 env={"STAC_EVENTS_CI_CONTEXT": "maybe"}, expect=3)  # fmt: skip
    assert "$STAC_EVENTS_CI_CONTEXT is 'maybe'; use 1 or 0" in result.stderr


def test_a_github_re_run_links_to_its_own_attempt(cli: Cli) -> None:
    """A re-run is an attempt of its own; the run's page would show the latest one."""
    env = {**PROVIDERS["github-actions"][0], "GITHUB_RUN_ATTEMPT": "2"}
    event = dry_event(cli, "--ci-context", env=env)
    link = event["context"]["source_links"][0]["url"]
    assert link == "https://github.com/acme/shop/actions/runs/42/attempts/2"
