"""How many replications are enough: the replications algorithm of Hoad,
Robinson and Davies (2010) on the headline metrics' 95% half-widths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sim.analysis.stats import half_width

PRECISION_METRICS = ("occupancy_mean", "probability_full", "blocking_probability", "return_rate")


ABSOLUTE_FLOORS = {"occupancy_mean": 0.5, "probability_full": 0.002, "blocking_probability": 0.002,
                   "return_rate": 0.005}
"""Half-widths below these are precise enough whatever the mean (metrics near zero)."""


@dataclass(frozen=True)
class Stopping:
    """Why a precision-driven run stopped where it did."""

    precision: float
    replications: int
    reached: bool
    reason: str


def half_width_ok(values: Sequence[float], metric: str, precision: float) -> bool:
    """Is the 95% half-width of `values` at most precision x |mean| (or the metric's floor)?"""
    defined = [v for v in values if not math.isnan(v)]
    if not defined:
        return True  # never defined (e.g. no stay ended): nothing to be precise about
    if len(defined) < 3:
        return False
    return half_width(defined) <= max(precision * abs(float(np.mean(defined))), ABSOLUTE_FLOORS.get(metric, 0.0))


def replications_needed(series: Mapping[str, Sequence[float]], precision: float, k_limit: int = 5,
                        minimum: int = 3) -> int | None:
    """The replication algorithm of Hoad, Robinson and Davies (2010), with look-ahead.

    ``series[m][r]`` is metric m in replication r. The answer is the smallest n
    such that every metric meets the precision with n replications *and keeps
    meeting it* for the next f(n) replications, f(n) = k_limit for n <= 100 and
    k_limit * n / 100 above; None if the series are too short to tell.
    """
    available = min(len(values) for values in series.values())
    n = minimum
    while n <= available:
        if all(half_width_ok(values[:n], metric, precision) for metric, values in series.items()):
            look_ahead = k_limit if n <= 100 else math.ceil(k_limit * n / 100)
            if n + look_ahead > available:
                return None
            if all(
                all(half_width_ok(values[:m], metric, precision) for metric, values in series.items())
                for m in range(n + 1, n + look_ahead + 1)
            ):
                return n
        n += 1
    return None
