"""Monitors of one replication: time-weighted occupancy and lengths of stay.

Occupancy is kept as the time spent at each level (a histogram updated once
per change), which gives exact time-weighted means and percentiles and the
share of time full, in memory that does not grow with the number of arrivals.
Lengths of stay go into log-spaced bins for the same reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

OCCUPANCY_QUANTILES = {"occupancy_p50": 0.50, "occupancy_p90": 0.90, "occupancy_p95": 0.95, "occupancy_p99": 0.99}


STAY_RESOLUTION_DAYS = 1 / 24


STAY_RELATIVE_RESOLUTION = 1e-3
"""Length-of-stay bins are an hour wide for short stays and 0.1% of the stay for
long ones (log-spaced), so percentiles are exact to max(1 hour, 0.1%) whatever
the maximum detention."""


_STAY_LOG_STEP = math.log1p(STAY_RELATIVE_RESOLUTION)


class OccupancyMonitor:
    """Time spent at each occupancy level over an observation window.

    `change` is called at every change of the level (the hot path: three
    statements); `reset` starts the window (end of warm-up) and `close` ends it.
    Time at or above `limit` (the capacity in force) counts as time full; the
    limit may change, and the time full is then summed segment by segment.
    """

    __slots__ = ("time_at", "level", "last", "limit", "full_before", "full_at_segment_start")

    def __init__(self, levels: int, limit: float = math.inf):
        self.time_at = [0.0] * (levels + 1)
        self.level = 0
        self.last = 0.0
        self.limit = limit
        self.full_before = 0.0  # time full in earlier segments of the limit
        self.full_at_segment_start = 0.0

    def change(self, now: float, level: int) -> None:
        self.time_at[self.level] += now - self.last
        self.last = now
        self.level = level

    def _time_at_or_above(self, limit: float) -> float:
        return math.fsum(self.time_at[int(limit):]) if limit < len(self.time_at) else 0.0

    def set_limit(self, now: float, limit: float) -> None:
        self.change(now, self.level)
        self.full_before += self._time_at_or_above(self.limit) - self.full_at_segment_start
        self.limit = limit
        self.full_at_segment_start = self._time_at_or_above(limit)

    def reset(self, now: float) -> None:
        self.time_at = [0.0] * len(self.time_at)
        self.full_before = self.full_at_segment_start = 0.0
        self.last = now

    def close(self, now: float) -> None:
        self.change(now, self.level)

    def time_full(self) -> float:
        return self.full_before + self._time_at_or_above(self.limit) - self.full_at_segment_start

    def totals_at(self, now: float) -> tuple[np.ndarray, float]:
        """The time at each level and the time full up to `now`, leaving the monitor as it is (a period's
        edge between two changes must not split an interval: the window's sums keep their bytes)."""
        time_at = np.asarray(self.time_at)
        time_at[self.level] += now - self.last
        return time_at, self.time_full() + (now - self.last if self.level >= self.limit else 0.0)

    def metrics(self) -> dict[str, float]:
        """occupancy_mean, _p50 ... _p99, _max (time-weighted), bed_days and probability_full."""
        time_at = np.asarray(self.time_at)
        total = time_at.sum()
        levels = np.arange(len(time_at))
        bed_days = float(levels @ time_at)
        if total <= 0:
            return {"bed_days": 0.0, "occupancy_mean": float(self.level), "occupancy_max": float(self.level),
                    "probability_full": float(self.level >= self.limit)} \
                | {name: float(self.level) for name in OCCUPANCY_QUANTILES}
        result = {"bed_days": bed_days, "occupancy_max": float(np.flatnonzero(time_at > 0)[-1])}
        cumulative = np.cumsum(time_at) / total
        result["occupancy_mean"] = bed_days / total
        # the time full is a difference of sums: rounding may put it a hair outside [0, total]
        result["probability_full"] = min(max(self.time_full(), 0.0), total) / total
        for name, q in OCCUPANCY_QUANTILES.items():
            result[name] = float(np.searchsorted(cumulative, q - 1e-12))
        return result


def share_of_window(time: float, span: float) -> float:
    """A time within a window of `span` days as a share of it: a sum of intervals within the window, so only
    rounding can take it past the span (NaN for an empty window)."""
    return min(time, span) / span if span > 0 else math.nan


def stay_bins(days: np.ndarray) -> np.ndarray:
    """The StayHistogram bin of each stay (vectorised: the model bins a batch at once)."""
    return (np.log1p(days / STAY_RESOLUTION_DAYS * STAY_RELATIVE_RESOLUTION) / _STAY_LOG_STEP).astype(np.int64)


def _stay_bin_start(b: float) -> float:
    return math.expm1(b * _STAY_LOG_STEP) * STAY_RESOLUTION_DAYS / STAY_RELATIVE_RESOLUTION


class StayHistogram:
    """Lengths of stay in log-spaced bins (see STAY_RELATIVE_RESOLUTION), with their exact sum."""

    __slots__ = ("counts", "total", "n", "longest")

    def __init__(self, longest_days: float):
        self.counts = [0] * (int(stay_bins(np.array([longest_days]))[0]) + 2)
        self.total = 0.0
        self.n = 0
        self.longest = 0.0

    def add(self, days: float, bin: int) -> None:
        """Count a stay of `days` in `bin` (= stay_bins of it)."""
        self.counts[bin] += 1
        self.total += days
        self.n += 1
        if days > self.longest:
            self.longest = days

    def reset(self) -> None:
        self.counts = [0] * len(self.counts)
        self.total = 0.0
        self.n = 0
        self.longest = 0.0

    def occupied_bins(self) -> np.ndarray:
        """The occupied bins as rows (bin, count): what a replication sends back.
        A compact array, not a dict, as a thousand replications are held at once."""
        counts = np.asarray(self.counts, dtype=np.int64)
        occupied = np.flatnonzero(counts)
        return np.stack([occupied, counts[occupied]], axis=1)

    def merged(self, others: Sequence[StayHistogram]) -> StayHistogram:
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
            # interpolating inside the last bin must not pass the longest stay seen
            "los_p50_days": min(self.quantile(0.5), self.longest),
            "los_p90_days": min(self.quantile(0.9), self.longest),
            "los_max_days": self.longest if self.n else math.nan,
        }
