"""The package's layout, as the README's Development section draws it: imports go one way.

The library never imports the command line; only `cli/typer_app.py` imports Typer; Click,
and Typer's private modules, are imported nowhere.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "stac_events"


def imports() -> Dict[str, Set[str]]:
    """Every module of the package (as a path under it), with the modules it imports."""
    found: Dict[str, Set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        names: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[path.relative_to(PACKAGE).as_posix()] = names
    return found


IMPORTS = imports()


LIBRARY = [m for m in IMPORTS if not m.startswith("cli/") and m != "__main__.py"]


@pytest.mark.parametrize("module", LIBRARY)
def test_the_library_never_imports_the_command_line(module: str) -> None:
    assert not {name for name in IMPORTS[module] if name.startswith("stac_events.cli")}


@pytest.mark.parametrize("module", list(IMPORTS))
def test_only_typer_app_imports_typer_and_nothing_imports_click(module: str) -> None:
    typer = {name for name in IMPORTS[module] if name == "typer" or name.startswith("typer.")}
    assert typer == ({"typer"} if module == "cli/typer_app.py" else set())
    assert not {name for name in IMPORTS[module] if name.split(".")[0] == "click"}


def test_every_command_function_exists() -> None:
    import importlib

    from stac_events.cli.commands import COMMANDS

    for command in COMMANDS:
        module, _, function = command.handler.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), command.path
