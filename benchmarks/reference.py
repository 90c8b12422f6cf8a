"""The reference model every implementation of the benchmark simulates, and its oracle.

A loss system: `beds` beds, Poisson arrivals at offered load a = beds (the
arrival rate is a / E[S]), no waiting (whoever finds every bed taken is turned
away). Each admitted person is returned with probability 0.6 after a lognormal
time (mean 60, sd 50 days), released at the 243-day deadline if that time is
longer; the others are released at the deadline. The blocking probability of
such an M/G/c/c system is Erlang B(c, a) whatever the law of the stay beyond
its mean (insensitivity), and the mean occupancy is a (1 - B).

Every implementation simulates the time span T = arrivals / rate (so about
`arrivals` people arrive), drops the first 10% of it (the beds fill up from
empty) and measures blocking and time-weighted occupancy over the rest. Its
blocking gets a 99% interval from its own batch means: the measured window is
cut into equal batches (about 20, none shorter than two maximum stays) and the
half-width is t(0.995, k - 1) x sd(batch blocking) / sqrt(k). An implementation
agrees when Erlang B lies within that half-width of its estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from scipy import integrate, stats

try:  # the project's own oracle, when it has one
    from sim.analysis.queueing import erlang_b as _project_erlang_b
except ImportError:  # pragma: no cover - depends on the state of sim/
    _project_erlang_b = None

BEDS = 751
RETURN_PROBABILITY = 0.6
RETURN_MEAN = 60.0
RETURN_SD = 50.0
MAX_DETENTION = 243.0
ARRIVALS = 200_000
CIW_ARRIVALS = 50_000
WARMUP_SHARE = 0.10
BATCHES = 20
CONFIDENCE = 0.99


def lognormal_parameters(mean: float, sd: float) -> tuple[float, float]:
    """(mu, sigma) of the normal whose exponential has this mean and sd."""
    sigma2 = math.log1p((sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


MU, SIGMA = lognormal_parameters(RETURN_MEAN, RETURN_SD)


def expected_stay(return_probability: float = RETURN_PROBABILITY, mean: float = RETURN_MEAN,
                  sd: float = RETURN_SD, max_detention: float = MAX_DETENTION) -> float:
    """E[S] = integral from 0 to D of (1 - p + p sf_lognormal(t)) dt, by quadrature."""
    mu, sigma = lognormal_parameters(mean, sd)
    law = stats.lognorm(sigma, scale=math.exp(mu))
    value, _ = integrate.quad(lambda t: 1 - return_probability + return_probability * law.sf(t),
                              0.0, max_detention, limit=200)
    return value


def erlang_b_recursion(c: int, offered_load: float) -> float:
    """Erlang B by the stable recursion B(k) = a B(k-1) / (k + a B(k-1)), B(0) = 1
    (stays in [0, 1], never overflows)."""
    blocking = 1.0
    for k in range(1, c + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking


def erlang_b(c: int, offered_load: float) -> float:
    """Erlang B blocking of the M/G/c/c loss system: sim.theory.erlang_b when the
    project has it, else `erlang_b_recursion`."""
    if _project_erlang_b is not None:
        return float(_project_erlang_b(c, offered_load))
    return erlang_b_recursion(c, offered_load)


@dataclass(frozen=True)
class Reference:
    """One instance of the reference model and the run length."""

    beds: int = BEDS
    load_factor: float = 1.0  # offered load a = load_factor x beds
    arrivals: int = ARRIVALS  # expected arrivals over the whole run, warm-up included
    warmup_share: float = WARMUP_SHARE
    return_probability: float = RETURN_PROBABILITY
    return_mean: float = RETURN_MEAN
    return_sd: float = RETURN_SD
    max_detention: float = MAX_DETENTION
    batches: int = BATCHES

    def with_(self, **changes) -> Reference:
        return replace(self, **changes)

    @cached_property
    def mean_stay(self) -> float:
        return expected_stay(self.return_probability, self.return_mean, self.return_sd, self.max_detention)

    @property
    def offered_load(self) -> float:
        return self.load_factor * self.beds

    @property
    def rate(self) -> float:
        """Arrivals per day."""
        return self.offered_load / self.mean_stay

    @property
    def end(self) -> float:
        """T: the simulated days, warm-up included."""
        return self.arrivals / self.rate

    @property
    def warmup(self) -> float:
        return self.warmup_share * self.end

    @property
    def lognormal(self) -> tuple[float, float]:
        return lognormal_parameters(self.return_mean, self.return_sd)

    @property
    def batch_count(self) -> int:
        """About `batches`, but no batch shorter than two maximum stays (nor fewer than 5)."""
        longest = max(1, int((self.end - self.warmup) // (2 * self.max_detention)))
        return max(5, min(self.batches, longest))

    @cached_property
    def erlang_b(self) -> float:
        return erlang_b(self.beds, self.offered_load)

    @property
    def occupancy_theory(self) -> float:
        """Mean occupancy a (1 - B): the carried load."""
        return self.offered_load * (1 - self.erlang_b)

    def stays(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n stays, vectorised: min(lognormal, D) with probability p, else D."""
        mu, sigma = self.lognormal
        returned = rng.random(n) < self.return_probability
        times = np.minimum(rng.lognormal(mu, sigma, n), self.max_detention)
        return np.where(returned, times, self.max_detention)


@dataclass
class Outcome:
    """What one run of an implementation measured."""

    implementation: str
    arrivals: int  # people simulated, warm-up included
    seconds: float = math.nan  # wall time of the run
    blocking: float = math.nan  # over the measured window
    half_width: float = math.nan  # 99% batch-means half-width of `blocking`
    occupancy_mean: float = math.nan  # time-weighted, over the measured window
    batches: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.arrivals / self.seconds if self.seconds > 0 else math.nan

    def agrees(self, expected: float) -> bool:
        return abs(self.blocking - expected) <= self.half_width


def batch_means(blocked: np.ndarray, offered: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Blocking and its batch-means half-width from per-batch counts.

    `blocked[b]` of `offered[b]` arrivals of batch b were turned away. The
    estimate is the ratio of the totals; the half-width is
    t(1 - (1 - confidence)/2, k - 1) x sd(blocked[b]/offered[b]) / sqrt(k).
    """
    blocked = np.asarray(blocked, dtype=float)
    offered = np.asarray(offered, dtype=float)
    k = len(offered)
    estimate = float(blocked.sum() / offered.sum())
    per_batch = blocked / np.maximum(offered, 1)
    quantile = stats.t.ppf(1 - (1 - confidence) / 2, k - 1)
    return estimate, float(quantile * per_batch.std(ddof=1) / math.sqrt(k))


def interval_from_samples(samples, confidence: float = CONFIDENCE) -> float:
    """t half-width of the mean of independent samples (replications)."""
    samples = np.asarray(samples, dtype=float)
    k = len(samples)
    return float(stats.t.ppf(1 - (1 - confidence) / 2, k - 1) * samples.std(ddof=1) / math.sqrt(k))


def batch_of(times: np.ndarray, ref: Reference, batches: int) -> np.ndarray:
    """Batch index (0..batches-1) of each time in the measured window."""
    width = (ref.end - ref.warmup) / batches
    return np.minimum(((np.asarray(times) - ref.warmup) // width).astype(np.int64), batches - 1)


def outcome_from_arrivals(name: str, ref: Reference, arrival_times: np.ndarray, blocked: np.ndarray,
                          area: float, simulated: int, seconds: float = math.nan) -> Outcome:
    """Batch means from the arrival times and blocked flags of a run (any implementation).

    `area` is the integral of the occupancy over the measured window [warmup, end].
    """
    arrival_times = np.asarray(arrival_times, dtype=float)
    blocked = np.asarray(blocked, dtype=bool)
    inside = (arrival_times >= ref.warmup) & (arrival_times < ref.end)
    k = ref.batch_count
    index = batch_of(arrival_times[inside], ref, k)
    offered = np.bincount(index, minlength=k)
    turned_away = np.bincount(index, weights=blocked[inside].astype(float), minlength=k)
    estimate, half_width = batch_means(turned_away, offered)
    return Outcome(name, simulated, seconds, estimate, half_width, area / (ref.end - ref.warmup), k)
