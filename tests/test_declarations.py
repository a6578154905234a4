"""Each setting is declared once (`stac_events.setting_specs`), and each command's options
once (`cli.options`): everything else that names them is made from those declarations,
and these tests keep it so."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

import stac_events
from stac_events import setting_specs as specs
from stac_events.cli import options as o
from stac_events.cli.commands import COMMANDS
from stac_events.errors import InvalidInput
from stac_events.settings import DeliveryOptions, Settings
from tests.conftest import API_KEY, Cli
from tests.processes import Processes

PACKAGE = Path(__file__).resolve().parent.parent / "stac_events"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.path)
def test_a_commands_record_holds_exactly_its_arguments_and_options(command: Any) -> None:
    import importlib

    declared = (*(a.name for a in command.arguments), *(opt.name for opt in command.options))
    module = importlib.import_module(command.handler.partition(":")[0])
    assert getattr(module, command.record)._fields == declared


@pytest.mark.parametrize("spec", specs.SPECS, ids=lambda spec: spec.name)
def test_the_option_of_a_setting_is_made_from_its_declaration(spec: Any) -> None:
    (opt,) = {opt for command in COMMANDS for opt in command.options if opt.name == spec.name
              and opt.panel != o.LOCAL}  # fmt: skip
    assert (opt.flags, opt.help, opt.metavar, opt.convert) == (
        (spec.flag, spec.short) if spec.short else (spec.flag,),
        spec.help,
        spec.metavar,
        spec.convert,
    )
    assert (opt.kind == o.FLAG) == spec.switch


def test_settings_fields_are_the_declared_ones_in_config_show_order(cli: Cli) -> None:
    declared = [field for spec in specs.SPECS for field in spec.fields]
    assert set(Settings._fields) >= {*declared, *specs.FILE_ONLY_FIELDS}
    shown = cli("config", "show", "-o", "json", "--url", "http://127.0.0.1:9").json()
    assert sorted(shown) == sorted([*declared, *specs.FILE_ONLY_FIELDS])
    assert [name for name in shown if name not in specs.FILE_ONLY_FIELDS] == declared


def test_delivery_options_are_the_fields_of_the_delivery_settings() -> None:
    delivery = [field for spec in specs.SPECS if spec.delivery for field in spec.fields]
    assert sorted(DeliveryOptions._fields) == sorted([*delivery, "backoff"])


def test_every_declared_setting_is_a_library_argument(home: Path) -> None:
    environ = {"HOME": str(home), "XDG_STATE_HOME": str(home / "state")}
    given: Dict[str, Any] = {
        "url": "http://127.0.0.1:9/receiver", "api_key": API_KEY, "hostname": "build-7",
        "instance": None, "client": None, "config": None, "ci_context": True,
        "timeout": 2, "retries": 1, "max_time": 9.5, "insecure": True, "ca_cert": None,
        "headers": ("X-Gateway-Token: t0ken-abcdef",), "spool": False,
    }  # fmt: skip
    assert sorted(given) == sorted(specs.BY_NAME)
    with pytest.warns(stac_events.StacEventsWarning, match="TLS certificate checks are off"):
        settings = stac_events.resolve_settings(environ=environ, **given)
    assert settings.hostname == stac_events.Setting("build-7", "the hostname argument")
    assert settings.connect_timeout.value == settings.read_timeout.value == 2.0
    assert (settings.retries.value, settings.max_time.value) == (1, 9.5)
    assert settings.tls_verify == stac_events.Setting(False, "the insecure argument")
    assert settings.spool == stac_events.Setting(None, "the spool argument")
    assert settings.ci_context.value is True
    assert settings.headers.value == (("X-Gateway-Token", "t0ken-abcdef"),)
    assert "t0ken-abcdef" in settings.secrets
    assert settings.delivery_options().tls_verify is False
    doc = inspect.getdoc(stac_events.resolve_settings) or ""
    for spec in specs.SPECS:
        assert f"\n- {spec.name} ({spec.kind_name()}; " in doc
        assert spec.flag in doc


def test_an_unknown_argument_is_a_type_error_and_a_wrong_kind_invalid_input(home: Path) -> None:
    environ = {"HOME": str(home)}
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_tme'"):
        stac_events.resolve_settings(environ=environ, max_tme=3)
    with pytest.raises(InvalidInput) as raised:
        stac_events.resolve_settings(environ=environ, retries=True)
    assert raised.value.field == "retries"


def _calls(name: str) -> List[str]:
    """Where in the package a method or function called `name` is called."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_an_outcome_is_judged_in_one_place_and_ci_detected_in_one() -> None:
    (judged,) = _calls("problem")
    assert judged.startswith("sending.py:")
    (detected,) = _calls("_ci_run")
    assert detected.startswith("sending.py:")


def test_the_typed_arguments_are_the_declared_settings_with_their_kinds() -> None:
    annotations = specs.SettingArguments.__annotations__
    assert list(annotations) == [spec.name for spec in specs.SPECS]
    for spec in specs.SPECS:
        typed = str(annotations[spec.name])
        assert spec.kind.__name__ in typed, spec.name
        assert ("PathLike" in typed) == spec.path, spec.name


@pytest.mark.slow
def test_a_type_checker_sees_the_settings_names_and_types(
    processes: Processes, tmp_path: Path
) -> None:
    """What editors and mypy tell a caller, from `py.typed` and the typed arguments. mypy
    runs in a process of its own: in this one it would raise the recursion limit for the
    tests after it."""
    pytest.importorskip("mypy")
    script = tmp_path / "caller.py"
    script.write_text(
        "import stac_events\n"
        "stac_events.resolve_settings(url='https://x', timeout=5, spool=False)\n"
        "stac_events.resolve_settings(timeout='5')\n"
        "stac_events.resolve_settings(max_tme=5)\n",
        encoding="utf-8",
    )
    checked = processes.run(sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                            str(script), cwd=tmp_path, expect=1, timeout=300)  # fmt: skip
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["3", "4"], checked.stdout
    assert '"timeout"' in errors[0]
    assert '"max_tme"' in errors[1]
