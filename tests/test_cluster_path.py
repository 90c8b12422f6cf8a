"""`--scheduler ADDRESS` at something that is not a Dask scheduler, or at no address at all (issue 20).

Each service is a loopback server started in a thread of the test: one that
greets as sshd does (distributed read that banner as the length of a message
and tried to allocate 2.82 EiB), an HTTP server, and one that accepts and says
nothing (a hang for minutes). Each must give exit 2 with "no Dask scheduler
answered at ADDRESS" and no traceback, well within the hang-guard; a malformed
address must say what an address looks like.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import scenario_data, to_yaml

pytestmark = pytest.mark.slow  # each case starts capsim, which imports distributed

REPO = Path(__file__).resolve().parents[1]
HANG_GUARD = 120  # seconds; the deadline under test is sim.execution.cluster.CONNECT_SECONDS


@contextlib.contextmanager
def loopback_service(greet: bytes | None, reply: bytes | None = None) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that sends `greet` on each connection (None: nothing), then
    answers whatever it receives with `reply` (None: nothing); yields its tcp:// address."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[socket.socket] = []

    def converse(connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if greet:
                connection.sendall(greet)
            while reply is not None and connection.recv(65536):
                connection.sendall(reply)

    def serve() -> None:
        with contextlib.suppress(OSError):  # the listener closed: the test is over
            while True:
                connection, _ = listener.accept()
                connections.append(connection)
                threading.Thread(target=converse, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for connection in connections:
            connection.close()


SERVICES = {
    "ssh banner": dict(greet=b"SSH-2.0-OpenSSH_9.2\r\n"),
    "http server": dict(greet=None, reply=b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    "silent listener": dict(greet=None),
}


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cluster") / "small.yaml"
    path.write_text(to_yaml(scenario_data(name="small", horizon=60, warmup=0, replications=2)), encoding="utf-8")
    return path


def capsim_run(scenario_file: Path, scheduler: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", "run", str(scenario_file), "--out", "out", "--quiet",
                           "--jobs", "2", "--scheduler", scheduler],
                          cwd=cwd, capture_output=True, text=True, timeout=HANG_GUARD)


def assert_refused(done: subprocess.CompletedProcess, *expected: str) -> None:
    assert done.returncode == 2, done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout, done.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_that_is_not_a_dask_scheduler_is_refused_in_bounded_time(service, scenario_file, tmp_path):
    with loopback_service(**SERVICES[service]) as address:
        done = capsim_run(scenario_file, address, tmp_path)
    assert_refused(done, f"no Dask scheduler answered at {address}")
    assert not (tmp_path / "out").exists()


def test_an_address_where_nothing_listens_is_refused(scenario_file, tmp_path):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{free.getsockname()[1]}"
    done = capsim_run(scenario_file, address, tmp_path)
    assert_refused(done, f"no Dask scheduler answered at {address}", "cannot reach it")


@pytest.mark.parametrize("address", ["garbage", "tcp://[::1", "inproc://", "ucx://", "tls://", "local:", "http://",
                                     "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:99999"])
def test_a_malformed_address_says_what_an_address_looks_like(address, scenario_file, tmp_path):
    done = capsim_run(scenario_file, address, tmp_path)
    assert_refused(done, f"{address!r} is not a Dask scheduler address", "looks like tcp://HOST:PORT")


def test_the_address_rule_accepts_what_dask_connects_to():
    from sim.execution.cluster import checked_address

    for address in ["tcp://10.0.0.5:8786", "tcp://[::1]:8786", "tls://scheduler.example.org:8786", "10.0.0.5:8786"]:
        assert checked_address(address) == address
