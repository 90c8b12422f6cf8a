"""Uncertain inputs: a number known only from counts or an expert's range is
drawn once per replication, from a seed stream of its own, and the intervals
then carry what the data do not know.

Oracles: the posterior mean of Beta(1 + s, 1 + n - s); the law of total
variance (input uncertainty adds Var(E[X | p]) to the simulation noise);
common random numbers (two scenarios sharing a seed share their draws).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario

from sim.analysis.stats import confidence_interval, summarise
from sim.analysis.theory import analytic_check
from sim.execution.runner import run

FIXED = 67 / 109
REPLICATIONS = 40


def returns_scenario(return_probability, beds: int = 2000, seed: int = 4242):
    """A stream of 5 arrivals a day for a year, no blocking (2,000 beds for a
    load of about 150): the returned count is binomial given p."""
    return make_scenario(
        horizon=365, warmup=0, replications=REPLICATIONS, seed=seed, max_detention=60,
        capacity={"beds": beds},
        streams=[{"name": "s", "arrivals": {"rate": 5.0},
                  "origins": [{"name": "all", "share": 1, "return_probability": return_probability,
                               "time_to_return": {"dist": "exponential", "mean": 10}}]}],
    )


@pytest.fixture(scope="module")
def returned():
    """Returned counts per replication, for the fixed value and two posteriors."""
    cases = {"fixed": FIXED,
             "huge": {"beta_from": {"successes": 67_000, "trials": 109_000}},
             "real": {"beta_from": {"successes": 67, "trials": 109}}}
    return {name: run(returns_scenario(p), jobs=1) for name, p in cases.items()}


def test_huge_counts_agree_with_the_fixed_value(returned):
    """Beta(67,001, 42,001) has sd 0.0015: the runs agree with 67/109 within
    the simulation interval (paired, common random numbers)."""
    fixed, huge = returned["fixed"].values("returned"), returned["huge"].values("returned")
    low, high = confidence_interval(np.subtract(huge, fixed), 0.99)
    assert low <= 0 <= high, (low, high)
    low, high = confidence_interval(huge, 0.95)
    assert low <= np.mean(fixed) <= high


def test_real_counts_widen_the_interval_and_contain_the_fixed_value(returned):
    """Law of total variance: Var(returned) = E[Var | p] + Var(E[returned | p]).
    With p ~ Beta(68, 43) (sd 0.046) and about 1,800 ended stays a year the
    second term is about (0.046 x 1,800)^2 = 83^2, against a binomial sd of
    about 21: the interval is several times wider, and still contains the
    fixed value's mean."""
    fixed, real = returned["fixed"].values("returned"), returned["real"].values("returned")
    ended = np.mean(returned["fixed"].values("stays_ended"))
    a, b = 68, 43
    p_sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    expected_ratio = math.sqrt(1 + (p_sd * ended) ** 2 / np.var(fixed, ddof=1))
    width = {name: np.subtract(*confidence_interval(values, 0.95)[::-1]) for name, values in
             [("fixed", fixed), ("real", real)]}
    ratio = width["real"] / width["fixed"]
    # the sample sd of 40 replications is within about +-25% of its value (chi-square, 95%)
    assert expected_ratio * 0.6 < ratio < expected_ratio * 1.6, (ratio, expected_ratio)
    low, high = confidence_interval(real, 0.95)
    assert low <= np.mean(fixed) <= high


def test_drawn_values_are_recorded_and_follow_the_posterior(returned):
    results = returned["real"]
    path = "streams.s.origins.all.return_probability"
    values = results.input_values()[path]
    assert len(set(values)) == REPLICATIONS
    low, high = confidence_interval(values, 0.99)
    assert low <= 68 / 111 <= high  # the posterior mean (1 + s) / (2 + n)
    assert results.summary["inputs"][path] == summarise(values)
    assert path not in returned["fixed"].summary.get("inputs", {})


def test_inputs_are_common_random_numbers_across_scenarios():
    """Input draws have a seed stream of their own: a scenario that differs only
    in beds draws the same values (and the same people)."""
    p = {"beta_from": {"successes": 67, "trials": 109}}
    one, other = (run(returns_scenario(p, beds=beds).model_copy(update={"replications": 3}), jobs=1)
                  for beds in (2000, 150))
    assert one.input_values() == other.input_values()


def test_fixed_inputs_are_the_means():
    scenario = returns_scenario({"triangular": [0.1, 0.25, 0.4]})
    fixed = scenario.at_means()
    assert fixed.uncertain_inputs() == {}
    assert fixed.streams[0].origins[0].return_probability == pytest.approx(0.25)
    assert not analytic_check(scenario).covered and "--fix-inputs" in analytic_check(scenario).reason
    assert analytic_check(fixed).covered
    # the offered load at the means is the mean offered load (linear in p)
    assert analytic_check(scenario).offered_load == pytest.approx(analytic_check(fixed).offered_load)


@pytest.mark.parametrize("value, message", [
    ({"beta_from": {"successes": 5, "trials": 3}}, "exceed trials"),
    ({"uniform": [0.5, 1.5]}, "within [0, 1]"),
    ({"triangular": [0.3, 0.2, 0.4]}, "low <= mode <= high"),
    ({"normal": [0.1, 0.2]}, "an uncertain quantity is one of"),
])
def test_bad_uncertain_quantities_are_refused(value, message):
    from sim.errors import ScenarioError

    with pytest.raises(ScenarioError) as caught:
        returns_scenario(value)
    assert any(message in problem and "return_probability" in problem for problem in caught.value.problems), \
        caught.value.problems


@pytest.mark.slow
def test_run_report_shows_both_intervals(tmp_path):
    """`capsim run --report` on uncertain inputs also runs them at their means (same
    seeds) and the report sets the two intervals side by side; the companion is a
    complete results folder whose inputs are the means."""
    from click.testing import CliRunner
    from conftest import scenario_data, to_yaml

    from sim.cli import main

    data = scenario_data(replications=5, streams=[{
        "name": "s", "arrivals": {"rate": {"gamma_from": {"events": 50, "days": 25}}},
        "origins": [{"name": "all", "share": 1, "return_probability": {"uniform": [0.5, 0.9]},
                     "time_to_return": {"dist": "exponential", "mean": 10}}]}])
    (tmp_path / "u.yaml").write_text(to_yaml(data), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(tmp_path / "u.yaml"), "--out", str(out), "--jobs", "1",
                                       "--report", "--quiet"])
    assert result.exit_code == 0, result.output
    companion = run(make_scenario(**data).at_means(), jobs=1)
    from sim.output.run_folder import summary_json
    assert (out / "fixed-inputs" / "summary.json").read_text() == summary_json(companion)
    page = (out / "report.html").read_text()
    section = page[page.index(">Uncertain inputs<"):]
    assert "simulation noise only" in section and "streams.s.arrivals.rate" in section
    assert "s.returned" in section
