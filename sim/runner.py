"""Replications on an executor: in-process or on local worker processes.

Replication r always runs with ``SeedSequence(seed).spawn(R)[r]`` and results
are gathered in replication order, so the output does not depend on the number
of workers or on the order in which they finish. Work is sent in chunks, and a
replication returns only its metrics and daily occupancy (no SimPy objects).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

from .model import RepResult, simulate
from .results import Results
from .rng import replication_seed
from .scenario import Scenario


class InvariantViolation(RuntimeError):
    """A replication broke a law of the model (conservation, capacity, maximum detention)."""


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    on_progress: Callable[[int], None] | None = None,
) -> Results:
    """Run `scenario` and return its Results.

    Parameters
    ----------
    replications, seed
        Override the scenario's own.
    jobs
        1 runs in this process; more uses that many worker processes.
    on_progress
        Called with the number of replications finished after each chunk.
    """
    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    reps = list(_replications(scenario, seed, range(replications), jobs, on_progress))
    for r, rep in enumerate(reps):
        check_invariants(scenario, rep, r, seed)
    return Results(scenario, seed, reps)


def _replications(scenario: Scenario, seed: int, indices: Sequence[int], jobs: int,
                  on_progress) -> Iterator[RepResult]:
    if jobs <= 1 or len(indices) <= 1:
        for r in indices:
            yield simulate(scenario, replication_seed(seed, r))
            if on_progress:
                on_progress(1)
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from run_on(pool, scenario, seed, indices, jobs, on_progress)


def run_on(executor: Executor, scenario: Scenario, seed: int, indices: Sequence[int], workers: int,
           on_progress=None) -> Iterator[RepResult]:
    """Run the replications `indices` on `executor`, in chunks, yielding them in order."""
    size = max(1, math.ceil(len(indices) / (workers * 4)))
    chunks = [list(indices[i:i + size]) for i in range(0, len(indices), size)]
    futures = [executor.submit(_run_chunk, scenario, seed, chunk) for chunk in chunks]
    for future in futures:
        chunk_results = future.result()
        if on_progress:
            on_progress(len(chunk_results))
        yield from chunk_results


def _run_chunk(scenario: Scenario, seed: int, indices: list[int]) -> list[RepResult]:
    return [simulate(scenario, replication_seed(seed, r)) for r in indices]


def check_invariants(scenario: Scenario, rep: RepResult, replication: int, seed: int) -> None:
    """Conservation, capacity and maximum detention, checked on every replication."""
    problems = [f"{name}: {value}" for name, value in rep.checks.items() if value]
    for stream in scenario.streams:
        longest = rep.streams[stream.name]["los_max_days"]
        if longest > scenario.stream_max_detention(stream) * (1 + 1e-12):
            problems.append(f"{stream.name}: a stay of {longest:g} days exceeds the maximum detention")
    for where, m in [("system", rep.metrics), *rep.streams.items()]:
        inside = m["present_at_start"] + m["admitted"]
        ended = m["returned"] + m["released_court"] + m["released_deadline"] + m["still_detained"]
        if inside != ended:
            problems.append(f"{where}: present at start + admitted ({inside:g}) != ended + still detained ({ended:g})")
        requests = m["waiting_at_start"] + m["detention_requests"]
        settled = m["admitted"] + m["turned_away"] + m["still_waiting"]
        if requests != settled:
            problems.append(f"{where}: waiting at start + requests ({requests:g}) != admitted + turned away "
                            f"+ still waiting ({settled:g})")
        if m["arrivals"] != m["screened_out"] + m["detention_requests"]:
            problems.append(f"{where}: arrivals != screened out + detention requests")
    if problems:
        raise InvariantViolation(
            f"replication {replication} (seed {seed}) broke the model's invariants: " + "; ".join(problems)
        )
