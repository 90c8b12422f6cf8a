"""Where replications run: this process, or local worker processes (a Dask cluster: cluster.py).

`executor_for` gives the executor; `ProcessLanes` is the local pool, one
process pool per worker, so that a worker that dies fails only the chunk it was
running; `worker_context` forks workers from a fork server that has imported
the simulation. No worker outlives the process that started it (`follow_the_main_process`).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool

from sim.execution.cluster import dask_executor


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
        with dask_executor(jobs, scheduler) as on_dask:
            yield on_dask
        return
    if jobs <= 1:
        yield None, 1
        return
    pool = ProcessLanes(jobs)
    try:
        yield pool, jobs
    except BaseException:  # Ctrl-C, SIGTERM, an error: the replications still running are not waited for
        pool.stop()
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
    context.set_forkserver_preload(["sim.execution.runner"])  # the simulation, imported once
    return context


def follow_the_main_process() -> None:
    """In each worker process, as it starts: Ctrl-C is the main process's to
    handle (it stops the workers, and no worker prints a KeyboardInterrupt
    traceback), and the worker ends as soon as the main process ends, however
    it ends (SIGKILL included).

    A worker's parent is the fork server, not the main process, and it holds
    both ends of its task queue: when the main process died it waited for work
    forever, and kept the fork server (which ends when no process holds its
    "alive" pipe) and multiprocessing's resource tracker (the same, for its
    pipe) alive with it. multiprocessing's `parent_process()` is the main
    process, whichever start method, with a sentinel that becomes ready when it
    ends: a thread waits on it (already ready if the main process ended before
    this worker started)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    main = multiprocessing.parent_process()
    if main is not None:
        threading.Thread(target=_end_with, args=(main,), name="capsim-follow-main", daemon=True).start()


def _end_with(main: multiprocessing.process.BaseProcess) -> None:
    main.join()
    os._exit(1)


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
        return ProcessPoolExecutor(max_workers=1, mp_context=self._context,  # starts its process on first use
                                   initializer=follow_the_main_process)

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
            except (BrokenProcessPool, RuntimeError) as err:  # the process died while idle, or stop() shut it
                outer.set_exception(err)
                self._release(lane, broken=True)
                continue
            with self._lock:
                stopped = self._closed
            if stopped:  # stop() came while this lane started its process, which it may not have seen
                _kill_processes(lane)
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

    def stop(self) -> None:
        """Abandon the work (Ctrl-C, SIGTERM, an error): cancel the tasks that wait and
        end the worker processes now, instead of waiting for the chunks they run
        (which the interpreter's exit would otherwise wait for)."""
        with self._lock:
            self._closed = True  # no task sent and no lane started from here on (_dispatch kills a late one)
            lanes = self._idle + list(self._busy)
        processes = [process for lane in lanes for process in _processes(lane)]
        self.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()


def _processes(lane: ProcessPoolExecutor) -> list:
    """A lane's worker processes: a process pool has no public way to end them (before Python 3.14's
    kill_workers)."""
    return list((getattr(lane, "_processes", None) or {}).values())


def _kill_processes(lane: ProcessPoolExecutor) -> None:
    for process in _processes(lane):
        process.kill()
