"""Replications on a Dask cluster: a scheduler at an address, or a LocalCluster on this machine.

A scheduler address is checked before anything connects, and the whole
handshake (the connection, Dask's greeting, the scheduler's list of workers)
runs under one deadline, CONNECT_SECONDS: a service that is not a Dask
scheduler (sshd's banner, which distributed would read as the length of a
message, a web server, a port that accepts and says nothing) gives
SchedulerUnavailable within it, never a hang or a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import Executor

from sim.errors import SchedulerUnavailable

CONNECT_SECONDS = 10.0
"""How long a scheduler has to answer, from the connection to its list of workers."""

SCHEMES = ("tcp", "tls")
"""The transports an address may name (tcp:// when it names none)."""

ADDRESS_LOOKS_LIKE = ("a scheduler address looks like tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786, "
                      "tcp://[::1]:8786) or tls://HOST:PORT; 'local' runs a cluster of --jobs workers on this machine")


def checked_address(address: str) -> str:
    """`address` if it names a transport Dask connects over, a host and a port; else SchedulerUnavailable."""
    scheme, separator, rest = address.partition("://")
    if not separator:
        scheme, rest = "tcp", address
    try:
        parts = urllib.parse.urlsplit(f"{scheme}://{rest}")
        host, port = parts.hostname, parts.port
    except ValueError:  # an unclosed [IPv6 bracket, a port out of range
        host, port = None, None
    if scheme not in SCHEMES or not host or not port or parts.path or parts.query or parts.fragment:
        raise SchedulerUnavailable(f"{address!r} is not a Dask scheduler address: {ADDRESS_LOOKS_LIKE}")
    return address


@contextlib.contextmanager
def dask_executor(jobs: int, scheduler: str) -> Iterator[tuple[Executor, int]]:
    """An executor on the Dask scheduler at `scheduler` (or a LocalCluster of `jobs`
    single-threaded worker processes for ``"local"``), and its number of worker threads."""
    if scheduler != "local":
        checked_address(scheduler)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SchedulerUnavailable(
            "running on a Dask scheduler needs the dask extra: pip install 'capsim[dask]'") from None
    with contextlib.ExitStack() as stack:
        stack.enter_context(_closed_connections_unlogged())
        if scheduler == "local":
            with _interrupts_held():
                cluster = stack.enter_context(LocalCluster(
                    n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"))
                client = stack.enter_context(Client(cluster))
                identity = client.scheduler_info()
        else:
            identity = scheduler_identity(scheduler)
            try:
                client = stack.enter_context(Client(scheduler, timeout=CONNECT_SECONDS))
            except OSError as err:  # it answered a moment ago: gone since
                raise _unanswered(scheduler, f"cannot reach it ({err})") from None
        workers = max(1, sum(worker.get("nthreads", 1) for worker in identity["workers"].values()))
        try:
            yield client.get_executor(pure=False), workers
        except KeyboardInterrupt:
            # closing the client and cluster now logs the cancelled work as errors, tracebacks
            # included: capsim says what happened (interrupted, what was kept) itself
            for name in ("distributed", "tornado"):
                logging.getLogger(name).setLevel(logging.CRITICAL + 1)
            raise


@contextlib.contextmanager
def _closed_connections_unlogged() -> Iterator[None]:
    """While capsim uses Dask: a connection that closes (the cluster closing after Ctrl-C) is not
    logged by tornado as an error with its traceback; capsim says what happened itself."""
    from distributed.comm.core import CommClosedError
    from tornado.iostream import StreamClosedError

    def keep(record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if isinstance(error, (CommClosedError, StreamClosedError)):
                return False
            error = error.__cause__ or error.__context__
        return True

    logger = logging.getLogger("tornado.application")
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held while a LocalCluster starts, then raised.

    A terminal sends Ctrl-C to every process of the command: Dask's worker
    processes printed their KeyboardInterrupt tracebacks, and an interrupt that
    came while the cluster started could be raised in one of Dask's callbacks,
    where Python reports it and goes on (the run then finished, exit 0). Here
    SIGINT is blocked in this thread, so the threads and processes the cluster
    starts inherit it blocked (only this process stops on Ctrl-C, and closes
    the cluster); an interrupt that still arrives (through a thread that was
    already running) is noted, and raised once the start-up is over."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    handlers: dict[int, Callable] = {}
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signal_number)
        if callable(handler):  # a Python handler (Ctrl-C's, capsim's for SIGTERM), not the system's default
            handlers[signal_number] = handler
            signal.signal(signal_number, lambda number, frame: held.append(number))
    before = None
    if hasattr(signal, "pthread_sigmask"):
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()  # its start unblocks SIGINT in the thread that starts it
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if before is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
        for held_number, handler in handlers.items():
            signal.signal(held_number, handler)
        if held:
            handlers[held[0]](held[0], None)  # raises KeyboardInterrupt (or Terminated)


def scheduler_identity(address: str) -> dict:
    """What the Dask scheduler at `address` says it is (its workers among it), asked
    under one deadline, CONNECT_SECONDS, from the connection to the answer.

    Dask's own timeouts cover the connection, not the greeting that follows nor
    an answer that never comes. The question runs in an event loop of its own,
    in a thread (the caller may be running a loop, as a notebook does)."""
    from dask.distributed import rpc

    async def ask() -> dict:
        async with rpc(address, timeout=CONNECT_SECONDS / 2) as scheduler:  # half to connect, then to answer
            return await scheduler.identity()

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["identity"] = asyncio.run(asyncio.wait_for(ask(), CONNECT_SECONDS))
        except Exception as err:  # MemoryError included: a banner read as the length of a message
            outcome["error"] = err

    thread = threading.Thread(target=run, name="capsim-dask-handshake", daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS + 1)  # a name lookup may outlast the loop's deadline: not the caller's wait
    identity, error = outcome.get("identity"), outcome.get("error")
    if isinstance(identity, dict) and isinstance(identity.get("workers"), dict):  # a scheduler lists its workers
        return identity
    if isinstance(identity, dict):
        raise _unanswered(address, f"a Dask {identity.get('type', 'server')} answered, not a scheduler")
    if error is None or isinstance(error, asyncio.TimeoutError):
        raise _unanswered(address, f"nothing answered within {CONNECT_SECONDS:g} s")
    if isinstance(error, OSError):
        raise _unanswered(address, f"cannot reach it ({error})")
    raise _unanswered(address, "something answered, but not as a Dask scheduler does (another service, "
                               "such as ssh or a web server?)")


def _unanswered(address: str, reason: str) -> SchedulerUnavailable:
    return SchedulerUnavailable(f"no Dask scheduler answered at {address}: {reason}. Check the address (a scheduler "
                                "listens on port 8786 unless told otherwise) and that the scheduler is running")
