"""Hostile magnitudes of the projection inputs (issue 18): periods, seasons, trend, the people detained
at day 0, dated changes and variants.

Oracle, through the command line in a subprocess as a planner runs it (as in
test_hostile_magnitudes.py): exit 2 without a traceback, at the file and line of the key for what
validation refuses, within a hang guard and a peak memory under 200 MB (the child's own, from wait4);
and, in process, the workload estimate of sim/execution/limits.py against the sizes the engine holds
(periods.PERIOD_METRICS per scope and period, the snapshots at the periods' edges, the draws of the
equilibrium at day 0).
"""

from __future__ import annotations

import math

import pytest
from conftest import make_scenario
from test_hostile_magnitudes import PEAK_MB, RUN, capsim, folder, variant  # noqa: F401  # folder: a fixture

from sim.engine.periods import PERIOD_METRICS, periods
from sim.errors import TooBig
from sim.execution import limits

STREAM = "warmup: 0\nstreams:\n  - name: other_flows\n"
ONE_DAY = ("warmup: 0\nstreams:\n  - name: a\n    arrivals: {rate: 1}\n    max_detention: 1000000 days  # <-\n"
           "    detained_at_start: COUNT\n    origins:\n      - {name: o, share: 1, return_probability: 1, "
           "time_to_return: {dist: exponential, mean: 1}}\n")
"""A stream whose stays last a day (exponential) under a maximum detention of a million days: the equilibrium
at day 0 keeps a stay S with probability S / M, about a million draws a person."""


def refused(done, line_start: str, key: str, phrase: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert any(problem.startswith(line_start) and f" {key}" in problem and phrase in problem
               for problem in done.stderr.splitlines()), done.stderr
    assert done.peak_mb < PEAK_MB


# (id, scenario text with the refused key's line marked, the key as the message spells it, a phrase)
REFUSED_AT_THE_LINE = [
    ("count-1e9", STREAM + "    detained_at_start: 1000000000  # <-", "streams[0].detained_at_start", "1000000"),
    ("count-1e15", STREAM + "    detained_at_start: 1e15  # <-", "streams[0].detained_at_start", "1000000"),
    ("count-1e300", STREAM + "    detained_at_start: 1e300  # <-", "streams[0].detained_at_start", "integer"),
    ("count-1e7", STREAM + "    detained_at_start: 10000000  # <-", "streams[0].detained_at_start", "1000000"),
    ("count-1e7-mapping", STREAM + "    detained_at_start: {count: 10000000}  # <-",
     "streams[0].detained_at_start", "1000000"),
    ("everyone-screened-out", STREAM + "    screened_out: 1\n    detained_at_start: 5  # <-",
     "streams[0].detained_at_start", "screens out everyone"),
    ("seasons-367", STREAM + "    arrivals:\n      rate: 13.45\n      seasons:  # <-\n" + "".join(
        f"        - {{from: {i * 0.99:.2f}, until: {i * 0.99 + 0.5:.2f}, factor: 2}}\n" for i in range(367)),
     "streams[0].arrivals.seasons", "at most 366"),
    ("changes-1001", "parameter_changes:  # <-\n" + "".join(
        f"  - {{at: {i}, set: {{streams.other_flows.screened_out: 0.{i % 10}}}}}\n" for i in range(1001)),
     "parameter_changes", "at most 1000"),
    ("variants-101", "variants:  # <-\n" + "".join(f"  v{i}: {{capacity.beds: {700 + i}}}\n" for i in range(101)),
     "variants", "at most 100"),
]


@pytest.mark.slow
@pytest.mark.parametrize("text, key, phrase", [case[1:] for case in REFUSED_AT_THE_LINE],
                         ids=[case[0] for case in REFUSED_AT_THE_LINE])
def test_a_hostile_projection_input_is_refused_at_its_line(folder, text, key, phrase):  # noqa: F811
    path, line = variant(folder, text)
    done = capsim(RUN, folder)
    refused(done, f"{path.name}:{line}:", key, phrase)
    assert not (folder / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("size, line", [(10_000_001, 1), (None, 1_000_002)], ids=["10MB+1", "1e6+1-rows"])
def test_a_file_of_people_present_beyond_its_bounds_is_refused_at_once(folder, size, line):  # noqa: F811
    """10 MB and a million people (a national estate is some tens of thousands): beyond, the file is
    refused before any row is validated (a million rows take the loader some 25 s and 1 GB)."""
    header = "stream,days_detained\n"
    rows = header + ("x" * (size - len(header)) if size else "a,1\n" * 1_000_001)  # 4 MB
    (folder / "people.csv").write_text(rows, encoding="utf-8")
    variant(folder, "detained_file: people.csv\n" + ONE_DAY.replace("    detained_at_start: COUNT\n", ""))
    done = capsim(["validate", "hostile.yaml"], folder)
    if size:
        refused(done, "hostile.yaml:2:", "detained_file", "larger than a file of people present may be")
    else:
        refused(done, f"people.csv:{line}:", "more than 1,000,000 people", "may list")


@pytest.mark.slow
def test_a_trend_that_overflows_any_machine_is_beyond_any_limit(folder):  # noqa: F811
    """1000% a year for 198 years: 11^198 times the rate; the message says it is beyond any limit, not
    'raise the limit to 2e211'."""
    variant(folder, "horizon: 198 years\nstreams:\n  - name: other_flows\n    arrivals: {rate: 13.45, trend: 10}")
    done = capsim(RUN, folder)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "beyond any limit" in done.stderr and "--max-events 2e" not in done.stderr, done.stderr
    assert done.peak_mb < PEAK_MB


@pytest.mark.slow
def test_an_equilibrium_of_a_million_draws_a_person_is_refused_before_it_starts(folder):  # noqa: F811
    """2,000 people at day 0, a million draws each, 30 replications: 6e10 draws, hours of one core."""
    variant(folder, ONE_DAY.replace("COUNT", "2000"))
    done = capsim(["run", "hostile.yaml", "--out", "out", "-j", "1", "-q"], folder)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "detained at day 0" in done.stderr and "max_detention" in done.stderr, done.stderr
    assert done.peak_mb < PEAK_MB
    assert not (folder / "out").exists()


# --- the workload estimate, in process -------------------------------------------------------------

def _streams(count: int, **changes) -> list[dict]:
    base = make_scenario().streams[0].model_dump(by_alias=True)
    return [{**base, "name": f"s{k}", "arrivals": {"rate": 0.01}, **changes} for k in range(count)]


def test_the_results_by_period_kept_for_every_replication_count_in_the_memory():
    """5 streams by month over 198 years: 6 scopes x 2,376 periods x 11 figures x 8 bytes = 1.25 MB a
    replication, held twice while written; 3,000 replications need 7.5 GB for them alone."""
    scenario = make_scenario(horizon="198 years", warmup=0, periods="month", streams=_streams(5))
    figures = 6 * len(periods(scenario, "month")) * len(PERIOD_METRICS) * 8
    assert len(periods(scenario, "month")) == 2376
    plain = limits.workload([scenario.model_copy(update={"periods": None})], 3000)
    load = limits.workload([scenario], 3000)
    assert load.memory_bytes - plain.memory_bytes >= 2 * figures * 3000
    with pytest.raises(TooBig, match="for the results by period"):
        limits.check(load, None)


def test_the_snapshots_at_the_periods_edges_count_in_the_memory():
    """A replication keeps the time at each occupancy level of every scope at every period's edge:
    2 scopes x 2,377 edges x 250,001 levels x 8 bytes = 9.5 GB in one worker, for one replication."""
    scenario = make_scenario(horizon="198 years", warmup=0, periods="month", capacity={"beds": 250_000})
    load = limits.workload([scenario], 1)
    assert load.memory_bytes >= 2 * 2377 * 250_001 * 8
    with pytest.raises(TooBig, match="for the results by period"):
        limits.check(load, None)
    limits.check(limits.workload([scenario.model_copy(update={"periods": "year"})], 1), None)


def test_the_equilibrium_draws_count_in_the_events():
    """M / E[S] draws a person (engine/present.py): M = 1e6 days, E[S] = 1 day (exponential, every
    stay far below M), 585 people: 5.85e8 draws, at DRAWS_PER_SECOND."""
    scenario = make_scenario(warmup=0, max_detention=1e6, streams=_streams(1, detained_at_start=585, origins=[
        {"name": "o", "share": 1, "return_probability": 1, "time_to_return": {"dist": "exponential", "mean": 1}}]))
    load = limits.workload([scenario], 1)
    assert load.drawn == pytest.approx(585 * 1e6, rel=1e-6)
    assert load.core_hours * 3600 >= 585e6 / limits.DRAWS_PER_SECOND
    with pytest.raises(TooBig, match="detained at day 0"):
        limits.check(load, 1e8)
    admitted = make_scenario(warmup=0, streams=_streams(1, detained_at_start={"count": 585, "since": "day 0"}))
    assert limits.workload([admitted], 1).drawn == 585  # admitted at day 0: one draw each


def test_the_people_detained_at_day_0_count_in_the_memory_and_the_events():
    """A million people at day 0 took 19 s and 440 MB in one replication (measured): a person costs
    several arrivals' time (STARTING_PER_SECOND) and their draws and heap entries."""
    scenario = make_scenario(warmup=0, streams=_streams(1, detained_at_start=1_000_000))
    load = limits.workload([scenario], 1)
    assert load.core_hours * 3600 >= 1e6 / limits.STARTING_PER_SECOND
    assert load.memory_bytes >= 385 * 1e6
    assert math.isfinite(load.events)
