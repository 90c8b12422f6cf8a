"""Statistics: time-weighted occupancy, lengths of stay, and summaries over replications.

Occupancy is kept as the time spent at each level (a histogram updated once
per change), which gives exact time-weighted means and percentiles and the
share of time full, in memory that does not grow with the number of arrivals.
Lengths of stay go into fixed-width bins for the same reason. Across
replications, every metric is summarised by its mean and a Student-t interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats

OCCUPANCY_QUANTILES = {"occupancy_p50": 0.50, "occupancy_p90": 0.90, "occupancy_p95": 0.95, "occupancy_p99": 0.99}
STAY_RESOLUTION_DAYS = 1 / 24
STAY_RELATIVE_RESOLUTION = 1e-3
"""Length-of-stay bins are an hour wide for short stays and 0.1% of the stay for
long ones (log-spaced), so percentiles are exact to max(1 hour, 0.1%) whatever
the maximum detention."""
_STAY_LOG_STEP = math.log1p(STAY_RELATIVE_RESOLUTION)


class OccupancyMonitor:
    """Time spent at each occupancy level over an observation window.

    `change` is called at every change of the level; `reset` starts the window
    (end of warm-up) and `close` ends it. Time with the level at or above
    `limit` counts as time full.
    """

    __slots__ = ("time_at", "level", "last", "peak", "limit", "time_full")

    def __init__(self, levels: int, limit: float = math.inf):
        self.time_at = [0.0] * (levels + 1)
        self.level = 0
        self.last = 0.0
        self.peak = 0
        self.limit = limit
        self.time_full = 0.0

    def change(self, now: float, level: int) -> None:
        elapsed = now - self.last
        self.time_at[self.level] += elapsed
        if self.level >= self.limit:
            self.time_full += elapsed
        self.last = now
        self.level = level
        if level > self.peak:
            self.peak = level

    def set_limit(self, now: float, limit: float) -> None:
        self.change(now, self.level)
        self.limit = limit

    def reset(self, now: float) -> None:
        self.time_at = [0.0] * len(self.time_at)
        self.time_full = 0.0
        self.last = now
        self.peak = self.level

    def close(self, now: float) -> None:
        self.change(now, self.level)

    def metrics(self) -> dict[str, float]:
        """occupancy_mean, _p50 ... _p99, _max, bed_days and probability_full."""
        time_at = np.asarray(self.time_at)
        total = time_at.sum()
        levels = np.arange(len(time_at))
        bed_days = float(levels @ time_at)
        result = {"bed_days": bed_days, "occupancy_max": float(self.peak)}
        if total <= 0:
            return result | {"occupancy_mean": float(self.level), "probability_full": float(self.level >= self.limit)} \
                | {name: float(self.level) for name in OCCUPANCY_QUANTILES}
        cumulative = np.cumsum(time_at) / total
        result["occupancy_mean"] = bed_days / total
        result["probability_full"] = self.time_full / total
        for name, q in OCCUPANCY_QUANTILES.items():
            result[name] = float(np.searchsorted(cumulative, q - 1e-12))
        return result


def _stay_bin(days: float) -> int:
    return int(math.log1p(days / STAY_RESOLUTION_DAYS * STAY_RELATIVE_RESOLUTION) / _STAY_LOG_STEP)


def _stay_bin_start(b: float) -> float:
    return math.expm1(b * _STAY_LOG_STEP) * STAY_RESOLUTION_DAYS / STAY_RELATIVE_RESOLUTION


class StayHistogram:
    """Lengths of stay in log-spaced bins (see STAY_RELATIVE_RESOLUTION), with their exact sum."""

    __slots__ = ("counts", "total", "n", "longest")

    def __init__(self, longest_days: float):
        self.counts = [0] * (_stay_bin(longest_days) + 2)
        self.total = 0.0
        self.n = 0
        self.longest = 0.0

    def add(self, days: float) -> None:
        self.counts[_stay_bin(days)] += 1
        self.total += days
        self.n += 1
        if days > self.longest:
            self.longest = days

    def reset(self) -> None:
        self.counts = [0] * len(self.counts)
        self.total = 0.0
        self.n = 0
        self.longest = 0.0

    def merged(self, others: Sequence["StayHistogram"]) -> "StayHistogram":
        longest = max(len(h.counts) for h in [self, *others])
        merged = StayHistogram(0)
        counts = np.zeros(longest, dtype=np.int64)
        for h in [self, *others]:
            counts[: len(h.counts)] += h.counts
            merged.total += h.total
            merged.n += h.n
            merged.longest = max(merged.longest, h.longest)
        merged.counts = counts.tolist()
        return merged

    def quantile(self, q: float) -> float:
        """The q-quantile, interpolated within its bin."""
        if self.n == 0:
            return math.nan
        cumulative = np.cumsum(self.counts)
        rank = q * self.n
        b = int(np.searchsorted(cumulative, rank))
        before = cumulative[b - 1] if b > 0 else 0
        inside = self.counts[b]
        fraction = (rank - before) / inside if inside else 0.0
        return _stay_bin_start(b + fraction)

    def metrics(self) -> dict[str, float]:
        return {
            "los_mean_days": self.total / self.n if self.n else math.nan,
            "los_p50_days": self.quantile(0.5),
            "los_p90_days": self.quantile(0.9),
            "los_max_days": self.longest if self.n else math.nan,
        }


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when there is nothing to divide."""
    return numerator / denominator if denominator else math.nan


def summarise(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, sd, 95% Student-t interval, min and max over replications.

    Replications where a metric is undefined (NaN, e.g. a return rate with no
    ended stay) are left out; with fewer than two values the spread is None.
    """
    data = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if data.size == 0:
        return {"mean": None, "sd": None, "ci95_low": None, "ci95_high": None, "min": None, "max": None}
    mean = float(data.mean())
    result = {"mean": mean, "min": float(data.min()), "max": float(data.max())}
    if data.size < 2:
        return result | {"sd": None, "ci95_low": None, "ci95_high": None}
    sd = float(data.std(ddof=1))
    half = float(scipy_stats.t.ppf(0.975, data.size - 1)) * sd / math.sqrt(data.size)
    return result | {"sd": sd, "ci95_low": mean - half, "ci95_high": mean + half}


def confidence_interval(values: Sequence[float], level: float) -> tuple[float, float]:
    """Student-t interval of the mean at `level` (e.g. 0.99), NaNs left out."""
    data = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    mean = data.mean()
    half = scipy_stats.t.ppf(0.5 + level / 2, data.size - 1) * data.std(ddof=1) / math.sqrt(data.size)
    return float(mean - half), float(mean + half)


def daily_quantiles(daily: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and 5/50/95th percentiles across replications (rows) for each day (columns)."""
    return {
        "occupancy_mean": daily.mean(axis=0),
        "occupancy_p05": np.percentile(daily, 5, axis=0),
        "occupancy_p50": np.percentile(daily, 50, axis=0),
        "occupancy_p95": np.percentile(daily, 95, axis=0),
    }
