"""Shared fixtures: an isolated environment per test, and ways to run the CLI in it: in
this process (`cli`), or as real processes (`processes`, `run_script`, `receiver_factory`,
all through tests/processes.py)."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
from hypothesis import assume

from stac_events.cli import main
from stac_events.environment import Environment
from stac_events.status import ENDING_SIGNALS
from tests.processes import (
    Expected,
    Processes,
    Result,
    Started,
    check,
    environ_for,
    start,
)


def pytest_configure(config: pytest.Config) -> None:
    """The processes the suite starts get the signals a user's shell gives them, also when
    the suite itself runs under `nohup` or in a background job: a signal ignored here
    would be ignored in each of them (as stac-events keeps it), and the tests that send
    it would see nothing happen. The one test about `nohup` ignores SIGHUP itself."""
    for number in ENDING_SIGNALS:
        if signal.getsignal(number) == signal.SIG_IGN:
            default = signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL
            signal.signal(number, default)


NOW = 1_700_000_000.0
API_KEY = "s3cr3t-K3y/with+chars"
INTAKE = "/receiver/stsAgent/intake"  # where `event send` posts, given a `.../receiver` URL

# The `stac event send` example from StackState's "Push events over HTTP" page, verbatim.
DOCS_EXAMPLE = [
    "event", "send", "event_type",
    "--title", "event_title",
    "-i", "element_identifier1", "element_identifier2",
    "-s", "source_system",
    "-c", "Changes",
    "-d", '{"data_key1":"data_value1", "data_key2":"data_value2"}',
    "--links", "link_title1: link_url1", "link_title2: link_url2",
]  # fmt: skip


@dataclass
class Cli:
    """Runs `stac-events` in-process with a test-made environment (no global state touched)."""

    home: Path
    environ: Dict[str, str] = field(default_factory=dict)
    now: float = NOW
    cwd: Optional[Path] = None

    def __call__(
        self,
        *args: str,
        stdin: str = "",
        env: Optional[Dict[str, str]] = None,
        tty: bool = False,
        prog: str = "stac-events",
        expect: Expected = 0,
    ) -> Result:
        """Run one command line; fails the test, showing stderr, on an exit status other
        than `expect` (as HTTPie's test helper does)."""
        stdout, stderr = io.StringIO(), io.StringIO()
        environment = isolated_environment(
            self.home,
            stdin=io.StringIO(stdin),
            stdout=stdout,
            stderr=stderr,
            environ={**self.environ, **(env or {})},
            cwd=self.cwd or self.home,
            clock=lambda: self.now,
            tty=tty,
        )
        status = main(list(args), environment, prog_name=prog)
        return check(Result(int(status), stdout.getvalue(), stderr.getvalue()), expect, args)


def isolated_environment(home: Path, *, tty: bool = False, **given: Any) -> Environment:
    """An environment whose every user directory is under `home`: no test reads the real one."""
    defaults: Dict[str, Any] = {
        "stdin": io.StringIO(),
        "stdout": io.StringIO(),
        "stderr": io.StringIO(),
        "environ": {"HOME": str(home)},
        "cwd": home,
        "clock": lambda: NOW,
        "retry_backoff": 0.01,
        "hostname": lambda: "test-host",
    }
    return Environment(
        **{**defaults, **given},
        home=home,
        config_dir=home / ".config" / "stac-events",
        state_dir=home / ".local" / "state" / "stac-events",
        stdin_isatty=tty,
        stdout_isatty=tty,
        stderr_isatty=tty,
    )


@pytest.fixture(autouse=True, scope="session")
def _not_the_real_home(tmp_path_factory: pytest.TempPathFactory):
    """Whatever a test forgets to isolate finds an empty home, never the developer's own
    config file or spool; each test still builds its own environment (`isolated_environ`)."""
    trap = tmp_path_factory.mktemp("not-the-real-home")
    patch = pytest.MonkeyPatch()
    for name, folder in {"HOME": "", "XDG_CONFIG_HOME": ".config",
                         "XDG_STATE_HOME": ".local/state", "XDG_DATA_HOME": ".local/share",
                         "APPDATA": "AppData"}.items():  # fmt: skip
        patch.setenv(name, str(trap / folder))
    patch.delenv("STAC_EVENTS_CONFIG", raising=False)
    yield trap
    patch.undo()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def isolated_environ(home: Path) -> Dict[str, str]:
    """Variables that point every user directory into the test's own folder: those of
    every process a test starts (`processes`)."""
    return environ_for(home)


@pytest.fixture
def cli(home: Path, isolated_environ: Dict[str, str]) -> Cli:
    return Cli(home=home, environ=dict(isolated_environ))


@pytest.fixture
def processes(home: Path, isolated_environ: Dict[str, str]) -> Iterator[Processes]:
    """Run and start real processes in the test's home and environment (tests/processes.py);
    whatever is still running after the test is killed."""
    running = Processes(home, isolated_environ)
    yield running
    running.end_all()


@pytest.fixture
def run_script(processes: Processes):
    """Run an installed console script (`stac-events` or `stac`) as a real process."""

    def run(script: str, *args: str, **options: Any) -> Result:
        return processes.cli(*args, script_name=script, **options)

    return run


def events_of(payload: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every event in a common JSON object, whatever its name."""
    return [event for group in payload["events"].values() for event in group]


def single_event(payload: Dict[str, Any]) -> Dict[str, Any]:
    (event,) = events_of(payload)
    return event


def cli_in_a_new_home(environ: Dict[str, str]) -> Cli:
    """A `Cli` whose home is a new folder under `environ`'s HOME: one for each example of
    a property, which shares the test's fixtures."""
    home = Path(tempfile.mkdtemp(dir=environ["HOME"]))
    return Cli(home=home, environ={**environ, "HOME": str(home)})


def left_in(cli: Cli, results: Sequence[Result]) -> Tuple[List[str], List[bytes]]:
    """What the runs printed, and the bytes of every file left in the home of `cli`."""
    files = [path.read_bytes() for path in cli.home.rglob("*") if path.is_file()]
    return [result.output for result in results], files


def assert_never_left(
    left_behind: Callable[[str], Tuple[List[str], List[bytes]]], secret: str, baseline: str
) -> None:
    """`secret` in nothing that the runs of `left_behind(secret)` print or write. They run
    first with `baseline`, a secret nothing holds for its own sake, which must be hidden
    too: a drawn `secret` that those runs print or write anyway is skipped (`assume`), as
    Hypothesis draws texts from the package's own literals too (`receiver`,
    `Content-Type`)."""
    outputs, files = left_behind(baseline)
    assert not any(baseline in output for output in outputs), outputs
    assert not any(baseline.encode() in data for data in files)
    assume(all(secret not in output for output in outputs))
    assume(all(secret.encode() not in data for data in files))
    outputs, files = left_behind(secret)
    for output in outputs:
        assert secret not in output, output
    for data in files:
        assert secret.encode() not in data, data


def no_secret(result: Result, secrets: Sequence[str] = (API_KEY,)) -> bool:
    from urllib.parse import quote, quote_plus

    text = result.output
    return not any(form in text for s in secrets for form in (s, quote(s, safe=""), quote_plus(s)))


def env_for(server: Any, key: str = API_KEY) -> Dict[str, str]:
    """The variables that send to `server` (a pytest-httpserver) with `key`."""
    return {"STAC_EVENTS_RECEIVER_URL": server.url_for("/receiver"), "STAC_EVENTS_API_KEY": key}


@pytest.fixture
def receiver(httpserver: Any) -> Any:
    """A local receiver that answers every POST to the intake with 202."""
    httpserver.expect_request(INTAKE, method="POST").respond_with_data("", status=202)
    return httpserver


@pytest.fixture
def own_server():
    """A receiver of the test's own, for slow handlers that must not outlive the test."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def valid_common_object(body: bytes) -> Dict[str, Any]:
    """The body, checked against the Receiver API's common object (the docs' schema)."""
    from pydantic import BaseModel, ConfigDict

    from stac_events.model import Event

    class CommonObject(BaseModel):
        model_config = ConfigDict(extra="forbid")

        collection_timestamp: int
        internalHostname: str
        events: Dict[str, List[Event]]
        metrics: List[Any]
        service_checks: List[Any]
        topologies: List[Any]
        health: List[Any]

    checked = CommonObject.model_validate_json(body)
    assert all(e.msg_text and e.timestamp for g in checked.events.values() for e in g)
    return json.loads(body)


def received_events(server: Any) -> List[Dict[str, Any]]:
    """Every event a local receiver got, in arrival order, with the name it was filed under;
    each body checked against the common object's schema."""
    import gzip

    found: List[Dict[str, Any]] = []
    for request, _ in server.log:
        body = request.get_data()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        for name, group in valid_common_object(body)["events"].items():
            found += [{**event, "_name": name} for event in group]
    return found


# A receiver behind TLS, with a CA of the test's own (trustme).


@pytest.fixture(scope="module")
def tls_ca() -> Any:
    import trustme

    return trustme.CA()


def tls_server_for(ca: Any, *names: str) -> Any:
    """A receiver answering 202 over TLS, with a certificate for `names` from `ca`."""
    import ssl

    from pytest_httpserver import HTTPServer

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.start()
    server.expect_request("/receiver/stsAgent/intake").respond_with_data("", status=202)
    return server


@pytest.fixture
def tls_server(tls_ca: Any) -> Any:
    server = tls_server_for(tls_ca, "localhost", "127.0.0.1")
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def ca_file(tls_ca: Any, tmp_path: Path) -> Path:
    """The test CA's certificate, as a PEM file."""
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


@contextlib.contextmanager
def mounted_tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` at `mount`; the test skips where mounting needs root."""
    mount.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


# The local receiver (`stac-events receiver`), as a real process on a free port.


@dataclass
class ReceiverProcess:
    """A running `stac-events receiver`; `printed()` is what it printed so far."""

    started: Started
    url: str
    db: Path

    @property
    def process(self) -> subprocess.Popen:
        return self.started.process

    def printed(self) -> Tuple[str, str]:
        """`(stdout, stderr)` so far."""
        return self.started.printed()

    def events(self, query: str = "", api_key: Optional[str] = None) -> List[Dict[str, Any]]:
        """What it stored, from GET /events."""
        import requests

        headers = {"sts-api-key": api_key} if api_key else {}
        answer = requests.get(f"{self.url}/events{query}", headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        found: List[Dict[str, Any]] = answer.json()
        return found

    def stop(self, signal_number: int = 15, *, expect: Expected = 0) -> Tuple[int, str, str]:
        """Stop it as a user does; `(status, stdout, stderr)` of the whole run, when its
        status is `expect`."""
        ended = self.started.stop(signal_number, expect=expect, timeout=30)
        return ended.status, ended.stdout, ended.stderr


def start_receiver(
    db: Path,
    *args: str,
    port: int = 0,
    environ: Dict[str, str],
    cwd: Optional[Path] = None,
    preexec_fn: Optional[Any] = None,
) -> ReceiverProcess:
    """Start `stac-events receiver` on `db` (a free port unless told), and wait for the
    address it prints. Tests start it through `receiver_factory`, which stops it after;
    `preexec_fn` runs in the child before Python starts (a limit of its own)."""
    command = [sys.executable, "-m", "stac_events", "receiver", "--port", str(port)]
    started = start([*command, "--db", str(db), *args], env=environ, cwd=cwd,
                    preexec_fn=preexec_fn)  # fmt: skip
    # The address line comes first, or the process ends. A busy machine may take long to
    # start a Python; only a receiver that says nothing for minutes has hung.
    found = started.wait_for(r"Listening on (http://\S+) ")
    return ReceiverProcess(started, found.group(1), db)


@pytest.fixture
def receiver_factory(tmp_path: Path, isolated_environ: Dict[str, str]):
    """Start local receivers for the test; each is stopped (SIGKILL if need be) after it."""
    started: List[ReceiverProcess] = []

    def start(
        *args: str, db: Optional[Path] = None, port: int = 0,
        env: Optional[Dict[str, str]] = None, preexec_fn: Optional[Any] = None,
    ) -> ReceiverProcess:  # fmt: skip
        receiver = start_receiver(db or tmp_path / "receiver.db", *args, port=port,
                                  environ={**isolated_environ, **(env or {})},
                                  cwd=tmp_path, preexec_fn=preexec_fn)  # fmt: skip
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.started.kill()


@pytest.fixture
def local_receiver(receiver_factory):
    """One local receiver, no key required."""
    return receiver_factory()


# A receiver that answers with whatever bytes a test writes, however slowly or endlessly.


class RawReceiver:
    """Accepts connections on a free port, reads each request whole (headers and a
    Content-Length body), records its body, then lets `answer(connection, body)` write
    what it likes; the connection is closed after. `url` is the base address to send to."""

    def __init__(self, answer: Any) -> None:
        import socket
        import threading

        self.answer = answer
        self.bodies: List[bytes] = []
        self.stopped = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._threads: List[threading.Thread] = []
        self._connections: List[Any] = []
        accepting = threading.Thread(target=self._accept, daemon=True)
        accepting.start()
        self._threads.append(accepting)

    def _accept(self) -> None:
        import threading

        while not self.stopped.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                return  # closed: the test is over
            self._connections.append(connection)
            handler = threading.Thread(target=self._handle, args=(connection,), daemon=True)
            handler.start()
            self._threads.append(handler)

    def _handle(self, connection: Any) -> None:
        with connection:
            connection.settimeout(30)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(body) < length:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    body += chunk
                self.bodies.append(body)
                self.answer(connection, body)
            except OSError:
                return  # the sender went away, as it may

    def stop(self) -> None:
        import socket

        self.stopped.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() would not
        self._server.close()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # ends an answer that never ends
        for thread in self._threads:
            thread.join(timeout=30)


@pytest.fixture
def raw_receiver():
    """Start `RawReceiver`s for the test; each is stopped after it."""
    started: List[RawReceiver] = []

    def start(answer: Any) -> RawReceiver:
        receiver = RawReceiver(answer)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()
