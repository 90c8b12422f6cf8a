"""The model's laws, in every replication: conservation of people, capacity,
caps and the maximum detention; common random numbers; reproducibility."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest
from conftest import make_scenario, scenario_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import run
from sim.analysis.queueing import erlang_b
from sim.analysis.stats import confidence_interval
from sim.engine.model import simulate
from sim.engine.people import fate, fate_count, per_origin
from sim.engine.seeds import replication_seed
from sim.engine.streams import Counts
from sim.execution.invariants import check_invariants
from sim.metrics import OUTCOMES, SUMMED
from sim.output.run_folder import replications_csv, summary_json


def conservation_holds(metrics: dict) -> None:
    """Oracle: conservation of people over the measured window."""
    assert metrics["present_at_start"] + metrics["admitted"] == (
        metrics["returned"] + metrics["released_court"] + metrics["released_deadline"] + metrics["still_detained"]
    )
    assert metrics["arrivals"] == metrics["screened_out"] + metrics["detention_requests"]
    assert metrics["waiting_at_start"] + metrics["detention_requests"] == (
        metrics["admitted"] + metrics["turned_away"] + metrics["still_waiting"]
    )


def two_streams(**stream_overrides):
    """Two streams sharing 20 beds; the first takes `stream_overrides`."""
    data = scenario_data()
    first = data["streams"][0] | {"name": "campaign"} | stream_overrides
    other = data["streams"][0] | {"name": "other", "arrivals": {"rate": 1.5}}
    return make_scenario(streams=[first, other])


CASES = {
    "loss": make_scenario(),
    "wait_fifo": make_scenario(streams=[scenario_data()["streams"][0] | {"when_full": "wait"}]),
    "wait_with_patience": two_streams(when_full="wait", max_wait={"dist": "exponential", "mean": 3}, priority=1),
    "reserved_and_cap": two_streams(reserved_beds=5, max_beds=8),
    "capacity_changes": make_scenario(
        capacity={"beds": 20, "changes": [{"at": 100, "beds": 10}, {"at": 250, "beds": 30}]}),
    "schedule_and_deadline": make_scenario(
        max_detention=12,
        streams=[scenario_data()["streams"][0] | {
            "arrivals": {"schedule": [{"from": 0, "rate": 1}, {"from": 120, "rate": 0}, {"from": 200, "rate": 4}]},
            "screened_out": 0.2,
            "court_release": {"probability": 0.3, "time": {"dist": "uniform", "low": 2, "high": 20}},
        }],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_conservation_capacity_and_deadline_in_every_replication(name):
    """Conservation laws per stream and system-wide; occupancy never above the
    capacity (highest capacity in force); no stay beyond its maximum detention."""
    scenario = CASES[name]
    results = run(scenario, replications=3)
    highest = max(beds for _, beds in scenario.capacity_steps())
    for rep in results.replications:
        for metrics in [rep.metrics, *rep.streams.values()]:
            conservation_holds(metrics)
        assert rep.metrics["occupancy_max"] <= highest
        assert rep.checks == {"over_capacity": 0, "over_max_beds": 0}
        for stream in scenario.streams:
            m = rep.streams[stream.name]
            if m["stays_ended"]:
                assert m["los_max_days"] <= scenario.stream_max_detention(stream) + 1e-9
            if stream.max_beds:
                assert m["occupancy_max"] <= stream.max_beds


def test_every_metric_is_listed():
    """metrics.NAMES names exactly what a replication reports (the CLI validates targets against it)."""
    from sim.metrics import NAMES as METRICS
    rep = simulate(make_scenario(cost_per_bed_day=196), replication_seed(0, 0))
    assert set(rep.metrics) == set(METRICS)
    assert set(rep.streams["s"]) == set(METRICS)


def test_counts_and_fates_follow_the_metric_registry():
    """A stream's counters are named as summed metrics, and a fate decodes to
    the origin and outcome (in OUTCOMES order) it was coded from."""
    assert {counter.name for counter in fields(Counts)} <= set(SUMMED)
    per_fate = [0] * fate_count(2)
    for code in fate(np.array([0, 1, 1]), np.array([0, 2, 1])):
        per_fate[code] += 1
    assert per_origin(per_fate) == [dict(zip(OUTCOMES, [1, 0, 0])), dict(zip(OUTCOMES, [0, 1, 1]))]


def test_capacity_cut_never_evicts_and_stops_admissions():
    """A cut to 10 beds at day 100 with 20 occupied: nobody leaves early, and
    nobody is admitted while occupancy is at or above the new capacity."""
    scenario = CASES["capacity_changes"]
    rep = simulate(scenario, replication_seed(3, 0))
    daily = rep.daily_occupancy
    assert daily[100] > 10  # still above the new capacity right after the cut
    assert daily[100:250].max() <= daily[100]  # no admission above the cut
    assert daily[250:].max() <= 30


def test_reserved_beds_are_kept_for_their_stream():
    """With 5 beds reserved for the campaign, the other stream never holds more than 15."""
    rep = simulate(CASES["reserved_and_cap"], replication_seed(5, 0))
    assert rep.streams["other"]["occupancy_max"] <= 15
    assert rep.streams["campaign"]["occupancy_max"] <= 8


def test_erlang_b_loss_system():
    """Oracle: Erlang B. c = 20, offered load 20 (rate 2, exponential stays of 10 days):
    the analytic blocking lies inside the simulated 99% interval."""
    scenario = make_scenario(horizon=3000, warmup=100)
    results = run(scenario, replications=20, seed=2024)
    low, high = confidence_interval(results.values("blocking_probability"), 0.99)
    assert low <= erlang_b(20, 20.0) <= high


def test_littles_law_on_the_loss_system():
    """Oracle: Little's law. Mean occupancy = admission rate x mean stay of the
    admitted (exponential, mean 10), inside the simulated 99% interval."""
    scenario = make_scenario(horizon=3000, warmup=100)
    results = run(scenario, replications=20, seed=99)
    admitted_per_day = np.mean(results.values("admitted")) / scenario.horizon
    low, high = confidence_interval(results.values("occupancy_mean"), 0.99)
    half = (high - low) / 2
    assert abs(np.mean(results.values("occupancy_mean")) - admitted_per_day * 10.0) <= half + 0.02 * 10


def test_same_seed_is_byte_identical_and_other_seed_is_not(small_scenario):
    """Reproducibility: the same seed gives the same bytes; another seed does not."""
    first = summary_json(run(small_scenario, seed=1))
    assert first == summary_json(run(small_scenario, seed=1))
    assert first != summary_json(run(small_scenario, seed=2))


def test_jobs_do_not_change_results(small_scenario):
    """Reproducibility: one process or two workers give byte-identical data files."""
    serial = run(small_scenario, replications=5, jobs=1)
    parallel = run(small_scenario, replications=5, jobs=2)
    assert summary_json(serial) == summary_json(parallel)
    assert replications_csv(serial) == replications_csv(parallel)


def test_replication_seed_is_the_spawned_child():
    """The seed tree: replication r uses SeedSequence(seed).spawn(R)[r]."""
    spawned = np.random.SeedSequence(42).spawn(5)[3]
    ours = replication_seed(42, 3)
    assert (spawned.generate_state(4) == ours.generate_state(4)).all()


def test_common_random_numbers_across_bed_counts():
    """Two scenarios that differ only in beds see the same arrivals and the same
    screening, replication by replication (common random numbers)."""
    small, large = make_scenario(), make_scenario(capacity={"beds": 40})
    for r in range(3):
        a, b = simulate(small, replication_seed(8, r)), simulate(large, replication_seed(8, r))
        assert a.metrics["arrivals"] == b.metrics["arrivals"]
        assert a.metrics["screened_out"] == b.metrics["screened_out"]
        assert a.metrics["turned_away"] > b.metrics["turned_away"]


def test_stream_order_does_not_change_a_streams_people():
    """Seeds come from names, not positions: listing the streams in another order
    gives each stream the same arrivals."""
    forward = two_streams()
    backward = make_scenario(streams=list(reversed(forward.normalised()["streams"])))
    a, b = simulate(forward, replication_seed(1, 0)), simulate(backward, replication_seed(1, 0))
    for name in ("campaign", "other"):
        assert a.streams[name]["arrivals"] == b.streams[name]["arrivals"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    beds=st.integers(0, 15),
    rate=st.floats(0.05, 5),
    mean_stay=st.floats(0.5, 40),
    deadline=st.floats(1, 60),
    when_full=st.sampled_from(["turn_away", "wait"]),
    patience=st.one_of(st.none(), st.floats(0.5, 20)),
    reserved=st.integers(0, 3),
    cap=st.one_of(st.none(), st.integers(3, 10)),
    cut=st.integers(0, 20),
)
def test_invariants_hold_for_any_small_scenario(beds, rate, mean_stay, deadline, when_full, patience,
                                                reserved, cap, cut):
    """Property: whatever the parameters, every law holds (checked by the runner's
    own invariant check and by the conservation identities)."""
    stream = scenario_data()["streams"][0] | {
        "arrivals": {"rate": rate}, "when_full": when_full, "reserved_beds": min(reserved, beds, cut),
        "max_beds": cap if cap is None or cap >= min(reserved, beds, cut) else None,
    }
    stream["origins"][0]["time_to_return"] = {"dist": "gamma", "mean": mean_stay, "sd": mean_stay / 2}
    if when_full == "wait" and patience is not None:
        stream["max_wait"] = patience
    other = scenario_data()["streams"][0] | {"name": "other", "arrivals": {"rate": 1.0}, "when_full": "wait"}
    scenario = make_scenario(
        horizon=60, warmup=10, max_detention=deadline, capacity={"beds": beds, "changes": [{"at": 30, "beds": cut}]},
        streams=[stream, other],
    )
    rep = simulate(scenario, replication_seed(0, 0))
    check_invariants(scenario, rep, 0, 0)
    for metrics in [rep.metrics, *rep.streams.values()]:
        conservation_holds(metrics)
    assert not math.isnan(rep.metrics["occupancy_mean"])
