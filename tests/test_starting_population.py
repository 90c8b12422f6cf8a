"""A starting population: the people detained at day 0, against M/G/inf theory.

Oracles: an M/G/inf stream started from its stationary ages keeps its mean
occupancy at lambda E[S] from day 0 (no transient); N people admitted at day 0
with exponential stays of mean m leave as N e^(-t/m) while arrivals fill up as
lambda m (1 - e^(-t/m)); a person of a file of those present never stays past
the maximum detention counted from their admission; conservation of people
(present at start + admitted = ended + still detained, checked by the runner's
invariants on every replication).

Tolerance: the theory must lie inside the simulated 99.9% Student-t interval
of the mean over replications. 99.9% rather than 95% because each test reads
5-6 days of one run: by Bonferroni the chance that a correct model fails a
test is then below 1%, while a wrong law of elapsed times (ages not
length-biased, or no ages) misses by 5-10 half-widths at day 30.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario

from sim import run
from sim.analysis.stats import confidence_interval
from sim.analysis.theory import stream_expected_stay
from sim.engine.people import RELEASED_DEADLINE, fate_count
from sim.engine.present import starting_people
from sim.engine.seeds import replication_seed
from sim.errors import ScenarioError
from sim.scenario import load_scenario

LEVEL = 0.999
HUGE = 100_000  # days: a maximum detention no exponential stay reaches
DAYS = [0, 10, 30, 90, 200]


def _stream(rate, stay, **fields):
    return {"name": "s", "arrivals": {"rate": rate},
            "origins": [{"name": "all", "share": 1, "return_probability": 1, "time_to_return": stay}]} | fields


def _within_interval(values, theory) -> tuple[float, float, float]:
    low, high = confidence_interval(values, LEVEL)
    mean = float(np.mean(values))
    if low == high:  # no spread (day 0 of a fixed count): the mean itself must be the theory
        assert mean == pytest.approx(theory, abs=1e-9)
    else:
        assert low <= theory <= high, f"theory {theory:.3f} outside [{low:.3f}, {high:.3f}] (mean {mean:.3f})"
    return mean, low, high


@pytest.mark.slow
@pytest.mark.parametrize("stay, max_detention", [
    ({"dist": "exponential", "mean": 30}, 1000),  # the deadline cuts a share e^-33 of the stays
    ({"dist": "lognormal", "mean": 40, "sd": 50}, 60),  # a deadline cuts about a fifth of the stays
])
def test_equilibrium_count_shows_no_transient(stay, max_detention):
    """Oracle: M/G/inf in equilibrium, E[N(t)] = lambda E[min(S, M)] at every t, with N = that at day 0."""
    present = 60
    probe = make_scenario(streams=[_stream(1.0, stay)], max_detention=max_detention)
    mean_stay = stream_expected_stay(probe, probe.streams[0])
    rate = float(present / mean_stay)
    scenario = make_scenario(streams=[_stream(rate, stay, detained_at_start=present)], capacity={"beds": 10_000},
                             warmup=0, horizon=201, replications=300, seed=5, max_detention=max_detention)
    daily = run(scenario).daily_occupancy()
    for day in DAYS:
        _within_interval(daily[:, day], rate * mean_stay)


@pytest.mark.slow
def test_admitted_at_day_zero_leave_exponentially():
    """Oracle: E[N(t)] = N e^(-t/m) + lambda m (1 - e^(-t/m)) for N admitted at day 0, M/M/inf."""
    present, mean, rate = 100, 20.0, 1.0
    scenario = make_scenario(
        streams=[_stream(rate, {"dist": "exponential", "mean": mean},
                         detained_at_start={"count": present, "since": "day 0"})],
        capacity={"beds": 10_000}, warmup=0, horizon=121, replications=300, seed=6, max_detention=HUGE)
    daily = run(scenario).daily_occupancy()
    for day in [0, 5, 10, 20, 40, 80, 120]:
        decay = math.exp(-day / mean)
        _within_interval(daily[:, day], present * decay + rate * mean * (1 - decay))


PRESENT_CSV = """stream,origin,days_detained
s,quick,0
s,,12.5
s,slow,100
s,,239.9
s,quick,240
s,slow,400
"""


def _files(tmp_path, csv_text: str, **fields) -> str:
    stream = _stream(0.5, {"dist": "lognormal", "mean": 30, "sd": 40})
    stream["origins"] = [
        {"name": "quick", "share": 0.6, "return_probability": 0.9, "time_to_return": {"dist": "exponential",
                                                                                       "mean": 10}},
        {"name": "slow", "share": 0.4, "return_probability": 0.3, "time_to_return": {"dist": "exponential",
                                                                                      "mean": 200}}]
    data = {"version": 1, "name": "present", "horizon": 400, "replications": 5, "seed": 3, "max_detention": 240,
            "capacity": {"beds": 50}, "streams": [stream], "detained_file": "present.csv"} | fields
    import io

    from ruamel.yaml import YAML
    text = io.StringIO()
    YAML().dump(data, text)
    (tmp_path / "present.csv").write_text(csv_text, encoding="utf-8")
    (tmp_path / "scenario.yaml").write_text(text.getvalue(), encoding="utf-8")
    return str(tmp_path / "scenario.yaml")


def test_file_of_those_present_never_stays_past_the_maximum(tmp_path):
    """Law: elapsed + remaining <= M for everyone; those at or past M leave at day 0, at the deadline."""
    scenario = load_scenario(_files(tmp_path, PRESENT_CSV))
    stream = scenario.streams[0]
    elapsed = [0, 12.5, 100, 239.9, 240, 400]
    origins = [0, None, 1, None, 0, 1]
    for r in range(20):
        people = starting_people(scenario, stream, replication_seed(scenario.seed, r))
        assert len(people) == len(elapsed)
        for (remaining, fate, stay, _), a, origin in zip(people, elapsed, origins):
            assert remaining >= 0 and min(a, 240) + remaining <= 240 * (1 + 1e-12)
            if origin is not None:
                assert fate // fate_count(1) == origin
            if a >= 240:
                assert remaining == 0 and fate % fate_count(1) == RELEASED_DEADLINE
            else:
                assert remaining > 0 and stay == pytest.approx(a + remaining)
    results = run(scenario)  # the runner checks the invariants (conservation, maximum detention)
    assert (results.daily_occupancy()[:, 0] == 4).all()  # the two past the maximum left at day 0


@pytest.mark.parametrize("row, expected", [
    ("t,quick,3", "present.csv:3: stream: no stream named 't'"),
    ("s,quick,-2", "present.csv:3: days_detained: expected a number of days >= 0"),
    ("s,fast,2", "present.csv:3: origin: stream 's' has no origin named 'fast'"),
])
def test_bad_rows_are_reported_at_their_line(tmp_path, row, expected):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(_files(tmp_path, f"stream,origin,days_detained\ns,,1\n{row}\n"))
    assert caught.value.exit_code == 2
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_bad_admission_date_is_reported_at_its_line(tmp_path):
    csv_text = "stream,origin,admitted\ns,,2024-12-01\ns,,2024-02-30\ns,,2025-03-01\n"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(_files(tmp_path, csv_text, start="2025-01-01"))
    problems = "\n".join(caught.value.problems)
    assert "present.csv:3: admitted: expected a date YYYY-MM-DD" in problems
    assert "present.csv:4: admitted: expected a date on or before the start (2025-01-01)" in problems
    without_start = "\n".join(pytest.raises(ScenarioError, load_scenario, _files(tmp_path, csv_text)).value.problems)
    assert "present.csv:2: admitted: a date needs `start`" in without_start
    good = load_scenario(_files(tmp_path, "stream,origin,admitted\ns,,2024-12-01\n", start="2025-01-01"))
    assert [p.days_detained for p in good.detained_file.people] == [31.0]


def test_new_arrivals_keep_their_random_numbers():
    """Common random numbers: the arrivals and their fates do not depend on who was there at day 0."""
    base = {"streams": [_stream(2.0, {"dist": "exponential", "mean": 10}, screened_out=0.3)],
            "capacity": {"beds": 10_000}, "warmup": 0, "horizon": 100, "replications": 5}
    empty = run(make_scenario(**base))
    base["streams"][0]["detained_at_start"] = 40
    started = run(make_scenario(**base))
    for metric in ("arrivals", "screened_out", "admitted"):
        assert started.values(metric, "s") == empty.values(metric, "s")
    assert started.values("present_at_start", "s") == [40.0] * 5


@pytest.mark.slow
def test_people_above_the_beds_stay_and_the_books_balance():
    """Conservation with more people present than beds: nobody is evicted, admissions wait for a free bed."""
    scenario = make_scenario(streams=[_stream(2.0, {"dist": "exponential", "mean": 10}, detained_at_start=50)],
                             capacity={"beds": 20}, warmup=0, horizon=200, replications=5)
    results = run(scenario)  # raises InvariantViolation if present + admitted != ended + still detained
    assert (results.daily_occupancy()[:, 0] == 50).all()
    assert results.values("present_at_start") == [50.0] * 5
    with_warmup = run(scenario.model_copy(update={"warmup": 30.0}))
    assert all(0 < p for p in with_warmup.values("present_at_start"))


def test_warmup_says_none_is_needed():
    from sim.scenario.checks import late_steps
    from sim.studies.warmup import warmup_analysis

    scenario = make_scenario(streams=[_stream(2.0, {"dist": "exponential", "mean": 10}, detained_at_start=20)],
                             capacity={"beds": 100}, warmup=0, horizon=100, replications=3)
    assert "no warm-up is needed" in warmup_analysis(scenario).describe(scenario)
    assert not late_steps(scenario)
    assert any("warm-up" in w for w in late_steps(scenario.model_copy(update={"warmup": 30.0})))
