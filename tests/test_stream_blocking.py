"""Per-stream shares of time full with reserved beds and caps, against the chain solved numerically.

Oracle: with Poisson arrivals and streams that are turned away when no bed they
may use is free, the numbers in detention per stream form a truncated
reversible Markov chain; its stationary distribution is the product form
pi(n) ~ prod_s a_s^n_s / n_s! over the admissible states (insensitive to the
stay distribution beyond its mean). A stream is full in state n when n plus
one of its people is not admissible; by PASTA its share of time full equals
the share of its requests turned away. Both simulated shares must hold the
exact value in their 99% interval (fixed seed).
"""

from __future__ import annotations

import itertools
import math

import pytest
from conftest import make_scenario

from sim import run
from sim.analysis.stats import confidence_interval

MEAN_STAY = 10.0


def stream(name: str, load: float, **rules) -> dict:
    return {"name": name, "arrivals": {"rate": load / MEAN_STAY}, **rules,
            "origins": [{"name": "all", "share": 1, "return_probability": 1,
                         "time_to_return": {"dist": "exponential", "mean": MEAN_STAY}}]}


def product_form_full(beds: int, streams: list[dict]) -> dict[str, float]:
    """Each stream's stationary share of time full, from the chain's product form."""
    reserved = [s.get("reserved_beds", 0) for s in streams]
    caps = [s.get("max_beds", beds) for s in streams]
    loads = [s["arrivals"]["rate"] * MEAN_STAY for s in streams]
    shared = beds - sum(reserved)

    def admissible(n: tuple[int, ...]) -> bool:
        return (all(k <= cap for k, cap in zip(n, caps))
                and sum(max(k - r, 0) for k, r in zip(n, reserved)) <= shared)

    states = [n for n in itertools.product(*(range(cap + 1) for cap in caps)) if admissible(n)]
    weight = {n: math.prod(a ** k / math.factorial(k) for a, k in zip(loads, n)) for n in states}
    total = sum(weight.values())
    def one_more(n: tuple[int, ...], i: int) -> tuple[int, ...]:
        return n[:i] + (n[i] + 1,) + n[i + 1:]

    return {s["name"]: sum(w for n, w in weight.items() if not admissible(one_more(n, i))) / total
            for i, s in enumerate(streams)}


CASES = {
    # the reliability issue's example: A reserves 3 of 10 beds (load 1.5), B shares the other 7 (load 7)
    "reserved_beds": (10, [stream("a", 1.5, reserved_beds=3), stream("b", 7.0)]),
    "max_beds": (10, [stream("a", 3.0, max_beds=4), stream("b", 7.0)]),
    "both": (12, [stream("a", 2.0, reserved_beds=2, max_beds=5), stream("b", 6.0, max_beds=9), stream("c", 3.0)]),
}


@pytest.mark.parametrize("case", CASES)
def test_each_streams_share_of_time_full_is_the_chains(case):
    beds, streams = CASES[case]
    exact = product_form_full(beds, streams)
    scenario = make_scenario(capacity={"beds": beds}, streams=streams, horizon=4000, warmup=200,
                             replications=20, seed=2026)
    results = run(scenario, jobs=1)
    for name, value in exact.items():
        for metric in ("probability_full", "blocking_probability"):
            low, high = confidence_interval(results.values(metric, name), 0.99)
            assert low <= value <= high, f"{case}: {name}.{metric} [{low:.4f}, {high:.4f}] vs exact {value:.4f}"


def test_the_oracle_gives_the_issues_figures():
    """The product form reproduces the figures the bug report computed independently."""
    full = product_form_full(*CASES["reserved_beds"])
    assert full["a"] == pytest.approx(0.0476, abs=5e-5)
    assert full["b"] == pytest.approx(0.2535, abs=5e-5)
