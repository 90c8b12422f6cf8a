"""A full disk (or one over quota, or read-only) while a results folder is written: exit 2
with the path, what was kept and how to free the space, never a bare "No space left on
device"; the finished replications stay for --resume, which works once there is room.

The message is tested on every machine by making a write fail with ENOSPC; a real
full disk is a 2 MB tmpfs, mounted where the test runs as root and skipped with
the reason elsewhere.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import scenario_data, to_yaml

from sim.cli import main
from sim.execution import checkpoint


def scenario_file(folder: Path, **overrides) -> Path:
    path = folder / "s.yaml"
    path.write_text(to_yaml(scenario_data(**overrides)), encoding="utf-8")
    return path


def capsim_run(scenario: Path, out: Path, *extra: str):
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "-n", "3", "-j", "1", "-q", *extra])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def staging_folders(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.tmp-*"))


def refuse(monkeypatch, owner, name: str, number: int, when=lambda *args: True) -> None:
    """Make `owner.name` fail with OSError `number` when `when(*its arguments)`."""
    original = getattr(owner, name)

    def failing(*args, **kwargs):
        if when(*args):
            raise OSError(number, os.strerror(number))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)


def test_a_full_disk_while_writing_results_keeps_the_replications_and_says_how_to_go_on(tmp_path, monkeypatch):
    """ENOSPC in the last step (the data files): the checkpoint of the 3 finished
    replications is kept, the half-written files are removed (their space given
    back), the message names the folder, what is kept and the two ways out; after
    that, --resume goes on from the kept replications."""
    scenario, out = scenario_file(tmp_path), tmp_path / "out"
    refuse(monkeypatch, Path, "write_text", errno.ENOSPC, lambda path, *rest: path.name == "occupancy.csv")
    result = capsim_run(scenario, out)
    assert result.exit_code == 2, result.output
    [staging] = staging_folders(out)
    assert sorted(os.listdir(staging)) == [".checkpoint"]
    message = result.output
    assert "full" in message and str(staging) in message and str(out) in message
    assert "finished replications" in message and "--resume" in message and f"delete {staging}" in message
    monkeypatch.undo()
    resumed = capsim_run(scenario, out, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 3 replication(s) already finished" in resumed.output
    assert len((out / "replications.csv").read_text(encoding="utf-8").splitlines()) == 4
    assert staging_folders(out) == []


def test_a_full_disk_before_any_replication_finished_says_nothing_was_kept(tmp_path, monkeypatch):
    """ENOSPC writing the checkpoint's plan: nothing to resume, the folder is removed, and the message says so."""
    scenario, out = scenario_file(tmp_path), tmp_path / "out"
    refuse(monkeypatch, checkpoint, "write_atomically", errno.ENOSPC)
    result = capsim_run(scenario, out)
    assert result.exit_code == 2, result.output
    assert "full" in result.output and str(out) in result.output and "nothing was kept" in result.output
    assert staging_folders(out) == [] and not out.exists()


@pytest.mark.parametrize(("number", "words"), [(errno.EDQUOT, "quota"), (errno.EROFS, "read-only")])
def test_a_disk_over_quota_or_read_only_is_named(tmp_path, monkeypatch, number, words):
    """The staging folder cannot even be made: the same kind of message, in the words of the cause."""
    scenario, out = scenario_file(tmp_path), tmp_path / "out"
    refuse(monkeypatch, tempfile, "mkdtemp", number)
    result = capsim_run(scenario, out)
    assert result.exit_code == 2, result.output
    assert words in result.output and str(out) in result.output


def test_another_os_error_is_not_called_a_full_disk(tmp_path, monkeypatch):
    """Only a disk without room is a DiskFull: a permission error keeps its own words."""
    scenario, out = scenario_file(tmp_path), tmp_path / "out"
    refuse(monkeypatch, tempfile, "mkdtemp", errno.EACCES)
    result = capsim_run(scenario, out)
    assert result.exit_code == 2, result.output
    assert "Permission denied" in result.output and "full" not in result.output


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (the mount needs root); the test is skipped, with the reason, where it cannot be mounted."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a 2 MB tmpfs needs root; this test runs as another user")
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small disk with")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def capsim(*args: str) -> subprocess.CompletedProcess:
    """The command as a user runs it (a process of its own); timeout only as a hang guard."""
    return subprocess.run([sys.executable, "-c", "from sim.cli import main; main()", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_a_real_full_disk(tmp_path, small_disk):
    """30 replications of 20,000 days keep about 3 MB of checkpoint: the 2 MB disk fills
    during the run. Exit 2 with the path and what to do; --resume on the still full disk
    says the same again (not a bare OS error); once the disk is larger, --resume finishes."""
    scenario, out = scenario_file(tmp_path, horizon=20_000, warmup=10, replications=30), small_disk / "out"
    first = capsim("run", str(scenario), "--out", str(out), "-j", "1", "-q")
    assert first.returncode == 2, first.stderr
    assert "Traceback" not in first.stderr
    [staging] = staging_folders(out)
    for said in ("full", str(staging), "finished replications", "--resume", f"delete {staging}"):
        assert said in first.stderr
    again = capsim("run", str(scenario), "--out", str(out), "-j", "1", "-q", "--resume")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "full" in again.stderr and str(staging) in again.stderr
    subprocess.run(["mount", "-o", "remount,size=32m", str(small_disk)], check=True)
    last = capsim("run", str(scenario), "--out", str(out), "-j", "1", "-q", "--resume")
    assert last.returncode == 0, last.stderr
    assert "resuming:" in last.stderr and "resuming: 0 " not in last.stderr
    assert len((out / "replications.csv").read_text(encoding="utf-8").splitlines()) == 31
    assert staging_folders(out) == []

