"""Running a scenario's replications and gathering them: `run` and `run_many`.

Replication r always runs with ``SeedSequence(seed).spawn(R)[r]`` and results
are gathered in replication order, so the output does not depend on the
executor (lanes.py), the number of workers or the order in which they finish.
Work is sent in guided chunks, and a replication returns only its metrics and
daily occupancy (no SimPy objects). With a precision target, replications are
added until the rule of analysis/precision.py says they are enough.

A chunk whose worker process died (out of memory, killed) is retried once,
replication by replication, on a fresh process, and a replication that kills
its worker again stops the run (`WorkerFailure`) with the command that
reproduces it. Finished replications can be kept in a checkpoint
(checkpoint.py) and are skipped when a run resumes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool

from sim.analysis.precision import PRECISION_METRICS, Stopping, replications_needed
from sim.analysis.results import Results
from sim.engine.model import RepResult, simulate
from sim.engine.seeds import replication_seed
from sim.errors import WorkerFailure
from sim.execution.fault_injection import TEST_KILL_REPLICATION, die_if_asked
from sim.execution.invariants import check_invariants
from sim.execution.lanes import executor_for
from sim.scenario import Scenario

GUIDED = 2
"""Each chunk sent to a worker is 1/(GUIDED x workers) of the replications not yet sent (`guided_chunks`)."""


log = logging.getLogger("capsim")
"""Worker deaths and retries are reported here (on standard error unless logging is configured)."""


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
    checkpoint=None,
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
        Called with the number of replications just finished (or found in the checkpoint).
    checkpoint
        A checkpoint.Checkpoint: finished replications are kept in it, and those
        it already holds are not run again.

    Raises
    ------
    WorkerFailure
        A replication killed its worker process, and again when retried.
    InvariantViolation
        A replication broke a law of the model.
    """
    seed = scenario.seed if seed is None else seed
    if precision is None:
        count = scenario.replications if replications is None else replications
        indices = range(count) if only_replication is None else [only_replication]
        with executor_for(jobs, scheduler) as (executor, workers):
            [reps] = _replications(executor, workers, seed, [(scenario, indices)], on_progress, checkpoint)
        stopping = None
    else:
        with executor_for(jobs, scheduler) as (executor, workers):
            reps, stopping = _until_precise(executor, workers, scenario, seed, precision, max_replications,
                                            on_progress, checkpoint)
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
    checkpoint=None,
) -> list[Results]:
    """Run several scenarios with the same seeds (common random numbers), all their
    replications spread over the workers at once. `replications` and `seed`
    default to the first scenario's. `executor`, from `executor_for`, reuses
    workers across calls (a search that runs many small batches). `checkpoint`:
    see `run` (scenario i of the list is scenario i of the checkpoint)."""
    seed = scenarios[0].seed if seed is None else seed
    count = scenarios[0].replications if replications is None else replications
    with contextlib.nullcontext(executor) if executor else executor_for(jobs, scheduler) as (pool, workers):
        all_reps = _replications(pool, workers, seed, [(s, range(count)) for s in scenarios], on_progress,
                                 checkpoint)
    for scenario, reps in zip(scenarios, all_reps):
        for r, rep in enumerate(reps):
            check_invariants(scenario, rep, r, seed)
    return [Results(scenario, seed, reps) for scenario, reps in zip(scenarios, all_reps)]


def _replications(executor: Executor | None, workers: int, seed: int,
                  work: Sequence[tuple[Scenario, Sequence[int]]], on_progress,
                  checkpoint=None) -> list[list[RepResult]]:
    """For each (scenario, replication indices), its replications in order. On an
    executor, the chunks of every scenario are submitted at once; a chunk whose
    worker died is retried once, replication by replication (`_gather`)."""
    done: dict[tuple[int, int], RepResult] = {}
    if checkpoint is not None:
        wanted = {(i, r) for i, (_, indices) in enumerate(work) for r in indices}
        done = checkpoint.finished(wanted)
        if done and on_progress:
            on_progress(len(done))
    todo = [(i, [r for r in indices if (i, r) not in done]) for i, (_, indices) in enumerate(work)]

    def keep(i: int, r: int, rep: RepResult) -> None:
        done[i, r] = rep
        if checkpoint is not None:
            checkpoint.save(i, r, rep)

    if executor is None:
        for i, indices in todo:
            for r in indices:
                keep(i, r, simulate(work[i][0], replication_seed(seed, r)))
                if on_progress:
                    on_progress(1)
    else:
        _gather(executor, [scenario for scenario, _ in work], seed, guided_chunks(todo, workers), keep, on_progress)
    return [[done[i, r] for r in indices] for i, (_, indices) in enumerate(work)]


def guided_chunks(todo: Sequence[tuple[int, Sequence[int]]], workers: int) -> list[tuple[int, list[int]]]:
    """Cut [(scenario index, replications)] into chunks that shrink towards the end
    (guided self-scheduling, Polychronopoulos and Kuck 1987): each chunk is
    1/(GUIDED x workers) of the replications still unassigned, at least one, and
    at most 1/(2 x GUIDED x workers) of all (a chunk is kept in the checkpoint
    and counted in the progress when it finishes). Big chunks first keep the
    round trips to the workers few; small ones last let the workers finish
    together instead of one waiting for the other's big chunk."""
    remaining = sum(len(indices) for _, indices in todo)
    largest = max(1, math.ceil(remaining / (2 * GUIDED * workers)))
    chunks = []
    for i, indices in todo:
        k = 0
        while k < len(indices):
            chunk = list(indices[k:k + min(largest, max(1, math.ceil(remaining / (GUIDED * workers))))])
            chunks.append((i, chunk))
            k += len(chunk)
            remaining -= len(chunk)
    return chunks


def _gather(executor: Executor, scenarios: list[Scenario], seed: int, chunks: list[tuple[int, list[int]]],
            keep: Callable[[int, int, RepResult], None], on_progress) -> None:
    """Run `chunks` [(scenario index, replications)], keeping each replication as its chunk finishes.

    A chunk whose worker process died is reported and its replications are
    retried once, each alone; the replications that kill their worker again
    are reported together, once all the other work is finished (and kept).
    """
    kill = os.environ.get(TEST_KILL_REPLICATION)  # read here: workers may have started before it was set
    futures = {executor.submit(_run_chunk, scenarios[i], seed, indices, kill): (i, indices, 1)
               for i, indices in chunks}
    failed: list[tuple[int, int, str]] = []
    try:
        while futures:
            finished, _ = futures_wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                i, indices, attempt = futures.pop(future)
                death = _worker_death(future)
                if death is None:
                    for r, rep in zip(indices, future.result()):
                        keep(i, r, rep)
                    if on_progress:
                        on_progress(len(indices))
                elif attempt == 1:
                    log.warning(f"capsim: a worker process died ({death}) while running {_which(indices)} of "
                                f"{scenarios[i].name} (seed {seed}); retrying {'it' if len(indices) == 1 else 'them'}"
                                " once, on a fresh worker process")
                    futures |= {executor.submit(_run_chunk, scenarios[i], seed, [r], kill): (i, [r], 2)
                                for r in indices}
                else:
                    log.warning(f"capsim: replication {indices[0]} of {scenarios[i].name} (seed {seed}) killed its "
                                "worker process again")
                    failed.append((i, indices[0], death))
    finally:
        for future in futures:
            future.cancel()
    if failed:
        lines = [f"replication {r} of {scenarios[i].name} (seed {seed}) killed its worker process twice ({death})"
                 for i, r, death in failed]
        first_i, first_r, _ = failed[0]
        raise WorkerFailure(
            "; ".join(lines) + ". A process that dies without an error message was most often killed for lack "
            "of memory (see the system log, e.g. dmesg). Every other replication finished. Reproduce it alone, "
            f"in one process, with: capsim run SCENARIO --seed {seed} --only-replication {first_r} --jobs 1"
            + (f" (SCENARIO being {scenarios[first_i].name})" if len(scenarios) > 1 else ""))


def _worker_death(future: Future) -> str | None:
    """How the worker running `future` died, or None if the task did not lose its worker.
    An exception raised by the simulation itself is not a death: it propagates."""
    error = future.exception()
    if error is None:
        return None
    if isinstance(error, BrokenProcessPool):
        return "the process ended abruptly"
    if type(error).__name__ == "KilledWorker":  # Dask: the task's workers died (after Dask's own retries)
        return f"KilledWorker: {error}"
    raise error


def _which(indices: Sequence[int]) -> str:
    if len(indices) == 1:
        return f"replication {indices[0]}"
    if list(indices) == list(range(indices[0], indices[-1] + 1)):
        return f"replications {indices[0]}-{indices[-1]}"
    return "replications " + ", ".join(map(str, indices))


def _run_chunk(scenario: Scenario, seed: int, indices: list[int], kill: str | None) -> list[RepResult]:
    """Run replications `indices` in a worker; `kill` is the TEST_KILL_REPLICATION setting."""
    results = []
    for r in indices:
        if kill:
            die_if_asked(kill, r)
        results.append(simulate(scenario, replication_seed(seed, r)))
    return results


def _until_precise(executor, workers, scenario, seed, precision, max_replications, on_progress, checkpoint=None):
    reps: list[RepResult] = []
    batch = max(10, 2 * workers)
    while len(reps) < max_replications:
        more = range(len(reps), min(max_replications, len(reps) + batch))
        reps += _replications(executor, workers, seed, [(scenario, more)], on_progress, checkpoint)[0]
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
