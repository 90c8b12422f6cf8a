"""The results of a run period by period (a run with `periods`): each period's figures over the
replications, with their 95% intervals, as periods.csv, the terminal and the report show them.

The engine sends back each replication's figures per period (sim.engine.periods); here they become
means and intervals, each cut at its metric's bounds like every other interval, plus the cost of the
period's bed-days.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from sim import metrics
from sim.analysis.results import Results
from sim.analysis.stats import summarise
from sim.engine.periods import PERIOD_METRICS, Period, periods
from sim.scenario import Scenario

ALL_STREAMS = "(all)"
"""The scope of a system-wide row (no stream's name can be written so)."""


class PeriodRow(NamedTuple):
    """One metric of one scope in one period, over the replications."""

    period: Period
    capacity: int
    """The beds in force when the period starts."""
    scope: str
    metric: str
    mean: float | None
    ci95_low: float | None
    ci95_high: float | None


NEAR_FULL = 0.95
"""The share of the beds whose reaching `near_full` counts (of the beds in force at the period's start)."""
OFTEN_FULL = 0.05
"""The share of a period's time full from which the period is said to be often full (reports, library)."""


_WITHOUT_COST = [name for name in PERIOD_METRICS if name != "cost"]


def period_metrics(results: Results) -> list[str]:
    """The metrics of each period, in their order: PERIOD_METRICS (the cost only with a cost per bed-day),
    then near_full."""
    return [*(PERIOD_METRICS if results.scenario.cost_per_bed_day is not None else _WITHOUT_COST), "near_full"]


def period_values(results: Results, capacities: Sequence[int]) -> np.ndarray:
    """Replications x scopes (the system, then each stream) x periods x `period_metrics`, the periods' beds
    at their starts being `capacities` (near_full is judged against them, for a stream as for the system)."""
    values = np.stack([rep.periods for rep in results.replications])  # type: ignore[misc]  # a run with periods
    if results.scenario.cost_per_bed_day is None:
        values = values[..., [PERIOD_METRICS.index(name) for name in _WITHOUT_COST]]
    most = values[..., PERIOD_METRICS.index("occupancy_max")]
    near = (most >= NEAR_FULL * np.asarray(capacities, dtype=float) - 1e-9).astype(float)
    return np.concatenate([values, near[..., None]], axis=-1)


def period_capacities(scenario: Scenario) -> list[int]:
    """The beds in force at the start of each period of a scenario with periods."""
    steps = scenario.capacity_steps()
    return [[beds for at, beds in steps if at <= period.from_day][-1]
            for period in periods(scenario, scenario.periods)]  # type: ignore[arg-type]  # it has periods


def period_rows(results: Results) -> list[PeriodRow]:
    """Every period's figures, period by period, the system first and then each stream."""
    scenario = results.scenario
    if not scenario.periods:
        return []
    found = periods(scenario, scenario.periods)
    capacities = period_capacities(scenario)
    values = period_values(results, capacities)
    names = period_metrics(results)
    rows = []
    for p, (period, capacity) in enumerate(zip(found, capacities)):
        for s, scope in enumerate([None, *results.stream_names]):
            for m, metric in enumerate(names):
                stat = summarise(values[:, s, p, m], metrics.bounds(metric, results.most_beds(scope)))
                rows.append(PeriodRow(period, capacity, scope or ALL_STREAMS, metric, stat["mean"],
                                      stat["ci95_low"], stat["ci95_high"]))
    return rows
