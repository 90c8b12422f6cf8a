"""A capsim run in a fresh process that reports its peak memory (for the memory rows).

    python -m benchmarks.child horizon ARRIVALS SEED
        one replication of the reference model over ARRIVALS / rate days
    python -m benchmarks.child replications R SEED
        R replications of the small scenario (SMALL) through the runner, in-process
    python -m benchmarks.child jobs J SEED
        JOBS_REPLICATIONS replications of the jobs scenario (5 years measured) on J
        worker processes (sim.run(..., jobs=J))

Prints one JSON line: {"maxrss_kb": peak resident set size of this process (see
`peak_rss_kb`), "seconds": wall time of the run, "digest": SHA-256 of the
replications' metrics}.
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time

import sim

from . import capsim_engine
from .reference import Reference

SMALL = Reference(beds=75)
"""The small scenario of the replication rows: 75 beds at a load of 75, one year measured."""
SMALL_HORIZON = 365.0
SMALL_WARMUP = 243.0

JOBS_REPLICATIONS = 200
JOBS_HORIZON = 5 * 365.25
JOBS_WARMUP = 243.0
"""The jobs row: the reference model over 5 years (after a warm-up of one maximum
stay), 200 replications: the shape of a sweep point."""


def small_scenario(replications: int, seed: int) -> "sim.Scenario":
    return sim.parse_scenario(capsim_engine.scenario_text(
        SMALL, horizon=SMALL_HORIZON, warmup=SMALL_WARMUP, replications=replications, seed=seed), "<bench-small>")


def jobs_scenario(seed: int) -> "sim.Scenario":
    return sim.parse_scenario(capsim_engine.scenario_text(
        Reference(), horizon=JOBS_HORIZON, warmup=JOBS_WARMUP, replications=JOBS_REPLICATIONS, seed=seed),
        "<bench-jobs>")


def main(argv: list[str]) -> int:
    kind, size, seed = argv[0], int(argv[1]), int(argv[2])
    jobs = 1
    if kind == "horizon":
        model = capsim_engine.scenario(Reference(arrivals=size), seed=seed)
        replications = 1
    elif kind == "replications":
        model = small_scenario(size, seed)
        replications = size
    elif kind == "jobs":
        model = jobs_scenario(seed)
        replications, jobs = JOBS_REPLICATIONS, size
    else:
        raise SystemExit(f"unknown kind {kind!r} (horizon, replications or jobs)")
    started = time.perf_counter()
    results = sim.run(model, replications=replications, seed=seed, jobs=jobs)
    seconds = time.perf_counter() - started
    metrics = json.dumps([rep.metrics for rep in results.replications], sort_keys=True, default=float)
    print(json.dumps({"maxrss_kb": peak_rss_kb(), "seconds": seconds,
                      "digest": hashlib.sha256(metrics.encode()).hexdigest()}))
    return 0


def peak_rss_kb() -> int:
    """Peak resident set size of this process, in kB.

    On Linux, VmHWM of /proc/self/status: ``getrusage(RUSAGE_SELF).ru_maxrss``
    also counts the memory of the process before its exec, i.e. of the parent
    that forked it (here the harness, with every implementation loaded), and
    would hide the child's own peak. Elsewhere, ru_maxrss.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return peak // 1024 if sys.platform == "darwin" else peak


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
