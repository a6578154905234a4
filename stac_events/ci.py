"""Which CI system a run is in, read from the variables each one documents.

Each provider maps to: a link to the run, `ci.*` data keys (only those it has), a
`ci_provider:<name>` tag, and its name as the default event source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Tuple

DATA_KEYS = ("pipeline", "run_id", "job", "commit", "branch", "repository", "actor")


@dataclass(frozen=True)
class CiRun:
    """The CI run this process is part of, as its provider describes it."""

    provider: str  # as in the tag and the default source: "github-actions"
    title: str  # for the source link: "GitHub Actions run"
    url: Optional[str]
    data: Dict[str, str] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return f"ci_provider:{self.provider}"

    @property
    def link(self) -> Optional[Dict[str, str]]:
        if not self.url:
            return None
        run = self.data.get("ci.run_id")
        return {"title": f"{self.title} {run}" if run else self.title, "url": self.url}


Env = Mapping[str, str]


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    detect: Callable[[Env], bool]
    url: Callable[[Env], Optional[str]]
    variables: Dict[str, Tuple[str, ...]]  # data key -> variables, the first set wins


def _get(env: Env, *names: str) -> Optional[str]:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _joined(env: Env, template: str, *names: str) -> Optional[str]:
    values = [_get(env, name) for name in names]
    return None if None in values else template.format(*values)


def _github_run(env: Env) -> Optional[str]:
    """The run's page, at the attempt that is running: a re-run is an attempt of its own,
    and the run's page shows the latest, not the one that sent the event."""
    run = _joined(env, "{}/{}/actions/runs/{}", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY",
                  "GITHUB_RUN_ID")  # fmt: skip
    attempt = _get(env, "GITHUB_RUN_ATTEMPT")
    if run is None or attempt is None or not attempt.isascii() or not attempt.isdigit():
        return run
    return f"{run}/attempts/{attempt}"


PROVIDERS: List[Provider] = [
    Provider(
        "github-actions",
        "GitHub Actions run",
        lambda env: env.get("GITHUB_ACTIONS") == "true",
        lambda env: _github_run(env),
        {
            "pipeline": ("GITHUB_WORKFLOW",),
            "run_id": ("GITHUB_RUN_ID",),
            "job": ("GITHUB_JOB",),
            "commit": ("GITHUB_SHA",),
            "branch": ("GITHUB_HEAD_REF", "GITHUB_REF_NAME"),
            "repository": ("GITHUB_REPOSITORY",),
            "actor": ("GITHUB_ACTOR",),
        },
    ),
    Provider(
        "gitlab-ci",
        "GitLab pipeline",
        lambda env: env.get("GITLAB_CI") == "true",
        lambda env: _get(env, "CI_PIPELINE_URL", "CI_JOB_URL"),
        {
            "pipeline": ("CI_PIPELINE_NAME", "CI_PROJECT_PATH"),
            "run_id": ("CI_PIPELINE_ID",),
            "job": ("CI_JOB_NAME",),
            "commit": ("CI_COMMIT_SHA",),
            "branch": ("CI_COMMIT_REF_NAME",),
            "repository": ("CI_PROJECT_PATH",),
            "actor": ("GITLAB_USER_LOGIN",),
        },
    ),
    Provider(
        "jenkins",
        "Jenkins build",
        lambda env: bool(env.get("JENKINS_URL")) and bool(env.get("BUILD_NUMBER")),
        lambda env: _get(env, "BUILD_URL"),
        {
            "pipeline": ("JOB_NAME",),
            "run_id": ("BUILD_NUMBER",),
            "job": ("STAGE_NAME", "JOB_BASE_NAME"),
            "commit": ("GIT_COMMIT",),
            "branch": ("BRANCH_NAME", "GIT_BRANCH"),
            "repository": ("GIT_URL",),
            "actor": ("BUILD_USER_ID", "BUILD_USER"),
        },
    ),
    Provider(
        "circleci",
        "CircleCI job",
        lambda env: env.get("CIRCLECI") == "true",
        lambda env: _get(env, "CIRCLE_BUILD_URL"),
        {
            "pipeline": ("CIRCLE_WORKFLOW_ID",),
            "run_id": ("CIRCLE_BUILD_NUM",),
            "job": ("CIRCLE_JOB",),
            "commit": ("CIRCLE_SHA1",),
            "branch": ("CIRCLE_BRANCH", "CIRCLE_TAG"),
            "repository": ("CIRCLE_PROJECT_USERNAME",),  # completed below with the repo name
            "actor": ("CIRCLE_USERNAME",),
        },
    ),
    Provider(
        "azure-pipelines",
        "Azure Pipelines run",
        lambda env: env.get("TF_BUILD", "").lower() == "true",
        lambda env: _joined(env, "{}{}/_build/results?buildId={}",
                            "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMPROJECT", "BUILD_BUILDID"),
        {
            "pipeline": ("BUILD_DEFINITIONNAME",),
            "run_id": ("BUILD_BUILDID",),
            "job": ("SYSTEM_JOBDISPLAYNAME", "AGENT_JOBNAME"),
            "commit": ("BUILD_SOURCEVERSION",),
            "branch": ("BUILD_SOURCEBRANCHNAME",),
            "repository": ("BUILD_REPOSITORY_NAME",),
            "actor": ("BUILD_REQUESTEDFOR",),
        },
    ),
    Provider(
        "bitbucket-pipelines",
        "Bitbucket pipeline",
        lambda env: bool(env.get("BITBUCKET_BUILD_NUMBER")),
        lambda env: _joined(env, "https://bitbucket.org/{}/pipelines/results/{}",
                            "BITBUCKET_REPO_FULL_NAME", "BITBUCKET_BUILD_NUMBER"),
        {
            "pipeline": ("BITBUCKET_PIPELINE_UUID",),
            "run_id": ("BITBUCKET_BUILD_NUMBER",),
            "job": ("BITBUCKET_STEP_UUID",),
            "commit": ("BITBUCKET_COMMIT",),
            "branch": ("BITBUCKET_BRANCH", "BITBUCKET_TAG"),
            "repository": ("BITBUCKET_REPO_FULL_NAME",),
            "actor": ("BITBUCKET_STEP_TRIGGERER_UUID",),
        },
    ),
    Provider(
        "buildkite",
        "Buildkite build",
        lambda env: env.get("BUILDKITE") == "true",
        lambda env: _get(env, "BUILDKITE_BUILD_URL"),
        {
            "pipeline": ("BUILDKITE_PIPELINE_SLUG",),
            "run_id": ("BUILDKITE_BUILD_NUMBER",),
            "job": ("BUILDKITE_LABEL",),
            "commit": ("BUILDKITE_COMMIT",),
            "branch": ("BUILDKITE_BRANCH",),
            "repository": ("BUILDKITE_REPO",),
            "actor": ("BUILDKITE_BUILD_CREATOR",),
        },
    ),
]  # fmt: skip


def detect(env: Env) -> Optional[CiRun]:
    """The CI run this process is part of, or None outside the providers known here."""
    for provider in PROVIDERS:
        if not provider.detect(env):
            continue
        data = {"ci.provider": provider.name}
        for key in DATA_KEYS:
            value = _get(env, *provider.variables[key])
            if value is not None:
                data[f"ci.{key}"] = value
        if provider.name == "circleci" and "ci.repository" in data:
            name = _get(env, "CIRCLE_PROJECT_REPONAME")
            if name:
                data["ci.repository"] = f"{data['ci.repository']}/{name}"
        return CiRun(provider.name, provider.title, provider.url(env), data)
    return None
