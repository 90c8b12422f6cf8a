"""Regression checks of model outputs against a committed baseline.

Two tiers. *exact*: the data files must be byte-identical (the lock file pins
numpy and simpy, so the same scenario and seed must give the same bytes).
*statistical*: every metric's replications are compared with the baseline's by
a Welch t-test, Holm-corrected over the metrics; a difference fails only when
it is both significant and larger than a practical threshold, so a new seed
passes and a real change in the model does not. The scenario hash is compared
first, so that a changed scenario is reported as such and not as model drift.

Both tiers and the hash read a folder through `read_results`, the one place that
knows the files' formats. A damaged file (cut short, not text, a word for a
number, a row of the wrong length, no replication) is a DamagedResults naming
the file and line (exit 2): CI must never read a broken baseline as a pass or
as a regression. A baseline the statistical tier could not fail (one
replication, an infinite value) is refused as well.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.errors import CheckInputError, DamagedResults

DATA_FILES = ("summary.json", "replications.csv", "occupancy.csv", "occupancy_distribution.csv", "stays.csv",
              "scenario.yaml")
OPTIONAL_DATA_FILES = ("periods.csv", "centres.csv")
"""Data files that only some runs write (a run with periods, with centres): compared when either folder has one."""


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


@dataclass(frozen=True)
class ResultsFolder:
    """A results folder as the check reads it: every file read whole and as capsim writes it."""

    path: Path
    summary: dict
    replications: dict[str, np.ndarray]
    """{column: values over replications}, NaN where a metric is undefined (an empty cell)."""
    count: int
    """How many replications."""
    texts: dict[str, str]
    """The text of each file read."""


def read_results(folder: Path, *, every_file: bool = False) -> ResultsFolder:
    """summary.json and replications.csv of `folder` (with `every_file`, every data file), checked.

    Raises
    ------
    CheckInputError
        A file is missing.
    DamagedResults
        A file is not as capsim writes it (the message names the file and line).
    """
    names: tuple[str, ...] = DATA_FILES if every_file else ("summary.json", "replications.csv")
    if every_file:
        names += tuple(name for name in OPTIONAL_DATA_FILES if (folder / name).exists())
    texts = {name: _text(folder, name) for name in names}
    for name in names:
        if name.endswith(".csv") and name != "replications.csv":
            _csv_rows(folder / name, texts[name])
    replications, count = _replications(folder / "replications.csv", texts["replications.csv"])
    return ResultsFolder(folder, _summary(folder / "summary.json", texts["summary.json"]), replications, count, texts)


def _text(folder: Path, name: str) -> str:
    path = folder / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckInputError(f"{path}: no such file (is {folder} a capsim results folder?)") from None
    except IsADirectoryError:
        raise DamagedResults(f"{path}: a directory, where capsim writes a file") from None
    except OSError as err:
        raise DamagedResults(f"{path}: cannot be read ({err.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DamagedResults(f"{path}:{_place(data, err.start)}: not UTF-8 text (byte 0x{data[err.start]:02x}): "
                             "the file is damaged or was not written by capsim") from None
    if "\x00" in text:
        raise DamagedResults(f"{path}:{_place(data, data.index(0))}: a NUL byte: the file holds binary data, "
                             "not text (damaged)")
    return text


def _place(data: bytes, index: int) -> str:
    """LINE:COLUMN (1-based; the column in bytes) of the byte at `index`."""
    line, column = data.count(b"\n", 0, index) + 1, index - data.rfind(b"\n", 0, index)
    return f"{line}:{column}"


def _summary(path: Path, text: str) -> dict:
    if not text.strip():
        raise DamagedResults(f"{path}: empty file (capsim writes the run's summary there)")
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as err:
        raise DamagedResults(f"{path}:{err.lineno}:{err.colno}: not valid JSON: {err.msg} "
                             "(the file is damaged or cut short)") from None
    except RecursionError:
        raise DamagedResults(f"{path}: not a capsim summary (nested too deeply)") from None
    if not isinstance(summary, dict):
        raise DamagedResults(f"{path}: expected a JSON object, found {_JSON_KINDS.get(type(summary), 'a value')}")
    for key in ("scenario", "scenario_sha256"):
        if key not in summary:
            raise DamagedResults(f"{path}: no {key!r} key (the name and hash of the scenario that made the results)")
        if not isinstance(summary[key], str):
            raise DamagedResults(f"{path}: {key}: expected a string, found "
                                 f"{_JSON_KINDS.get(type(summary[key]), 'a value')}")
    return summary


_JSON_KINDS = {list: "an array", dict: "an object", str: "a string", int: "a number", float: "a number",
               bool: "true or false", type(None): "null"}


def _csv_rows(path: Path, text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the rows (with their line numbers) of a CSV file whose rows are all whole."""
    if not text:
        raise DamagedResults(f"{path}: empty file (capsim writes a header line at least)")
    if not text.endswith("\n"):
        raise DamagedResults(f"{path}:{text.count(chr(10)) + 1}: the last line ends without a line break: "
                             "the file was cut short")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as err:
        raise DamagedResults(f"{path}:{reader.line_num}: not CSV ({err})") from None
    if not header:
        raise DamagedResults(f"{path}:1: an empty line, where the header should be")
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise DamagedResults(f"{path}:1: column {_shown(twice[0])} appears twice in the header")
    for line, row in rows:
        if len(row) != len(header):
            raise DamagedResults(f"{path}:{line}: expected {len(header)} columns, found {len(row)}")
    return header, rows


def _replications(path: Path, text: str) -> tuple[dict[str, np.ndarray], int]:
    """replications.csv: one row per replication, in order, every cell a finite number or empty (undefined)."""
    header, rows = _csv_rows(path, text)
    if header[0] != "replication":
        raise DamagedResults(f"{path}:1: the first column is {_shown(header[0])}, expected 'replication'")
    if not rows:
        raise DamagedResults(f"{path}: no replication (the header line only): there is nothing to compare")
    values = np.empty((len(rows), len(header) - 1))
    for index, (line, row) in enumerate(rows):
        if row[0] != str(index):
            raise DamagedResults(f"{path}:{line}: replication {row[0] or '(empty)'}, expected {index} "
                                 "(one row per replication, in order)")
        values[index] = [_cell(path, line, column, cell) for column, cell in zip(header[1:], row[1:])]
    return {column: values[:, i] for i, column in enumerate(header[1:])}, len(rows)


def _cell(path: Path, line: int, column: str, cell: str) -> float:
    if cell == "":
        return math.nan  # undefined in this replication (nobody asked for a bed, no stay ended)
    try:
        value = float(cell)
    except ValueError:
        raise DamagedResults(f"{path}:{line}: {column}: {_shown(cell)} is not a number") from None
    if not math.isfinite(value):
        raise DamagedResults(f"{path}:{line}: {column}: {_shown(cell)} is not a finite number "
                             "(capsim writes an undefined value as an empty cell)")
    return value


def _shown(text: str, limit: int = 40) -> str:
    """A value of a damaged file, quoted, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


REFRESH = "capsim check --scenario FILE --baselines DIR --update"
"""How a baseline is written or refreshed, as the messages say it."""


def scenario_changed(new: Path, baseline: Path) -> str | None:
    """A message when the two folders come from different scenarios (with what changed:
    a diff of the scenarios as run, every default filled in), else None."""
    new_summary, old_summary = read_results(new).summary, read_results(baseline).summary
    if new_summary["scenario_sha256"] == old_summary["scenario_sha256"]:
        return None
    old_text, new_text = _text(baseline, "scenario.yaml"), _text(new, "scenario.yaml")
    return (f"the scenario changed ({old_summary['scenario']} {old_summary['scenario_sha256'][:12]} -> "
            f"{new_summary['scenario']} {new_summary['scenario_sha256'][:12]}): this is a new scenario, "
            f"not model drift; if the change is intended, refresh the baseline ({REFRESH}). What changed:\n"
            + _diff(old_text, new_text, baseline / "scenario.yaml", new / "scenario.yaml", context_lines=1))


def _diff(old_text: str, new_text: str, old: Path, new: Path, context_lines: int = 3, max_lines: int = 40) -> str:
    """The first `max_lines` lines of a unified diff of two texts."""
    diff = list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), f"{old}", f"{new}",
                                     n=context_lines, lineterm=""))
    shown = diff[:max_lines]
    if len(diff) > max_lines:
        shown.append(f"... ({len(diff) - max_lines} more diff lines)")
    return "\n".join(shown)


def check_exact(new: Path, baseline: Path, context_lines: int = 3, max_lines: int = 40) -> CheckReport:
    """Byte-identical data files; a unified diff of the first differences otherwise."""
    old_folder, new_folder = read_results(baseline, every_file=True), read_results(new, every_file=True)
    messages = []
    for name in DATA_FILES + OPTIONAL_DATA_FILES:
        old_text, new_text = old_folder.texts.get(name), new_folder.texts.get(name)
        if old_text is None or new_text is None:
            if old_text != new_text:
                messages.append(f"{name} is only in {new if old_text is None else baseline}")
            continue
        if old_text != new_text:
            diff = _diff(old_text, new_text, baseline / name, new / name, context_lines, max_lines)
            messages.append(f"{name} differs:\n{diff}")
    return CheckReport("exact", not messages, messages)


def welch_p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Welch t-test p-value; exact answers when a side has no spread."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 and b.size == 0:
        return 1.0
    if a.size < 2 or b.size < 2:
        return 1.0 if a.size == b.size == 1 and a[0] == b[0] else (0.0 if (a.size == 0) != (b.size == 0) else 1.0)
    if a.std() == 0 and b.std() == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    from scipy import stats  # here: `import sim` (workers included) imports no SciPy

    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


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
    old_folder, new_folder = read_results(baseline), read_results(new)
    for folder in (old_folder, new_folder):
        if folder.count < 2:
            raise DamagedResults(f"{folder.path / 'replications.csv'}: {folder.count} replication; the statistical "
                                 "tier needs at least 2 on each side (a spread to test against): run more "
                                 "replications, or use --tier exact")
    old_columns, new_columns = old_folder.replications, new_folder.replications
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
