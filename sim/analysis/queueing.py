"""Queueing-theory formulas: the analytic oracle the simulator is checked against.

When people are turned away at a full centre, capsim's beds form an M/G/c/c
loss system (Erlang B, insensitive to the stay distribution beyond its mean);
when they wait, M/M/c (Erlang C) or, with a limited patience, M/M/c+M (Erlang A).
The expected length of stay, which sets the offered load, is computed exactly
from the same distributions the model samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
from scipy import integrate, special, stats

Survival = Callable[[float | np.ndarray], float | np.ndarray]
"""A vectorised survival function t -> P(T > t)."""


Group = tuple[float, float, Survival]
"""An origin group: (share, return_probability, survival function of the time to return)."""


_TAIL_MASS = 1e-15


def _check_load(c: int, offered_load: float) -> None:
    if c < 0:
        raise ValueError(f"the number of servers must be >= 0 (got {c})")
    if not offered_load >= 0 or math.isinf(offered_load):
        raise ValueError(f"the offered load must be finite and >= 0 (got {offered_load})")


def _erlang_b_sequence(offered_load: float) -> Iterator[float]:
    """B(0), B(1), ... by the recursion B(k) = a B(k-1) / (k + a B(k-1)), which
    stays in [0, 1] and never overflows."""
    blocking, k = 1.0, 0
    while True:
        yield blocking
        k += 1
        blocking = offered_load * blocking / (k + offered_load * blocking)


def erlang_b(c: int, offered_load: float) -> float:
    """Blocking probability of the M/G/c/c loss system (Erlang B).

    Parameters
    ----------
    c : int
        Number of servers (beds), >= 0.
    offered_load : float
        Offered load a = arrival rate x mean service time, in erlangs.

    Returns
    -------
    float
        The share of arrivals that find all `c` servers busy; 1.0 when c = 0.
    """
    _check_load(c, offered_load)
    return next(islice(_erlang_b_sequence(offered_load), c, None))


def erlang_c(c: int, offered_load: float) -> float:
    """Probability that an arrival waits in the M/M/c queue (Erlang C).

    Parameters
    ----------
    c : int
        Number of servers, >= 0.
    offered_load : float
        Offered load a = arrival rate x mean service time, in erlangs.

    Returns
    -------
    float
        C(c, a) = B / (1 - (a/c)(1 - B)) with B = erlang_b(c, a); 1.0 when
        a >= c (the queue is unstable and every arrival eventually waits).
    """
    _check_load(c, offered_load)
    if offered_load >= c:
        return 1.0
    blocking = erlang_b(c, offered_load)
    return blocking / (1 - offered_load / c * (1 - blocking))


def mmc_mean_wait(c: int, arrival_rate: float, mean_service: float) -> float:
    """Mean wait in queue of the M/M/c queue, over all arrivals.

    Parameters
    ----------
    c : int
        Number of servers, >= 0.
    arrival_rate : float
        Poisson arrival rate, >= 0.
    mean_service : float
        Mean of the exponential service time, > 0.

    Returns
    -------
    float
        E[Wq] = C(c, a) x mean_service / (c - a), in the time unit of the
        inputs; inf when a >= c.
    """
    if mean_service <= 0:
        raise ValueError(f"the mean service time must be > 0 (got {mean_service})")
    offered_load = arrival_rate * mean_service
    _check_load(c, offered_load)
    if offered_load >= c:
        return math.inf
    return erlang_c(c, offered_load) * mean_service / (c - offered_load)


@dataclass(frozen=True)
class ErlangA:
    """Steady-state measures of the M/M/c+M queue (Erlang A).

    Attributes
    ----------
    probability_wait : float
        Probability that an arrival finds all servers busy.
    probability_abandon : float
        Share of arrivals who give up before being served.
    mean_wait : float
        Mean time in queue over all arrivals, counting those who abandon
        until they leave.
    """

    probability_wait: float
    probability_abandon: float
    mean_wait: float


def erlang_a(c: int, arrival_rate: float, mean_service: float, mean_patience: float) -> ErlangA:
    """The M/M/c+M queue: exponential service and exponential patience.

    The number in system is a birth-death chain with birth rate lambda and
    death rate min(n, c) mu + max(n - c, 0) theta, with mu = 1/mean_service and
    theta = 1/mean_patience. Its stationary distribution is computed in log
    space and truncated where the remaining tail mass is below 1e-15; it exists
    for any load, a > c included, since abandonment keeps the queue finite.

    Parameters
    ----------
    c : int
        Number of servers, >= 0.
    arrival_rate : float
        Poisson arrival rate, > 0.
    mean_service : float
        Mean of the exponential service time, > 0.
    mean_patience : float
        Mean of the exponential patience, finite and > 0.

    Returns
    -------
    ErlangA
        P(wait) = P(N >= c) (arrivals see time averages), P(abandon) =
        theta E[Q] / lambda and mean wait = E[Q] / lambda (Little's law), with
        Q = max(N - c, 0) the queue length.
    """
    if c < 0:
        raise ValueError(f"the number of servers must be >= 0 (got {c})")
    if not (arrival_rate > 0 and mean_service > 0 and 0 < mean_patience < math.inf):
        raise ValueError("arrival rate, mean service and mean patience must be finite and > 0")
    lam, mu, theta = arrival_rate, 1 / mean_service, 1 / mean_patience
    n = np.arange(c + 1)
    chunks = [n * math.log(lam / mu) - special.gammaln(n + 1)]  # log weights of 0..c in system
    log_total = special.logsumexp(chunks[0])
    queue, size = 0, 256
    while True:
        j = np.arange(queue + 1, queue + size + 1)
        chunk = chunks[-1][-1] + np.cumsum(math.log(lam) - np.log(c * mu + j * theta))
        chunks.append(chunk)
        log_total = np.logaddexp(log_total, special.logsumexp(chunk))
        queue, size = queue + size, 2 * size
        # The ratio of successive weights decreases, so once it is below 1 the
        # rest of the tail is bounded by a geometric series.
        ratio = math.log(lam) - math.log(c * mu + (queue + 1) * theta)
        if ratio < 0 and chunk[-1] + ratio - math.log1p(-math.exp(ratio)) < log_total + math.log(_TAIL_MASS):
            break
    log_weights = np.concatenate(chunks)
    p = np.exp(log_weights - log_weights.max())
    p /= p.sum()
    mean_queue = float(np.arange(queue + 1) @ p[c:])
    return ErlangA(probability_wait=float(p[c:].sum()),
                   probability_abandon=theta * mean_queue / lam,
                   mean_wait=mean_queue / lam)


def mginf_occupancy_tail(offered_load: float, c: int) -> float:
    """P(N >= c) for the M/G/inf occupancy N ~ Poisson(offered_load).

    Parameters
    ----------
    offered_load : float
        Offered load a = arrival rate x mean service time, in erlangs.
    c : int
        Occupancy level, >= 0.

    Returns
    -------
    float
        The share of time at least `c` servers would be busy with unlimited servers.
    """
    _check_load(c, offered_load)
    return float(stats.poisson.sf(c - 1, offered_load))


def stay_survival(groups: Sequence[Group], court_probability: float,
                  court_sf: Survival | None) -> Survival:
    """Survival function of the stay without a maximum detention, min(R, C).

    Parameters
    ----------
    groups : sequence of (share, return_probability, return_sf)
        The origin groups (shares summing to 1). A person of a group is
        returned with probability `return_probability`, after a time with
        survival function `return_sf`, and otherwise never.
    court_probability : float
        Probability of a court release, which otherwise never happens.
    court_sf : callable or None
        Survival function of the time to court release; may be None when
        `court_probability` is 0.

    Returns
    -------
    callable
        t -> P(S > t) = [sum_g share_g (1 - p_g + p_g sf_g(t))] (1 - q + q court_sf(t)),
        vectorised over t.
    """
    if court_probability > 0 and court_sf is None:
        raise ValueError("a court survival function is needed when the court probability is > 0")

    def survival(t):
        stay = sum(share * (1 - p + p * return_sf(t)) for share, p, return_sf in groups)
        if court_sf is not None and court_probability > 0:
            stay = stay * (1 - court_probability + court_probability * court_sf(t))
        return stay

    return survival


def expected_stay(groups: Sequence[Group], court_probability: float, court_sf: Survival | None,
                  max_detention: float, *, breakpoints: Sequence[float] = ()) -> float:
    """Exact expected length of stay E[min(R, C, D)].

    E[S] = integral from 0 to D of P(S > t) dt, with P(S > t) from
    `stay_survival`. The interval is split at log-spaced points (so that a
    stay much shorter than D is not missed by the quadrature) and at
    `breakpoints`, and each piece is integrated by ``scipy.integrate.quad``.

    Parameters
    ----------
    groups, court_probability, court_sf
        As in `stay_survival`.
    max_detention : float
        The maximum detention D, finite and > 0.
    breakpoints : sequence of float, optional
        Points where a survival function jumps (fixed or empirical
        distributions); the integrand is smooth between them.

    Returns
    -------
    float
        The mean stay, in the time unit of the inputs.
    """
    if not 0 < max_detention < math.inf:
        raise ValueError(f"the maximum detention must be finite and > 0 (got {max_detention})")
    survival = stay_survival(groups, court_probability, court_sf)
    inner = [b for b in breakpoints if 0 < b < max_detention]
    edges = np.unique(np.concatenate([[0.0], max_detention * np.logspace(-12, 0, 13), inner]))
    return sum(_integral(survival, lo, hi) for lo, hi in zip(edges[:-1], edges[1:]))


_GAUSS = {n: np.polynomial.legendre.leggauss(n) for n in (48, 96)}


def _integral(function: Survival, lo: float, hi: float) -> float:
    """Integral of a smooth, vectorised function over [lo, hi]: Gauss-Legendre with
    48 and 96 nodes (one vectorised call each, where quad makes hundreds of scalar
    calls); when the two disagree beyond 1e-12 of the interval, adaptive quad."""
    half, middle = (hi - lo) / 2, (hi + lo) / 2
    coarse, fine = (half * float(np.dot(weights, function(middle + half * nodes)))
                    for nodes, weights in _GAUSS.values())
    if abs(fine - coarse) <= 1e-12 * (hi - lo):
        return fine
    return integrate.quad(lambda t: float(function(t)), lo, hi, limit=200)[0]


def smallest_beds(offered_load: float, target_blocking: float) -> int:
    """Smallest number of servers whose Erlang B blocking is at most a target.

    Erlang B decreases in c, so the recursion is run upward until it reaches
    the target: O(c) in all.

    Parameters
    ----------
    offered_load : float
        Offered load a, in erlangs.
    target_blocking : float
        Target blocking probability, in (0, 1].

    Returns
    -------
    int
        The smallest c with erlang_b(c, a) <= target_blocking.
    """
    _check_load(0, offered_load)
    if not 0 < target_blocking <= 1:
        raise ValueError(f"the target blocking must be in (0, 1] (got {target_blocking})")
    return next(c for c, blocking in enumerate(_erlang_b_sequence(offered_load)) if blocking <= target_blocking)
