"""The queueing formulas of sim.theory, each against an independent oracle."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from sim.analysis.queueing import (
    erlang_a,
    erlang_b,
    erlang_c,
    expected_stay,
    mginf_occupancy_tail,
    mmc_mean_wait,
    smallest_beds,
    stay_survival,
)


def erlang_b_poisson_ratio(c: int, a: float) -> float:
    """B = pmf(c) / cdf(c) of Poisson(a), summed in log space so it cannot underflow."""
    k = np.arange(c + 1)
    return math.exp(-special.logsumexp(stats.poisson.logpmf(k, a) - stats.poisson.logpmf(c, a)))


def erlang_b_exact(c: int, a: int) -> Fraction:
    """B = (a^c / c!) / sum_k a^k / k!, in exact rational arithmetic (integer a)."""
    return Fraction(a**c, sum(a**k * (math.factorial(c) // math.factorial(k)) for k in range(c + 1)))


# Erlang B

def test_erlang_b_published_table():
    """Oracle: published Erlang B table, B(20, 20 erlangs) = 0.158892; also exact rationals."""
    assert erlang_b(20, 20) == pytest.approx(0.158892, abs=1e-6)
    assert erlang_b(20, 20) == pytest.approx(float(erlang_b_exact(20, 20)), rel=1e-12)


def test_erlang_b_751_servers():
    """Oracle: the direct formula B = (a^c/c!) / sum a^k/k! in exact rationals, and the
    Poisson pmf/cdf ratio; both give 0.028558 for c = a = 751."""
    exact = float(erlang_b_exact(751, 751))
    assert exact == pytest.approx(0.028558, abs=1e-6)
    assert erlang_b(751, 751) == pytest.approx(exact, rel=1e-10)
    assert erlang_b_poisson_ratio(751, 751) == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("c, a", [(5000, 50_000.0), (2000, 1900.0), (3000, 10.0), (1, 1e6)])
def test_erlang_b_large_cases(c, a):
    """Oracle: the Poisson pmf/cdf ratio in log space (no recursion); far above
    capacity B tends to 1 - c/a."""
    assert erlang_b(c, a) == pytest.approx(erlang_b_poisson_ratio(c, a), rel=1e-9, abs=1e-300)
    if a > 5 * c:
        assert erlang_b(c, a) == pytest.approx(1 - c / a, rel=1e-3)


def test_erlang_b_edge_cases():
    """Oracle: the definition; no servers blocks everyone, no load blocks no one."""
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(0, 0.0) == 1.0
    assert erlang_b(4, 0.0) == 0.0
    with pytest.raises(ValueError):
        erlang_b(-1, 1.0)
    with pytest.raises(ValueError):
        erlang_b(3, -1.0)


@settings(max_examples=100, deadline=None)
@given(c=st.integers(0, 1500), a=st.floats(0, 3000), factor=st.floats(1, 2))
def test_erlang_b_bounded_and_monotone(c, a, factor):
    """Oracle: the properties of a loss probability: in [0, 1], decreasing in the
    number of servers, increasing in the offered load."""
    b = erlang_b(c, a)
    assert 0 <= b <= 1
    assert erlang_b(c + 1, a) <= b * (1 + 1e-12)
    assert erlang_b(c, a * factor) >= b * (1 - 1e-12)


# Erlang C and M/M/c

@pytest.mark.parametrize("c, a", [(1, 0.5), (2, 1.5), (5, 3.2), (10, 8.0), (12, 11.9)])
def test_erlang_c_textbook_sum(c, a):
    """Oracle: the textbook formula C = (a^c/c! c/(c-a)) / (sum_{k<c} a^k/k! + a^c/c! c/(c-a))."""
    top = a**c / math.factorial(c) * c / (c - a)
    assert erlang_c(c, a) == pytest.approx(top / (sum(a**k / math.factorial(k) for k in range(c)) + top), rel=1e-12)


def test_erlang_c_unstable_is_one():
    """Oracle: with a >= c the M/M/c queue is unstable and every arrival waits."""
    assert erlang_c(3, 3.0) == 1.0
    assert erlang_c(3, 7.5) == 1.0
    assert erlang_c(0, 0.0) == 1.0


@pytest.mark.parametrize("lam, mu", [(0.5, 1.0), (0.9, 1.0), (2.0, 5.0)])
def test_mm1_mean_wait(lam, mu):
    """Oracle: the M/M/1 closed form E[Wq] = rho / (mu - lambda)."""
    assert mmc_mean_wait(1, lam, 1 / mu) == pytest.approx(lam / mu / (mu - lam), rel=1e-12)


def test_mmc_mean_wait_unstable_is_infinite():
    """Oracle: with a >= c the queue grows without bound."""
    assert mmc_mean_wait(4, 2.0, 2.0) == math.inf
    assert mmc_mean_wait(4, 3.0, 2.0) == math.inf


# Erlang A (M/M/c+M)

@pytest.mark.parametrize("c, lam, s", [(1, 0.6, 1.0), (10, 8.0, 1.0), (50, 4.5, 10.0)])
def test_erlang_a_infinite_patience_is_erlang_c(c, lam, s):
    """Oracle: with patience -> infinity (a < c) M/M/c+M becomes M/M/c, so P(wait) is
    Erlang C, the mean wait is the M/M/c one and nobody abandons."""
    result = erlang_a(c, lam, s, 1e9)
    assert result.probability_wait == pytest.approx(erlang_c(c, lam * s), rel=1e-6)
    assert result.mean_wait == pytest.approx(mmc_mean_wait(c, lam, s), rel=1e-6)
    assert result.probability_abandon < 1e-6


def test_erlang_a_many_servers_nobody_abandons():
    """Oracle: with c far above the load no one waits, so no one abandons (M/G/inf limit)."""
    result = erlang_a(200, 20.0, 1.0, 0.5)
    assert result.probability_wait < 1e-12
    assert result.probability_abandon < 1e-12
    assert result.mean_wait < 1e-12


def test_erlang_a_no_servers_everyone_abandons():
    """Oracle: with c = 0 everyone waits out their whole (exponential) patience."""
    result = erlang_a(0, 2.0, 1.0, 3.0)
    assert result.probability_wait == pytest.approx(1.0)
    assert result.probability_abandon == pytest.approx(1.0)
    assert result.mean_wait == pytest.approx(3.0)


@pytest.mark.parametrize("c, lam, mu, theta", [(3, 5.0, 1.0, 0.5), (4, 2.0, 1.0, 2.0), (2, 20.0, 1.0, 0.2)])
def test_erlang_a_against_generator_solve(c, lam, mu, theta):
    """Oracle: the stationary distribution from a linear solve of pi Q = 0 (global
    balance, one equation replaced by sum pi = 1) on the chain truncated at 200
    in system, instead of the product formula; stable with a > c."""
    size = 200
    n = np.arange(size)
    deaths = np.minimum(n, c) * mu + np.maximum(n - c, 0) * theta
    q = np.diag(np.full(size - 1, lam), 1) + np.diag(deaths[1:], -1)
    np.fill_diagonal(q, -q.sum(axis=1))
    system = q.T.copy()
    system[-1] = 1.0
    pi = np.linalg.solve(system, np.r_[np.zeros(size - 1), 1.0])
    mean_queue = float(np.maximum(n - c, 0) @ pi)
    result = erlang_a(c, lam, 1 / mu, 1 / theta)
    assert result.probability_wait == pytest.approx(pi[c:].sum(), rel=1e-9)
    assert result.probability_abandon == pytest.approx(theta * mean_queue / lam, rel=1e-9)
    assert result.mean_wait == pytest.approx(mean_queue / lam, rel=1e-9)
    # Flow balance: the served rate lam (1 - P(abandon)) equals mu E[busy servers] <= c mu.
    assert lam * (1 - result.probability_abandon) == pytest.approx(mu * float(np.minimum(n, c) @ pi), rel=1e-9)


# M/G/inf occupancy

@pytest.mark.parametrize("a, c", [(10.0, 0), (10.0, 1), (10.0, 15), (500.0, 560)])
def test_mginf_occupancy_tail(a, c):
    """Oracle: 1 - sum_{k<c} of the Poisson(a) pmf, summed directly."""
    assert mginf_occupancy_tail(a, c) == pytest.approx(1 - stats.poisson.pmf(np.arange(c), a).sum(), rel=1e-9)


# Expected length of stay

def expon_sf(mean):
    return stats.expon(scale=mean).sf


@pytest.mark.parametrize("mean", [0.01, 10.0, 3000.0])
def test_expected_stay_exponential_without_deadline(mean):
    """Oracle: E[R] = mean for an exponential return with p = 1, no court and D >> mean
    (also checks that a stay far shorter than D is not missed by the quadrature)."""
    assert expected_stay([(1.0, 1.0, expon_sf(mean))], 0.0, None, 1e6) == pytest.approx(mean, rel=1e-9)


def test_expected_stay_deadline_only():
    """Oracle: nobody is returned or released, so everyone stays exactly D."""
    assert expected_stay([(1.0, 0.0, expon_sf(10.0))], 0.0, None, 240.0) == pytest.approx(240.0, rel=1e-12)


def test_expected_stay_exponential_with_deadline():
    """Oracle: E[min(R, D)] = mean (1 - exp(-D / mean)) for an exponential R."""
    assert expected_stay([(1.0, 1.0, expon_sf(30.0))], 0.0, None, 45.0) == pytest.approx(
        30.0 * (1 - math.exp(-45.0 / 30.0)), rel=1e-10)


def test_expected_stay_mixture_closed_form():
    """Oracle: P(S > t) expanded into a sum of exponentials c_i exp(-r_i t), integrated
    term by term: sum c_i (1 - exp(-r_i D)) / r_i."""
    groups = [(0.3, 1.0, expon_sf(5.0)), (0.7, 0.4, expon_sf(20.0))]
    q, court_mean, d = 0.5, 30.0, 60.0
    # [0.3 e^{-t/5} + 0.7 (0.6 + 0.4 e^{-t/20})] (0.5 + 0.5 e^{-t/30})
    return_terms = [(0.3, 1 / 5), (0.42, 0.0), (0.28, 1 / 20)]
    court_terms = [(1 - q, 0.0), (q, 1 / court_mean)]
    expected = sum(ci * cj * (d if ri + rj == 0 else (1 - math.exp(-(ri + rj) * d)) / (ri + rj))
                   for ci, ri in return_terms for cj, rj in court_terms)
    assert expected_stay(groups, q, expon_sf(court_mean), d) == pytest.approx(expected, rel=1e-10)


def test_expected_stay_jumps_at_breakpoints():
    """Oracle: closed forms for fixed and empirical times: a fixed return at 5 with
    p = 0.5 and D = 100 gives 0.5 x 5 + 0.5 x 100; an empirical {1, 2, 2, 7} with
    D = 5 gives mean(min(v, 5)) = 2.5."""
    fixed = lambda t: np.where(np.asarray(t) < 5.0, 1.0, 0.0)  # noqa: E731
    assert expected_stay([(1.0, 0.5, fixed)], 0.0, None, 100.0, breakpoints=[5.0]) == pytest.approx(52.5, rel=1e-12)
    values = np.array([1.0, 2.0, 2.0, 7.0])
    empirical = lambda t: (values > np.asarray(t)[..., None]).mean(axis=-1)  # noqa: E731
    assert expected_stay([(1.0, 1.0, empirical)], 0.0, None, 5.0, breakpoints=[1.0, 2.0, 7.0]) == pytest.approx(
        2.5, rel=1e-12)


def test_expected_stay_monte_carlo():
    """Oracle: a Monte Carlo of S = min(R, C, D) with the same distributions (a
    lognormal and a gamma origin, a gamma court time), 200k draws; the tolerance
    is 4 standard errors of the sample mean."""
    rng = np.random.default_rng(20240611)
    lognormal, gamma = stats.lognorm(s=0.8, scale=25.0), stats.gamma(a=2.0, scale=15.0)
    court = stats.gamma(a=3.0, scale=20.0)
    groups = [(0.6, 0.9, lognormal.sf), (0.4, 0.5, gamma.sf)]
    q, d, n = 0.3, 90.0, 200_000

    in_first = rng.random(n) < 0.6
    returned = rng.random(n) < np.where(in_first, 0.9, 0.5)
    r = np.where(in_first, lognormal.rvs(size=n, random_state=rng), gamma.rvs(size=n, random_state=rng))
    c = np.where(rng.random(n) < q, court.rvs(size=n, random_state=rng), np.inf)
    stays = np.minimum.reduce([np.where(returned, r, np.inf), c, np.full(n, d)])
    standard_error = stays.std(ddof=1) / math.sqrt(n)

    assert abs(expected_stay(groups, q, court.sf, d) - stays.mean()) < 4 * standard_error


def test_stay_survival_formula():
    """Oracle: the product formula written out at a few points, and P(S > 0) = 1."""
    groups = [(0.25, 0.8, expon_sf(4.0)), (0.75, 1.0, expon_sf(9.0))]
    survival = stay_survival(groups, 0.4, expon_sf(12.0))
    t = np.array([0.0, 1.0, 10.0, 50.0])
    expected = ((0.25 * (0.2 + 0.8 * np.exp(-t / 4)) + 0.75 * np.exp(-t / 9)) * (0.6 + 0.4 * np.exp(-t / 12)))
    np.testing.assert_allclose(survival(t), expected, rtol=1e-12)
    assert survival(0.0) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        stay_survival(groups, 0.4, None)


# Sizing

@pytest.mark.parametrize("a, target", [(0.0, 0.01), (1.0, 0.5), (20.0, 0.01), (100.0, 0.001), (751.0, 0.02),
                                       (50.0, 1.0), (5.0, 1e-9)])
def test_smallest_beds_direct_scan(a, target):
    """Oracle: a direct scan c = 0, 1, ... calling erlang_b until it meets the target."""
    c = 0
    while erlang_b(c, a) > target:
        c += 1
    assert smallest_beds(a, target) == c
