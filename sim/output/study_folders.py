"""The folders of compare, sweep, size and project: their CSV and JSON files."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence

from sim.analysis.periods import ALL_STREAMS, period_rows
from sim.analysis.results import Results
from sim.formatting import number, rounded
from sim.scenario import Scenario
from sim.studies.compare import Comparison
from sim.studies.project import Projection
from sim.studies.size import Sizing
from sim.studies.sweep import SweepPoint


def comparison_csv(comparison: Comparison) -> str:
    lines = ["scenario,metric,base_mean,alt_mean,difference,ci95_low,ci95_high,significant"]
    for d in comparison.differences:
        lines.append(",".join([d.scenario, d.metric] + [number(v) for v in (
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
            row += [number(stat["mean"]), number(stat["ci95_low"]), number(stat["ci95_high"])]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


PROJECTION_METRICS = ("occupancy_mean", "occupancy_p95", "probability_full", "near_full", "admitted", "turned_away",
                      "returned")
"""What projection.csv sets side by side for each variant (each variant's periods.csv has every metric)."""


def projection_csv(projection: Projection) -> str:
    """The variants side by side, all streams together: one row per variant, period and metric."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    dated = projection.scenario.start is not None
    writer.writerow(["variant", "period", *(["from_date", "until_date"] if dated else ["from_day", "until_day"]),
                     "capacity", "metric", "mean", "ci95_low", "ci95_high"])
    for name, results in projection.variants.items():
        for row in period_rows(results):
            if row.scope != ALL_STREAMS or row.metric not in PROJECTION_METRICS:
                continue
            period = row.period
            when = ([period.from_date.isoformat(), period.until_date.isoformat()]  # type: ignore[union-attr]
                    if dated else [number(period.from_day), number(period.until_day)])
            writer.writerow([name, period.label, *when, row.capacity, row.metric, number(row.mean),
                             number(row.ci95_low), number(row.ci95_high)])
    return buffer.getvalue()


def size_csv(sizing: Sizing) -> str:
    header = ["beds", "meets_targets"]
    for target in sizing.targets:
        header += [f"{target.metric}_mean", f"{target.metric}_ci95_low", f"{target.metric}_ci95_high"]
    lines = [",".join(header)]
    for beds in sorted(sizing.trials):
        trial = sizing.trials[beds]
        row = [str(beds), str(trial.good).lower()]
        for target in sizing.targets:
            mean, low, high = target.interval(trial.results) or (math.nan, math.nan, math.nan)
            row += [number(mean), number(low), number(high)]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


def size_json(sizing: Sizing, scenario: Scenario) -> str:
    """What size.csv does not say: the targets with their bounds, the answer and how it was found, and the
    capacity plan at the answer (each step with its day, date, name and beds, every step moved by `shift`)."""
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
        "horizon_days": scenario.horizon,
        "shift": sizing.shift,
        "plan": [step.as_json() for step in sizing.plan],
    }
    return json.dumps(rounded(data), indent=2, sort_keys=True) + "\n"
