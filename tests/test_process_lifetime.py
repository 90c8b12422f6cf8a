"""No process outlives capsim, and an interrupt ends every command the same way (issues 17 and 20).

A run or a sweep on two worker processes (a fork server, its workers and
multiprocessing's resource tracker beside them) is sent SIGTERM or SIGKILL,
the main process alone, as `timeout`, a CI runner or a container stop does;
once capsim is gone, no process of its session may remain (seen before: all
four, indefinitely). SIGTERM is handled as Ctrl-C: exit 143, the unfinished run
kept, and --resume writes the bytes of an uninterrupted run (the oracle).
Ctrl-C from a terminal reaches every process of the command: exit 130 and no
worker's traceback, on local workers and on a local Dask cluster. Every kill
waits for the state it needs (the workers there, a replication checkpointed),
never for a number of seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import scenario_data, to_yaml
from test_robustness import (
    assert_no_traceback,
    capsim,
    capsim_command,
    checkpointed,
    environment,
    files,
    temporary_folders,
)

from sim.cli import main
from sim.execution.checkpoint import FOLDER, PLAN

HANG_GUARD = 20.0
"""Seconds for the processes to go once capsim has ended (they go at once: this only stops a hang)."""

COMMANDS = {
    "run": ["run", "lifetime.yaml", "--jobs", "2", "--quiet"],
    "sweep": ["sweep", "lifetime.yaml", "--set", "capacity.beds=250,300", "--jobs", "2"],
}

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table in /proc")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """lifetime.yaml: 16 replications of some 0.1-0.5 s each, in chunks of two (guided chunks on two workers)."""
    folder = tmp_path_factory.mktemp("lifetime")
    (folder / "lifetime.yaml").write_text(to_yaml(scenario_data(
        name="lifetime", horizon=1000, warmup=100, replications=16, seed=5, capacity={"beds": 300},
        streams=[{"name": "s", "arrivals": {"rate": 20.0}, "origins": [
            {"name": "all", "share": 1, "return_probability": 1,
             "time_to_return": {"dist": "exponential", "mean": 10}}]}])), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def uninterrupted(folder) -> dict[str, dict[str, bytes]]:
    """The oracle: each command run to its end, its files by name."""
    found = {}
    for name, command in COMMANDS.items():
        done = capsim(*command, "--out", f"reference-{name}", cwd=folder)
        assert done.returncode == 0, done.stderr
        found[name] = files(folder / f"reference-{name}")
    return found


def living(session: int) -> dict[int, str]:
    """The processes of `session` that still run (zombies excluded: they have ended), with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _, _, sid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:4]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended meanwhile
        if int(sid) == session and state != "Z":
            found[int(entry.name)] = command
    return found


def start(command: list[str], cwd: Path) -> subprocess.Popen:
    """capsim in a session of its own, so that every process it starts can be found."""
    return subprocess.Popen(capsim_command(*command), cwd=cwd, env=environment(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_until(ready, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 300  # start-up on a loaded machine; the test never waits on a number of seconds
    while not ready():
        assert process.poll() is None, f"capsim ended before {what}: {process.stderr.read()}"
        assert time.monotonic() < deadline, f"no {what} within 300 s"
        time.sleep(0.02)


def local_workers_running(process: subprocess.Popen) -> bool:
    """The fork server and both workers forked from it."""
    return sum("multiprocessing.forkserver" in command for command in living(process.pid).values()) >= 3


def assert_nothing_left(process: subprocess.Popen) -> None:
    """capsim ends, and no process of its session is left once HANG_GUARD has passed (any left is killed)."""
    process.wait(timeout=120)
    deadline = time.monotonic() + HANG_GUARD
    while living(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = living(process.pid)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert left == {}, "processes outlived capsim"


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_no_process_outlives_capsim_killed_alone(name, sent, folder, uninterrupted, tmp_path):
    out = tmp_path / "out"
    command = [*COMMANDS[name], "--out", str(out)]
    process = start(command, folder)
    wait_until(lambda: local_workers_running(process) and checkpointed(out), process, "workers and a replication")
    os.kill(process.pid, sent)
    assert_nothing_left(process)
    stderr = process.stderr.read()
    if sent == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
        return
    assert process.returncode == 143, stderr
    assert "capsim: terminated (SIGTERM); no results folder was written" in stderr
    assert "rerun the command that started it, with --resume" in stderr
    assert_no_traceback(subprocess.CompletedProcess(command, 143, "", stderr))
    [kept] = temporary_folders(out)
    assert (kept / FOLDER / PLAN).is_file() and not out.exists()

    resumed = capsim(*command, "--resume", cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    assert int(resumed.stderr.split("resuming: ")[1].split()[0]) > 0
    assert files(out) == uninterrupted[name]


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("scheduler", [None, "local"], ids=["local workers", "local Dask cluster"])
def test_ctrl_c_stops_every_process_without_a_traceback(scheduler, folder, tmp_path):
    """Ctrl-C as a terminal sends it: to every process of the command, once a replication is kept."""
    out = tmp_path / "out"
    command = [*COMMANDS["run"], "--out", str(out), *(["--scheduler", scheduler] if scheduler else [])]
    process = start(command, folder)
    wait_until(lambda: checkpointed(out), process, "a replication")
    os.killpg(process.pid, signal.SIGINT)
    assert_nothing_left(process)
    stderr = process.stderr.read()
    assert process.returncode == 130, stderr
    assert "capsim: interrupted; no results folder was written" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert not out.exists()


@linux_only
@pytest.mark.slow
def test_ctrl_c_while_a_local_dask_cluster_starts_is_not_swallowed(folder, tmp_path):
    """Ctrl-C as soon as capsim starts its first process (the cluster is starting): exit 130, no folder."""
    out = tmp_path / "out"
    process = start([*COMMANDS["run"], "--out", str(out), "--scheduler", "local"], folder)
    wait_until(lambda: len(living(process.pid)) > 1, process, "a process started by capsim")
    os.killpg(process.pid, signal.SIGINT)
    assert_nothing_left(process)
    stderr = process.stderr.read()
    assert process.returncode == 130, stderr
    assert "capsim: interrupted" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert not out.exists()


def interrupted_validate(monkeypatch, tmp_path, interrupt) -> tuple:
    """`capsim validate` whose loading is interrupted by `interrupt`; (result, SIGTERM handler after)."""
    def load(file):
        interrupt()
        time.sleep(30)  # a signal's handler raises before this ends
    monkeypatch.setattr("sim.cli.commands.load_scenario", load)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(to_yaml(scenario_data()), encoding="utf-8")
    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(main, ["validate", str(scenario)])
    assert signal.getsignal(signal.SIGTERM) == before  # capsim's handler lives as long as the command
    return result


def test_ctrl_c_in_validate_exits_130_with_capsim_message(monkeypatch, tmp_path):
    result = interrupted_validate(monkeypatch, tmp_path, lambda: os.kill(os.getpid(), signal.SIGINT))
    assert result.exit_code == 130, result.output
    assert "capsim: interrupted" in result.output and "Aborted!" not in result.output


def test_sigterm_in_validate_exits_143(monkeypatch, tmp_path):
    def terminate() -> None:
        if not callable(signal.getsignal(signal.SIGTERM)):
            pytest.fail("capsim does not handle SIGTERM: sent, it would end the test session")
        os.kill(os.getpid(), signal.SIGTERM)

    result = interrupted_validate(monkeypatch, tmp_path, terminate)
    assert result.exit_code == 143, result.output
    assert "capsim: terminated (SIGTERM)" in result.output
