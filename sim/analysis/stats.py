"""Statistics over replications: means, Student-t intervals, daily quantiles,
pooled lengths of stay, and the warm-up truncation rules (MSER-5, Welch).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.engine.monitors import StayHistogram

Values = Sequence[float] | np.ndarray
"""Values over replications: a list or a numpy array."""


def pooled_stay_quantiles(bins: list[np.ndarray], quantiles: Sequence[float]) -> list[float]:
    """Quantiles (days) of all stays pooled over replications, from their
    (bin, count) rows (`StayHistogram.occupied_bins`)."""
    pooled = StayHistogram(0)
    rows = np.concatenate(bins) if bins else np.zeros((0, 2), dtype=np.int64)
    counts = np.bincount(rows[:, 0], weights=rows[:, 1]).astype(np.int64)
    pooled.counts = counts.tolist()
    pooled.n = int(counts.sum())
    return [pooled.quantile(q) for q in quantiles]


Bounds = tuple[float, float]
"""The values a metric can take (`sim.metrics.bounds`); an interval keeps within them."""
UNBOUNDED: Bounds = (-math.inf, math.inf)

INTERVAL_METHOD = ("the Student-t interval of the mean over the replications, cut at the bounds of the metric "
                   "(a count, a duration or a cost is at least 0, a share at most 1, the beds in use at most "
                   "the beds there are): the mean lies within them, so the cut never leaves it out")
"""How every interval of a metric's mean is computed, in the words the reports and the README use."""


def summarise(values: Values, bounds: Bounds = UNBOUNDED) -> dict[str, float | None]:
    """Mean, sd, 95% interval (`confidence_interval`), min and max over replications.

    Replications where a metric is undefined (NaN, e.g. a return rate with no
    ended stay) are left out; with fewer than two values the spread is None.
    """
    data = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if data.size == 0:
        return {"mean": None, "sd": None, "ci95_low": None, "ci95_high": None, "min": None, "max": None}
    result: dict[str, float | None] = {"mean": float(data.mean()), "min": float(data.min()), "max": float(data.max())}
    if data.size < 2:
        return result | {"sd": None, "ci95_low": None, "ci95_high": None}
    low, high = confidence_interval(data, 0.95, bounds)
    return result | {"sd": float(data.std(ddof=1)), "ci95_low": low, "ci95_high": high}


def half_width(values: Values, level: float = 0.95) -> float:
    """Half-width of the Student-t interval of the mean at `level`, NaNs left out."""
    from scipy.special import stdtrit  # imported here: scipy is slow to import in every worker

    data = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if data.size < 2:
        return math.nan  # no spread to measure (and no numpy warning about it)
    return float(stdtrit(data.size - 1, 0.5 + level / 2) * data.std(ddof=1) / math.sqrt(data.size))


def confidence_interval(values: Values, level: float, bounds: Bounds = UNBOUNDED) -> tuple[float, float]:
    """Student-t interval of the mean at `level` (e.g. 0.99), NaNs left out, cut at
    `bounds` (INTERVAL_METHOD); (NaN, NaN) with fewer than two defined values.

    The mean of a metric that cannot leave [low, high] lies within it, so an
    interval cut there covers it whenever the uncut one does: the same coverage,
    and no negative count or share above 1 for a planner to read."""
    data = [v for v in values if not math.isnan(v)]
    mean = float(np.mean(data)) if data else math.nan
    half = half_width(data, level)
    if math.isnan(half):
        return math.nan, math.nan
    return max(mean - half, bounds[0]), min(mean + half, bounds[1])


def daily_quantiles(daily: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and 5/50/95th percentiles across replications (rows) for each day (columns)."""
    return {
        "occupancy_mean": daily.mean(axis=0),
        "occupancy_p05": np.percentile(daily, 5, axis=0),
        "occupancy_p50": np.percentile(daily, 50, axis=0),
        "occupancy_p95": np.percentile(daily, 95, axis=0),
    }


def mser5(series: Sequence[float]) -> int:
    """MSER-5 truncation point (White 1997): the number of initial observations to drop.

    The series is averaged in batches of 5; the truncation d (in batches, at
    most half of them) minimises the marginal standard error
    sum_{i>=d} (Y_i - mean_d)^2 / (k - d)^2.
    """
    values = np.asarray(series, dtype=float)
    k = len(values) // 5
    if k < 2:
        return 0
    batches = values[: 5 * k].reshape(k, 5).mean(axis=1)
    best_d, best = 0, math.inf
    for d in range(k // 2 + 1):
        rest = batches[d:]
        score = float(((rest - rest.mean()) ** 2).sum()) / (k - d) ** 2
        if score < best:
            best_d, best = d, score
    return 5 * best_d


def welch_moving_average(series: Sequence[float], window: int) -> np.ndarray:
    """Welch's moving average: a centred window of 2w+1 points, shrunk near the start."""
    values = np.asarray(series, dtype=float)
    smoothed = np.empty(max(0, len(values) - window))
    for i in range(len(smoothed)):
        half = min(i, window)
        smoothed[i] = values[i - half: i + half + 1].mean()
    return smoothed
