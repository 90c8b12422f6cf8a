"""Replications on an executor: in-process, local worker processes, or a Dask cluster.

Replication r always runs with ``SeedSequence(seed).spawn(R)[r]`` and results
are gathered in replication order, so the output does not depend on the
executor, the number of workers or the order in which they finish. Work is sent
in chunks, and a replication returns only its metrics and daily occupancy (no
SimPy objects). With a precision target, replications are added until the
confidence intervals are narrow enough (Hoad, Robinson and Davies 2010).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from .model import RepResult, simulate
from .results import Results
from .rng import replication_seed
from .scenario import Scenario
from .stats import half_width

PRECISION_METRICS = ("occupancy_mean", "probability_full", "blocking_probability", "return_rate")
ABSOLUTE_FLOORS = {"occupancy_mean": 0.5, "probability_full": 0.002, "blocking_probability": 0.002,
                   "return_rate": 0.005}
"""Half-widths below these are precise enough whatever the mean (metrics near zero)."""


class InvariantViolation(RuntimeError):
    """A replication broke a law of the model (conservation, capacity, maximum detention)."""


class SchedulerUnavailable(RuntimeError):
    """A Dask scheduler was asked for and cannot be used (not installed, unreachable)."""


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def executor_for(jobs: int = 1, scheduler: str | None = None) -> Iterator[tuple[Executor | None, int]]:
    """The executor to run on, and how many workers it has.

    ``scheduler`` is a Dask scheduler address, or ``"local"`` for a LocalCluster
    of `jobs` single-threaded worker processes; without it, `jobs` > 1 gives a
    spawn-based process pool and `jobs` == 1 runs in this process (None).
    """
    if scheduler:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise SchedulerUnavailable(
                "running on a Dask scheduler needs the dask extra: pip install 'capsim[dask]'"
            ) from None
        with contextlib.ExitStack() as stack:
            if scheduler == "local":
                cluster = stack.enter_context(LocalCluster(
                    n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                    host="127.0.0.1"))
                client = stack.enter_context(Client(cluster))
            else:
                try:
                    client = stack.enter_context(Client(scheduler, timeout="10s"))
                except OSError as err:
                    raise SchedulerUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
            workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
            yield client.get_executor(pure=False), workers
        return
    if jobs <= 1:
        yield None, 1
        return
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool, jobs
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown()


def run(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    precision: float | None = None,
    max_replications: int = 1000,
    only_replication: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Results:
    """Run `scenario` and return its Results.

    Parameters
    ----------
    replications, seed
        Override the scenario's own.
    jobs, scheduler
        Where to run: see `executor_for`.
    precision
        Instead of a fixed number: add replications until the 95% half-width of
        each of PRECISION_METRICS is at most `precision` times its mean (see
        `replications_needed`), up to `max_replications`.
    only_replication
        Run replication r alone, exactly as it runs within a full run (to reproduce a failure).
    on_progress
        Called with the number of replications just finished.
    """
    seed = scenario.seed if seed is None else seed
    if precision is None:
        count = scenario.replications if replications is None else replications
        indices = range(count) if only_replication is None else [only_replication]
        with executor_for(jobs, scheduler) as (executor, workers):
            [reps] = _replications(executor, workers, seed, [(scenario, indices)], on_progress)
        stopping = None
    else:
        with executor_for(jobs, scheduler) as (executor, workers):
            reps, stopping = _until_precise(executor, workers, scenario, seed, precision, max_replications,
                                            on_progress)
    for r, rep in enumerate(reps):
        check_invariants(scenario, rep, r if only_replication is None else only_replication, seed)
    return Results(scenario, seed, reps, stopping)


def run_many(
    scenarios: Sequence[Scenario],
    *,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    executor: tuple[Executor | None, int] | None = None,
) -> list[Results]:
    """Run several scenarios with the same seeds (common random numbers), all their
    replications spread over the workers at once. `replications` and `seed`
    default to the first scenario's. `executor`, from `executor_for`, reuses
    workers across calls (a search that runs many small batches)."""
    seed = scenarios[0].seed if seed is None else seed
    count = scenarios[0].replications if replications is None else replications
    with contextlib.nullcontext(executor) if executor else executor_for(jobs, scheduler) as (pool, workers):
        all_reps = _replications(pool, workers, seed, [(s, range(count)) for s in scenarios], on_progress)
    for scenario, reps in zip(scenarios, all_reps):
        for r, rep in enumerate(reps):
            check_invariants(scenario, rep, r, seed)
    return [Results(scenario, seed, reps) for scenario, reps in zip(scenarios, all_reps)]


def _replications(executor: Executor | None, workers: int, seed: int,
                  work: Sequence[tuple[Scenario, Sequence[int]]], on_progress) -> list[list[RepResult]]:
    """For each (scenario, replication indices), its replications in order. On an
    executor, the chunks of every scenario are submitted at once."""
    if executor is None:
        gathered = []
        for scenario, indices in work:
            gathered.append([])
            for r in indices:
                gathered[-1].append(simulate(scenario, replication_seed(seed, r)))
                if on_progress:
                    on_progress(1)
        return gathered
    size = max(1, math.ceil(sum(len(indices) for _, indices in work) / (workers * 4)))
    submitted = [
        [executor.submit(_run_chunk, scenario, seed, list(indices[i:i + size])) for i in range(0, len(indices), size)]
        for scenario, indices in work
    ]
    try:
        gathered = []
        for futures in submitted:
            gathered.append([])
            for future in futures:
                chunk = future.result()
                if on_progress:
                    on_progress(len(chunk))
                gathered[-1].extend(chunk)
        return gathered
    finally:
        for futures in submitted:
            for future in futures:
                future.cancel()


def _run_chunk(scenario: Scenario, seed: int, indices: list[int]) -> list[RepResult]:
    return [simulate(scenario, replication_seed(seed, r)) for r in indices]


@dataclass(frozen=True)
class Stopping:
    """Why a precision-driven run stopped where it did."""

    precision: float
    replications: int
    reached: bool
    reason: str


def half_width_ok(values: Sequence[float], metric: str, precision: float) -> bool:
    """Is the 95% half-width of `values` at most precision x |mean| (or the metric's floor)?"""
    defined = [v for v in values if not math.isnan(v)]
    if not defined:
        return True  # never defined (e.g. no stay ended): nothing to be precise about
    if len(defined) < 3:
        return False
    return half_width(defined) <= max(precision * abs(float(np.mean(defined))), ABSOLUTE_FLOORS.get(metric, 0.0))


def replications_needed(series: dict[str, Sequence[float]], precision: float, k_limit: int = 5,
                        minimum: int = 3) -> int | None:
    """The replication algorithm of Hoad, Robinson and Davies (2010), with look-ahead.

    ``series[m][r]`` is metric m in replication r. The answer is the smallest n
    such that every metric meets the precision with n replications *and keeps
    meeting it* for the next f(n) replications, f(n) = k_limit for n <= 100 and
    k_limit * n / 100 above; None if the series are too short to tell.
    """
    available = min(len(values) for values in series.values())
    n = minimum
    while n <= available:
        if all(half_width_ok(values[:n], metric, precision) for metric, values in series.items()):
            look_ahead = k_limit if n <= 100 else math.ceil(k_limit * n / 100)
            if n + look_ahead > available:
                return None
            if all(
                all(half_width_ok(values[:m], metric, precision) for metric, values in series.items())
                for m in range(n + 1, n + look_ahead + 1)
            ):
                return n
        n += 1
    return None


def _until_precise(executor, workers, scenario, seed, precision, max_replications, on_progress):
    reps: list[RepResult] = []
    batch = max(10, 2 * workers)
    while len(reps) < max_replications:
        more = range(len(reps), min(max_replications, len(reps) + batch))
        reps += _replications(executor, workers, seed, [(scenario, more)], on_progress)[0]
        series = {m: [rep.metrics[m] for rep in reps] for m in PRECISION_METRICS}
        needed = replications_needed(series, precision)
        if needed is not None:
            return reps[:needed], Stopping(
                precision, needed, True,
                f"95% half-widths within {precision:.1%} of the mean (or their floor) for "
                f"{', '.join(PRECISION_METRICS)} from {needed} replications on, confirmed by the look-ahead",
            )
        batch = max(batch, len(reps) // 2)  # grow geometrically: few round trips to the workers
    return reps, Stopping(precision, len(reps), False,
                          f"precision {precision:.1%} not reached within {max_replications} replications")


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
            + f". Reproduce it alone with: capsim run SCENARIO --seed {seed} --only-replication {replication}"
        )
