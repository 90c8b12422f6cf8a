"""The benchmark cannot rot: its four implementations of the reference loss
system agree with Erlang B on a small instance (20 beds at a load of 20),
each within its own 99% batch-means interval, with fixed seeds. No timing is
asserted here; ``make bench`` measures speed. Ciw is required, not optional:
without it this test fails."""

from __future__ import annotations

import math

import pytest

from benchmarks import capsim_engine, ciw_engine, heapq_engine, simpy_idiomatic
from benchmarks.reference import Reference, erlang_b, erlang_b_recursion

SMALL = Reference(beds=20, arrivals=20_000)
CIW_SMALL = SMALL.with_(arrivals=5_000)
SEED = 7


def test_ciw_is_installed():
    import ciw  # noqa: F401  (the dev and bench extras install it; a missing ciw is a failure)

    assert ciw_engine.ciw is not None


def test_reference_erlang_b_recursion():
    assert erlang_b_recursion(0, 5.0) == 1.0
    assert erlang_b_recursion(1, 1.0) == pytest.approx(0.5)
    assert erlang_b_recursion(2, 1.0) == pytest.approx(0.2)  # (a^2/2) / (1 + a + a^2/2)
    assert erlang_b(751, 751.0) == pytest.approx(erlang_b_recursion(751, 751.0), rel=1e-12)


def test_reference_parameters():
    ref = Reference()
    assert ref.mean_stay == pytest.approx(132.6838, abs=1e-3)
    assert ref.rate * ref.mean_stay == pytest.approx(751)
    assert ref.batch_count == 20


@pytest.mark.parametrize("engine, ref", [
    (heapq_engine.run, SMALL),
    (simpy_idiomatic.run, SMALL),
    (ciw_engine.run, CIW_SMALL),
    (capsim_engine.interval, SMALL),  # capsim's batches are replications (one run cannot span 364 years)
], ids=["heapq", "simpy-idiomatic", "ciw", "capsim"])
def test_implementation_agrees_with_erlang_b(engine, ref):
    outcome = engine(ref, SEED)
    expected = ref.erlang_b
    assert outcome.batches >= 10
    assert 0 < outcome.half_width < 0.05
    assert outcome.agrees(expected), (
        f"{outcome.implementation}: blocking {outcome.blocking:.5f} +- {outcome.half_width:.5f} "
        f"does not contain Erlang B {expected:.5f}")
    # ~all of the expected arrivals were simulated, and the occupancy is the carried load a (1 - B)
    assert abs(outcome.arrivals - ref.arrivals) < 6 * math.sqrt(ref.arrivals) + 0.02 * ref.arrivals
    assert outcome.occupancy_mean == pytest.approx(ref.occupancy_theory, rel=0.05)


@pytest.mark.slow
def test_the_jobs_row_child_gives_the_same_replications_on_one_and_two_processes():
    """The --jobs row's fresh-process run (benchmarks.child, the scenario on its
    standard input) on the small instance: the digest of the replications'
    metrics is the same on one worker and on two (reproducibility is the row's
    own check), and the peak memory it reports is a plausible interpreter's."""
    from benchmarks.run import child_run

    text = capsim_engine.scenario_text(SMALL, horizon=400.0, warmup=100.0)
    one, two = (child_run(text, 6, jobs, SEED) for jobs in (1, 2))
    assert one["digest"] == two["digest"]
    assert 10_000 < one["maxrss_kb"] < 2_000_000 and one["seconds"] > 0
