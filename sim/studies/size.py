"""Size the beds: the smallest number at which every target holds with 95% confidence.

Run with the same seeds as every other variant, so that replication r of every
variant sees the same people with the same fates (common random numbers):
differences between variants are measured on paired replications.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sim import metrics
from sim.analysis.results import Results
from sim.analysis.stats import summarise
from sim.errors import CapsimError
from sim.execution.lanes import executor_for
from sim.execution.runner import run_many
from sim.metrics import NAMES as METRIC_NAMES
from sim.scenario import Scenario, scenario_from_data
from sim.scenario.schema import Capacity

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

    def interval(self, results: Results) -> tuple[float, float, float] | None:
        """The target metric's mean and 95% interval within its bounds (the mean twice for a single
        replication), or None when the metric is undefined in every replication."""
        stream = self.metric.rpartition(".")[0] or None
        stat = summarise(self.values(results), metrics.bounds(self.metric, results.most_beds(stream)))
        if stat["mean"] is None:
            return None
        mean = stat["mean"]
        low, high = stat["ci95_low"], stat["ci95_high"]
        return (mean, mean, mean) if low is None or high is None else (mean, low, high)

    def met_with_confidence(self, results: Results) -> bool:
        """The whole 95% interval is on the right side of the bound."""
        interval = self.interval(results)
        if interval is None:
            return False
        _, low, high = interval
        return high <= self.bound if self.comparison == "<=" else low >= self.bound

    def __str__(self) -> str:
        return f"{self.metric}{self.comparison}{self.bound:g}"


@dataclass
class SizeTrial:
    beds: int
    results: Results
    good: bool


@dataclass(frozen=True)
class PlanStep:
    """One step of the capacity plan: from `day` (and `date`, with a start) on, `beds` beds."""

    day: float
    date: dt.date | None
    name: str | None
    """The step's name in the scenario (the centre that opens); None for the beds at day 0 or an unnamed change."""
    beds_written: int
    """The beds the scenario gives this step."""
    beds: int
    """The beds of this step in the plan tried."""

    @property
    def label(self) -> str:
        return step_label(self.name, self.day)

    @property
    def when(self) -> str:
        """'2026-07-01 (day 912)' with a start date, else 'day 912'."""
        return f"{self.date.isoformat()} (day {self.day:g})" if self.date else f"day {self.day:g}"

    def as_json(self) -> dict:
        """The step as size.json writes it."""
        return {"day": self.day, "date": self.date.isoformat() if self.date else None, "name": self.name,
                "beds_written": self.beds_written, "beds": self.beds}

    @classmethod
    def from_json(cls, data: dict) -> PlanStep:
        """A step as size.json wrote it (`as_json`)."""
        date = data.get("date")
        return cls(float(data["day"]), dt.date.fromisoformat(date) if date else None, data.get("name"),
                   int(data["beds_written"]), int(data["beds"]))


def step_label(name: str | None, day: float) -> str:
    """A step of a capacity plan by its name in the scenario; the beds at day 0 are 'at the start'."""
    return name or ("at the start" if day == 0 else "unnamed change")


def shifted(beds: int, shift: int) -> int:
    """A step's beds moved by `shift`, never below zero: how size moves every step of a plan."""
    return max(0, beds + shift)


def one_pool(scenario: Scenario) -> Capacity:
    """The scenario's one pool of beds, which size searches; a scenario with centres has none."""
    if scenario.capacity is None:
        raise CapsimError(f"{scenario.name}: capsim size searches the beds of one pool (capacity.beds), and this "
                          "scenario has centres: try a centre's usable places with capsim sweep --set "
                          "centres.NAME.usable=N,N,...")
    return scenario.capacity


def capacity_plan(scenario: Scenario, beds: int) -> list[PlanStep]:
    """The capacity plan of `scenario` with `beds` beds at day 0: every step moved by the same number of beds."""
    capacity = one_pool(scenario)
    shift = beds - capacity.beds
    steps: list[tuple[float, str | None, int]] = [(0.0, None, capacity.beds)] + [
        (scenario.day(c.at), c.name, c.beds) for c in capacity.changes]
    start = scenario.start
    return [PlanStep(day, start + dt.timedelta(days=math.floor(day)) if start else None, name, written,
                     shifted(written, shift)) for day, name, written in steps]


@dataclass
class Sizing:
    targets: list[Target]
    trials: dict[int, SizeTrial]
    answer: int | None
    analytic_start: int | None
    reason: str
    plan: list[PlanStep] = field(default_factory=list)
    """The capacity plan at the answer, day 0 first (empty without an answer)."""

    @property
    def shift(self) -> int | None:
        """How many beds every step of the plan moved (the answer minus the scenario's beds at day 0)."""
        return self.plan[0].beds - self.plan[0].beds_written if self.plan else None

    @property
    def is_plan(self) -> bool:
        """The capacity changes over time: the answer is a whole plan, not one number of beds."""
        return len(self.plan) > 1


def shift_sentence(shift: int) -> str:
    """What size did to a capacity plan, in the words the terminal and the report use."""
    return f"every step of the plan moved by the same {shift:+d} beds (the shift; never below 0)"


def with_beds(scenario: Scenario, beds: int) -> Scenario:
    """The scenario with `beds` beds at day 0; later capacity changes keep their
    size (each moves by the same number of beds, never below zero)."""
    data = scenario.normalised()
    shift = beds - one_pool(scenario).beds
    data["capacity"]["beds"] = beds
    for change in data["capacity"]["changes"]:
        change["beds"] = shifted(change["beds"], shift)
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
    one_pool(scenario)
    with executor_for(jobs, scheduler) as workers:
        sizing = _search_beds(scenario, list(targets), min_beds, max_beds, replications, seed, workers)
    if sizing.answer is not None:
        sizing.plan = capacity_plan(scenario, sizing.answer)
    return sizing


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
        load = analytic.offered_load or scenario.beds
        max_beds = max(4 * scenario.beds, 4 * math.ceil(load), min_beds + 1, (start or 0) * 2)

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
    if len(scenario.capacity_steps()) > 1:  # the answer is a plan: its first step, not the total
        return Sizing(list(targets), trials, high, start, f"the plan with {high} beds at the start meets every "
                                                          f"target with 95% confidence; with {high - 1} it does not")
    return Sizing(list(targets), trials, high, start,
                  f"{high} beds meet every target with 95% confidence; {high - 1} do not")
