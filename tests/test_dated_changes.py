"""Dated changes of parameters (`parameter_changes`): validation, common random numbers, and theory.

Oracles: a person's fate is drawn with the parameters in force on their
arrival day, from the same random numbers. So (1) everyone who arrives before
the change has exactly the fate and stay of a run without it, and so has the
daily occupancy up to the change; (2) those who arrive after it follow the new
parameters: the share returned is p P(R <= min(C, M)) and the mean stay
E[min(R, C, M)] (`queueing.expected_stay`), both by quadrature. Draws are taken
straight from the engine's `People` (tens of thousands of people in well under a
second); the tolerance is 4 standard errors of the simulated mean or share (a
false alarm about once in 16,000 runs), with a fixed seed.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import make_scenario, scenario_data, to_yaml
from scipy import integrate, stats

from sim import parse_scenario
from sim.analysis.queueing import expected_stay
from sim.engine.model import simulate
from sim.engine.people import RELEASED_COURT, RETURNED, SCREENED_OUT, People
from sim.engine.periods import PERIOD_METRICS
from sim.errors import ScenarioError
from sim.execution.runner import run
from sim.scenario.checks import late_steps

D = 100.0  # the day of the change
M = 30.0  # the maximum detention
Q = 0.3  # the court release probability, at a time uniform on [5, 40]
STREAM = {
    "name": "s", "arrivals": {"rate": 3.0}, "screened_out": 0.2, "max_detention": M,
    "court_release": {"probability": Q, "time": {"dist": "uniform", "low": 5, "high": 40}},
    "origins": [{"name": "a", "share": 0.7, "return_probability": 0.4,
                 "time_to_return": {"dist": "exponential", "mean": 10}},
                {"name": "b", "share": 0.3, "return_probability": 0.6,
                 "time_to_return": {"dist": "exponential", "mean": 15}}],
}


def scenario(changes=None, **overrides):
    extra = {"parameter_changes": [{"at": D, "set": changes}]} if changes else {}
    fields = {"capacity": {"beds": 2000}, "streams": [STREAM], "horizon": 400, "warmup": 0,
              "max_detention": 100_000} | extra | overrides
    return make_scenario(**fields)


def people(changes=None, batches=60, seed=5):
    """Arrival days, fates and stays of `batches` batches, and the People (for its generators)."""
    sc = scenario(changes)
    crowd = People(sc, sc.streams[0], np.random.SeedSequence(seed))
    drawn = [crowd.draw() for _ in range(batches)]
    days, fates, stays = (np.concatenate([np.asarray(batch[k]) for batch in drawn]) for k in range(3))
    return days, fates, stays, crowd


def admitted_after(days, fates):
    return (days >= D) & (fates != SCREENED_OUT)


def court_survival(t):
    return 1 - Q + Q * stats.uniform(5, 35).sf(t)


def within(simulated, theory, standard_error):
    assert abs(simulated - theory) <= 4 * standard_error, (simulated, theory, standard_error)


# --- common random numbers ---------------------------------------------------------------

@pytest.mark.parametrize("changes", [
    {"streams.s.origins.a.return_probability": 0.8},
    {"streams.s.origins.a.time_to_return": {"dist": "lognormal", "mean": 20, "sd": 10}},
    {"streams.s.max_detention": 20},
    {"streams.s.screened_out": 0.5, "streams.s.court_release.probability": 0.1},
    {"streams.s.origins.a.share": 0.4, "streams.s.origins.b.share": 0.6},
    {"streams.s.court_release": None},
])
def test_people_before_the_change_keep_their_fates(changes):
    days, fates, stays, crowd = people(batches=3)
    days_c, fates_c, stays_c, crowd_c = people(changes, batches=3)
    before = days < D
    assert before.sum() > 200 and (~before).sum() > 2000
    assert np.array_equal(days, days_c)
    assert np.array_equal(fates[before], fates_c[before]) and np.array_equal(stays[before], stays_c[before])
    assert not np.array_equal(fates[~before], fates_c[~before]) or not np.array_equal(stays, stays_c)
    if "streams.s.origins.a.share" not in changes:  # the real generators advance as without the change
        for (ours, ours_time), (theirs, theirs_time) in zip(crowd.returns, crowd_c.returns):
            assert ours.bit_generator.state == theirs.bit_generator.state
            assert ours_time.bit_generator.state == theirs_time.bit_generator.state


def test_a_higher_return_probability_returns_the_same_people_and_more():
    """The same uniform against a higher threshold: everyone returned without the change still is."""
    days, fates, _, _ = people(batches=5)
    _, fates_c, _, _ = people({"streams.s.origins.a.return_probability": 0.8}, batches=5)
    after = admitted_after(days, fates)
    returned, returned_c = (after & (f % 3 == RETURNED) & (f // 3 == 0) for f in (fates, fates_c))
    assert np.all(returned_c[returned]) and returned_c.sum() > returned.sum()


def test_daily_occupancy_and_outcomes_before_the_change_are_those_of_a_run_without_it():
    change = {"streams.s.origins.a.return_probability": 0.9, "streams.s.max_detention": 12}
    for seed in np.random.SeedSequence(3).spawn(3):
        plain, changed = simulate(scenario(), seed), simulate(scenario(change), seed)
        assert np.array_equal(plain.daily_occupancy[:int(D) + 1], changed.daily_occupancy[:int(D) + 1])
        assert not np.array_equal(plain.daily_occupancy, changed.daily_occupancy)
        short, short_changed = simulate(scenario(horizon=D), seed), simulate(scenario(change, horizon=D), seed)
        assert short.metrics == short_changed.metrics and short.origins == short_changed.origins


# --- theory for those admitted after the change ---------------------------------------------

def test_share_returned_after_a_change_of_the_return_probability():
    """Oracle: P(returned | group a) = p_new * integral_0^M f_R(t) P(court later than t) dt."""
    days, fates, _, _ = people({"streams.s.origins.a.return_probability": 0.8})
    group_a = admitted_after(days, fates) & (fates // 3 == 0)
    share = np.mean(fates[group_a] % 3 == RETURNED)
    theory = 0.8 * integrate.quad(lambda t: stats.expon(scale=10).pdf(t) * court_survival(t), 0, M)[0]
    within(share, theory, math.sqrt(theory * (1 - theory) / group_a.sum()))
    print(f"returned share after the change: {share:.4f} vs theory {theory:.4f}, n = {group_a.sum()}")


@pytest.mark.parametrize("changes, groups, max_detention", [
    ({"streams.s.origins.a.time_to_return": {"dist": "lognormal", "mean": 20, "sd": 10}},
     [(0.7, 0.4, stats.lognorm(s=math.sqrt(math.log(1.25)), scale=20 / math.sqrt(1.25)).sf),
      (0.3, 0.6, stats.expon(scale=15).sf)], M),
    ({"streams.s.max_detention": 20},
     [(0.7, 0.4, stats.expon(scale=10).sf), (0.3, 0.6, stats.expon(scale=15).sf)], 20.0),
])
def test_mean_stay_after_a_change(changes, groups, max_detention):
    """Oracle: the exact expected stay E[min(R, C, M)] with the new parameters (queueing.expected_stay)."""
    days, fates, stays, _ = people(changes)
    after = stays[admitted_after(days, fates)]
    theory = expected_stay(groups, Q, stats.uniform(5, 35).sf, max_detention)
    within(after.mean(), theory, after.std(ddof=1) / math.sqrt(len(after)))
    assert after.max() <= max_detention
    print(f"mean stay after the change: {after.mean():.3f} vs theory {theory:.3f}, n = {len(after)}")


def test_shares_and_screening_after_a_change():
    days, fates, _, _ = people({"streams.s.origins.a.share": 0.4, "streams.s.origins.b.share": 0.6,
                                "streams.s.screened_out": 0.5})
    arrived = days >= D
    screened = np.mean(fates[arrived] == SCREENED_OUT)
    within(screened, 0.5, math.sqrt(0.25 / arrived.sum()))
    admitted = admitted_after(days, fates)
    share_a = np.mean(fates[admitted] // 3 == 0)
    within(share_a, 0.4, math.sqrt(0.24 / admitted.sum()))


def test_court_release_removed_on_a_date():
    days, fates, _, _ = people({"streams.s.court_release": None}, batches=5)
    assert not np.any(fates[admitted_after(days, fates)] % 3 == RELEASED_COURT)
    assert np.any(fates[(days < D) & (fates != SCREENED_OUT)] % 3 == RELEASED_COURT)


# --- the scenario file ------------------------------------------------------------------------

def errors(changes: list) -> str:
    data = scenario_data(streams=[STREAM], start="2025-01-01", parameter_changes=changes)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(to_yaml(data), "test.yaml")
    return str(caught.value)


def set_line(changes: list, path: str) -> int:
    """The line (1-based) at which the key `path` of a `set` is written."""
    text = to_yaml(scenario_data(streams=[STREAM], start="2025-01-01", parameter_changes=changes))
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith(f"{path}:"))


@pytest.mark.parametrize("path, value, expected", [
    ("streams.s.origins.a.colour", 1, "cannot change on a date; what can change on a date: streams.S.screened_out"),
    ("capacity.beds", 10, "capacity.changes"),
    ("streams.s.arrivals.rate", 2, "schedule"),
    ("cost_per_bed_day", 2, "no cost_per_bed_day to change"),
    ("streams.s.origins.a.return_probability", 1.5, "less than or equal to 1"),
    ("streams.s.origins.a.share", 0.5, "origin shares must sum to 1 (got 0.8)"),
    ("streams.s.origins.a.time_to_return", {"dist": "exponential", "mean": -1}, "mean"),
    ("streams.s.origins.nowhere.share", 0.5, "no item named 'nowhere'"),
    ("streams.s.screened_out", {"triangular": [0.1, 0.2, 0.3]}, "not an uncertain quantity"),
])
def test_a_wrong_change_is_told_at_its_line(path, value, expected):
    changes = [{"name": "morocco", "at": "2025-07-01", "set": {path: value}}]
    message = errors(changes)
    assert f"test.yaml:{set_line(changes, path)}:" in message
    assert f"parameter_changes[0].set.{path}" in message and expected in message, message


def test_changes_apply_cumulatively_and_in_time_order():
    first = {"at": 10, "set": {"streams.s.origins.a.share": 0.5, "streams.s.origins.b.share": 0.5}}
    ok = make_scenario(streams=[STREAM], parameter_changes=[first, {"at": 20, "set": {"streams.s.screened_out": 0.3}}])
    last = ok.phases(ok.streams[0])[-1]
    assert (last.day, last.stream.origins[0].share, last.stream.screened_out) == (20, 0.5, 0.3)
    assert "in time order" in errors([{"at": 20, "set": {"streams.s.screened_out": 0.3}}, first])


def test_a_change_after_the_end_is_warned_of():
    sc = make_scenario(streams=[STREAM], parameter_changes=[{"name": "late", "at": 10_000,
                                                             "set": {"streams.s.screened_out": 0.3}}])
    assert any("parameter change 'late'" in warning for warning in late_steps(sc))


def test_a_wrong_change_exits_with_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(to_yaml(scenario_data(parameter_changes=[{"at": 5, "set": {"capacity.beds": 3}}])))
    done = subprocess.run([sys.executable, "-m", "sim", "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2 and "parameter_changes[0].set.capacity.beds" in done.stderr + done.stdout


def test_without_changes_nothing_is_written_of_them():
    assert "parameter_changes" not in make_scenario().normalised()


def test_a_dated_cost_prices_each_day_at_the_cost_in_force():
    """Oracle: the cost is a sum over the pieces of the bed-days in each at its cost. With the change at a
    month's first day, each month's cost is its bed-days times the cost in force, exactly, and the window's
    cost is the sum of the months'; before the change the run is the run without it."""
    from sim.analysis.periods import period_values

    changed = make_scenario(streams=[STREAM], start="2025-01-01", warmup=0, horizon=181, periods="month",
                            cost_per_bed_day=100, parameter_changes=[{"at": "2025-04-01",
                                                                      "set": {"cost_per_bed_day": 300}}])
    results = run(changed, jobs=1)
    values = period_values(results, [20] * 6)
    bed_days, cost = PERIOD_METRICS.index("bed_days"), PERIOD_METRICS.index("cost")
    for r, rep in enumerate(results.replications):
        for scope in range(values.shape[1]):
            prices = [100.0] * 3 + [300.0] * 3
            assert values[r, scope, :, cost] == pytest.approx(values[r, scope, :, bed_days] * prices, rel=1e-9)
            window = rep.metrics if scope == 0 else rep.streams["s"]
            assert window["cost"] == pytest.approx(values[r, scope, :, cost].sum(), rel=1e-9)
    same = run(make_scenario(streams=[STREAM], start="2025-01-01", warmup=0, horizon=181, periods="month",
                             cost_per_bed_day=100), jobs=1)
    for a, b in zip(results.replications, same.replications):
        assert (a.periods[:, :3, :cost] == b.periods[:, :3, :cost]).all()  # the same run up to the change
        assert a.metrics["cost"] > b.metrics["cost"]
