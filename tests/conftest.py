"""Shared helpers: small scenarios built in code, so each test states its model."""

from __future__ import annotations

import copy
import io

import pytest
from ruamel.yaml import YAML

from sim import Scenario, parse_scenario


def scenario_data(**overrides) -> dict:
    """A one-stream loss system (c = 20, exponential stays of mean 10, rate 2/day),
    with `overrides` merged into the top level."""
    data = {
        "version": 1,
        "name": "test",
        "horizon": 400,
        "warmup": 50,
        "replications": 4,
        "seed": 11,
        "max_detention": 100_000,
        "capacity": {"beds": 20},
        "streams": [
            {
                "name": "s",
                "arrivals": {"rate": 2.0},
                "origins": [
                    {"name": "all", "share": 1, "return_probability": 1,
                     "time_to_return": {"dist": "exponential", "mean": 10}},
                ],
            }
        ],
    }
    data.update(copy.deepcopy(overrides))
    return data


def to_yaml(data: dict) -> str:
    buffer = io.StringIO()
    YAML().dump(data, buffer)
    return buffer.getvalue()


def make_scenario(**overrides) -> Scenario:
    """Through the YAML parser, so the cross-checks of a real file apply."""
    return parse_scenario(to_yaml(scenario_data(**overrides)), "test.yaml")


@pytest.fixture
def small_scenario() -> Scenario:
    return make_scenario()


_MEASURE = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as result:
    result.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""
"""Runs the command and writes its exit code and peak memory (what os.wait4 reports) to a file. Linux counts
in a process's peak the memory of the process that started it, as it was when the new program was loaded:
started from this (large) test process, every child would report at least the test's size; started from
this small one, it reports its own."""


def measured_child(command: list[str], cwd, *, hang_guard: float, env: dict | None = None,
                   merge_stderr: bool = False, preexec_fn=None) -> tuple[int, str, str, int]:
    """Run `command` in a child process: its exit code, stdout, stderr (empty with `merge_stderr`)
    and its own peak resident memory in bytes (os.wait4 in a small process that starts it, `_MEASURE`, so
    neither the test's memory nor its parent's). Killed after `hang_guard` seconds: a hang guard, never a
    speed test. `preexec_fn` (e.g. a resource limit) applies to that process, and the child inherits it."""
    import os
    import signal
    import subprocess
    import sys
    import tempfile
    import threading

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as scratch:
        result = os.path.join(scratch, "result")
        process = subprocess.Popen([sys.executable, "-c", _MEASURE, result, *command], cwd=cwd, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT if merge_stderr else err, preexec_fn=preexec_fn,
                                   start_new_session=True)
        guard = threading.Timer(hang_guard, lambda: os.killpg(process.pid, signal.SIGKILL))
        guard.start()
        try:
            process.wait()
        finally:
            guard.cancel()
        out.seek(0)
        err.seek(0)
        if os.path.exists(result):
            with open(result) as written:
                code, peak = (int(part) for part in written.read().split())
        else:  # killed by the hang guard before the child ended
            code, peak = -9, 0
        peak *= 1 if sys.platform == "darwin" else 1024
        return code, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), peak


def lognormal_survival(mean: float, sd: float):
    """P(S > x) of a lognormal time of this mean and sd (scipy's parameters from them)."""
    import math

    from scipy import stats

    sigma2 = math.log1p((sd / mean) ** 2)
    return stats.lognorm(math.sqrt(sigma2), scale=math.exp(math.log(mean) - sigma2 / 2)).sf


def mtginf_occupancy(t: float, edges: list[float], rates: tuple[float, float], survival, longest: float) -> float:
    """Oracle M_t/G/inf: E[N(t)] = integral_0^t lambda(u) P(S > t - u) du, the rate `rates[k % 2]` between
    `edges[k]` and `edges[k + 1]` (day 0 first, inf last), a stay S = min(the time of `survival`, `longest`):
    by scipy quad, piece by piece."""
    from scipy import integrate

    total = 0.0
    for k in range(len(edges) - 1):
        low, high = max(edges[k], t - longest), min(edges[k + 1], t)
        if low < high:
            total += rates[k % 2] * integrate.quad(lambda u: survival(t - u), low, high)[0]
    return total
