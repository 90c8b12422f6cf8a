"""Size the beds: the smallest number at which every target holds with 95% confidence.

Run with the same seeds as every other variant, so that replication r of every
variant sees the same people with the same fates (common random numbers):
differences between variants are measured on paired replications.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.analysis.results import Results
from sim.analysis.stats import confidence_interval
from sim.execution.lanes import executor_for
from sim.execution.runner import run_many
from sim.metrics import NAMES as METRIC_NAMES
from sim.scenario import Scenario, scenario_from_data

_TARGET = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(<=|>=)\s*([0-9.eE+-]+)\s*$")


@dataclass(frozen=True)
class Target:
    """A metric bound such as probability_full<=0.05 (a stream's metric as stream.metric)."""

    metric: str
    comparison: str  # "<=" or ">="
    bound: float

    @classmethod
    def parse(cls, text: str) -> Target:
        match = _TARGET.match(text)
        if not match:
            raise ValueError(f"a target looks like probability_full<=0.05 (got {text!r})")
        return cls(match.group(1), match.group(2), float(match.group(3)))

    @classmethod
    def parse_for(cls, text: str, scenario: Scenario) -> Target:
        """A target of `scenario`: its metric must be one capsim reports, its stream one of the scenario's.

        Raises
        ------
        ValueError
            Saying what is wrong (the command line shows it as a usage error).
        """
        target = cls.parse(text)
        stream, _, metric = target.metric.rpartition(".")
        if metric not in METRIC_NAMES or (stream and stream not in {s.name for s in scenario.streams}):
            raise ValueError(f"unknown metric in --target {target} (metrics: {', '.join(METRIC_NAMES)})")
        return target

    def values(self, results: Results) -> list[float]:
        stream, _, metric = self.metric.rpartition(".")
        return results.values(metric, stream or None)

    def met_with_confidence(self, results: Results) -> bool:
        """The whole 95% interval is on the right side of the bound."""
        values = [v for v in self.values(results) if not math.isnan(v)]
        if not values:
            return False
        low, high = confidence_interval(values, 0.95) if np.std(values) > 0 else (values[0], values[0])
        return high <= self.bound if self.comparison == "<=" else low >= self.bound

    def __str__(self) -> str:
        return f"{self.metric}{self.comparison}{self.bound:g}"


@dataclass
class SizeTrial:
    beds: int
    results: Results
    good: bool


@dataclass
class Sizing:
    targets: list[Target]
    trials: dict[int, SizeTrial]
    answer: int | None
    analytic_start: int | None
    reason: str


def with_beds(scenario: Scenario, beds: int) -> Scenario:
    """The scenario with `beds` beds at day 0; later capacity changes keep their
    size (each moves by the same number of beds, never below zero)."""
    data = scenario.normalised()
    shift = beds - scenario.capacity.beds
    data["capacity"]["beds"] = beds
    for change in data["capacity"]["changes"]:
        change["beds"] = max(0, change["beds"] + shift)
    data["name"] = f"{scenario.name}-beds-{beds}"
    return scenario_from_data(data, f"{scenario.name} with {beds} beds")


def size(scenario: Scenario, targets: Sequence[Target], *, min_beds: int = 1, max_beds: int | None = None,
         replications: int | None = None, seed: int | None = None, jobs: int = 1,
         scheduler: str | None = None) -> Sizing:
    """The smallest number of beds at which every target holds with 95% confidence.

    Starts from Erlang B where the theory covers the scenario and a target is
    on blocking or the time full (the same in a loss system, by PASTA), then
    brackets and bisects on beds; every count runs with the same seeds, so
    neighbouring counts differ only by the beds. Assumes the targets become
    easier as beds are added.
    """
    with executor_for(jobs, scheduler) as workers:
        return _search_beds(scenario, list(targets), min_beds, max_beds, replications, seed, workers)


def _search_beds(scenario, targets, min_beds, max_beds, replications, seed, workers) -> Sizing:
    # imported here: SciPy takes a second to import, and `import sim` should not pay it (worker processes)
    from sim.analysis.queueing import smallest_beds
    from sim.analysis.theory import analytic_check

    trials: dict[int, SizeTrial] = {}

    def good(beds: int) -> bool:
        if beds not in trials:
            [results] = run_many([with_beds(scenario, beds)], replications=replications, seed=seed,
                                 executor=workers)
            trials[beds] = SizeTrial(beds, results, all(t.met_with_confidence(results) for t in targets))
        return trials[beds].good

    analytic = analytic_check(scenario)
    start = None
    blocking_targets = [t.bound for t in targets
                        if t.metric in ("blocking_probability", "probability_full") and t.comparison == "<="]
    if analytic.covered and analytic.offered_load is not None and blocking_targets:
        start = max(min_beds, smallest_beds(analytic.offered_load, min(blocking_targets)))
    if max_beds is None:
        load = analytic.offered_load or scenario.capacity.beds
        max_beds = max(4 * scenario.capacity.beds, 4 * math.ceil(load), min_beds + 1, (start or 0) * 2)

    # Bracket: the largest known-bad count below the smallest known-good count.
    if start is not None and start <= max_beds:
        low, high, step = start, start, 1
        if good(start):
            while low > min_beds and good(low):
                high = low
                low = max(min_beds, high - step)
                step *= 2
            if good(low):  # even the minimum meets the targets
                return Sizing(list(targets), trials, low, start, f"the targets hold already at {low} beds")
        else:
            while not good(high):
                low = high
                if high >= max_beds:
                    return Sizing(list(targets), trials, None, start,
                                  f"the targets do not hold even at {max_beds} beds (raise --max-beds)")
                high = min(max_beds, high + step)
                step *= 2
    else:
        low, high = min_beds, max_beds
        if not good(high):
            return Sizing(list(targets), trials, None, start,
                          f"the targets do not hold even at {max_beds} beds (raise --max-beds)")
        if good(low):
            return Sizing(list(targets), trials, low, start, f"the targets hold already at {low} beds")
    while high - low > 1:  # invariant: low is bad, high is good
        middle = (low + high) // 2
        if good(middle):
            high = middle
        else:
            low = middle
    return Sizing(list(targets), trials, high, start,
                  f"{high} beds meet every target with 95% confidence; {high - 1} do not")
