"""Seasons and trend of an arrival rate (issue 18): the pieces they make, the flows they give, their errors.

Oracles: the pieces are checked exactly against dates counted by hand; the
occupancy of an M_t/G/inf system (beds never full) against the quadrature
E[N(t)] = integral_0^t lambda(u) P(S > t - u) du; the arrivals of a trend
against the integral of its monthly steps; common random numbers by identity.
Seeds are fixed; each statistical tolerance is a number of half-widths of the
simulated 95% interval, said where it is used.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import lognormal_survival, make_scenario, mtginf_occupancy

from sim import run
from sim.analysis.stats import half_width
from sim.cli import main

YEAR = 365.25
MONTH = YEAR / 12
START = dt.date(2025, 1, 1)
SUMMER = {"name": "summer", "from": "06-01", "until": "10-01", "factor": 3}


def day(date: dt.date) -> float:
    return float((date - START).days)


def arrivals(**fields) -> list[dict]:
    """The one stream of conftest's scenario with its `arrivals` replaced."""
    return [{"name": "s", "arrivals": fields,
             "origins": [{"name": "all", "share": 1, "return_probability": 1,
                          "time_to_return": {"dist": "exponential", "mean": 10}}]}]


# --- the pieces -------------------------------------------------------------------------

def test_unused_keys_change_nothing():
    """No seasons, no trend: the pieces and the normalised scenario (its hash) are as before."""
    scenario = make_scenario()
    assert scenario.rate_steps(scenario.streams[0]) == [(0.0, 2.0)]
    assert set(scenario.normalised()["streams"][0]["arrivals"]) == {"rate", "schedule"}


def test_summer_every_year_from_dates():
    """Oracle: the days of 1 June and 1 October of each year, counted from 2025-01-01."""
    scenario = make_scenario(start="2025-01-01", warmup=0, horizon="3 years",
                             streams=arrivals(rate=2, seasons=[SUMMER]))
    expected = [(0.0, 2.0)]
    for year in (2025, 2026, 2027):
        expected += [(day(dt.date(year, 6, 1)), 6.0), (day(dt.date(year, 10, 1)), 2.0)]
    assert scenario.rate_steps(scenario.streams[0]) == expected


def test_season_across_the_year_end():
    """A winter from 12-01 to 02-01: day 0 (1 January) is already in the winter that began in 2024."""
    winter = {"from": "12-01", "until": "02-01", "factor": 0.5}
    scenario = make_scenario(start="2025-01-01", warmup=0, horizon=400, streams=arrivals(rate=2, seasons=[winter]))
    assert scenario.rate_steps(scenario.streams[0]) == [
        (0.0, 1.0), (day(dt.date(2025, 2, 1)), 2.0), (day(dt.date(2025, 12, 1)), 1.0), (day(dt.date(2026, 2, 1)), 2.0)]


def test_seasons_in_days_of_each_year_need_no_start():
    """Days within each year counted from day 0, a year being 365.25 days; two seasons side by side."""
    seasons = [{"from": 100, "until": 200, "factor": 3}, {"from": 200, "until": 365.25, "factor": 0}]
    scenario = make_scenario(warmup=0, horizon=500, streams=arrivals(rate=2, seasons=seasons))
    assert scenario.rate_steps(scenario.streams[0]) == [
        (0.0, 2.0), (100.0, 6.0), (200.0, 0.0), (YEAR, 2.0), (YEAR + 100, 6.0)]


def test_trend_in_monthly_steps():
    """Oracle: the piece starting in month m has rate * (1 + trend) ** (m / 12)."""
    scenario = make_scenario(warmup=0, horizon="2 years", streams=arrivals(rate=2, trend=0.05))
    steps = scenario.rate_steps(scenario.streams[0])
    assert [d for d, _ in steps] == pytest.approx([m * MONTH for m in range(24)], abs=1e-9)
    assert [r for _, r in steps] == pytest.approx([2 * 1.05 ** (m / 12) for m in range(24)], rel=1e-12)


def test_seasons_and_trend_multiply_a_schedule():
    """Schedule x season x trend: each piece's rate is the product of the three in force at its start."""
    schedule = [{"from": 0, "rate": 1}, {"from": 150, "rate": 4}]
    scenario = make_scenario(warmup=0, horizon=YEAR, streams=arrivals(
        schedule=schedule, trend=0.12, seasons=[{"from": 140, "until": 160, "factor": 2}]))
    steps = dict(scenario.rate_steps(scenario.streams[0]))
    trend = {m: 1.12 ** (m / 12) for m in range(12)}
    assert steps[140.0] == pytest.approx(1 * 2 * trend[4])
    assert steps[150.0] == pytest.approx(4 * 2 * trend[4])
    assert steps[160.0] == pytest.approx(4 * trend[5])
    assert steps[5 * MONTH] == pytest.approx(4 * 2 * trend[5])
    assert max(steps) < YEAR


def test_uncertain_rate_is_drawn_before_its_seasons():
    """An uncertain rate: each replication draws it, then multiplies its seasons (CRN on the draw)."""
    stream = arrivals(rate={"uniform": [1, 3]}, seasons=[{"from": 0, "until": 100, "factor": 3}])
    scenario = make_scenario(warmup=0, horizon=200, streams=stream)
    drawn = scenario.with_inputs({"streams.s.arrivals.rate": 1.5})
    assert drawn.rate_steps(drawn.streams[0]) == [(0.0, 4.5), (100.0, 1.5)]
    assert scenario.rate_steps(scenario.streams[0]) == [(0.0, 6.0), (100.0, 2.0)]  # at the mean: the workload


# --- the flows --------------------------------------------------------------------------

@pytest.mark.slow
def test_mtginf_occupancy_follows_the_summer_plan():
    """Oracle: M_t/G/inf, E[N(t)] = integral_0^t lambda(u) P(S > t - u) du (scipy quad, piece by piece), with
    lambda 2/day tripled from 1 June to 1 October every year, S = min(lognormal(30, 20), 90 days).

    Tolerance: 2 half-widths of the 95% interval at each of 15 days (z = 3.92: a chance of about
    1e-4 per day, 1.5e-3 for the 15, of failing when the engine is right). A summer left out is
    off by 90 beds at 1 July (50 half-widths); one that starts or ends a day off, by 4 at
    2 June or 1 October (2 to 4 half-widths): the days checked sit next to the season's edges."""

    scenario = make_scenario(start="2025-01-01", warmup=0, horizon="3 years", replications=200, seed=18,
                             max_detention=90, capacity={"beds": 5000}, streams=[{
                                 "name": "s", "arrivals": {"rate": 2, "seasons": [SUMMER]},
                                 "origins": [{"name": "all", "share": 1, "return_probability": 1,
                                              "time_to_return": {"dist": "lognormal", "mean": 30, "sd": 20}}]}])
    results = run(scenario)
    assert sum(results.values("turned_away")) == 0
    occupancy = results.daily_occupancy()
    survival = lognormal_survival(30, 20)
    edges = [0.0]
    for year in (2025, 2026, 2027):
        edges += [day(dt.date(year, 6, 1)), day(dt.date(year, 10, 1))]
    edges.append(math.inf)

    def expected(t: float) -> float:
        return mtginf_occupancy(t, edges, (2, 6), survival, 90)

    days = []
    for year in (2025, 2026, 2027):
        june, october = day(dt.date(year, 6, 1)), day(dt.date(year, 10, 1))
        days += [int(june) - 1, int(june) + 1, int(june) + 30, int(october), int(october) + 45]
    for d in days:
        mean, half = float(occupancy[:, d].mean()), half_width(occupancy[:, d].astype(float), 0.95)
        theory = expected(float(d))
        print(f"day {d}: theory {theory:.2f}, simulated {mean:.2f} +- {half:.2f}")
        assert abs(mean - theory) <= 2 * half, (d, theory, mean, half)


@pytest.mark.slow
def test_trend_arrivals_match_the_monthly_integral():
    """Oracle: E[arrivals over 3 years] = rate * sum over the 36 months of (1 + trend) ** (m / 12) * month length.

    Tolerance: 3 half-widths of the 95% interval (z = 5.9, one comparison: it fails only if
    the engine is wrong); a +50% trend adds about 70% to the count, hundreds of half-widths."""
    scenario = make_scenario(warmup=0, horizon="3 years", replications=100, seed=5, capacity={"beds": 5000},
                             streams=arrivals(rate=2, trend=0.5))
    counts = np.array(run(scenario).values("arrivals", "s"), dtype=float)
    theory = 2 * sum(1.5 ** (m / 12) * MONTH for m in range(36))
    mean, half = float(counts.mean()), half_width(counts, 0.95)
    print(f"arrivals: theory {theory:.1f}, simulated {mean:.1f} +- {half:.1f}")
    assert abs(mean - theory) <= 3 * half


@pytest.mark.parametrize("base", [{"rate": 2}, {"schedule": [{"from": 0, "rate": 1}, {"from": 100, "rate": 3}]}])
def test_neutral_seasons_and_trend_keep_every_number(base):
    """CRN: seasons of factor 1 and a trend of 0 give byte-identical replications."""
    plain = make_scenario(start="2025-01-01", streams=arrivals(**base))
    neutral = make_scenario(start="2025-01-01", streams=arrivals(**base, trend=0, seasons=[
        {"from": "06-01", "until": "10-01", "factor": 1}, {"from": "12-01", "until": "02-01", "factor": 1}]))
    assert plain.rate_steps(plain.streams[0]) == neutral.rate_steps(neutral.streams[0])
    one, other = run(plain), run(neutral)
    assert np.array_equal(one.daily_occupancy(), other.daily_occupancy())
    assert [rep.metrics for rep in one.replications] == [rep.metrics for rep in other.replications]


# --- the errors -------------------------------------------------------------------------

BASE = """\
version: 1
name: demo
horizon: 2 years
capacity:
  beds: 50
streams:
  - name: asylum
    arrivals:
      rate: 2
    origins:
      - name: all
        share: 1
        return_probability: 0.8
        time_to_return: {dist: exponential, mean: 30}
"""
SEASONS = "      seasons:\n        - {name: summer, from: 06-01, until: 10-01, factor: 3}\n"


@pytest.mark.parametrize(("text", "line", "key", "says"), [
    (BASE.replace("      rate: 2\n", "      rate: 2\n" + SEASONS), 11,
     "streams[0].arrivals.seasons[0].from", "needs `start`"),
    ("start: 2025-01-01\n" + BASE.replace("      rate: 2\n", "      rate: 2\n" + SEASONS
                                          + "        - {name: autumn, from: 09-01, until: 11-01, factor: 2}\n"),
     13, "streams[0].arrivals.seasons[1]", "overlap"),
    ("start: 2025-01-01\n" + BASE.replace("      rate: 2\n", "      rate: 2\n" + SEASONS.replace(
        "factor: 3", "factor: -1")), 12, "streams[0].arrivals.seasons[0].factor", "greater than or equal to 0"),
    (BASE.replace("      rate: 2\n", "      rate: 2\n      trend: -1\n"), 10,
     "streams[0].arrivals.trend", "greater than -1"),
    ("start: 2025-01-01\n" + BASE.replace("      rate: 2\n", "      rate: 2\n" + SEASONS.replace(
        "from: 06-01", "from: 02-30")), 12, "streams[0].arrivals.seasons[0].from", "no such day"),
    (BASE.replace("      rate: 2\n", "      rate: 2\n      seasons:\n        - {from: 300, until: 100, factor: 2}\n"),
     11, "streams[0].arrivals.seasons[0].until", "must come after from"),
])
def test_bad_seasons_are_refused_at_their_line(tmp_path, monkeypatch, text, line, key, says):
    """Each mistake: `capsim validate` exits 2 with FILE:LINE:COL: key: message at the key's line."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "x.yaml"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    located = [row for row in result.stderr.splitlines() if row.startswith(f"x.yaml:{line}:")]
    assert located, result.stderr
    assert any(f": {key}: " in row and says in row for row in located), result.stderr
