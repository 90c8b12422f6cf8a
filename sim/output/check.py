"""Regression checks of model outputs against a committed baseline.

Two tiers. *exact*: the data files must be byte-identical (the lock file pins
numpy and simpy, so the same scenario and seed must give the same bytes).
*statistical*: every metric's replications are compared with the baseline's by
a Welch t-test, Holm-corrected over the metrics; a difference fails only when
it is both significant and larger than a practical threshold, so a new seed
passes and a real change in the model does not. The scenario hash is compared
first, so that a changed scenario is reported as such and not as model drift.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from sim.errors import CheckInputError

DATA_FILES = ("summary.json", "replications.csv", "occupancy.csv", "occupancy_distribution.csv", "stays.csv",
              "scenario.yaml")


@dataclass
class MetricCheck:
    metric: str
    baseline_mean: float
    new_mean: float
    p_value: float
    threshold: float
    significant: bool = False

    @property
    def difference(self) -> float:
        return self.new_mean - self.baseline_mean

    @property
    def regression(self) -> bool:
        return self.significant and abs(self.difference) > self.threshold


@dataclass
class CheckReport:
    tier: str
    passed: bool
    messages: list[str] = field(default_factory=list)
    metrics: list[MetricCheck] = field(default_factory=list)

    def table(self) -> str:
        if not self.metrics:
            return ""
        rows = [f"{'metric':<44} {'baseline':>12} {'new':>12} {'difference':>12} {'p (Holm)':>9}  verdict"]
        for m in sorted(self.metrics, key=lambda m: (not m.regression, m.p_value, m.metric)):
            verdict = "REGRESSION" if m.regression else ("differs, below threshold" if m.significant else "ok")
            rows.append(f"{m.metric:<44} {m.baseline_mean:>12.6g} {m.new_mean:>12.6g} {m.difference:>12.4g} "
                        f"{m.p_value:>9.3g}  {verdict}")
        return "\n".join(rows)


def _read(folder: Path, name: str) -> str:
    path = folder / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckInputError(f"{path}: no such file (is {folder} a capsim results folder?)") from None


def scenario_changed(new: Path, baseline: Path) -> str | None:
    """A message when the two folders come from different scenarios, else None."""
    new_summary = json.loads(_read(new, "summary.json"))
    old_summary = json.loads(_read(baseline, "summary.json"))
    if new_summary["scenario_sha256"] != old_summary["scenario_sha256"]:
        return (f"the scenario changed ({old_summary['scenario']} {old_summary['scenario_sha256'][:12]} -> "
                f"{new_summary['scenario']} {new_summary['scenario_sha256'][:12]}): this is a new scenario, "
                "not model drift; regenerate the baseline (make baselines) if the change is intended")
    return None


def check_exact(new: Path, baseline: Path, context_lines: int = 3, max_lines: int = 40) -> CheckReport:
    """Byte-identical data files; a unified diff of the first differences otherwise."""
    messages = []
    for name in DATA_FILES:
        old_text, new_text = _read(baseline, name), _read(new, name)
        if old_text != new_text:
            diff = list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(),
                                             f"{baseline / name}", f"{new / name}", n=context_lines, lineterm=""))
            shown = diff[:max_lines]
            if len(diff) > max_lines:
                shown.append(f"... ({len(diff) - max_lines} more diff lines)")
            messages.append(f"{name} differs:\n" + "\n".join(shown))
    return CheckReport("exact", not messages, messages)


def read_replications(folder: Path) -> dict[str, np.ndarray]:
    """replications.csv as {column: values over replications} (empty cells as NaN)."""
    reader = csv.DictReader(_read(folder, "replications.csv").splitlines())
    columns: dict[str, list[float]] = {name: [] for name in reader.fieldnames or () if name != "replication"}
    for row in reader:
        for name in columns:
            columns[name].append(float(row[name]) if row[name] != "" else math.nan)
    return {name: np.asarray(values) for name, values in columns.items()}


def welch_p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Welch t-test p-value; exact answers when a side has no spread."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 and b.size == 0:
        return 1.0
    if a.size < 2 or b.size < 2:
        return 1.0 if a.size == b.size == 1 and a[0] == b[0] else (0.0 if (a.size == 0) != (b.size == 0) else 1.0)
    if a.std() == 0 and b.std() == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    return float(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone, capped at 1)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [1.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def check_statistical(new: Path, baseline: Path, alpha: float = 0.01, rel_tol: float = 0.01,
                      abs_tol: float = 1e-3) -> CheckReport:
    """Welch t-test per metric (system-wide and per stream), Holm over the metrics;
    a regression is significant at `alpha` and beyond max(rel_tol x |baseline mean|, abs_tol)."""
    old_columns, new_columns = read_replications(baseline), read_replications(new)
    messages = []
    missing = sorted(set(old_columns) ^ set(new_columns))
    if missing:
        messages.append("metrics present on one side only: " + ", ".join(missing))
    names = sorted(set(old_columns) & set(new_columns))
    checks = []
    for name in names:
        old, fresh = old_columns[name], new_columns[name]
        old_mean = float(np.nanmean(old)) if np.any(~np.isnan(old)) else math.nan
        new_mean = float(np.nanmean(fresh)) if np.any(~np.isnan(fresh)) else math.nan
        threshold = max(rel_tol * abs(old_mean), abs_tol) if not math.isnan(old_mean) else abs_tol
        checks.append(MetricCheck(name, old_mean, new_mean, welch_p_value(old, fresh), threshold))
    for check, adjusted in zip(checks, holm([c.p_value for c in checks])):
        check.p_value = adjusted
        check.significant = adjusted < alpha
    regressions = [c.metric for c in checks if c.regression]
    if regressions:
        messages.append(f"{len(regressions)} metric(s) moved significantly (Holm, alpha {alpha:g}) and by more "
                        f"than {rel_tol:.1%} of the baseline: " + ", ".join(regressions))
    return CheckReport("statistical", not messages, messages, checks)
