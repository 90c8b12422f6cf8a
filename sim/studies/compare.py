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
    def of_centres(self) -> bool:
        """A centre's (centre.NAME.METRIC) or a group of people's (sex.VALUE.METRIC, ...) difference."""
        return self.metric.count(".") == 2

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


CENTRE_COMPARED = ("occupancy_mean", "probability_full")
"""What a comparison of two runs with centres pairs for each centre they share."""
GROUP_COMPARED = ("share_found_no_place", "occupancy_mean")
"""What it pairs for the people of each sex and category both describe."""


def centre_differences(base: Results, alt: Results) -> list[Difference]:
    """ALT - BASE per centre (`centre.NAME.METRIC`) and per sex and category (`sex.VALUE.METRIC`), over paired
    replications, for the centres and groups both runs have."""
    found = []
    for centre in (name for name in alt.centre_names if name in base.centre_names):
        for metric in CENTRE_COMPARED:
            found.append(_difference(alt.scenario.name, f"centre.{centre}.{metric}",
                                     base.centre_values(centre, metric), alt.centre_values(centre, metric)))
    for dimension, values in alt.group_names.items():
        for value in (v for v in values if v in base.group_names.get(dimension, [])):
            for metric in GROUP_COMPARED:
                found.append(_difference(alt.scenario.name, f"{dimension}.{value}.{metric}",
                                         base.group_values(dimension, value, metric),
                                         alt.group_values(dimension, value, metric)))
    return found


def _difference(scenario: str, label: str, base: Sequence[float], alt: Sequence[float]) -> Difference:
    difference, low, high = paired_difference(base, alt)
    return Difference(scenario, label, defined_mean(base), defined_mean(alt), difference, low, high)


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
            label = metric if stream is None else f"{stream}.{metric}"
            differences.append(_difference(alt.scenario.name, label, base_results.values(metric, stream),
                                           alt.values(metric, stream)))
        differences += centre_differences(base_results, alt)
    return Comparison(base_results, alt_results, differences, notes)
