"""The benchmark harness: every implementation of the reference model in one run, then a verdict.

    python -m benchmarks [--quick] [--seed S]

Each implementation runs in this process, median of 3 runs (Ciw once when a
run takes more than 5 s), with the same seed each time. The table gives
arrivals simulated per second, how many times faster heapq and capsim are,
and the blocking with its 99% batch-means interval against Erlang B. Then
capsim's scaling rows: time against the horizon, the number of beds and six centres, peak
memory against the horizon and the number of replications (each in a fresh
process), and the speed-up of two worker processes (the median ratio of five
pairs). Every target is printed as PASS or FAIL; the exit status is 1 if any
is missed. ``--quick`` runs fewer arrivals and checks only the agreement with
Erlang B.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from statistics import median_low

from . import capsim_engine, ciw_engine, heapq_engine, simpy_idiomatic
from .reference import ARRIVALS, CIW_ARRIVALS, Outcome, Reference

ROOT = Path(__file__).resolve().parent.parent

# Targets (issue 8): ratios measured within one run.
CAPSIM_OVER_SIMPY = 4.0
CAPSIM_OVER_CIW = 20.0
HEAPQ_OVER_CAPSIM = 8.0
DOUBLE_HORIZON_TIME = 2.1
TEN_X_BEDS_TIME_PER_ARRIVAL = 1.3
TEN_X_HORIZON_MEMORY = 1.1
THOUSAND_REPLICATIONS_MEMORY = 1.5
JOBS_SPEEDUP = 1.7
SIX_CENTRES_TIME_PER_ARRIVAL = 2.5
"""Belgium's six centres (whom each accepts, people by sex and category) against one pool of the same beds:
the cost of placing each person, stated per arrival, and a guard against it growing."""

SMALL = Reference(beds=75)
"""The scenario of the replication rows: 75 beds at a load of 75, one year measured
after a warm-up of one maximum stay."""
SMALL_HORIZON = 365.0
SMALL_WARMUP = 243.0

JOBS_REPLICATIONS = 200
JOBS_HORIZON = 5 * 365.25
JOBS_WARMUP = 243.0
"""The --jobs row: the reference model over 5 years (after a warm-up of one maximum
stay), 200 replications: the shape of a sweep point."""
JOBS_PAIRS = 5
"""The --jobs row's speed-up is the median of five pairs' own ratios (one run on one
process, then one on two): a pair's ratio cancels a slow spell of a shared
machine that covers both of its runs."""

REPEATS = 3
SCALING_REPEATS = 7
"""The scaling rows time runs of a fraction of a second: seven pairs, so that one
slow moment of a shared machine does not move their medians."""
SLOW_SECONDS = 5.0  # an implementation whose first run takes longer runs once


@dataclass
class Check:
    name: str
    measured: str
    target: str
    passed: bool

    def line(self) -> str:
        return f"  {'PASS' if self.passed else 'FAIL'}  {self.name:<46} {self.measured:>26}   target {self.target}"


def say(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def median_of(run, repeats: int = REPEATS, slow_after: float | None = None) -> Outcome:
    """Run `run()` up to `repeats` times; the outcome of the median wall time."""
    outcomes = []
    for _ in range(repeats):
        gc.collect()
        outcomes.append(run())
        if slow_after is not None and outcomes[0].seconds > slow_after:
            break
    outcomes.sort(key=lambda o: o.seconds)
    chosen = outcomes[(len(outcomes) - 1) // 2]
    chosen.extra["runs"] = len(outcomes)
    chosen.extra["all_seconds"] = [o.seconds for o in outcomes]
    return chosen


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cpu}, {cores} cores; Python {platform.python_version()}, numpy {version('numpy')}, "
            f"simpy {version('simpy')}, ciw {version('ciw')}, scipy {version('scipy')}")


# --- the implementations ----------------------------------------------------------------------------


def run_implementations(ref: Reference, ciw_ref: Reference, seed: int, repeats: int) -> list[Outcome]:
    outcomes = []
    say(f"heapq: {ref.arrivals:,} arrivals, median of {repeats}")
    outcomes.append(median_of(lambda: heapq_engine.run(ref, seed), repeats))
    say(f"simpy-idiomatic: {ref.arrivals:,} arrivals, median of {repeats}")
    outcomes.append(median_of(lambda: simpy_idiomatic.run(ref, seed), repeats, SLOW_SECONDS * 4))
    if ciw_engine.ciw is None:
        say("ciw: NOT INSTALLED (pip install -c constraints.txt '.[bench]')")
        outcomes.append(Outcome(ciw_engine.NAME, 0, extra={"missing": True}))
    else:
        say(f"ciw: {ciw_ref.arrivals:,} arrivals, median of up to {repeats} (once if slower than {SLOW_SECONDS:g} s)")
        ciw_outcome = median_of(lambda: ciw_engine.run(ciw_ref, seed), repeats, SLOW_SECONDS)
        ciw_outcome.extra["reference"] = ciw_ref
        outcomes.append(ciw_outcome)
    say(f"capsim: {ref.arrivals:,} arrivals, median of {repeats}")
    prepared = capsim_engine.scenario(ref, seed=seed)
    timed = median_of(lambda: capsim_engine.run(ref, seed, prepared=prepared), repeats)
    say(f"capsim: its interval from {ref.batch_count} replications of 1/{ref.batch_count} of the window")
    check = capsim_engine.interval(ref, seed)
    timed.half_width = check.half_width
    timed.batches = check.batches
    timed.extra["interval_run"] = check
    outcomes.append(timed)
    return outcomes


def implementation_table(ref: Reference, outcomes: list[Outcome]) -> list[str]:
    by_name = {o.implementation: o for o in outcomes}
    heapq_rate = by_name["heapq"].per_second
    capsim_rate = by_name["capsim"].per_second
    expected = ref.erlang_b
    lines = [
        f"reference: c = {ref.beds} beds, offered load a = {ref.offered_load:g} erlangs, "
        f"E[S] = {ref.mean_stay:.4f} days, arrival rate {ref.rate:.5f}/day, T = {ref.end:,.0f} days "
        f"(first {ref.warmup_share:.0%} warm-up)",
        f"Erlang B(c, a) = {expected:.6f}; mean occupancy a(1 - B) = {ref.occupancy_theory:.2f}",
        "",
        f"{'implementation':<16} {'arrivals':>9} {'runs':>4} {'seconds':>8} {'arrivals/s':>11} "
        f"{'heapq/this':>10} {'capsim/this':>11}  {'blocking':>8}  {'99% interval':<19} {'k':>3} "
        f"{'agrees':<6} {'occupancy':>9}",
    ]
    for o in outcomes:
        if o.extra.get("missing"):
            lines.append(f"{o.implementation:<16} {'not installed':>9}")
            continue
        low, high = o.blocking - o.half_width, o.blocking + o.half_width
        lines.append(
            f"{o.implementation:<16} {o.arrivals:>9,} {o.extra.get('runs', 1):>4} {o.seconds:>8.3f} "
            f"{o.per_second:>11,.0f} {heapq_rate / o.per_second:>10.2f} {capsim_rate / o.per_second:>11.2f}  "
            f"{o.blocking:>8.5f}  [{low:.5f}, {high:.5f}] {o.batches:>3} {'yes' if o.agrees(expected) else 'NO':<6} "
            f"{o.occupancy_mean:>9.2f}")
    check = by_name["capsim"].extra.get("interval_run")
    if check is not None:
        lines.append(
            f"  (capsim's interval: {check.batches} independent replications whose windows add up to the timed "
            f"run's; their pooled blocking {check.blocking:.5f} +- {check.half_width:.5f}, "
            f"{'contains' if check.agrees(expected) else 'misses'} Erlang B; for information)")
    lines.append("  arrivals/s counts every simulated arrival, warm-up included (capsim's warm-up arrivals: "
                 "rate x warm-up, as it counts only its window)")
    return lines


def agreement_checks(ref: Reference, outcomes: list[Outcome]) -> list[Check]:
    checks = []
    expected = ref.erlang_b
    for o in outcomes:
        if o.extra.get("missing"):
            checks.append(Check(f"{o.implementation} agrees with Erlang B", "not installed", "installed", False))
            continue
        checks.append(Check(f"{o.implementation} agrees with Erlang B",
                            f"{o.blocking:.5f} +- {o.half_width:.5f}", f"contains {expected:.5f}",
                            o.agrees(expected)))
    return checks


def speed_checks(outcomes: list[Outcome]) -> list[Check]:
    by_name = {o.implementation: o for o in outcomes}
    capsim = by_name["capsim"].per_second

    def ratio(name: str) -> float:
        o = by_name[name]
        return math.nan if o.extra.get("missing") else capsim / o.per_second

    over_simpy, over_ciw = ratio("simpy-idiomatic"), ratio("ciw")
    heapq_over_capsim = by_name["heapq"].per_second / capsim
    return [
        Check("capsim vs simpy-idiomatic (arrivals/s)", f"{over_simpy:.2f}x", f">= {CAPSIM_OVER_SIMPY:g}x",
              over_simpy >= CAPSIM_OVER_SIMPY),
        Check("capsim vs ciw (arrivals/s)", f"{over_ciw:.2f}x", f">= {CAPSIM_OVER_CIW:g}x",
              over_ciw >= CAPSIM_OVER_CIW),
        Check("heapq / capsim (arrivals/s)", f"{heapq_over_capsim:.2f}x", f"<= {HEAPQ_OVER_CAPSIM:g}x",
              heapq_over_capsim <= HEAPQ_OVER_CAPSIM),
    ]


# --- capsim's scaling rows ---------------------------------------------------------------------------


def capsim_pair(first: Reference, second: Reference, seed: int,
                repeats: int = SCALING_REPEATS, centres: bool = False) -> tuple[Outcome, Outcome, float]:
    """capsim on two instances, runs interleaved (a b a b ...) so that both see the
    same machine: the median-time outcome of each, and the median over the pairs
    of (seconds per arrival of b) / (seconds per arrival of a). A pair's ratio
    cancels a slow spell of a shared machine that covers both of its runs,
    where the ratio of two medians would not. With `centres`, the second runs in
    six centres (capsim_engine.centres_text)."""
    models = [capsim_engine.scenario(first, seed=seed), capsim_engine.scenario(second, seed=seed, centres=centres)]
    runs: list[list[Outcome]] = [[], []]
    for _ in range(repeats):
        for i, ref in enumerate((first, second)):
            gc.collect()
            runs[i].append(capsim_engine.run(ref, seed, prepared=models[i]))
    first_run, second_run = (sorted(outcomes, key=lambda o: o.seconds)[(repeats - 1) // 2] for outcomes in runs)
    return first_run, second_run, median_low((b.seconds / b.arrivals) / (a.seconds / a.arrivals)
                                             for a, b in zip(*runs))


def child_run(scenario_text: str, replications: int, jobs: int, seed: int) -> dict:
    """Run a scenario in a fresh interpreter (benchmarks.child): its peak RSS (kB), run time and digest."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run([sys.executable, "-m", "benchmarks.child", str(replications), str(jobs), str(seed)],
                          input=scenario_text, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.child ({replications} replications, --jobs {jobs}) failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


SPIN = ("import time\nt = time.perf_counter()\nx = 0\nfor i in range(10_000_000):\n    x += i\n"
        "print(time.perf_counter() - t)")
"""A pure-Python loop of about half a second: the CPU-bound work of the machine's own ceiling."""


def two_process_ceiling() -> float:
    """The speed-up two CPU-bound processes get on this machine now: twice the time
    of the loop alone over the time of two loops run at once. No runner can beat
    it; a shared machine whose cores are busy elsewhere gives less than 2."""
    def loops(count: int) -> float:
        started = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True)
                   for _ in range(count)]
        return max(float(process.communicate()[0]) for process in started)
    return 2 * loops(1) / loops(2)


def scaling_rows(ref: Reference, seed: int) -> tuple[list[str], list[Check]]:
    lines = [f"{'capsim scaling':<46} {'measured':>40} {'ratio':>8}"]
    checks = []

    def row(name: str, measured: str, value: float, target: str, passed: bool) -> None:
        lines.append(f"{name:<46} {measured:>40} {value:>7.2f}x")
        checks.append(Check(name, f"{value:.2f}x", target, passed))

    half = ref.with_(arrivals=ref.arrivals // 2)
    say(f"capsim scaling: {half.arrivals:,} vs {ref.arrivals:,} arrivals (the horizon doubled), "
        f"interleaved, median of {SCALING_REPEATS}")
    half_run, full_run, per_arrival = capsim_pair(half, ref, seed)
    value = per_arrival * full_run.arrivals / half_run.arrivals
    row("doubling the horizon: time", f"{half_run.seconds:.3f} s -> {full_run.seconds:.3f} s", value,
        f"<= {DOUBLE_HORIZON_TIME:g}x", value <= DOUBLE_HORIZON_TIME)

    big = ref.with_(beds=10 * ref.beds)
    say(f"capsim scaling: {ref.beds} vs {big.beds} beds at a load of c ({big.arrivals:,} arrivals each), "
        f"interleaved, median of {SCALING_REPEATS}")
    base_run, big_run, per_arrival = capsim_pair(ref, big, seed)
    row(f"10x beds and load ({big.beds} beds): time per arrival",
        f"{1e6 * base_run.seconds / base_run.arrivals:.2f} us -> "
        f"{1e6 * big_run.seconds / big_run.arrivals:.2f} us", per_arrival,
        f"<= {TEN_X_BEDS_TIME_PER_ARRIVAL:g}x", per_arrival <= TEN_X_BEDS_TIME_PER_ARRIVAL)

    places = ref.with_(beds=751)
    say(f"capsim centres: one pool of {places.beds} beds vs Belgium's six centres of the same places "
        f"({places.arrivals:,} arrivals each), interleaved, median of {SCALING_REPEATS}")
    pool_run, centres_run, per_arrival = capsim_pair(places, places, seed, centres=True)
    row("six centres vs one pool: time per arrival",
        f"{1e6 * pool_run.seconds / pool_run.arrivals:.2f} us -> "
        f"{1e6 * centres_run.seconds / centres_run.arrivals:.2f} us", per_arrival,
        f"<= {SIX_CENTRES_TIME_PER_ARRIVAL:g}x", per_arrival <= SIX_CENTRES_TIME_PER_ARRIVAL)

    short = ARRIVALS // 10
    say(f"capsim memory: horizon of {short:,} vs {10 * short:,} arrivals, each in a fresh process")
    small_peak = child_run(capsim_engine.long_run_text(ref.with_(arrivals=short)), 1, 1, seed)["maxrss_kb"]
    long_peak = child_run(capsim_engine.long_run_text(ref.with_(arrivals=10 * short)), 1, 1, seed)["maxrss_kb"]
    value = long_peak / small_peak
    row("10x the horizon: peak RSS", f"{small_peak / 1024:.1f} MB -> {long_peak / 1024:.1f} MB", value,
        f"<= {TEN_X_HORIZON_MEMORY:g}x", value <= TEN_X_HORIZON_MEMORY)

    say(f"capsim memory: 10 vs 1,000 replications of {SMALL.beds} beds over a year, each in a fresh process")
    small = capsim_engine.scenario_text(SMALL, horizon=SMALL_HORIZON, warmup=SMALL_WARMUP)
    few = child_run(small, 10, 1, seed)["maxrss_kb"]
    many = child_run(small, 1000, 1, seed)["maxrss_kb"]
    value = many / few
    row("1,000 vs 10 replications (runner): peak RSS", f"{few / 1024:.1f} MB -> {many / 1024:.1f} MB", value,
        f"<= {THOUSAND_REPLICATIONS_MEMORY:g}x", value <= THOUSAND_REPLICATIONS_MEMORY)

    say(f"capsim jobs: {JOBS_REPLICATIONS} replications of 5 years, --jobs 1 then --jobs 2, {JOBS_PAIRS} pairs, "
        "each run in a fresh process, each pair after the machine's own two-process ceiling")
    five_years = capsim_engine.scenario_text(ref, horizon=JOBS_HORIZON, warmup=JOBS_WARMUP)
    pairs, ceilings = [], []
    for _ in range(JOBS_PAIRS):
        ceilings.append(two_process_ceiling())
        pairs.append([child_run(five_years, JOBS_REPLICATIONS, jobs, seed) for jobs in (1, 2)])
    serial, parallel = (median_low(pair[k]["seconds"] for pair in pairs) for k in (0, 1))
    value = median_low(one["seconds"] / two["seconds"] for one, two in pairs)
    same = len({run["digest"] for pair in pairs for run in pair}) == 1
    row(f"--jobs 2 vs --jobs 1 ({JOBS_REPLICATIONS} replications): speed-up",
        f"{serial:.2f} s -> {parallel:.2f} s", value, f">= {JOBS_SPEEDUP:g}x", value >= JOBS_SPEEDUP)
    checks.append(Check("--jobs 2 gives the same replications as --jobs 1", "same" if same else "DIFFERENT",
                        "same", same))
    lines.append(f"{'  ceiling: 2 CPU-bound processes vs 1, now':<46} {'(before each pair; information)':>40} "
                 f"{median_low(ceilings):>7.2f}x")
    return lines, checks


# --- main ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: fewer arrivals, agreement with Erlang B only, no targets")
    parser.add_argument("--seed", type=int, default=2026, help="seed of every run (default 2026)")
    args = parser.parse_args(argv)

    if args.quick:
        ref, ciw_ref, repeats = Reference(arrivals=40_000), Reference(arrivals=20_000), 1
    else:
        ref, ciw_ref, repeats = Reference(), Reference(arrivals=CIW_ARRIVALS), REPEATS
    started = time.perf_counter()
    outcomes = run_implementations(ref, ciw_ref, args.seed, repeats)
    checks = agreement_checks(ref, outcomes)

    out = [f"capsim benchmark{' (--quick: agreement only)' if args.quick else ''}, seed {args.seed}",
           f"machine: {machine()}", ""]
    out += implementation_table(ref, outcomes)
    if not args.quick:
        checks += speed_checks(outcomes)
        lines, more = scaling_rows(ref, args.seed)
        out += [""] + lines
        checks += more
    failed = [c for c in checks if not c.passed]
    out += ["", "targets:" if not args.quick else "checks:"] + [c.line() for c in checks]
    out += ["", f"{'FAIL' if failed else 'PASS'}: {len(checks) - len(failed)} of {len(checks)} "
                f"{'targets' if not args.quick else 'checks'} met in {time.perf_counter() - started:.0f} s"
            + (f"; missed: {', '.join(c.name for c in failed)}" if failed else "")]
    print("\n".join(out), flush=True)
    return 1 if failed else 0
