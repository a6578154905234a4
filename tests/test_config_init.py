"""`config init`: which file it writes, what it keeps there, and where the key comes from.

Each test runs the command line in-process on real files under a temporary home.
"""

from __future__ import annotations

import os
import pty
import select
import stat
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from tests.conftest import API_KEY, Cli, no_secret
from tests.processes import STAC_EVENTS, Processes

URL = "https://sts.example.com/receiver"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def user_file(home: Path) -> Path:
    return home / ".config" / "stac-events" / "conf.yaml"


def stac_file(home: Path) -> Path:
    return home / ".stackstate" / "cli" / "conf.yaml"


def client_of(path: Path, instance: str = "default", client: str = "default") -> Dict:
    return yaml.safe_load(path.read_text())["instances"][instance]["clients"][client]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


# Which file is written


def test_init_with_flags_creates_a_private_file_in_the_user_config_dir(
    cli: Cli, home: Path
) -> None:
    result = cli("config", "init", "--url", URL, "--api-key", API_KEY, "--hostname", "web-1")
    path = user_file(home)
    assert result.stderr == (
        f"created {path} (user config dir: no config file existed): "
        f"instance 'default', client 'default', mode 0600\n"
    )
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700
    assert no_secret(result)
    assert yaml.safe_load(path.read_text()) == {
        "instances": {
            "default": {
                "receiver_api": {"url": URL},
                "clients": {"default": {"api_key": API_KEY, "hostname": "web-1",
                                        "internal_hostname": "web-1"}},
            }
        }
    }  # fmt: skip
    shown = cli("config", "show", "-o", "json").json()
    assert shown["config_file"]["value"] == str(path)
    assert shown["hostname"]["value"] == "web-1"
    assert "warning" not in cli("config", "show").stderr


STAC_CONF = """\
instances:
  default:
    receiver_api:
      url: "https://default.example.com/receiver"
    clients:
      default:
        api_key: "default-key"
  prod:
    receiver_api:
      url: "https://prod.example.com/receiver"
    clients:
      default:
        api_key: "prod-key"
"""


def test_init_updates_the_stac_file_it_would_read_instead_of_hiding_it(
    cli: Cli, home: Path
) -> None:
    stac = write(stac_file(home), STAC_CONF)
    result = cli("--instance", "staging", "config", "init",
                 "--url", "https://staging.example.com/receiver", "--api-key", API_KEY)  # fmt: skip
    assert result.stderr == (
        f"updated {stac} (stac CLI: the config file that is read): "
        f"instance 'staging', client 'default', mode 0600\n"
    )
    assert not user_file(home).exists()
    for instance, address in [("default", "https://default.example.com"),
                              ("prod", "https://prod.example.com"),
                              ("staging", "https://staging.example.com")]:  # fmt: skip
        shown = cli("--instance", instance, "config", "show", "-o", "json").json()
        assert shown["config_file"]["value"] == str(stac)
        assert shown["address"]["value"].startswith(address)
    assert client_of(stac, "staging") == {"api_key": API_KEY}
    assert client_of(stac, "prod") == {"api_key": "prod-key"}
    assert no_secret(result)


def test_init_prefers_the_user_config_file_when_both_exist(cli: Cli, home: Path) -> None:
    stac = write(stac_file(home), STAC_CONF)
    mine = write(user_file(home), STAC_CONF.replace("default-key", "my-key"))
    result = cli("config", "init", "--url", URL, "--api-key", API_KEY)
    assert f"updated {mine} (user config dir: the config file that is read)" in result.stderr
    assert client_of(mine) == {"api_key": API_KEY}
    assert stac.read_text() == STAC_CONF


@pytest.mark.parametrize("named_by", ["--config", "$STAC_EVENTS_CONFIG"])
def test_init_creates_a_named_file_that_is_missing_where_it_is_read(
    cli: Cli, home: Path, named_by: str
) -> None:
    path = home / "team" / "settings" / "conf.yaml"
    if named_by == "--config":
        cli.environ["STAC_EVENTS_CONFIG"] = str(home / "elsewhere.yaml")  # the flag wins
        named = ["--config", str(path)]
    else:
        cli.environ["STAC_EVENTS_CONFIG"] = str(path)
        named = []
    result = cli(*named, "config", "init", "--url", URL, "--api-key", API_KEY)
    assert result.stderr.startswith(f"created {path} (named by {named_by}): instance 'default'")
    assert client_of(path) == {"api_key": API_KEY}
    assert (mode_of(path), mode_of(path.parent), mode_of(path.parent.parent)) == (
        0o600,
        0o700,
        0o700,
    )
    assert not user_file(home).exists()
    shown = cli(*named, "config", "show", "-o", "json").json()  # read back: no loop
    assert shown["config_file"] == {"value": str(path), "origin": named_by}
    assert shown["api_key"]["origin"].startswith(f"{path}:")


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_init_makes_private_folders_and_file_whatever_the_umask(
    cli: Cli, home: Path, umask: int
) -> None:
    previous = os.umask(umask)
    try:
        cli("config", "init", "--url", URL, "--api-key", API_KEY)
    finally:
        os.umask(previous)
    path = user_file(home)
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == mode_of(path.parent.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["conf.yaml"]  # no temporary left


def test_init_through_a_link_updates_the_file_it_points_to(cli: Cli, home: Path) -> None:
    real = write(home / "dotfiles" / "stac.yaml", STAC_CONF)
    link = stac_file(home)
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    result = cli("config", "init", "--url", URL, "--api-key", API_KEY)
    assert f"updated {link} (a link to {real}) (stac CLI:" in result.stderr
    assert link.is_symlink()
    assert client_of(real) == {"api_key": API_KEY}


@pytest.mark.parametrize(
    "line",
    [
        ["--config", "{path}", "--instance", "staging", "--client", "ci", "config", "init"],
        ["config", "init", "--config", "{path}", "--instance", "staging", "--client", "ci"],
    ],
    ids=["before the command", "after the command"],
)
def test_init_selection_flags_before_or_after_the_command(
    cli: Cli, tmp_path: Path, line: List[str]
) -> None:
    path = write(tmp_path / "conf.yaml", STAC_CONF)
    args = [part.format(path=path) for part in line]
    result = cli(*args, "--url", URL, "--api-key", API_KEY)
    assert f"updated {path} (named by --config): instance 'staging', client 'ci'" in result.stderr
    assert client_of(path, "staging", "ci") == {"api_key": API_KEY}
    assert client_of(path, "prod") == {"api_key": "prod-key"}


# What is kept in the file

COMMENTED = """\
# StackState CLI configuration (stac)
instances:
    default:  # production
        base_api:
            url: 'https://prod.example.com/api'
            apitoken_auth: {token: "tok"}
            scopes:
              - read
              - write
        admin_api:
            url: "https://prod.example.com/admin"
        receiver_api:
            url: "https://old.example.com/receiver"  # moved in 2024
            # basic_auth: {username: "...", password: "..."}
        clients:
            default:
                api_key: 'old-key'   # rotated yearly
    prod:
        receiver_api: {url: https://prod.example.com/receiver}
        clients: {default: {api_key: prod-key}}
# end of file
"""


def test_init_keeps_comments_quotes_order_and_other_sections(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path / "conf.yaml", COMMENTED)
    cli("config", "init", "--config", str(path), "--url", "https://new.example.com/receiver",
        "--api-key", API_KEY, "--hostname", "web-1")  # fmt: skip
    assert path.read_text() == COMMENTED.replace(
        '"https://old.example.com/receiver"', '"https://new.example.com/receiver"'
    ).replace(
        "                api_key: 'old-key'   # rotated yearly\n",
        f"                api_key: '{API_KEY}' # rotated yearly\n"
        f'                hostname: "web-1"\n'
        f'                internal_hostname: "web-1"\n',
    )
    assert mode_of(path) == 0o600


def test_init_adds_an_instance_after_the_others(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path / "conf.yaml", COMMENTED)
    cli("--config", str(path), "--instance", "staging", "config", "init",
        "--url", "https://staging.example.com", "--api-key", "staging-key")  # fmt: skip
    assert path.read_text() == COMMENTED.replace(
        "# end of file\n",
        "    staging:\n"
        "        receiver_api:\n"
        '            url: "https://staging.example.com"\n'
        "        clients:\n"
        "            default:\n"
        '                api_key: "staging-key"\n'
        "# end of file\n",
    )


def test_init_keeps_the_comments_of_a_file_that_holds_nothing_else(
    cli: Cli, tmp_path: Path
) -> None:
    path = write(tmp_path / "conf.yaml", "# filled in by config init\n\n")
    cli("config", "init", "--config", str(path), "--url", URL, "--api-key", API_KEY)
    assert path.read_text() == (
        "# filled in by config init\n\n"
        "instances:\n"
        "  default:\n"
        "    receiver_api:\n"
        f'      url: "{URL}"\n'
        "    clients:\n"
        "      default:\n"
        f'        api_key: "{API_KEY}"\n'
    )


def test_init_keeps_windows_line_ends(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_bytes(b"# from Windows\r\ninstances:\r\n  default:\r\n    clients: {}\r\n")
    cli("config", "init", "--config", str(path), "--url", URL, "--api-key", API_KEY)
    text = path.read_bytes()
    assert text.startswith(b"# from Windows\r\ninstances:\r\n  default:\r\n")
    assert text.count(b"\n") == text.count(b"\r\n") == 8
    assert client_of(path) == {"api_key": API_KEY}


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("instances: [unclosed\n", 2, "not valid YAML"),
        ("instances:\n  default:\n    receiver_api:\n      url: 5\n", 4, "url"),
        ("instances:\n  a: {}\n  a: {}\n", 3, "a key is given twice in one mapping"),
    ],
    ids=["not YAML", "a value of the wrong kind", "a key given twice"],
)
def test_init_refuses_a_file_that_does_not_load(
    cli: Cli, tmp_path: Path, text: str, where: int, problem: str
) -> None:
    path = write(tmp_path / "conf.yaml", text)
    result = cli(
        "config", "init", "--config", str(path), "--url", URL, "--api-key", API_KEY, expect=3
    )
    assert f"{path}:{where}: " in result.stderr
    assert problem in result.stderr
    assert path.read_text() == text
    assert no_secret(result)


SHARED = """\
instances:
  prod:
    receiver_api: {url: "https://prod.example.com/receiver"}
    clients: &clients
      default:
        api_key: prod-key
  staging:
    receiver_api: {url: "https://staging.example.com/receiver"}
    clients: *clients
"""


MERGED = """\
instances:
  prod: &prod
    receiver_api: {url: "https://prod.example.com/receiver"}
    clients: {default: {api_key: prod-key}}
  staging:
    <<: *prod
"""


@pytest.mark.parametrize(("text", "line"), [(SHARED, 7), (MERGED, 5)], ids=["alias", "merge key"])
def test_init_refuses_to_change_what_an_anchor_shares(
    cli: Cli, tmp_path: Path, text: str, line: int
) -> None:
    path = write(tmp_path / "conf.yaml", text)
    result = cli("--config", str(path), "--instance", "staging", "config", "init",
                 "--url", URL, "--api-key", API_KEY, expect=3)  # fmt: skip
    assert f"{path}:{line}: instance 'staging' shares values with other parts" in result.stderr
    assert path.read_text() == text  # prod's key is not replaced unseen
    assert no_secret(result)


# Where the address and key come from


def test_init_reads_the_key_from_stdin(cli: Cli, home: Path) -> None:
    result = cli("config", "init", "--url", URL, "--api-key", "-", stdin=f"  {API_KEY} \n")
    assert client_of(user_file(home)) == {"api_key": API_KEY}
    assert no_secret(result)


@pytest.mark.parametrize("stdin", ["", "\n", "   \n"])
def test_init_refuses_an_empty_stdin_for_the_key(cli: Cli, home: Path, stdin: str) -> None:
    result = cli("config", "init", "--url", URL, "--api-key", "-", stdin=stdin, expect=2)
    assert "--api-key: - reads the key from stdin, and stdin held none" in result.stderr
    assert not user_file(home).exists()


@pytest.mark.parametrize("flag", ["--api-key", "--url"])
def test_init_refuses_an_empty_flag(cli: Cli, home: Path, flag: str) -> None:
    given = {"--url": URL, "--api-key": API_KEY, flag: " "}
    result = cli("config", "init", *[part for pair in given.items() for part in pair], expect=2)
    assert f"{flag}: is empty" in result.stderr
    assert not user_file(home).exists()


def test_init_takes_the_address_and_key_from_the_variables(cli: Cli, home: Path) -> None:
    env = {"STAC_EVENTS_RECEIVER_URL": URL, "STAC_EVENTS_API_KEY": API_KEY}
    result = cli("config", "init", env=env)
    assert result.stderr.startswith(
        "took the address from $STAC_EVENTS_RECEIVER_URL "
        "and the API key from $STAC_EVENTS_API_KEY\n"
        f"created {user_file(home)} "
    )
    assert yaml.safe_load(user_file(home).read_text())["instances"]["default"] == {
        "receiver_api": {"url": URL},
        "clients": {"default": {"api_key": API_KEY}},
    }
    assert no_secret(result)


def test_init_flags_win_over_the_variables(cli: Cli, home: Path) -> None:
    env = {"STAC_EVENTS_RECEIVER_URL": "https://env.example.com", "STAC_EVENTS_API_KEY": "env-k"}
    result = cli("config", "init", "--url", URL, "--api-key", API_KEY, env=env)
    assert "took" not in result.stderr
    assert client_of(user_file(home)) == {"api_key": API_KEY}


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ([], "--url (or $STAC_EVENTS_RECEIVER_URL) and --api-key (or $STAC_EVENTS_API_KEY)"),
        (["--url", URL], "--api-key (or $STAC_EVENTS_API_KEY)"),
        (["--api-key", "-"], "--url (or $STAC_EVENTS_RECEIVER_URL)"),
    ],
)
def test_init_in_a_script_names_the_flags_and_variables(
    cli: Cli, home: Path, given: List[str], missing: str
) -> None:
    result = cli("config", "init", *given, stdin=f"{API_KEY}\n", expect=2)
    assert f"error: needs {missing} when not run on a terminal" in result.stderr
    assert "--api-key - < key.txt" in result.stderr
    assert not user_file(home).exists()


BAD_KEY = "s3cr3t-K3y"


@pytest.mark.parametrize(
    ("how", "key"),
    [
        ("--api-key", f"{BAD_KEY}\nsecond-line"),
        ("--api-key", f"{BAD_KEY}\x7f"),
        ("$STAC_EVENTS_API_KEY", f"{BAD_KEY}\x1b[2J"),
        ("$STAC_EVENTS_API_KEY", f"{BAD_KEY}é"),
        ("stdin (--api-key -)", f"{BAD_KEY}\tx"),
    ],
)
def test_init_refuses_a_key_a_header_cannot_carry(cli: Cli, home: Path, how: str, key: str) -> None:
    if how == "--api-key":
        result = cli("config", "init", "--url", URL, "--api-key", key, expect=3)
    elif how.startswith("$"):
        result = cli("config", "init", "--url", URL, env={how[1:]: key}, expect=3)
    else:
        result = cli("config", "init", "--url", URL, "--api-key", "-", stdin=key, expect=3)
    assert f"the API key from {how} holds characters an HTTP header cannot carry" in (result.stderr)
    assert BAD_KEY not in result.output
    assert no_secret(result, [key])
    assert not user_file(home).parent.exists()


def test_init_accepts_any_printable_ascii_key(cli: Cli, home: Path) -> None:
    key = "".join(chr(c) for c in range(0x21, 0x7F)) + " and spaces"
    result = cli("config", "init", "--url", URL, "--api-key", key)
    assert client_of(user_file(home)) == {"api_key": key}
    assert no_secret(result, [key])


def test_init_refuses_an_address_that_is_not_a_url(cli: Cli) -> None:
    result = cli("config", "init", "--url", "ftp://x", "--api-key", "k", expect=3)
    assert "--url: 'ftp://x' is not an http(s) URL" in result.stderr


def test_init_names_the_variable_of_an_address_that_is_not_a_url(cli: Cli) -> None:
    env = {"STAC_EVENTS_RECEIVER_URL": "ftp://x"}
    result = cli("config", "init", "--api-key", "k", env=env, expect=3)
    assert "$STAC_EVENTS_RECEIVER_URL: 'ftp://x' is not an http(s) URL" in result.stderr


def test_init_loads_no_yaml_writer_until_it_writes(processes: Processes) -> None:
    probe = (
        "import json, sys, stac_events.cli.config, stac_events.config_writer\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ruamel'))))"
    )
    assert processes.run(sys.executable, "-c", probe).json() == []


# On a terminal


def _read_until(fd: int, text: str, seen: bytearray, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"never saw {text!r}; saw {bytes(seen)!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen.extend(chunk)


def test_init_wizard_on_a_terminal_hides_the_key(home: Path, isolated_environ: dict) -> None:
    pid, fd = pty.fork()  # not through tests/processes.py: the wizard needs a terminal
    if pid == 0:  # the child: a real terminal session running the wizard
        os.chdir(home)
        os.execve(
            STAC_EVENTS, [STAC_EVENTS, "config", "init"], {**isolated_environ, "TERM": "dumb"}
        )
    seen = bytearray()
    try:
        _read_until(fd, "Receiver address", seen)
        os.write(fd, b"https://sts.example.com/receiver\n")
        _read_until(fd, "Receiver API key", seen)
        os.write(fd, API_KEY.encode() + b"\n")
        _read_until(fd, "Host name to report", seen)
        os.write(fd, b"\n")
        _read_until(fd, "created", seen)
        _read_until(fd, "mode 0600", seen)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, bytes(seen)
    assert API_KEY.encode() not in seen  # typed without echo
    path = user_file(home)
    assert client_of(path) == {"api_key": API_KEY}
    assert mode_of(path) == 0o600


def test_init_never_shows_the_values_of_a_key_given_twice(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text(
        "instances:\n  default:\n    clients:\n      default:\n"
        "        api_key: OLDKEYSECRET111\n        api_key: OLDKEYSECRET222\n"
    )
    result = cli("--config", str(path), "config", "init", "--url", "https://b.example.com",
                 "--api-key", "new-key-0123456789", expect=3)  # fmt: skip
    assert "OLDKEYSECRET" not in result.output
    assert "a key is given twice in one mapping" in result.stderr


def test_init_leaves_a_read_only_file_alone(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("instances: {}\n")
    path.chmod(0o400)
    result = cli("--config", str(path), "config", "init", "--url", "https://b.example.com",
                 "--api-key", "new-key-0123456789", expect=3)  # fmt: skip
    assert "is read-only (mode 0400); nothing was written" in result.stderr
    assert path.read_text() == "instances: {}\n"


@pytest.mark.parametrize("case", ["a link loop", "a name too long"])
def test_init_with_a_path_it_cannot_use_is_a_config_error(
    cli: Cli, tmp_path: Path, case: str
) -> None:
    if case == "a link loop":
        (tmp_path / "one.yaml").symlink_to(tmp_path / "two.yaml")
        (tmp_path / "two.yaml").symlink_to(tmp_path / "one.yaml")
        path = tmp_path / "one.yaml"
    else:
        path = tmp_path / ("x" * 300 + ".yaml")
    result = cli("--config", str(path), "config", "init", "--url", "https://b.example.com",
                 "--api-key", "new-key-0123456789", expect=3)  # fmt: skip
    assert "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.slow
def test_init_at_the_same_time_loses_no_instance(processes: Processes, tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    inits = [
        processes.start_cli("--config", str(path), "--instance", f"inst{n}", "config", "init",
                            "--url", f"https://h{n}.example.com", "--api-key",
                            f"key-{n}-0123456789")
        for n in range(8)
    ]  # fmt: skip
    for init in inits:
        init.finish(expect=0)
    processes.cli("--config", str(path), "config", "show", "-o", "json")
    text = path.read_text()
    assert all(f"inst{n}:" in text for n in range(8))
