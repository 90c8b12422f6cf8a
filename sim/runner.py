"""Replications on an executor: in-process, local worker processes, or a Dask cluster.

Replication r always runs with ``SeedSequence(seed).spawn(R)[r]`` and results
are gathered in replication order, so the output does not depend on the
executor, the number of workers or the order in which they finish. Work is sent
in chunks, and a replication returns only its metrics and daily occupancy (no
SimPy objects). With a precision target, replications are added until the
confidence intervals are narrow enough (Hoad, Robinson and Davies 2010).

Each local worker process runs one chunk at a time in a pool of its own
(`ProcessLanes`), so a worker that dies (out of memory, killed) fails only the
chunk it was running: those replications are retried once, one by one, on a
fresh process, and a replication that kills its worker again stops the run
(`WorkerFailure`) with the command that reproduces it. Finished replications
can be kept in a checkpoint (see checkpoint.py) and skipped when a run resumes.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np

from .model import RepResult, simulate
from .results import Results
from .rng import replication_seed
from .scenario import Scenario
from .stats import half_width

PRECISION_METRICS = ("occupancy_mean", "probability_full", "blocking_probability", "return_rate")
GUIDED = 2
"""Each chunk sent to a worker is 1/(GUIDED x workers) of the replications not yet sent (`guided_chunks`)."""

ABSOLUTE_FLOORS = {"occupancy_mean": 0.5, "probability_full": 0.002, "blocking_probability": 0.002,
                   "return_rate": 0.005}
"""Half-widths below these are precise enough whatever the mean (metrics near zero)."""


log = logging.getLogger("capsim")
"""Worker deaths and retries are reported here (on standard error unless logging is configured)."""

TEST_KILL_REPLICATION = "CAPSIM_TEST_KILL_REPLICATION"
"""Test hook: ``R`` makes a worker process die (os._exit) whenever it starts
replication R; ``R:MARKER`` only the first time (it creates the file MARKER).
Worker processes only: never the process that runs the command. Read in this
process when the replications are sent out, and sent with them."""


class InvariantViolation(RuntimeError):
    """A replication broke a law of the model (conservation, capacity, maximum detention)."""


class SchedulerUnavailable(RuntimeError):
    """A Dask scheduler was asked for and cannot be used (not installed, unreachable)."""


class RunStopped(RuntimeError):
    """The run cannot go on; `exit_code` is the command's exit code, the message says what to do."""

    exit_code = 1


class WorkerFailure(RunStopped):
    """Replications killed their worker process twice (the first run and the retry)."""

    exit_code = 1


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def executor_for(jobs: int = 1, scheduler: str | None = None) -> Iterator[tuple[Executor | None, int]]:
    """The executor to run on, and how many workers it has.

    ``scheduler`` is a Dask scheduler address, or ``"local"`` for a LocalCluster
    of `jobs` single-threaded worker processes; without it, `jobs` > 1 gives a
    pool of worker processes (`ProcessLanes`) and `jobs` == 1 runs in this process (None).
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
    pool = ProcessLanes(jobs)
    try:
        yield pool, jobs
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        # Every task has finished: the worker processes exit in the background
        # (joined at interpreter exit) instead of on the caller's time.
        pool.shutdown(wait=False)


def worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from a fork server that has imported
    this module and so the simulation (POSIX), else spawned (Windows).

    A spawned worker imports numpy, pydantic and capsim again, some 0.2 s of
    CPU each, twice per run on two cores; a worker forked from the fork server
    is ready in milliseconds, and a fresh one after a worker dies too. The fork
    server has one thread, so forking it is safe where forking this process
    (which runs the lanes' threads) would not be. It starts once per process:
    later runs, sweeps and searches start their workers at once. Its workers
    take this process's working directory and sys.path when they start, but
    the modules and environment variables of the moment the server started (a
    notebook that edits capsim's code must restart its kernel; anything a worker
    needs from the environment is sent with the work). The preload list is the
    process's fork-server setting (multiprocessing has one). Workers still run
    the main module again, as under spawn: what it imports beyond this module
    (SciPy for a script that imports it) each worker imports, as a spawned one
    would."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


class ProcessLanes(Executor):
    """`workers` worker processes (see `worker_context`), each in a process pool of its own.

    Tasks wait in one queue and go to the first idle worker. When a worker
    process dies, only the task it was running fails (with BrokenProcessPool)
    and a fresh process takes its place; with one shared pool every task in
    flight would fail and the one that killed it could not be told apart.
    """

    def __init__(self, workers: int):
        self._context = worker_context()
        self._lock = threading.RLock()  # cancelling a future under it calls _forget
        self._queued: deque = deque()
        self._idle = [self._new_lane() for _ in range(workers)]
        self._busy: set[ProcessPoolExecutor] = set()
        self._outstanding: set[Future] = set()
        self._closed = False

    def _new_lane(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=1, mp_context=self._context)  # starts its process on first use

    def submit(self, fn, /, *args, **kwargs) -> Future:
        outer: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a shut-down executor")
            self._queued.append((outer, fn, args, kwargs))
            self._outstanding.add(outer)
        outer.add_done_callback(self._forget)
        self._dispatch()
        return outer

    def _forget(self, outer: Future) -> None:
        with self._lock:
            self._outstanding.discard(outer)

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._closed or not self._queued or not self._idle:
                    return
                outer, fn, args, kwargs = self._queued.popleft()
                lane = self._idle.pop()
                self._busy.add(lane)
            if not outer.set_running_or_notify_cancel():  # cancelled while queued
                self._release(lane, broken=False)
                continue
            try:
                inner = lane.submit(fn, *args, **kwargs)
            except BrokenProcessPool as err:  # the process died while idle
                outer.set_exception(err)
                self._release(lane, broken=True)
                continue
            inner.add_done_callback(functools.partial(self._finished, lane, outer))

    def _finished(self, lane: ProcessPoolExecutor, outer: Future, inner: Future) -> None:
        if inner.cancelled():
            outer.set_exception(BrokenProcessPool("the worker was shut down"))
            broken = True
        else:
            error = inner.exception()
            broken = isinstance(error, BrokenProcessPool)
            if error is None:
                outer.set_result(inner.result())
            else:
                outer.set_exception(error)
        self._release(lane, broken)
        self._dispatch()

    def _release(self, lane: ProcessPoolExecutor, broken: bool) -> None:
        if broken:
            lane.shutdown(wait=False)
        with self._lock:
            self._busy.discard(lane)
            if self._closed:
                if not broken:
                    lane.shutdown(wait=False)
                return
            self._idle.append(self._new_lane() if broken else lane)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if cancel_futures:
                for outer, *_ in self._queued:
                    outer.cancel()
                self._queued.clear()
        if wait:
            with self._lock:
                outstanding = list(self._outstanding)
            futures_wait(outstanding)
        with self._lock:
            self._closed = True
            lanes = self._idle + list(self._busy)
            self._idle = []
        for lane in lanes:
            lane.shutdown(wait=wait, cancel_futures=cancel_futures)


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
            _test_kill(kill, r)
        results.append(simulate(scenario, replication_seed(seed, r)))
    return results


def _test_kill(setting: str, replication: int) -> None:
    """The TEST_KILL_REPLICATION hook: die at once as a killed worker would."""
    target, _, marker = setting.partition(":")
    if int(target) != replication:
        return
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return  # died once already
    os._exit(1)


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
