"""A capsim run in a fresh process that reports its peak memory and its run time
(the memory and --jobs rows of the benchmark).

    python -m benchmarks.child REPLICATIONS JOBS SEED < scenario.yaml

Parses the scenario text on standard input and runs it through ``sim.run``
with that many replications on JOBS worker processes. Prints one JSON line:
{"maxrss_kb": peak resident set size of this process (see `peak_rss_kb`),
"seconds": wall time of ``sim.run``, "digest": SHA-256 of the replications'
metrics}.

This module imports nothing but `sim` and the standard library, and the
harness (run.py) writes the scenario: every spawned worker process imports the
main module again (multiprocessing's spawn does), so the main module must cost
no more to import than capsim's own command line does, or the --jobs row would
time SciPy's import rather than capsim's runner.
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time

import sim


def main(argv: list[str]) -> int:
    replications, jobs, seed = (int(arg) for arg in argv)
    model = sim.parse_scenario(sys.stdin.read(), "<bench-child>")
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
