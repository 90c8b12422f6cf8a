"""compare, sweep and size: common random numbers, grids, and bed sizing
against Erlang B."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario, scenario_data

from sim import run
from sim.analysis.queueing import erlang_b, smallest_beds
from sim.analysis.stats import half_width
from sim.errors import ScenarioError
from sim.output.run_folder import replications_csv
from sim.studies.compare import compare
from sim.studies.size import Target, size
from sim.studies.sweep import sweep, sweep_points


def test_compare_identical_scenarios_differ_by_exactly_zero():
    """Oracle: common random numbers. The same scenario twice: every paired
    difference, system-wide and per stream, is exactly 0 with a zero-width interval."""
    scenario = make_scenario()
    comparison = compare(scenario, [scenario], replications=4)
    assert comparison.differences
    for d in comparison.differences:
        if not math.isnan(d.difference):
            assert d.difference == 0 and d.ci95_low == 0 and d.ci95_high == 0 and not d.significant


def big_loss_system(beds: int):
    """Offered load 700 erlangs (exponential stays of 30 days) on `beds` beds: the
    centres are sometimes full with 751 beds, hardly ever with 800."""
    data = scenario_data(horizon=200, warmup=120, capacity={"beds": beds}, replications=12)
    data["streams"][0]["arrivals"] = {"rate": 700 / 30}
    data["streams"][0]["origins"][0]["time_to_return"] = {"dist": "exponential", "mean": 30}
    return make_scenario(**data)


@pytest.mark.slow
def test_common_random_numbers_sharpen_the_difference():
    """751 vs 800 beds: the paired (common random numbers) 95% interval of the
    difference in occupancy_mean is at least five times narrower than the
    interval from independent seeds (Welch half-width of two independent runs)."""
    small, large = big_loss_system(751), big_loss_system(800)
    paired = compare(small, [large], seed=5, jobs=2)
    [d] = [d for d in paired.differences if d.metric == "occupancy_mean"]
    paired_width = d.ci95_high - d.ci95_low
    a = run(small, seed=5, jobs=2).values("occupancy_mean")
    b = run(large, seed=6, jobs=2).values("occupancy_mean")
    independent_width = 2 * 1.96 * math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    assert d.significant and d.difference > 0
    assert paired_width * 5 <= independent_width


def test_sweep_grid_names_and_points_equal_plain_runs():
    """The grid is the product of the values; each point is a plain run of the
    modified scenario with the same seed (byte-identical replications)."""
    base = make_scenario(streams=[scenario_data()["streams"][0] | {"name": "campaign"}])
    grid = {"capacity.beds": [15, 20, 25], "streams.campaign.origins.all.return_probability": [0.5, 1.0]}
    points = sweep_points(base, grid)
    assert [p.label for p in points] == [f"point-{i:03d}" for i in range(6)]
    assert points[3].settings == {"capacity.beds": 20, "streams.campaign.origins.all.return_probability": 1.0}
    runs = sweep(points, replications=3, jobs=2)
    data = scenario_data(capacity={"beds": 20}, replications=3)
    data["streams"][0] |= {"name": "campaign"}
    plain = run(make_scenario(**data), replications=3)
    assert replications_csv(runs[3]) == replications_csv(plain)
    zipped = sweep_points(base, {"capacity.beds": [15, 20], "seed": [1, 2]}, zipped=True)
    assert len(zipped) == 2


def test_sweep_validates_every_point_before_running():
    """A bad value stops the sweep, naming the point and the key."""
    with pytest.raises(ScenarioError) as caught:
        sweep_points(make_scenario(), {"capacity.beds": [20, -3]})
    [problem] = caught.value.problems
    assert problem.startswith("point-001 (capacity.beds=-3)") and "capacity.beds" in problem


def test_size_agrees_with_erlang_b_within_the_statistical_resolution():
    """Oracle: Erlang B. Target blocking <= 5% on a loss system with load 20.
    The answer c is the smallest count whose simulated 95% upper bound meets the
    target, so (resolution = the interval width w at c - 1) the exact blocking
    satisfies B(c) <= 5% + w and B(c - 1) >= 5% - w; and c is at least the
    Erlang B answer minus one."""
    scenario = make_scenario(horizon=1500, warmup=100, replications=10)
    sizing = size(scenario, [Target.parse("blocking_probability<=0.05")], jobs=2)
    c = sizing.answer
    below = sizing.trials[c - 1].results.values("blocking_probability")
    width = 2 * half_width(below)
    assert sizing.analytic_start == smallest_beds(20.0, 0.05)
    assert erlang_b(c, 20.0) <= 0.05 + width
    assert erlang_b(c - 1, 20.0) >= 0.05 - width
    assert c >= sizing.analytic_start - 1
    assert sizing.trials[c].good and not sizing.trials[c - 1].good


def test_size_on_a_waiting_list_finds_the_edge():
    """No theory start (people wait): the answer meets the target and one bed fewer does not."""
    stream = scenario_data()["streams"][0] | {"when_full": "wait"}
    scenario = make_scenario(streams=[stream], horizon=800, warmup=100, replications=8)
    sizing = size(scenario, [Target.parse("mean_wait_days<=0.5")], min_beds=20, max_beds=60, jobs=2)
    assert sizing.analytic_start is None
    assert sizing.trials[sizing.answer].good
    assert not sizing.trials[sizing.answer - 1].good
