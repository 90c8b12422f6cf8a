"""Compare policies: ALT - BASE on paired replications.

Run with the same seeds as every other variant, so that replication r of every
variant sees the same people with the same fates (common random numbers):
differences between variants are measured on paired replications.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.analysis.results import Results
from sim.analysis.stats import half_width
from sim.execution.runner import run_many
from sim.scenario import Scenario


@dataclass
class Difference:
    """ALT - BASE for one metric over paired replications."""

    scenario: str
    metric: str  # "occupancy_mean" or "<stream>.occupancy_mean"
    base_mean: float
    alt_mean: float
    difference: float
    ci95_low: float
    ci95_high: float

    @property
    def significant(self) -> bool:
        """The interval excludes zero (never so without an interval: a single replication)."""
        return self.ci95_low > 0 or self.ci95_high < 0


@dataclass
class Comparison:
    base: Results
    alternatives: list[Results]
    differences: list[Difference]
    notes: list[str] = field(default_factory=list)


def paired_difference(base: Sequence[float], alt: Sequence[float]) -> tuple[float, float, float]:
    """Mean of alt - base over the replications where both are defined, and its
    paired-t 95% interval (zero width when every difference is the same)."""
    pairs = np.array([(a - b) for a, b in zip(alt, base) if not (math.isnan(a) or math.isnan(b))])
    if pairs.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(pairs.mean())
    if pairs.size < 2:
        return mean, math.nan, math.nan
    half = half_width(pairs) if pairs.std() > 0 else 0.0
    return mean, mean - half, mean + half


def defined_mean(values: Sequence[float]) -> float:
    """The mean over the replications where a metric is defined (NaN when it never is)."""
    defined = [v for v in values if not math.isnan(v)]
    return float(np.mean(defined)) if defined else math.nan


def compare(base: Scenario, alternatives: Sequence[Scenario], *, replications: int | None = None,
            seed: int | None = None, jobs: int = 1, scheduler: str | None = None) -> Comparison:
    """Run BASE and every ALT with common random numbers and pair their replications."""
    runs = run_many([base, *alternatives], replications=replications, seed=seed, jobs=jobs, scheduler=scheduler)
    base_results, alt_results = runs[0], runs[1:]
    differences, notes = [], []
    for alt in alt_results:
        shared = [name for name in alt.stream_names if name in base_results.stream_names]
        if not shared:
            notes.append(f"{alt.scenario.name} shares no stream name with {base.name}: "
                         "compared on the system-wide metrics only")
        elif len(shared) < max(len(alt.stream_names), len(base_results.stream_names)):
            unshared = sorted(set(alt.stream_names) ^ set(base_results.stream_names))
            notes.append(f"{alt.scenario.name}: streams not in both scenarios are left out of the per-stream "
                         f"comparison: {', '.join(unshared)}")
        columns: list[tuple[str, str | None]] = [(metric, None) for metric in base_results.metric_names]
        columns += [(metric, stream) for stream in shared for metric in base_results.metric_names]
        for metric, stream in columns:
            if metric not in alt.metric_names:
                continue
            base_values, alt_values = base_results.values(metric, stream), alt.values(metric, stream)
            difference, low, high = paired_difference(base_values, alt_values)
            label = metric if stream is None else f"{stream}.{metric}"
            differences.append(Difference(alt.scenario.name, label, defined_mean(base_values), defined_mean(alt_values),
                                          difference, low, high))
    return Comparison(base_results, alt_results, differences, notes)
