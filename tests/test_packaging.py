"""What a packager reads: the license, the metadata, the changelog. (Building the sdist
and the wheel and checking them is `make dist`, which `.ci/run` runs.)"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]  # in this order


def pyproject() -> Dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # 3.10 has no tomllib; pytest needs tomli there, so it is installed
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_license_is_the_apache_2_text_the_metadata_names() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    project = pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert "LICENSE" in pyproject()["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]


def test_the_build_backend_writes_metadata_twine_accepts() -> None:
    assert pyproject()["build-system"]["requires"] == ["hatchling>=1.27"]


def test_classifiers_say_python_versions_os_and_status() -> None:
    project = pyproject()["project"]
    classifiers = project["classifiers"]
    low = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert low
    versions = [c.rsplit(" ", 1)[1] for c in classifiers
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]  # fmt: skip
    assert versions == [f"3.{minor}" for minor in range(int(low.group(1)), 14)]
    assert [c for c in classifiers if c.startswith("Development Status :: ")]
    assert [c for c in classifiers if c.startswith("Operating System :: ")]
    assert not [c for c in classifiers if c.startswith("License :: ")]  # the expression says it
    assert "SUSE Observability" in project["keywords"]
    assert "StackState" in project["keywords"]


def test_development_tools_are_not_published() -> None:
    """ruff, mypy and the release tools are dependency groups (PEP 735), which no installed
    package carries; the published `test` extra holds what the suite needs alone."""
    data = pyproject()
    published = [r for extra in data["project"]["optional-dependencies"].values() for r in extra]
    assert not [r for r in published if re.match(r"(ruff|mypy|types-|build|twine)\b", r)]
    lint = data["dependency-groups"]["lint"]
    assert [r for r in lint if r.startswith("ruff")]
    assert [r for r in lint if r.startswith("mypy")]


def test_every_address_of_its_own_is_its_one_repository() -> None:
    """One home: every web address of the project's own in the package, the README, the
    action and the workflows is its repository's (or its PyPI page)."""
    from stac_events.version import REPOSITORY

    texts = [ROOT / "README.md", ROOT / "action.yml", ROOT / "pyproject.toml",
             *sorted((ROOT / ".github").rglob("*.yml")),
             *sorted((ROOT / "stac_events").rglob("*.py"))]  # fmt: skip
    for path in texts:
        for claim in re.findall(r"https?://\S*stac-events\S*", path.read_text(encoding="utf-8")):
            assert claim.startswith((REPOSITORY, "https://pypi.org/project/stac-events")), path


def changelog_sections() -> List[tuple]:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.findall(r"^## ([^\n]+)\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)


def test_changelog_follows_keep_a_changelog() -> None:
    """`[Unreleased]` first, then `[X.Y.Z] - YYYY-MM-DD` sections; in each, the groups of
    Keep a Changelog, each at most once, in its order, and every line a bullet under one."""
    sections = changelog_sections()
    assert sections
    assert sections[0][0] == "[Unreleased]"
    for title, _ in sections[1:]:
        assert re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", title), title
    for title, body in sections:
        groups = re.findall(r"^### (.+)$", body, flags=re.MULTILINE)
        assert set(groups) <= set(GROUPS), (title, groups)
        assert groups == sorted(set(groups), key=GROUPS.index), (title, groups)
        assert body.lstrip("\n").startswith("### ") or not body.strip(), title
        for group in re.split(r"^### .+\n", body, flags=re.MULTILINE)[1:]:
            lines = [line for line in group.splitlines() if line.strip()]
            assert lines, (title, "an empty group")
            assert all(line.startswith(("- ", "  ")) for line in lines), (title, lines[:1])


def test_the_metadata_names_the_repository_the_code_names() -> None:
    """One repository address: the package's metadata, an internal error's message and the
    README's Action examples."""
    from stac_events.version import ISSUES, REPOSITORY

    block = (ROOT / "pyproject.toml").read_text().split("[project.urls]\n")[1].split("\n[")[0]
    urls = dict(re.findall(r'^(\w+) = "([^"]+)"$', block, flags=re.MULTILINE))
    assert urls == {
        "Homepage": REPOSITORY,
        "Source": REPOSITORY,
        "Issues": ISSUES,
        "Changelog": f"{REPOSITORY}/blob/main/CHANGELOG.md",
    }
    owner_name = REPOSITORY.removeprefix("https://github.com/")
    readme = (ROOT / "README.md").read_text()
    uses = re.findall(r"uses: ([\w./-]+/stac-events)@", readme)
    assert uses
    assert set(uses) == {owner_name}


def test_the_receiver_page_is_package_data_that_both_archives_take() -> None:
    """The page's files are in the package's own folder, which the wheel and the sdist take
    whole (`make dist` looks for each in both; an sdist, which this suite also runs from,
    has no Makefile), and the receiver serves every one."""
    from stac_events.receiver.server import PAGE_FILES

    targets = pyproject()["tool"]["hatch"]["build"]["targets"]
    assert targets["wheel"]["packages"] == ["stac_events"]
    assert "stac_events" in targets["sdist"]["include"]
    folder = ROOT / "stac_events" / "receiver" / "page"
    served = {name for name, _ in PAGE_FILES.values()}
    assert {path.name for path in folder.iterdir()} == served
