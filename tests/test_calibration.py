"""The scenario library reproduces the public figures it was built from
(docs/sources.md), and every scenario validates, runs and has theory or
the reason it has none.

Oracles: published ranges (occupancy 75-95% of 751; 4,285-8,555 people
detained a year, 2022 and 2019; mean stay 30-45 days; 60-70% removed) must
contain the whole 95% interval of the simulated mean; the observed Ixelles
counts (109 arrested, 67 returned, news report of 2024-02-15) must lie in
the 90% range of the replications.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.execution.runner import run
from sim.scenario import load_scenario

SCENARIOS = sorted(Path(__file__).parent.parent.glob("scenarios/*.yaml"))


@pytest.fixture(scope="module")
def today():
    return run(load_scenario("scenarios/today.yaml"), jobs=2)


def within(stat: dict, low: float, high: float) -> bool:
    return low <= stat["ci95_low"] and stat["ci95_high"] <= high


@pytest.mark.slow
def test_today_occupancy_is_what_the_sources_report(today):
    """75-95% of 751 (2017: 90%; 2018: 95%; 2023: a quarter empty)."""
    stat = today.summary["metrics"]["occupancy_mean"]
    assert within(stat, 0.75 * 751, 0.95 * 751), stat


def test_today_admissions_per_year(today):
    """People detained a year: 4,285 (2022) to 8,555 (2019)."""
    years = today.scenario.horizon / 365.25
    per_year = {key: value / years if isinstance(value, float) else value
                for key, value in today.summary["metrics"]["admitted"].items()}
    assert within(per_year, 4285, 8555), per_year


def test_today_mean_length_of_stay(today):
    """30-45 days (35 in 2017 per centre, longer per person)."""
    assert within(today.summary["metrics"]["los_mean_days"], 30, 45)


def test_today_share_removed(today):
    """60-70% of ended stays are removals (Myria 2019: 60%; JRS 2022: 62-70%)."""
    assert within(today.summary["metrics"]["return_rate"], 0.60, 0.70)


@pytest.mark.slow
def test_ixelles_pilot_reproduces_the_observed_counts():
    results = run(load_scenario("scenarios/ixelles-pilot.yaml"), jobs=2)
    for metric, observed in [("arrivals", 109), ("returned", 67)]:
        values = results.values(metric, "brussels_capital_ixelles")
        low, high = np.quantile(values, [0.05, 0.95])
        assert low <= observed <= high, (metric, observed, low, high)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_validates_and_has_theory_or_a_reason(path):
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(path)]).exit_code == 0
    result = runner.invoke(main, ["theory", str(path)])
    assert result.exit_code == 0, result.output
    assert "Erlang B with" in result.output or "no single offered load" in result.output
    scenario = load_scenario(path)
    assert scenario.name == path.stem  # results/<name>/ is the baseline of scenarios/<name>.yaml
    assert (path.parent.parent / "results" / scenario.name / "summary.json").exists()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_runs(path, tmp_path):
    """Two replications each: it runs, and its books balance (the runner checks
    conservation, capacity and maximum detention after every replication)."""
    scenario = load_scenario(path).model_copy(update={"replications": 2})
    results = run(scenario, jobs=1)
    metrics = results.summary["metrics"]
    assert metrics["admitted"]["mean"] > 0
    assert 0 < metrics["occupancy_mean"]["mean"] <= max(beds for _, beds in scenario.capacity_steps())
