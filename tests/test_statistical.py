"""The statistical suite: the simulator against queueing theory wherever theory has an answer.

Every test names its oracle, fixes its seed and number of replications (in
`CASES`), and takes its tolerance from the simulation itself: the analytic
value must lie inside the simulated 99% Student-t interval of the mean over
replications, ``sim.stats.confidence_interval(values, 0.99)``. No tolerance is
tuned by hand. Horizons and replications are chosen so that the intervals are
narrow (a relative half-width of a few per cent), and warm-ups so that the
bias left by starting empty is far below the half-width (see each case).

Each case is simulated once and shared by the tests that read it, so that
Little's law is checked on every case at no extra cost. The cases the selected
tests need are started together on two worker processes (see
`simulate_in_background`); results do not depend on the executor.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import make_scenario
from scipy import stats

from sim import Scenario, run
from sim.analysis.queueing import erlang_a, erlang_b, erlang_c, mginf_occupancy_tail, mmc_mean_wait, stay_survival
from sim.analysis.results import Results
from sim.analysis.stats import confidence_interval
from sim.analysis.theory import analytic_check, stream_expected_stay

pytestmark = pytest.mark.slow  # long runs against queueing theory

LEVEL = 0.99
JOBS = 2
HUGE = 100_000  # days: a maximum detention no stay reaches


# --- scenarios ------------------------------------------------------------------------

def exponential(mean):
    return {"dist": "exponential", "mean": mean}


def stream(name, rate, stay, **fields):
    """A stream whose people are all returned after `stay` (so the stay is `stay`,
    unless a deadline or a court release comes first)."""
    return {"name": name, "arrivals": {"rate": rate},
            "origins": [{"name": "all", "share": 1, "return_probability": 1, "time_to_return": stay}]} | fields


def scenario(beds, streams, *, horizon, warmup, max_detention=HUGE) -> Scenario:
    return make_scenario(capacity={"beds": beds}, streams=streams, horizon=horizon, warmup=warmup,
                         max_detention=max_detention)


# A stream that mixes two origins (one mostly not returned), screening, court
# release and a deadline: E[S] = 14.67 days (a Monte Carlo of 4 million stays
# gives 14.663 +- 0.005), offered load 1.7 x 0.8 x E[S] = 19.95.
MIXED = {
    "name": "mixed",
    "arrivals": {"rate": 1.7},
    "screened_out": 0.2,
    "max_detention": 30,
    "court_release": {"probability": 0.3, "time": {"dist": "uniform", "low": 5, "high": 40}},
    "origins": [
        {"name": "quick", "share": 0.7, "return_probability": 0.9,
         "time_to_return": {"dist": "lognormal", "mean": 8, "sd": 6}},
        {"name": "slow", "share": 0.3, "return_probability": 0.4,
         "time_to_return": {"dist": "gamma", "mean": 40, "sd": 20}},
    ],
}

# With the deadline: most returns of the "slow" origin would take longer than
# the 60-day maximum detention; the "fixed" stream waits 50 days for a return
# that its 45-day scenario-wide deadline always cuts short, unless a court
# releases it first.
DEADLINE_STREAMS = [
    {
        "name": "mixed",
        "arrivals": {"rate": 1.0},
        "max_detention": 60,
        "court_release": {"probability": 0.25, "time": {"dist": "uniform", "low": 10, "high": 90}},
        "origins": [
            {"name": "quick", "share": 0.5, "return_probability": 0.95,
             "time_to_return": {"dist": "lognormal", "mean": 10, "sd": 8}},
            {"name": "slow", "share": 0.5, "return_probability": 0.7,
             "time_to_return": {"dist": "gamma", "mean": 120, "sd": 60}},
        ],
    },
    stream("fixed", 0.5, {"dist": "fixed", "value": 50},
           court_release={"probability": 0.4, "time": {"dist": "triangular", "low": 5, "mode": 20, "high": 80}}),
]


@dataclass(frozen=True)
class Case:
    scenario: Scenario
    replications: int
    seed: int

    @property
    def cost(self) -> float:
        """Arrivals to simulate, in all replications (to start the longest first)."""
        s = self.scenario
        return self.replications * s.end_day * sum(stream.arrivals.rate for stream in s.streams)


# Warm-ups: the deficit of an initially empty system is, at most, the M/G/inf
# one, lambda x integral from w to infinity of P(S > t) dt: for exponential
# stays of mean 10 it is e^(-w/10) of the load (< 1e-8 at w = 200); for the
# lognormal of cv 2 it is 0.04% at w = 1000, and smaller still averaged over
# the window; stays capped by a deadline D are stationary after w = D.
LOSS = {
    # Erlang B, c = a = 20, several shapes of stay with mean 10 (insensitivity).
    "exponential_c20_a20": Case(scenario(20, [stream("s", 2.0, exponential(10))], horizon=20_000, warmup=200),
                                20, 101),
    "lognormal_cv2_c20_a20": Case(scenario(20, [stream("s", 2.0, {"dist": "lognormal", "mean": 10, "sd": 20})],
                                           horizon=20_000, warmup=1000), 20, 102),
    "fixed_c20_a20": Case(scenario(20, [stream("s", 2.0, {"dist": "fixed", "value": 10})],
                                   horizon=20_000, warmup=200), 20, 103),
    "empirical_c20_a20": Case(scenario(20, [stream("s", 2.0, {"dist": "empirical", "values": [1, 2, 4, 11, 32]})],
                                       horizon=20_000, warmup=200), 20, 104),
    # Two origins, screening, court release and a 30-day deadline (MIXED above).
    "mixture_deadline_court_c20": Case(scenario(20, [MIXED], horizon=20_000, warmup=200), 20, 105),
    # Heavier: c = 50, a = 60 (blocking 0.216), gamma stays.
    "gamma_c50_a60": Case(scenario(50, [stream("s", 3.0, {"dist": "gamma", "mean": 20, "sd": 10})],
                                   horizon=10_000, warmup=300), 20, 106),
    # The ends of the range of loads, 0.5c and 1.5c, and of sizes, c = 1 and the 751 beds of Belgium.
    "exponential_c5_a2.5": Case(scenario(5, [stream("s", 0.25, exponential(10))], horizon=40_000, warmup=200),
                                20, 107),
    "weibull_c1_a1.5": Case(scenario(1, [stream("s", 0.15, {"dist": "weibull", "shape": 0.7,
                                                            "scale": 10 / math.gamma(1 + 1 / 0.7)})],
                                     horizon=40_000, warmup=500), 20, 108),
    "exponential_c751_a1126.5": Case(scenario(751, [stream("s", 112.65, exponential(10))],
                                              horizon=300, warmup=100), 20, 110),
    # Two streams with different stays share 20 beds: a = 6 + 14 = 20.
    "two_streams_c20_a20": Case(scenario(20, [
        stream("short", 3.0, {"dist": "lognormal", "mean": 2, "sd": 4}),
        stream("long", 0.35, {"dist": "gamma", "mean": 40, "sd": 30}),
    ], horizon=20_000, warmup=500), 20, 109),
}

# Queues: exponential stays of mean 10 days, c = 10; the relaxation time of these
# queues is a few mean stays, far below the 500-day warm-up.
QUEUE = {
    # M/M/c: a = 8, FIFO, nobody gives up.
    "mmc_c10_a8": Case(scenario(10, [stream("s", 0.8, exponential(10), when_full="wait")],
                                horizon=40_000, warmup=500), 40, 201),
    # M/M/c+M: exponential patience of mean 5 days, a below and above c.
    "mmcm_c10_a8": Case(scenario(10, [stream("s", 0.8, exponential(10), when_full="wait",
                                             max_wait=exponential(5))],
                                 horizon=40_000, warmup=500), 20, 301),
    "mmcm_c10_a12": Case(scenario(10, [stream("s", 1.2, exponential(10), when_full="wait",
                                              max_wait=exponential(5))],
                                  horizon=20_000, warmup=500), 20, 302),
}

UNLIMITED = {
    # M/G/inf: 400 beds for a = 40 (P(N >= 400) is about 1e-246).
    "mginf_a40": Case(scenario(400, [stream("s", 4.0, {"dist": "lognormal", "mean": 10, "sd": 15})],
                               horizon=10_000, warmup=1000), 20, 401),
    # The deadline case: 400 beds for a load of 53 (Erlang B about 1e-201).
    "deadline_mixture": Case(scenario(400, DEADLINE_STREAMS, horizon=10_000, warmup=100, max_detention=45),
                             20, 501),
}

CASES = LOSS | QUEUE | UNLIMITED


# --- running the cases ----------------------------------------------------------------------

_STARTED: dict[str, Future] = {}


def _simulate(name: str) -> Results:
    case = CASES[name]
    return run(case.scenario, replications=case.replications, seed=case.seed)


@functools.cache
def results(name: str) -> Results:
    """The case's results: from the background workers if started there, else run here."""
    return _STARTED[name].result() if name in _STARTED else _simulate(name)


def uses(*names: str):
    """Declare the cases a test that is not parametrized by `name` reads."""
    def mark(function):
        function.cases = names
        return function
    return mark


def _cases_of(item) -> list[str]:
    params = getattr(item, "callspec", None)
    if params is not None and "name" in params.params:
        return [params.params["name"]]
    return list(getattr(item.function, "cases", ()))


@pytest.fixture(scope="module", autouse=True)
def simulate_in_background(request):
    """Start every case the selected tests of this module read, longest first, on
    JOBS worker processes forked from this one, each running its replications
    with sim.run(jobs=1). One pool for all cases, so that the cases run side
    by side; its workers are forked from this process and so have everything
    imported already.
    The data are byte-identical whatever the executor (tests/test_model.py::
    test_jobs_do_not_change_results)."""
    needed = {name for item in request.session.items if item.module is request.module
              for name in _cases_of(item)}
    if len(needed) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield
        return
    pool = ProcessPoolExecutor(max_workers=JOBS, mp_context=multiprocessing.get_context("fork"))
    try:
        for name in sorted(needed, key=lambda n: -CASES[n].cost):
            _STARTED[name] = pool.submit(_simulate, name)
        yield
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _STARTED.clear()


# --- helpers ------------------------------------------------------------------------------

def per_replication(res: Results, numerator: str, denominator: str, stream: str | None = None) -> np.ndarray:
    return np.asarray(res.values(numerator, stream)) / np.asarray(res.values(denominator, stream))


def half_width(values) -> float:
    low, high = confidence_interval(values, LEVEL)
    return (high - low) / 2


def assert_inside(expected: float, values, what: str) -> None:
    """The analytic `expected` lies inside the simulated 99% interval of the mean of `values`."""
    low, high = confidence_interval(values, LEVEL)
    mean = float(np.mean(values))
    assert low <= expected <= high, (
        f"{what}: analytic {expected:.6g} outside the simulated 99% interval [{low:.6g}, {high:.6g}] "
        f"(mean {mean:.6g}, off by {(mean - expected) / ((high - low) / 2):.2f} half-widths)"
    )


def expected_stays(scenario: Scenario) -> dict[str, float]:
    return {s.name: stream_expected_stay(scenario, s) for s in scenario.streams}


# --- 1. Erlang B: the loss system M/G/c/c -------------------------------------------------

@pytest.mark.parametrize("name", sorted(LOSS))
def test_erlang_b_blocking_and_occupancy(name):
    """Oracle: Erlang B and the M/G/c/c insensitivity, through
    sim.theory.analytic_check. With `turn_away`, the share of requests turned away
    is B(c, a), a = sum over streams of lambda (1 - screened_out) E[S], whatever the
    shape of the stay; the share of time full is the same B (arrivals see time
    averages); the mean occupancy is a (1 - B). With several streams, each stream
    is turned away with the same B of the total load and holds a_s (1 - B) beds.
    All inside the simulated 99% interval (seed and replications in CASES)."""
    case = CASES[name]
    res = results(name)
    check = analytic_check(case.scenario)
    assert check.covered, check.reason
    blocking = check.blocking_probability
    assert_inside(blocking, res.values("blocking_probability"), f"{name}: blocking")
    assert_inside(blocking, res.values("probability_full"), f"{name}: share of time full")
    assert_inside(check.occupancy_mean, res.values("occupancy_mean"), f"{name}: mean occupancy")
    if len(case.scenario.streams) > 1:
        for s in case.scenario.streams:
            assert_inside(blocking, res.values("blocking_probability", s.name),
                          f"{name}: blocking of stream {s.name}")
            assert_inside(check.stream_loads[s.name] * (1 - blocking), res.values("occupancy_mean", s.name),
                          f"{name}: mean occupancy of stream {s.name}")


def test_loss_cases_are_what_they_claim():
    """The loss cases cover c = 20 at a = 20 (published B = 0.158892), c = 50 at
    a = 60, and offered loads from 0.5c to 1.5c; the multi-stream case splits a = 20
    into 6 + 14."""
    loads = {name: analytic_check(CASES[name].scenario).offered_load for name in LOSS}
    for name in ("exponential_c20_a20", "lognormal_cv2_c20_a20", "fixed_c20_a20", "empirical_c20_a20",
                 "two_streams_c20_a20"):
        assert loads[name] == pytest.approx(20, rel=1e-9), name
    assert erlang_b(20, 20.0) == pytest.approx(0.158892, abs=1e-6)
    assert loads["gamma_c50_a60"] == pytest.approx(60, rel=1e-9)
    assert analytic_check(CASES["two_streams_c20_a20"].scenario).stream_loads == pytest.approx(
        {"short": 6.0, "long": 14.0}, rel=1e-9)
    ratios = [loads[name] / CASES[name].scenario.capacity.beds for name in LOSS]
    assert min(ratios) == pytest.approx(0.5) and max(ratios) == pytest.approx(1.5)


# --- 2. Erlang C: the M/M/c queue ---------------------------------------------------------

@uses("mmc_c10_a8")
def test_erlang_c_probability_of_waiting_and_mean_wait():
    """Oracle: Erlang C and the M/M/c mean wait. `when_full: wait` without a maximum
    wait, exponential stays of mean 10, c = 10, a = 8: the share who wait
    (waited / detention_requests) is C(10, 8) and the mean wait of the admitted is
    C x 10 / (10 - 8) days; both inside the simulated 99% interval."""
    name = "mmc_c10_a8"
    res = results(name)
    assert_inside(erlang_c(10, 8.0), per_replication(res, "waited", "detention_requests"),
                  f"{name}: probability of waiting")
    assert_inside(mmc_mean_wait(10, 0.8, 10.0), res.values("mean_wait_days"), f"{name}: mean wait")
    # those who waited wait 1 / (c mu - lambda) = 5 days on average: E[W] / P(W > 0)
    assert_inside(mmc_mean_wait(10, 0.8, 10.0) / erlang_c(10, 8.0), res.values("mean_wait_listed_days"),
                  f"{name}: mean wait of those who waited")
    assert sum(res.values("gave_up")) == 0


# --- 3. Erlang A: the M/M/c+M queue -------------------------------------------------------

@pytest.mark.parametrize("name", ["mmcm_c10_a8", "mmcm_c10_a12"])
def test_erlang_a_abandonment_waiting_and_mean_wait(name):
    """Oracle: Erlang A (M/M/c+M). Exponential stays of mean 10, exponential maximum
    wait of mean 5, c = 10, a = 8 and a = 12 (above c: stable only through giving
    up). Inside the simulated 99% interval: the share who give up
    (gave_up / detention_requests) is P(abandon), the share who wait is P(wait),
    and the mean time on the list of all requests, those who give up included
    ((wait_days_total + wait_days_given_up) / detention_requests), is E[Q] / lambda."""
    case = CASES[name]
    res = results(name)
    beds, rate = case.scenario.capacity.beds, case.scenario.streams[0].arrivals.rate
    theory = erlang_a(beds, rate, 10.0, 5.0)
    assert_inside(theory.probability_abandon, per_replication(res, "gave_up", "detention_requests"),
                  f"{name}: share who give up")
    assert_inside(theory.probability_wait, per_replication(res, "waited", "detention_requests"),
                  f"{name}: probability of waiting")
    waits = (np.asarray(res.values("wait_days_total")) + np.asarray(res.values("wait_days_given_up"))) \
        / np.asarray(res.values("detention_requests"))
    assert_inside(theory.mean_wait, waits, f"{name}: mean wait of all requests")
    # of those who waited, those who gave up included: E[W] / P(W > 0)
    assert_inside(theory.mean_wait / theory.probability_wait, res.values("mean_wait_listed_days"),
                  f"{name}: mean wait of all who waited")


# --- 4. Little's law on every case ----------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CASES))
def test_littles_law(name):
    """Oracle: Little's law, L = lambda W. Per stream, the mean occupancy equals the
    admission rate (admitted / horizon) times the exact mean stay E[S] of
    sim.theory.stream_expected_stay (stays do not depend on admission or on the
    wait). Tolerance: the 99% half-width of the mean occupancy plus E[S] times the
    99% half-width of the admission rate. Also, sharper (occupancy and admissions
    rise and fall together): the 99% interval of the per-replication difference
    occupancy - admission rate x E[S] contains 0 (in steady state its expectation
    is exactly 0, window edges included)."""
    case = CASES[name]
    res = results(name)
    horizon = case.scenario.horizon
    for s, stay in expected_stays(case.scenario).items():
        occupancy = np.asarray(res.values("occupancy_mean", s))
        admission_rate = np.asarray(res.values("admitted", s)) / horizon
        little = float(admission_rate.mean()) * stay
        tolerance = half_width(occupancy) + stay * half_width(admission_rate)
        assert abs(float(occupancy.mean()) - little) <= tolerance, (
            f"{name}, stream {s}: mean occupancy {occupancy.mean():.6g} vs admission rate x E[S] = "
            f"{admission_rate.mean():.6g} x {stay:.6g} = {little:.6g}; tolerance {tolerance:.3g}"
        )
        assert_inside(0.0, occupancy - admission_rate * stay,
                      f"{name}, stream {s}: occupancy - admission rate x E[S]")


# --- 5. The exact expected stay --------------------------------------------------------------

@uses("deadline_mixture")
def test_expected_stay_with_deadline_court_and_origins():
    """Oracle: the exact E[S] = integral from 0 to D of P(S > t) dt
    (sim.theory.stream_expected_stay) and the share released at the deadline,
    P(S > D-) from sim.theory.stay_survival, against the simulated mean length of
    stay (los_mean_days) and released_deadline / stays_ended of each stream, with
    no blocking (400 beds for a load of 53). The stream "mixed" has two
    origins, one mostly not returned and mostly slower than its 60-day deadline;
    "fixed" is always cut short by the 45-day scenario deadline unless a court
    releases it. The warm-up is longer than every deadline, so the stays that
    end in the window are distributed as S. Inside the 99% interval."""
    name = "deadline_mixture"
    case = CASES[name]
    slow = case.scenario.streams[0].origins[1].time_to_return
    assert slow.sf(60) > 0.85  # most returns of the slow origin would come after the deadline
    res = results(name)
    assert sum(res.values("turned_away")) == 0
    for s in case.scenario.streams:
        stay = stream_expected_stay(case.scenario, s)
        assert_inside(stay, res.values("los_mean_days", s.name), f"{name}: mean stay of stream {s.name}")
        deadline = case.scenario.stream_max_detention(s)
        groups = [(o.share, o.return_probability, o.time_to_return.sf) for o in s.origins]
        survival = stay_survival(groups, s.court_release.probability, s.court_release.time.sf)
        at_deadline = float(survival(np.nextafter(deadline, 0)))
        assert_inside(at_deadline, per_replication(res, "released_deadline", "stays_ended", s.name),
                      f"{name}: share of stream {s.name} released at the deadline")


# --- 6. M/G/inf: the occupancy is Poisson(a) ----------------------------------------------------

@uses("mginf_a40")
def test_mginf_occupancy_is_poisson():
    """Oracle: M/G/inf, occupancy ~ Poisson(a) with a = lambda E[S] = 40 (lognormal
    stays, beds far above the load). The time-weighted mean occupancy is a, inside
    the 99% interval; the tail P(N >= k) (sim.theory.mginf_occupancy_tail) at
    k = a - 2 sqrt(a), a, a + 2 sqrt(a), a + 3 sqrt(a) is inside the 99% interval of the
    share of daily samples in the window at or above k; and the Poisson quantiles
    scipy.stats.poisson.ppf(q, a), q = 0.5, 0.9, 0.95, 0.99, lie within the range
    that the replications' time-weighted percentiles (integers) span."""
    name = "mginf_a40"
    case = CASES[name]
    res = results(name)
    a = analytic_check(case.scenario).offered_load
    assert a == pytest.approx(40, rel=1e-9)
    assert sum(res.values("turned_away")) == 0
    assert_inside(a, res.values("occupancy_mean"), f"{name}: mean occupancy")
    first_day = int(math.ceil(case.scenario.warmup)) + 1
    daily = np.stack([rep.daily_occupancy[first_day:] for rep in res.replications])
    for k in (28, 40, 53, 59):
        assert_inside(mginf_occupancy_tail(a, k), (daily >= k).mean(axis=1), f"{name}: P(N >= {k})")
    for metric, q in [("occupancy_p50", 0.5), ("occupancy_p90", 0.9), ("occupancy_p95", 0.95),
                      ("occupancy_p99", 0.99)]:
        values = res.values(metric)
        quantile = stats.poisson.ppf(q, a)
        assert min(values) <= quantile <= max(values), (
            f"{name}: {metric} spans {min(values):g}..{max(values):g} over replications; Poisson quantile {quantile:g}")
