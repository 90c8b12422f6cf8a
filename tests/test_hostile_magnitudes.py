"""Hostile magnitudes: numbers at the ends of what floats, integers and the calendar hold
(issues 17, 20 and 16).

Each case is a small variant of a shipped scenario (it `extends:` a copy of
today.yaml) that once crashed with a traceback (OverflowError, MemoryError,
IndexError), ran for minutes, or silently wrote full centres that admit nobody.
Oracle, through the command line in a subprocess as a planner runs it: exit 2
(3 for a broken invariant) without a traceback, the message at the file and line
of the key for what validation refuses, and a peak memory under 200 MB (the
child's own, from wait4), well within a hang guard.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import make_scenario, measured_child

from sim.engine.model import simulate
from sim.engine.seeds import replication_seed
from sim.errors import InvariantViolation, TooBig
from sim.execution import limits
from sim.execution.invariants import check_invariants
from sim.scenario import load_scenario
from sim.scenario.checks import late_steps

REPO = Path(__file__).resolve().parents[1]
HANG_GUARD = 60  # seconds: a hang guard only; every refusal takes well under a second
PEAK_MB = 200
BIG = "1" + "0" * 400  # a 400-digit integer

pytestmark = pytest.mark.skipif(not hasattr(os, "wait4"), reason="the peak memory of a child needs wait4")


@dataclasses.dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str
    peak_mb: float


def capsim(args: list[str], cwd: Path, code: str | None = None) -> Done:
    """`python -m sim ARGS` (or `python -c CODE ARGS`) in `cwd`; its exit code, output and own peak memory."""
    env = {key: value for key, value in os.environ.items() if key != "CAPSIM_MAX_EVENTS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, *(["-c", code] if code else ["-m", "sim"]), *args]
    code, out, err, peak = measured_child(command, cwd, hang_guard=HANG_GUARD, env=env)
    return Done(code, out, err, peak / 2**20)


@pytest.fixture
def folder(tmp_path) -> Path:
    shutil.copy(REPO / "scenarios" / "today.yaml", tmp_path / "today.yaml")
    return tmp_path


def variant(folder: Path, text: str) -> tuple[Path, int]:
    """A scenario that extends today.yaml with `text`; the line marked `# <-` (0 without one)."""
    path = folder / "hostile.yaml"
    path.write_text(f"extends: today.yaml\n{text}\n", encoding="utf-8")
    marked = [i for i, line in enumerate(path.read_text().splitlines(), 1) if "# <-" in line]
    return path, marked[0] if marked else 0


RUN = ["run", "hostile.yaml", "--out", "out", "-n", "1", "-j", "1", "-q"]

STREAM = "streams:\n  - name: other_flows\n"
ORIGIN = ("streams:\n  - name: brussels_capital_ixelles\n    origins:\n      - name: maghreb\n")

# (id, scenario text with the refused key's line marked, the key as the message spells it, a phrase)
REFUSED_AT_THE_LINE = [
    ("start-at-the-calendar-end", "start: 9999-12-31  # <-", "start", "9999-12-31, the calendar's last day"),
    ("horizon-past-the-calendar-end", "start: 9999-01-01  # <-", "start", "the calendar's last day"),
    ("change-past-the-calendar-end", "capacity:\n  changes:\n    - {at: 900000 years, beds: 800}  # <-",
     "capacity.changes[0].at", "falls after 9999-12-31"),
    ("beds-10e400", "capacity: {beds: 10e400}  # <-", "capacity.beds", "finite"),
    ("beds-400-digits", f"capacity: {{beds: {BIG}}}  # <-", "capacity.beds", "at most 2^53"),
    ("replications-400-digits", f"replications: {BIG}  # <-", "replications", "at most 2^53"),
    ("max-detention-1e308", "max_detention: 1e308  # <-", "max_detention", "at most a million years"),
    ("horizon-10e400-days", "horizon: 10e400 days  # <-", "horizon", "finite duration"),
    ("horizon-400-digits", f"horizon: {BIG}  # <-", "horizon", "finite duration"),
    ("horizon-below-the-clock", "horizon: 1e-300  # <-", "horizon", "too short to measure"),
    ("beta-from-10-400", ORIGIN + f"        return_probability: {{beta_from: {{successes: 1, trials: {BIG}}}}}  # <-",
     "streams[1].origins[0].return_probability.beta_from.trials", "at most 2^53"),
    ("uniform-rate-to-1e308", STREAM + "    arrivals: {rate: {uniform: [0, 1e308]}}  # <-",
     "streams[0].arrivals.rate", "more than a billion arrivals a day"),
    ("gamma-from-1e-300-days", STREAM + "    arrivals: {rate: {gamma_from: {events: 5, days: 1e-300}}}  # <-",
     "streams[0].arrivals.rate", "more than a billion arrivals a day"),
    ("rate-1e308", STREAM + "    arrivals: {rate: 1e308}  # <-", "streams[0].arrivals.rate", "a billion"),
    ("gamma-1e300-1e-300", STREAM + "    court_release:\n      time: {dist: gamma, mean: 1e300, sd: 1e-300}  # <-",
     "streams[0].court_release.time.mean", "at most a million years"),
    ("gamma-10-1e-300", STREAM + "    court_release:\n      time: {dist: gamma, mean: 10, sd: 1e-300}  # <-",
     "streams[0].court_release.time", "cannot be computed"),
    ("gamma-shape-underflows", STREAM + "    court_release:\n      time: {dist: gamma, mean: 1e-300, sd: 1}  # <-",
     "streams[0].court_release.time", "shape (mean/sd)^2 is 0"),
    ("lognormal-sd-1e-300", STREAM + "    court_release:\n      time: {dist: lognormal, mean: 9, sd: 1e-300}  # <-",
     "streams[0].court_release.time", "cannot be computed"),
    ("weibull-shape-1e-300",
     STREAM + "    when_full: wait\n    max_wait: {dist: weibull, shape: 1e-300, scale: 9}  # <-",
     "streams[0].max_wait", "cannot be computed"),
    ("cost-1e308", "cost_per_bed_day: 1e308  # <-", "cost_per_bed_day", "more than a billion a bed-day"),
    ("date-dd-mm-yyyy", "capacity:\n  changes:\n    - {at: 01/07/2025, beds: 800}  # <-", "capacity.changes[0].at",
     "dates are written YYYY-MM-DD"),
    ("date-without-zeros", "capacity:\n  changes:\n    - {at: 2025-7-1, beds: 800}  # <-", "capacity.changes[0].at",
     "dates are written YYYY-MM-DD"),
    ("date-in-words", "capacity:\n  changes:\n    - {at: July 2025, beds: 800}  # <-", "capacity.changes[0].at",
     "dates are written YYYY-MM-DD"),
    ("start-without-zeros", "start: 2025-7-1  # <-", "start", "dates are written YYYY-MM-DD"),
]


@pytest.mark.slow
@pytest.mark.parametrize("text, key, phrase", [case[1:] for case in REFUSED_AT_THE_LINE],
                         ids=[case[0] for case in REFUSED_AT_THE_LINE])
def test_a_hostile_magnitude_is_refused_at_its_line(folder, text, key, phrase):
    path, line = variant(folder, text)
    done = capsim(RUN, folder)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert any(problem.startswith(f"{path.name}:{line}:") and f": {key}: " in problem and phrase in problem
               for problem in done.stderr.splitlines()), done.stderr
    assert done.peak_mb < PEAK_MB
    assert not (folder / "out").exists()


# (id, command, scenario text, a phrase of the message): refused before anything runs, by the workload
TOO_BIG = [
    ("a-billion-beds", RUN, "capacity: {beds: 1000000000}", "for the beds (up to 1,000,000,000"),
    ("a-waiting-list-of-every-arrival", RUN, STREAM + "    when_full: wait\n    arrivals: {rate: 100000}",
     "for the waiting lists"),
    ("a-400-digit-replication-count", ["run", "hostile.yaml", "--out", "out", "-n", BIG, "-j", "1", "-q"], "",
     "needs more memory than capsim allows"),
    ("size-up-to-a-billion-beds", ["size", "hostile.yaml", "--target", "probability_full<=0.05", "--max-beds",
                                   "1000000000", "-j", "1", "--out", "out"], "", "for the beds"),
    ("theory-at-a-billion-a-day", ["theory", "hostile.yaml"], STREAM + "    arrivals: {rate: 1e9}",
     "queueing theory would compute Erlang B"),
    ("theory-over-a-billion-beds", ["theory", "hostile.yaml"], "capacity: {beds: 1000000000}",
     "queueing theory would compute Erlang B"),
    ("warmup-at-a-million-a-day", ["warmup", "hostile.yaml", "-j", "1", "--out", "out"],
     STREAM + "    arrivals: {rate: 1e6}", "raise the limit: --max-events"),
    ("warmup-over-a-billion-beds", ["warmup", "hostile.yaml", "-j", "1", "--out", "out"],
     "capacity: {beds: 1000000000}", "for the beds"),
    ("check-at-a-million-a-day", ["check", "--scenario", "hostile.yaml", "--baselines", "."],
     STREAM + "    arrivals: {rate: 1e6}", "raise the limit: --max-events"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args, text, phrase", [case[1:] for case in TOO_BIG], ids=[case[0] for case in TOO_BIG])
def test_a_workload_beyond_the_limits_is_refused_before_it_starts(folder, args, text, phrase):
    variant(folder, text)
    done = capsim(args, folder)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert phrase in done.stderr, done.stderr
    assert done.peak_mb < PEAK_MB
    assert not (folder / "out").exists()


NAN_STAYS = """
import math, sys
from sim.engine import people

draw = people.People.draw


def nan_stays(self):
    days, fates, stays, bins, patience = draw(self)
    return days, fates, [math.nan] * len(stays), bins, patience


people.People.draw = nan_stays
from sim.cli import main

main(sys.argv[1:], prog_name="capsim")
"""


@pytest.mark.slow
def test_stays_that_are_not_numbers_stop_the_run_with_the_seed(folder):
    """The second line of defence: should a parameter slip through validation and give NaN stays
    (here forced into the model), nobody ever leaves; the run stops with exit 3 and the command
    that reproduces the replication, and writes no folder of full centres that admit nobody."""
    variant(folder, "")
    done = capsim(RUN, folder, code=NAN_STAYS)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "stays outlast it" in done.stderr and "--only-replication 0" in done.stderr, done.stderr
    assert "(seed 20240215)" in done.stderr
    assert done.peak_mb < PEAK_MB
    assert not (folder / "out").exists()


# --- the invariants, on crafted replications ------------------------------------------------------

def _replication(scenario=None):
    scenario = scenario or make_scenario(max_detention=30, horizon=200)
    return scenario, simulate(scenario, replication_seed(scenario.seed, 0))


def test_a_replication_with_no_departures_beyond_the_maximum_detention_breaks_an_invariant():
    """Window of 200 days, maximum detention 30: whoever was detained when the window opened has
    left by its end. Five more 'still detained' than admitted, conservation kept, is a violation."""
    scenario, rep = _replication()
    check_invariants(scenario, rep, 0, 11)  # the real replication obeys every law
    stream = rep.streams["s"]
    for m in (rep.metrics, stream):
        m["present_at_start"] += m["admitted"] + 5 - m["still_detained"]
        m["still_detained"] = m["admitted"] + 5
    with pytest.raises(InvariantViolation, match=r"s: .* still detained at the end but only .* admitted"):
        check_invariants(scenario, rep, 0, 11)


@pytest.mark.parametrize("metric, value", [("occupancy_mean", math.nan), ("bed_days", math.inf),
                                           ("los_mean_days", math.nan), ("cost", -math.inf),
                                           ("probability_full", math.nan)])
def test_a_metric_that_is_not_a_finite_number_breaks_an_invariant(metric, value):
    scenario, rep = _replication(make_scenario(cost_per_bed_day=100))
    assert rep.metrics["stays_ended"] > 0
    rep.metrics[metric] = value
    with pytest.raises(InvariantViolation, match=rf"system: not a finite number: {metric} = ") as broken:
        check_invariants(scenario, rep, 4, 99)
    assert "(seed 99)" in str(broken.value) and "--only-replication 4" in str(broken.value)


def test_undefined_metrics_stay_allowed_where_nothing_was_counted():
    """A stream that brings nobody: every ratio and stay length is NaN (nothing to divide by),
    which is not a violation."""
    scenario, rep = _replication(make_scenario(streams=[{**make_scenario().streams[0].model_dump(by_alias=True),
                                                         "arrivals": {"rate": 1e-9}}]))
    assert math.isnan(rep.metrics["los_mean_days"]) and math.isnan(rep.metrics["blocking_probability"])
    check_invariants(scenario, rep, 0, 11)


# --- the memory estimate ---------------------------------------------------------------------------

def test_the_memory_estimate_grows_with_the_beds_the_waiting_list_and_the_replications():
    base = make_scenario()
    small = limits.workload([base], 10)
    assert limits.workload([make_scenario(capacity={"beds": 2000})], 10).memory[limits.BEDS] \
        == pytest.approx(small.memory[limits.BEDS] * 100, rel=0.05)
    waiting = make_scenario(streams=[{**base.streams[0].model_dump(by_alias=True), "when_full": "wait"}])
    # at most every arrival of the run waits at once: 2 a day over 450 days
    assert limits.workload([waiting], 10).memory[limits.WAITING] == pytest.approx(900 * limits.BYTES_PER_WAITING)
    patient = make_scenario(streams=[{**base.streams[0].model_dump(by_alias=True), "when_full": "wait",
                                      "max_wait": 7}])
    assert limits.workload([patient], 10).memory[limits.WAITING] == pytest.approx(14 * limits.BYTES_PER_WAITING)
    assert limits.workload([base], 1000).memory[limits.RESULTS] == pytest.approx(small.memory[limits.RESULTS] * 100)
    limits.check(limits.workload([base], 1000), None)  # well within the limit
    with pytest.raises(TooBig, match="for the results kept"):
        limits.check(limits.workload([base], 10**7), None)


def test_size_is_estimated_at_the_most_beds_it_may_try():
    scenario = make_scenario(capacity={"beds": 20, "changes": [{"at": 100, "beds": 40}]})
    load = limits.size_workload(scenario, 1, 1000, 4)
    assert load.beds == 1020  # every step moved by the same number of beds, the largest by 980
    assert load.replications == 4 * limits.bed_counts_tried(1, 1000)


# --- after the horizon (issue 16) -----------------------------------------------------------------

@pytest.mark.slow
def test_a_change_after_the_end_of_the_run_is_a_warning(folder):
    path, _ = variant(folder, "capacity:\n  changes:\n    - {name: jumet, at: 2031-01-01, beds: 1145}\n"
                      "streams:\n  - name: brussels_capital_ixelles\n    arrivals:\n      rate: null\n      schedule:\n"
                      "        - {from: 0, rate: 0.075}\n        - {from: 2029-01-01, rate: 0.15}")
    done = capsim(["validate", path.name], folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{path.name}: ok\n"
    warnings = done.stderr.splitlines()
    assert len(warnings) == 2, done.stderr
    assert warnings[0].startswith(f"{path.name}: warning: capacity change 'jumet' at 2031-01-01 (day 2,557) comes "
                                  "at or after the end of the run, 2028-01-01 (day 1,461): it changes nothing")
    assert warnings[1].startswith(f"{path.name}: warning: streams.brussels_capital_ixelles.arrivals.schedule[1] at "
                                  "2029-01-01")


def test_no_shipped_scenario_has_a_step_after_its_end():
    for path in sorted((REPO / "scenarios").glob("*.yaml")):
        assert late_steps(load_scenario(path)) == [], path

