"""The measured window cut into calendar periods (months, quarters or years), and what a replication
records at their edges.

A dated question ("how full will the centres be each month until 2027?") needs the window's figures
period by period. A replication takes a snapshot of its running totals at each edge (a handful of
events a year, whatever the number of arrivals) and sends back, per period, the figures of
`PERIOD_METRICS`: the occupancy from the time spent at each level in the period (exact time-weighted
mean, 95th percentile and maximum), the share of the period full, and the counts of the period. The
periods of a window add up to it: counts sum to the window's, occupancy means weighted by the periods'
lengths give the window's mean.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, NamedTuple

import numpy as np

from sim.metrics import OUTCOMES
from sim.scenario import Scenario

PeriodKind = Literal["month", "quarter", "year"]
MONTHS_PER: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}
YEAR_DAYS = 365.25
STUB_DAYS = 1.0
"""A part of a period shorter than this at either end of the window is counted with its neighbour: a
window of '1 year' from 1 January is four quarters, not four and a quarter of a day."""

PERIOD_METRICS = ("occupancy_mean", "occupancy_p95", "occupancy_max", "probability_full",
                  "detention_requests", "admitted", "turned_away", *OUTCOMES, "bed_days", "cost")
"""What each period holds, per scope (the system, then each stream), named as in sim.metrics; the cost is
NaN without a cost per bed-day."""
_COUNTS = ("detention_requests", "admitted", "turned_away", *OUTCOMES)


class Period(NamedTuple):
    """A period of the measured window: days since day 0, its label, and its dates when the scenario
    has a `start` (`until` is the first day after it)."""

    from_day: float
    until_day: float
    label: str
    from_date: dt.date | None
    until_date: dt.date | None


def periods(scenario: Scenario, kind: PeriodKind) -> list[Period]:
    """The periods of the measured window. With `start`, calendar ones (a first and last period may be
    parts of theirs: July 2025 from the 15th); without, the window cut from its start into twelfths,
    quarters of a year or years of 365.25 days each, numbered from 1. See STUB_DAYS for the window's ends."""
    window_start, end = scenario.warmup, scenario.end_day
    months = MONTHS_PER[kind]
    start = scenario.start
    edges: list[tuple[float, str, dt.date | None]] = []
    if start is None:
        step = YEAR_DAYS * months / 12
        count = 0
        while window_start + count * step < end:
            edges.append((window_start + count * step, f"{kind} {count + 1}", None))
            count += 1
    else:
        first = start + dt.timedelta(days=int(window_start))
        date = dt.date(first.year, first.month - (first.month - 1) % months, 1)
        while (date - start).days < end:
            edges.append((max(float((date - start).days), window_start), _label(date, kind), date))
            date = _months_later(date, months)
    if len(edges) > 1 and edges[1][0] - window_start < STUB_DAYS:  # the window starts at a period's very end
        edges = [(window_start, *edges[1][1:])] + edges[2:]
    if len(edges) > 1 and end - edges[-1][0] < STUB_DAYS:  # ... or ends just after one starts ('1 year')
        edges = edges[:-1]
    bounds = [at for at, _, _ in edges[1:]] + [end]
    return [Period(at, until, label, _date(start, at), _date(start, until))
            for (at, label, _), until in zip(edges, bounds)]


def _label(date: dt.date, kind: PeriodKind) -> str:
    if kind == "month":
        return f"{date.year}-{date.month:02d}"
    if kind == "quarter":
        return f"{date.year}-Q{(date.month - 1) // 3 + 1}"
    return str(date.year)


def _months_later(date: dt.date, months: int) -> dt.date:
    index = date.year * 12 + date.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _date(start: dt.date | None, day: float) -> dt.date | None:
    return None if start is None else start + dt.timedelta(days=day)


class Snapshot(NamedTuple):
    """One scope's running totals at a period's edge, since the window opened."""

    time_at: np.ndarray
    """Time at each occupancy level."""
    time_full: float
    counts: tuple[int, ...]
    """The running counts of `_COUNTS`."""


class PeriodBook:
    """Snapshots of one replication at edges of its measured window: its start, its end, and inside it the
    edges of its periods (results by period) and the days its cost per bed-day changes (the cost of the
    bed-days, piece by piece)."""

    def __init__(self, window: tuple[float, float], periods: list[Period], costs: list[tuple[float, float]]):
        self.window = window
        self.periods = periods
        self.costs = costs
        """(day, cost per bed-day from then on), from day 0 (`Scenario.cost_steps`); none without a cost."""
        inside = {period.from_day for period in periods[1:]}
        inside |= {day for day, _ in costs if window[0] < day < window[1]}
        self.edges = sorted(inside)
        """The days inside the window at which a snapshot is taken (the replication's calendar wakes it)."""
        self.snapshots: dict[float, list[Snapshot]] = {}
        """At each edge, the window's start and its end: a Snapshot of the system, then of each stream."""

    def take(self, now: float, occupancy, streams, constrained: bool) -> None:
        """The running totals at `now` of the system (its OccupancyMonitor) and of each StreamState; a stream's
        time full is its time blocked where reserved beds or caps split the beds, else the system's."""
        time_at, time_full = occupancy.totals_at(now)
        counts = [counts_of(state.counts, state.ended) for state in streams]
        edge = [Snapshot(time_at, time_full, tuple(map(sum, zip(*counts))))]
        for state, stream_counts in zip(streams, counts):
            edge.append(Snapshot(state.occupancy.totals_at(now)[0], state.time_blocked if constrained else time_full,
                                 stream_counts))
        self.snapshots[now] = edge

    def figures(self) -> np.ndarray:
        """Scopes (the system, then each stream) x periods x PERIOD_METRICS."""
        at = self.snapshots
        scopes = range(len(at[self.window[0]]))
        return np.array([[[*period_figures(at[period.from_day][scope], at[period.until_day][scope],
                                           period.until_day - period.from_day),
                           self.cost(scope, period.from_day, period.until_day)]
                          for period in self.periods] for scope in scopes])

    def cost(self, scope: int, start: float, end: float) -> float:
        """The cost of one scope's bed-days from `start` to `end` (edges), each piece at the cost in force
        then; NaN without a cost per bed-day."""
        if not self.costs:
            return float("nan")
        edges = [start, *(day for day in self.edges if start < day < end), end]
        total = 0.0
        for before, after in zip(edges, edges[1:]):
            in_force = [cost for day, cost in self.costs if day <= before][-1]
            total += in_force * _bed_days(_time_at(self.snapshots[before][scope], self.snapshots[after][scope]))
        return total


def _time_at(before: Snapshot, after: Snapshot) -> np.ndarray:
    """The time at each occupancy level between two snapshots."""
    return np.maximum(after.time_at - before.time_at, 0.0)  # a difference of sums: rounding may dip below 0


def _bed_days(time_at: np.ndarray) -> float:
    levels = np.arange(len(time_at), dtype=float)  # float @ float: a BLAS dot, not a slow mixed one
    return float(levels @ time_at)


def period_figures(before: Snapshot, after: Snapshot, length: float) -> np.ndarray:
    """The PERIOD_METRICS of one scope between two snapshots `length` days apart."""
    time_at = _time_at(before, after)
    total = time_at.sum()
    bed_days = _bed_days(time_at)
    if total > 0:
        cumulative = np.cumsum(time_at) / total
        p95 = float(np.searchsorted(cumulative, 0.95 - 1e-12))
        most = float(np.flatnonzero(time_at > 0)[-1])
        mean = bed_days / total
        full = min(max(after.time_full - before.time_full, 0.0), length) / length
    else:
        mean = p95 = most = full = float("nan")
    counts = [b - a for a, b in zip(before.counts, after.counts)]
    return np.array([mean, p95, most, full, *counts, bed_days], dtype=float)  # the cost: PeriodBook.cost


def counts_of(counts, ended: list[int]) -> tuple[int, ...]:
    """The running counts of `_COUNTS` from a stream's Counts and its stays ended per fate."""
    by_outcome = [sum(ended[k::len(OUTCOMES)]) for k in range(len(OUTCOMES))]
    return (counts.arrivals - counts.screened_out, counts.admitted, counts.turned_away, *by_outcome)
