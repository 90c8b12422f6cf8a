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


def measured_child(command: list[str], cwd, *, hang_guard: float, env: dict | None = None,
                   merge_stderr: bool = False, preexec_fn=None) -> tuple[int, str, str, int]:
    """Run `command` in a child process: its exit code, stdout, stderr (empty with `merge_stderr`)
    and its own peak resident memory in bytes (os.wait4, so not the test's). Killed after
    `hang_guard` seconds: a hang guard, never a speed test."""
    import os
    import subprocess
    import sys
    import tempfile
    import threading

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT if merge_stderr else err, preexec_fn=preexec_fn)
        guard = threading.Timer(hang_guard, process.kill)
        guard.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            guard.cancel()
        out.seek(0)
        err.seek(0)
        peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
        return (os.waitstatus_to_exitcode(status), out.read().decode("utf-8", "replace"),
                err.read().decode("utf-8", "replace"), peak)
