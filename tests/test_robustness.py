"""Runs that are killed, workers that die, runs too big to start (issue 10, the runtime part).

Every test runs `python -m sim` in a subprocess, as a planner or CI does, and
states its oracle: a complete uninterrupted run of the same command, whose
data files a resumed or retried run must reproduce byte for byte (manifest.json
holds the wall time and the command line, so it is compared without them).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_scenario, scenario_data, to_yaml

from sim.execution.checkpoint import FOLDER
from sim.execution.fault_injection import TEST_KILL_REPLICATION
from sim.execution.limits import EVENTS_PER_ARRIVAL, expected_arrivals, workload
from sim.output.folders import atomic_folder

pytestmark = pytest.mark.slow  # starts, kills and resumes capsim processes

REPO = Path(__file__).resolve().parents[1]


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in (TEST_KILL_REPLICATION, "CAPSIM_MAX_EVENTS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env | extra


def capsim_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", *args]


def capsim(*args: str, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(capsim_command(*args), cwd=cwd, env=environment(**extra_env), capture_output=True,
                          text=True, timeout=300)


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path; manifest.json without its wall time and command."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "manifest.json":
                manifest = json.loads(data)
                manifest.pop("wall_seconds")
                manifest.pop("command")
                data = json.dumps(manifest, sort_keys=True).encode()
            found[str(path.relative_to(folder))] = data
    return found


def data_files(folder: Path) -> dict[str, bytes]:
    """The files that must not depend on the executor: all but manifest.json (which records --jobs)."""
    return {name: data for name, data in files(folder).items() if not name.endswith("manifest.json")}


def temporary_folders(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.tmp-*"))


def checkpointed(out: Path) -> bool:
    """Has the run kept a replication yet?"""
    return any(any((staging / FOLDER).glob("s*-r*.pickle")) for staging in temporary_folders(out))


def assert_no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr


@pytest.fixture(scope="module")
def slow_file(tmp_path_factory) -> Path:
    """About 0.4 s a replication, 40 replications: some 16 s with --jobs 1 on the
    development machine, long enough for the kills below, which come after at
    most nine replications."""
    folder = tmp_path_factory.mktemp("slow")
    path = folder / "slow.yaml"
    path.write_text(to_yaml(scenario_data(
        name="slow", horizon=10950, warmup=100, replications=40, seed=3, capacity={"beds": 300},
        streams=[{"name": "s", "arrivals": {"rate": 20.0}, "origins": [
            {"name": "all", "share": 1, "return_probability": 1,
             "time_to_return": {"dist": "exponential", "mean": 10}}]}])), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("small") / "small.yaml"
    path.write_text(to_yaml(scenario_data(name="small", horizon=300, warmup=20, replications=8)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_serial(small_file, tmp_path_factory) -> dict[str, bytes]:
    """The oracle of the worker tests: the small scenario run in one process."""
    cwd = tmp_path_factory.mktemp("serial")
    done = capsim("run", str(small_file), "--out", "out", "--jobs", "1", "--quiet", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return data_files(cwd / "out")


def kept_replications(out: Path) -> int:
    """How many replications the checkpoint beside `out` holds (0 while there is none)."""
    return sum(1 for staging in temporary_folders(out) for _ in (staging / FOLDER).glob("s*-r*.pickle"))


def test_killed_runs_leave_the_old_folder_and_resume_gives_the_same_bytes(slow_file, tmp_path):
    """SIGKILL three times, each once the checkpoint holds 1-3 more replications
    than before (a seeded draw), each time resuming the last attempt: the target
    is always the old complete folder with at most one temporary folder beside
    it, and the final --resume writes exactly the files of an uninterrupted run.
    The kills wait for the checkpoint, never for a number of seconds: on a
    machine of any speed they fall after some replications and before the end."""
    out = tmp_path / "out"
    run = ["run", str(slow_file), "--out", str(out), "--jobs", "1", "--quiet"]
    reference = subprocess.Popen(capsim_command("run", str(slow_file), "--out", str(tmp_path / "reference"),
                                                "--jobs", "1", "--quiet"),
                                 cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    old = capsim("run", str(slow_file), "--out", str(out), "--jobs", "1", "--quiet", "--replications", "2",
                 "--seed", "5", cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    old_files = files(out)
    draws = random.Random(20240215)
    for attempt, more in enumerate(draws.randint(1, 3) for _ in range(3)):
        wanted = kept_replications(out) + more
        process = subprocess.Popen(capsim_command(*run, *(["--resume"] if attempt else [])), cwd=tmp_path,
                                   env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300  # a hang-guard only
        while kept_replications(out) < wanted:
            assert process.poll() is None, f"attempt {attempt} ended before its kill: {process.stderr.read()}"
            assert time.monotonic() < deadline, f"attempt {attempt} kept no {more} more replication(s) in 300 s"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL, f"attempt {attempt} ended before the kill"
        assert files(out) == old_files
        assert len(temporary_folders(out)) <= 1
    resumed = capsim(*run, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    kept = int(resumed.stderr.split("resuming: ")[1].split()[0])
    assert 3 <= kept < 40  # each kill fell after at least one more replication, and before the end
    assert reference.wait(timeout=300) == 0
    assert files(out) == files(tmp_path / "reference")
    assert temporary_folders(out) == []


def test_a_killed_run_leaves_a_temporary_folder_that_the_next_run_removes(slow_file, tmp_path):
    """A run killed once a replication is kept: nothing at the target, one
    temporary folder; --resume with another seed is refused (exit 2) and keeps
    it; a run without --resume removes it and writes the folder."""
    out = tmp_path / "out"
    run = ["run", str(slow_file), "--out", str(out), "--jobs", "1", "--quiet", "--replications", "8"]
    process = subprocess.Popen(capsim_command(*run), cwd=tmp_path, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300  # a hang guard on a loaded machine: the kill waits for the checkpoint
    while not checkpointed(out):
        assert time.monotonic() < deadline and process.poll() is None, "no replication was kept"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert not out.exists()
    [leftover] = temporary_folders(out)

    refused = capsim(*run, "--resume", "--seed", "99", cwd=tmp_path)
    assert refused.returncode == 2
    assert "cannot resume" in refused.stderr and "seed 3 there, 99 here" in refused.stderr
    assert_no_traceback(refused)
    assert temporary_folders(out) == [leftover] and not out.exists()

    again = capsim(*run, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert temporary_folders(out) == []
    assert (out / "summary.json").is_file() and not (out / ".checkpoint").exists()


def test_a_worker_that_dies_once_is_retried_and_the_results_are_the_same(small_file, small_serial, tmp_path):
    marker = tmp_path / "died-once"
    done = capsim("run", str(small_file), "--out", "out", "--jobs", "2", "--quiet", cwd=tmp_path,
                  **{TEST_KILL_REPLICATION: f"3:{marker}"})
    assert done.returncode == 0, done.stderr
    assert marker.exists()  # the hook did kill a worker
    assert "worker process died" in done.stderr
    assert "replication 3 of small (seed 11)" in done.stderr
    assert data_files(tmp_path / "out") == small_serial


def test_a_replication_that_always_kills_its_worker_stops_the_run_with_the_command_to_reproduce_it(
        small_file, small_serial, tmp_path):
    """Exit 1 with --only-replication R; the other replications are kept, and
    --resume (the failure gone) writes the bytes of an uninterrupted run."""
    run = ["run", str(small_file), "--out", "out", "--jobs", "2", "--quiet"]
    failed = capsim(*run, cwd=tmp_path, **{TEST_KILL_REPLICATION: "5"})
    assert failed.returncode == 1, failed.stderr
    assert "replication 5 of small (seed 11) killed its worker process twice" in failed.stderr
    assert "capsim run SCENARIO --seed 11 --only-replication 5" in failed.stderr
    assert "--resume" in failed.stderr
    assert_no_traceback(failed)
    assert not (tmp_path / "out").exists()

    resumed = capsim(*run, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming: 7 replication(s) already finished" in resumed.stderr
    assert data_files(tmp_path / "out") == small_serial


def test_a_sweep_resumes_after_a_failure_with_the_same_bytes(small_file, tmp_path):
    sweep = ["sweep", str(small_file), "--set", "capacity.beds=15,25", "--replications", "4", "--jobs", "2"]
    reference = capsim(*sweep, "--out", "reference", cwd=tmp_path)
    assert reference.returncode == 0, reference.stderr
    failed = capsim(*sweep, "--out", "out", cwd=tmp_path, **{TEST_KILL_REPLICATION: "2"})
    assert failed.returncode == 1 and "--only-replication 2" in failed.stderr, failed.stderr
    resumed = capsim(*sweep, "--out", "out", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming: 6 replication(s) already finished" in resumed.stderr  # 2 points x 4, replication 2 twice
    assert files(tmp_path / "out") == files(tmp_path / "reference")


def test_max_events_refuses_a_huge_scenario_before_running(tmp_path):
    """Rate 1e5 a day for ten years x 30 replications: 1.1e10 arrivals, 3.3e10
    events, beyond the default; exit 2 at once, saying the size and how to raise it."""
    huge = tmp_path / "huge.yaml"
    huge.write_text(to_yaml(scenario_data(name="huge", horizon=3650, warmup=0, replications=30,
                                          streams=[{**scenario_data()["streams"][0],
                                                    "arrivals": {"rate": 100000.0}}])), encoding="utf-8")
    for command in (["run", str(huge)], ["compare", str(huge), str(huge)],
                    ["sweep", str(huge), "--set", "capacity.beds=10,20"],
                    ["size", str(huge), "--target", "probability_full<=0.05"]):
        done = capsim(*command, "--out", "out", cwd=tmp_path)
        assert done.returncode == 2, (command, done.stderr)
        assert "bigger than the limit" in done.stderr and "raise the limit: --max-events" in done.stderr
        assert_no_traceback(done)
        if command[0] == "run":
            assert "about 3.3e+10 events (1.1e+10 arrivals over 30 replications of up to 3,650 days)" in done.stderr
            assert "--max-events 4e10" in done.stderr
        assert not (tmp_path / "out").exists() and temporary_folders(tmp_path / "out") == []


def test_a_sweep_is_limited_by_its_total_over_points(small_file, tmp_path):
    """One point is under the limit, five points are not."""
    one_point = workload([make_scenario(name="small", horizon=300, warmup=20)], 8).events
    below = capsim("sweep", str(small_file), "--set", "capacity.beds=15", "--max-events", f"{one_point * 1.5}",
                   "--jobs", "1", "--out", "one", cwd=tmp_path)
    assert below.returncode == 0, below.stderr
    above = capsim("sweep", str(small_file), "--set", "capacity.beds=11,12,13,14,15",
                   "--max-events", f"{one_point * 1.5}", "--jobs", "1", "--out", "five", cwd=tmp_path)
    assert above.returncode == 2 and "40 replications" in above.stderr, above.stderr


def test_events_integrate_the_rate_schedule():
    """Rate 2 for 100 days, 0 for 50, 4 after: over 50 + 300 days, 2x100 + 4x200 = 1000 arrivals."""
    scenario = make_scenario(horizon=300, warmup=50, streams=[{
        **scenario_data()["streams"][0],
        "arrivals": {"schedule": [{"from": 0, "rate": 2.0}, {"from": 100, "rate": 0.0}, {"from": 150, "rate": 4.0}]}}])
    assert expected_arrivals(scenario) == pytest.approx(1000)
    assert workload([scenario], 10).events == pytest.approx(1000 * 10 * EVENTS_PER_ARRIVAL)


def test_the_temporary_folder_of_a_run_still_going_on_is_left_alone(tmp_path):
    """Another run's cleanup removes leftovers of killed runs, never a folder whose run holds its lock."""
    out = tmp_path / "out"
    with atomic_folder(out) as first:
        (first / "summary.json").write_text("{}", encoding="utf-8")
        (tmp_path / f".{out.name}.tmp-killed").mkdir()  # a leftover: nobody holds it
        with atomic_folder(tmp_path / "out") as second:
            assert first.is_dir()
            assert not (tmp_path / f".{out.name}.tmp-killed").exists()
            (second / "manifest.json").write_text("{}", encoding="utf-8")
        (first / "manifest.json").write_text("{}", encoding="utf-8")
    assert (out / "summary.json").is_file() and temporary_folders(out) == []


def test_importing_the_cli_loads_no_heavy_library():
    done = subprocess.run([sys.executable, "-c", "import sys, sim.cli; print(sorted(m for m in sys.modules if "
                           "m.split('.')[0] in ('scipy', 'matplotlib', 'dask', 'distributed', 'pandas')))"],
                          env=environment(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_checkpoint_of_another_replication_format_is_not_resumed(tmp_path):
    """A checkpoint written when a replication held other things (the stay
    histograms as dicts, format 1) must be refused with the reason, not read
    into a run that would fail when it writes its files."""
    from sim.engine.model import REPLICATION_FORMAT
    from sim.errors import CheckpointMismatch
    from sim.execution.checkpoint import Checkpoint, run_plan

    plan = run_plan("run", [make_scenario()], seed=1, replications=4)
    Checkpoint.open(tmp_path, plan | {"replication_format": REPLICATION_FORMAT - 1}, resume=False)
    with pytest.raises(CheckpointMismatch) as refused:
        Checkpoint.open(tmp_path, plan, resume=True)
    assert f"replication format {REPLICATION_FORMAT - 1} there, {REPLICATION_FORMAT} here" in str(refused.value)


def test_max_events_refuses_a_huge_scenario_in_warmup_and_check_too(tmp_path):
    """`capsim warmup` and `capsim check --scenario` simulate too: the scenario above (3.3e10
    events) is refused at once with the same message, --max-events raises it (warmup had no
    limit and ran for hours)."""
    huge = tmp_path / "huge.yaml"
    huge.write_text(to_yaml(scenario_data(name="huge", horizon=3650, warmup=0, replications=30,
                                          streams=[{**scenario_data()["streams"][0],
                                                    "arrivals": {"rate": 100000.0}}])), encoding="utf-8")
    for command in (["warmup", str(huge), "--out", "series.csv"], ["check", "--scenario", str(huge)]):
        done = capsim(*command, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stderr)
        assert "about 3.3e+10 events" in done.stderr and "raise the limit: --max-events 4e10" in done.stderr
        assert_no_traceback(done)
    assert not (tmp_path / "series.csv").exists()
