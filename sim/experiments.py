"""The planner's questions: compare policies, sweep a parameter, size the beds.

All three run scenarios with the same seeds, so that replication r of every
variant sees the same people with the same fates (common random numbers):
differences between variants are then measured on paired replications, and
are far sharper than independent runs would give.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ruamel.yaml import YAML

from .results import Results, rounded
from .runner import executor_for, run_many
from .scenario import Scenario, ScenarioError, scenario_from_data, set_path
from .stats import confidence_interval, half_width
from .theory import analytic_check, smallest_beds

# --- compare ---------------------------------------------------------------------------


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
        return not (self.ci95_low <= 0 <= self.ci95_high)


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


def _mean(values: Sequence[float]) -> float:
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
        columns = [(metric, None) for metric in base_results.metric_names]
        columns += [(metric, stream) for stream in shared for metric in base_results.metric_names]
        for metric, stream in columns:
            if metric not in alt.metric_names:
                continue
            base_values, alt_values = base_results.values(metric, stream), alt.values(metric, stream)
            difference, low, high = paired_difference(base_values, alt_values)
            label = metric if stream is None else f"{stream}.{metric}"
            differences.append(Difference(alt.scenario.name, label, _mean(base_values), _mean(alt_values),
                                          difference, low, high))
    return Comparison(base_results, alt_results, differences, notes)


# --- sweep -------------------------------------------------------------------------------

_yaml_scalar = YAML(typ="safe")


def parse_values(text: str) -> list:
    """'0.1,0.2,8 months' -> [0.1, 0.2, '8 months'] (each value read as YAML)."""
    return [_yaml_scalar.load(part.strip()) for part in text.split(",") if part.strip()]


@dataclass
class SweepPoint:
    label: str  # point-000
    settings: dict[str, object]
    scenario: Scenario


def sweep_points(base: Scenario, settings: dict[str, list], zipped: bool = False) -> list[SweepPoint]:
    """Every point of the grid (the product of the values, or taken together with
    `zipped`), each validated before anything runs.

    Raises
    ------
    ScenarioError
        Naming the point and the key of every bad value.
    """
    paths = list(settings)
    if zipped:
        lengths = {len(values) for values in settings.values()}
        if len(lengths) > 1:
            raise ScenarioError([f"--zip needs the same number of values for every --set (got {sorted(lengths)})"])
        combinations = list(zip(*settings.values()))
    else:
        combinations = list(itertools.product(*settings.values()))
    points, problems = [], []
    for i, values in enumerate(combinations):
        label = f"point-{i:03d}"
        chosen = dict(zip(paths, values))
        data = base.normalised()
        data["name"] = f"{base.name}-{label}"
        described = ", ".join(f"{path}={value}" for path, value in chosen.items())
        try:
            for path, value in chosen.items():
                set_path(data, path, value)
            points.append(SweepPoint(label, chosen, scenario_from_data(data, f"{label} ({described})")))
        except KeyError as err:
            problems.append(f"{label} ({described}): {err.args[0]}")
        except ScenarioError as err:
            problems += err.problems
    if problems:
        raise ScenarioError(problems)
    return points


def sweep(points: Sequence[SweepPoint], *, replications: int | None = None, seed: int | None = None,
          jobs: int = 1, scheduler: str | None = None, checkpoint=None) -> list[Results]:
    """Run every point with the same seeds, all replications spread over the workers at once
    (`checkpoint`: finished replications kept and skipped, see runner.run)."""
    return run_many([p.scenario for p in points], replications=replications, seed=seed, jobs=jobs,
                    scheduler=scheduler, checkpoint=checkpoint)


# --- size --------------------------------------------------------------------------------

_TARGET = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(<=|>=)\s*([0-9.eE+-]+)\s*$")


@dataclass(frozen=True)
class Target:
    """A metric bound such as probability_full<=0.05 (a stream's metric as stream.metric)."""

    metric: str
    comparison: str  # "<=" or ">="
    bound: float

    @classmethod
    def parse(cls, text: str) -> "Target":
        match = _TARGET.match(text)
        if not match:
            raise ValueError(f"a target looks like probability_full<=0.05 (got {text!r})")
        return cls(match.group(1), match.group(2), float(match.group(3)))

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
    if analytic.covered and blocking_targets:
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

# --- what the experiments write ----------------------------------------------------------


def _cell(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.10g}"


def comparison_csv(comparison: Comparison) -> str:
    lines = ["scenario,metric,base_mean,alt_mean,difference,ci95_low,ci95_high,significant"]
    for d in comparison.differences:
        lines.append(",".join([d.scenario, d.metric] + [_cell(v) for v in (
            d.base_mean, d.alt_mean, d.difference, d.ci95_low, d.ci95_high)] + [str(d.significant).lower()]))
    return "\n".join(lines) + "\n"


def comparison_json(comparison: Comparison) -> str:
    data = {
        "base": comparison.base.scenario.name,
        "seed": comparison.base.seed,
        "replications": len(comparison.base.replications),
        "notes": comparison.notes,
        "differences": [
            {"scenario": d.scenario, "metric": d.metric, "base_mean": d.base_mean, "alt_mean": d.alt_mean,
             "difference": d.difference, "ci95_low": d.ci95_low, "ci95_high": d.ci95_high,
             "significant": d.significant}
            for d in comparison.differences
        ],
    }
    return json.dumps(rounded(data), indent=2, sort_keys=True) + "\n"


def sweep_csv(points: Sequence[SweepPoint], runs: Sequence[Results]) -> str:
    parameters = list(points[0].settings)
    metrics = runs[0].metric_names
    header = ["point"] + parameters + [f"{m}_{part}" for m in metrics for part in ("mean", "ci95_low", "ci95_high")]
    lines = [",".join(header)]
    for point, results in zip(points, runs):
        row = [point.label] + [str(point.settings[p]) for p in parameters]
        for metric in metrics:
            stat = results.summary["metrics"][metric]
            row += [_cell(stat["mean"]), _cell(stat["ci95_low"]), _cell(stat["ci95_high"])]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


def size_csv(sizing: Sizing) -> str:
    header = ["beds", "meets_targets"]
    for target in sizing.targets:
        header += [f"{target.metric}_mean", f"{target.metric}_ci95_low", f"{target.metric}_ci95_high"]
    lines = [",".join(header)]
    for beds in sorted(sizing.trials):
        trial = sizing.trials[beds]
        row = [str(beds), str(trial.good).lower()]
        for target in sizing.targets:
            values = [v for v in target.values(trial.results) if not math.isnan(v)]
            low, high = (confidence_interval(values, 0.95) if len(values) > 1 and np.std(values) > 0
                         else (_mean(values), _mean(values)))
            row += [_cell(_mean(values)), _cell(low), _cell(high)]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


def size_json(sizing: Sizing, scenario: Scenario) -> str:
    """What size.csv does not say: the targets with their bounds, the answer and how it was found."""
    first = next(iter(sizing.trials.values()), None)
    data = {
        "scenario": scenario.name,
        "description": scenario.description,
        "seed": first.results.seed if first else None,
        "replications": len(first.results.replications) if first else None,
        "targets": [{"metric": t.metric, "comparison": t.comparison, "bound": t.bound} for t in sizing.targets],
        "answer": sizing.answer,
        "analytic_start": sizing.analytic_start,
        "reason": sizing.reason,
        "tried": sorted(sizing.trials),
    }
    return json.dumps(rounded(data), indent=2, sort_keys=True) + "\n"
