"""Spool files the system will not even look at (`lstat` fails with something other than
"no such file"): shown as unusable, left where they are, and never an internal error."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Dict

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import INTAKE, Cli, env_for, received_events

PATH_MAX = os.pathconf("/", "PC_PATH_MAX")  # with its NUL: 4096 on Linux
SPOOL = Path(".local", "state", "stac-events", "spool")


def deep_home(base: Path, pending_length: int) -> Path:
    """A home folder under `base` whose spool's pending/ folder has a path this long."""
    below = len(f"/{SPOOL}/pending")
    home = base
    while len(str(home)) + below < pending_length - 201:
        home /= "d" * 200
    home /= "d" * (pending_length - len(str(home)) - below - 1)
    home.mkdir(parents=True)
    return home


def test_a_payload_whose_path_is_too_long_is_listed_as_unusable_and_kept(
    tmp_path: Path, isolated_environ: Dict[str, str], httpserver: HTTPServer
) -> None:
    # The queue's folder can be listed, and payloads of ordinary names used, but one with
    # a long name makes a path longer than PATH_MAX: `lstat` on it fails (ENAMETOOLONG).
    cli = Cli(home=deep_home(tmp_path, PATH_MAX - 150), environ=dict(isolated_environ))
    pending = cli.home / SPOOL / "pending"
    assert len(str(pending)) == PATH_MAX - 150
    httpserver.expect_request(INTAKE).respond_with_data("down", status=503)
    cli("event", "send", "DeployEvent", "--title", "t", "-m", "queued", "--retries", "0",
        env=env_for(httpserver), expect=75)  # fmt: skip
    httpserver.clear()
    (queued,) = pending.iterdir()
    long_name = f"{1:020d}-1-{'x' * 200}.payload"  # the oldest name: listed first
    assert len(f"{pending}/{long_name}") >= PATH_MAX
    folder = os.open(pending, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = os.open(long_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=folder)
        with os.fdopen(fd, "wb") as stream:
            stream.write(queued.read_bytes())
    finally:
        os.close(folder)
    with pytest.raises(OSError, match=os.strerror(errno.ENAMETOOLONG)):
        (pending / long_name).lstat()

    listing = cli("spool", "list", "-o", "json").json()
    assert [(entry["state"], entry["bytes"]) for entry in listing] == [
        ("corrupt", None),
        ("pending", queued.stat().st_size),
    ]
    assert listing[0]["reason"] == os.strerror(errno.ENAMETOOLONG)
    assert "Traceback" not in cli("spool", "list").output

    httpserver.expect_request(INTAKE).respond_with_data("", status=202)
    flushed = cli("spool", "flush", env=env_for(httpserver))
    assert "the spool could not be used as it should" in flushed.stderr  # not in silence
    assert os.strerror(errno.ENAMETOOLONG) in flushed.stderr
    assert [event["msg_text"] for event in received_events(httpserver)] == ["queued"]
    assert os.listdir(pending) == [long_name]  # still there for a person to move
