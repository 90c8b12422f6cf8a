"""The runner: the same bytes on every executor (serial, processes, Dask), the
precision-driven number of replications, and MSER-5."""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import make_scenario
from dask.distributed import Client  # in the dev extra: a missing dask fails here, it is never skipped
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from sim import run
from sim.analysis.precision import PRECISION_METRICS, replications_needed
from sim.analysis.stats import mser5
from sim.execution.runner import GUIDED, guided_chunks
from sim.output.run_folder import replications_csv, summary_json


@pytest.fixture(scope="module")
def scenario():
    return make_scenario(horizon=200, warmup=20, replications=6)


@pytest.fixture(scope="module")
def serial(scenario):
    return run(scenario, jobs=1)


def assert_same_bytes(a, b):
    assert summary_json(a) == summary_json(b)
    assert replications_csv(a) == replications_csv(b)


@pytest.mark.slow
def test_local_dask_cluster_gives_the_same_bytes(scenario, serial):
    """A LocalCluster of two worker processes on loopback: byte-identical to serial."""
    assert_same_bytes(serial, run(scenario, jobs=2, scheduler="local"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dask_scheduler():
    """A real `dask scheduler` and one `dask worker`, as separate processes on 127.0.0.1."""
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", port,
         "--dashboard-address", ":0", "--no-show"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1",
         "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="2s") as client:
                    if client.scheduler_info()["workers"]:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the dask scheduler and worker did not start within 60 s")
            time.sleep(0.5)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.slow
def test_separate_dask_scheduler_gives_the_same_bytes(scenario, serial, dask_scheduler):
    """The real client-server path: a scheduler and a worker in their own processes."""
    assert_same_bytes(serial, run(scenario, scheduler=dask_scheduler))


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error(scenario):
    """An address where nothing listens: SchedulerUnavailable, not a hang or a traceback."""
    from sim.errors import SchedulerUnavailable
    with pytest.raises(SchedulerUnavailable, match="cannot reach"):
        run(scenario, scheduler=f"tcp://127.0.0.1:{free_port()}")


def expected_stop(values, precision, k_limit=5):
    """Oracle for the stopping rule, written from the paper's definition: the first n
    whose 95% t half-width is within precision x mean, and stays so for the next
    k_limit replications."""
    def ok(n):
        data = np.asarray(values[:n])
        half = scipy_stats.t.ppf(0.975, n - 1) * data.std(ddof=1) / math.sqrt(n)
        return half <= precision * abs(data.mean())
    for n in range(3, len(values) - k_limit + 1):
        if all(ok(m) for m in range(n, n + k_limit + 1)):
            return n
    return None


def test_precision_rule_on_a_known_series():
    """Hoad, Robinson and Davies (2010): on a series where precision is first met at
    n0 but lost within the look-ahead (an outlier at n0 + 2), the rule must not stop
    at n0; it stops where the oracle above says."""
    rng = np.random.default_rng(3)
    values = list(100 + rng.normal(0, 5, 120))
    n0 = expected_stop(values, 0.02)
    assert n0 is not None
    values_with_outlier = values[: n0 + 1] + [160.0] + values[n0 + 1:]
    stop = replications_needed({"m": values_with_outlier}, 0.02)
    assert stop == expected_stop(values_with_outlier, 0.02)
    assert stop > n0 + 1
    assert replications_needed({"m": values}, 0.02) == n0


@pytest.mark.slow
def test_run_with_precision_stops_where_the_rule_says(scenario):
    """Through the runner: the count chosen equals the rule applied to the same
    replications run in a fixed batch (same seeds), for every headline metric."""
    chosen = run(scenario, precision=0.05, max_replications=200)
    fixed = run(scenario, replications=200)
    series = {m: fixed.values(m) for m in PRECISION_METRICS}
    assert chosen.stopping.reached
    assert len(chosen.replications) == replications_needed(series, 0.05)
    assert replications_csv(chosen) == replications_csv(run(scenario, replications=len(chosen.replications)))


def test_mser5_finds_a_known_transient():
    """A series with a linear initial transient over its first 200 observations,
    then stationary noise: MSER-5 truncates within one batch of 5 around 200
    (no later than the transient's end plus a batch, not inside it by more)."""
    rng = np.random.default_rng(11)
    transient = np.linspace(30, 0, 200)
    series = np.concatenate([transient, np.zeros(1800)]) + rng.normal(0, 1, 2000)
    assert 160 <= mser5(series) <= 205
    assert mser5(rng.normal(0, 1, 2000)) <= 50  # no transient: little or nothing to drop


@given(st.lists(st.integers(0, 300), max_size=4), st.integers(1, 8))
def test_guided_chunks_send_every_replication_once_in_shrinking_chunks(counts, workers):
    """Each replication of each scenario in exactly one chunk, in order; a chunk
    is 1/(GUIDED x workers) of what is left (rounded up) but no more than
    1/(2 x GUIDED x workers) of all, so the last chunk holds one replication
    and the workers finish together."""
    todo = [(i, range(100 * i, 100 * i + n)) for i, n in enumerate(counts)]
    chunks = guided_chunks(todo, workers)
    assert [(i, r) for i, rs in chunks for r in rs] == [(i, r) for i, rs in todo for r in rs]
    left = sum(counts)
    largest = max(1, math.ceil(left / (2 * GUIDED * workers)))
    left_in_scenario = dict(enumerate(counts))
    for i, rs in chunks:  # the share of what is left, or the rest of its scenario when that is less
        assert len(rs) == min(math.ceil(left / (GUIDED * workers)), largest, left_in_scenario[i])
        left -= len(rs)
        left_in_scenario[i] -= len(rs)
    if chunks:
        assert len(chunks[-1][1]) == 1
