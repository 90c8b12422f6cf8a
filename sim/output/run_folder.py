"""The results folder of one run: the files planners and CI read.

`write` turns `Results` into summary.json, replications.csv, occupancy.csv,
occupancy_distribution.csv, stays.csv, periods.csv (a run with periods), centres.csv (a run with centres),
scenario.yaml and manifest.json,
written into a staging folder and renamed into place (folders.py), so that a
results folder is never half-written. Data files diff well: keys sorted,
floats with a fixed number of significant digits (sim.formatting), no time
stamps (those go to the manifest).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from sim.analysis.periods import period_rows
from sim.analysis.results import Results, capsim_version
from sim.analysis.stats import daily_quantiles, pooled_stay_quantiles
from sim.formatting import number, rounded
from sim.metrics import CENTRE_METRICS, GROUP_METRICS
from sim.output.folders import atomic_folder
from sim.scenario import scenario_yaml

FIXED_INPUTS = "fixed-inputs"
"""Subfolder of a run's results: the same run with every uncertain input at its mean."""


def summary_json(results: Results) -> str:
    return json.dumps(rounded(results.summary), indent=2, sort_keys=True) + "\n"


def replications_csv(results: Results) -> str:
    columns = results.metric_names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    origins = [(s, o, m) for s in results.stream_names for o, metrics in results.replications[0].origins[s].items()
               for m in metrics]
    inputs = list(results.replications[0].inputs)
    centres = [(c, m) for c in results.centre_names for m in CENTRE_METRICS]
    groups = [(d, v, m) for d, values in results.group_names.items() for v in values for m in GROUP_METRICS]
    writer.writerow(["replication"] + columns + [f"{s}.{m}" for s in results.stream_names for m in columns]
                    + [f"{s}.{o}.{m}" for s, o, m in origins] + [f"input.{path}" for path in inputs]
                    + [f"centre.{c}.{m}" for c, m in centres] + [f"{d}.{v}.{m}" for d, v, m in groups])
    for r, rep in enumerate(results.replications):
        row = [r] + [number(rep.metrics[m]) for m in columns]
        row += [number(rep.streams[s][m]) for s in results.stream_names for m in columns]
        row += [number(rep.origins[s][o][m]) for s, o, m in origins]
        row += [number(rep.inputs[path]) for path in inputs]
        row += [number(rep.centres[c][m]) for c, m in centres]
        row += [number(rep.groups[d][v][m]) for d, v, m in groups]
        writer.writerow(row)
    return buffer.getvalue()


def occupancy_csv(results: Results) -> str:
    scenario = results.scenario
    daily = results.daily_occupancy()
    quantiles = daily_quantiles(daily)
    steps = scenario.capacity_steps()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    start = scenario.start
    writer.writerow(["day"] + (["date"] if start else []) + ["window", "capacity"] + list(quantiles))
    for day in range(daily.shape[1]):
        capacity = [beds for at, beds in steps if at <= day][-1]
        row: list[object] = [day] + ([(start + dt.timedelta(days=day)).isoformat()] if start else [])
        row += ["warmup" if day < scenario.warmup else "measured", capacity]
        row += [number(float(values[day])) for values in quantiles.values()]
        writer.writerow(row)
    return buffer.getvalue()


def centres_csv(results: Results) -> str:
    """With centres: each day and centre, its nominal and usable places and the beds in use at the day's
    start (mean and 5/50/95th percentiles across replications)."""
    scenario = results.scenario
    steps = scenario.centre_steps()
    daily = np.stack([rep.centre_daily for rep in results.replications])  # type: ignore[misc]
    start = scenario.start
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    quantiles = [daily_quantiles(daily[:, c, :]) for c in range(daily.shape[1])]
    writer.writerow(["day"] + (["date"] if start else []) + ["window", "centre", "places", "usable"]
                    + list(quantiles[0]))
    for day in range(daily.shape[2]):
        places = [found for at, found in steps if at <= day][-1]
        when: list[object] = [day] + ([(start + dt.timedelta(days=day)).isoformat()] if start else [])
        when.append("warmup" if day < scenario.warmup else "measured")
        for c, name in enumerate(results.centre_names):
            writer.writerow(when + [name, *places[c]]
                            + [number(float(values[day])) for values in quantiles[c].values()])
    return buffer.getvalue()


def occupancy_distribution_csv(results: Results) -> str:
    """Share of the measured time at each occupancy level, averaged over replications."""
    levels = max(len(rep.time_at_occupancy) for rep in results.replications)
    shares = np.zeros(levels)
    for rep in results.replications:
        total = rep.time_at_occupancy.sum()
        if total > 0:
            shares[: len(rep.time_at_occupancy)] += rep.time_at_occupancy / total
    shares /= len(results.replications)
    last = int(np.flatnonzero(shares)[-1]) if shares.any() else 0
    lines = ["occupancy,share_of_time"] + [f"{level},{number(float(shares[level]))}" for level in range(last + 1)]
    return "\n".join(lines) + "\n"


STAY_QUANTILES = [q / 100 for q in range(1, 100)]


def stays_csv(results: Results) -> str:
    """Percentiles 1..99 of the length of stay per stream, all replications pooled (an ECDF)."""
    lines = ["stream,quantile,los_days"]
    for stream in results.stream_names:
        values = pooled_stay_quantiles([rep.stay_bins[stream] for rep in results.replications], STAY_QUANTILES)
        lines += [f"{stream},{q:.2f},{number(v)}" for q, v in zip(STAY_QUANTILES, values)]
    return "\n".join(lines) + "\n"


def periods_csv(results: Results) -> str:
    """Each period's figures over the replications: one row per period, scope (the system, then each stream)
    and metric, with the period's days, its dates with `start`, and the beds in force when it starts."""
    dated = results.scenario.start is not None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["period", "from_day", "until_day", *(["from_date", "until_date"] if dated else []), "capacity",
                     "stream", "metric", "mean", "ci95_low", "ci95_high"])
    for row in period_rows(results):
        period = row.period
        dates = [period.from_date.isoformat(), period.until_date.isoformat()] if dated else []  # type: ignore[union-attr]
        writer.writerow([period.label, number(period.from_day), number(period.until_day), *dates, row.capacity,
                         row.scope, row.metric, number(row.mean), number(row.ci95_low), number(row.ci95_high)])
    return buffer.getvalue()


def manifest_json(command: list[str] | None, wall_seconds: float | None, jobs: int | None,
                  extends: dict | None = None) -> str:
    """How the folder was made: versions, command, time, and the scenario the run's scenario extends
    (`Scenario.extends`, what the report says it comes from)."""
    versions = {"capsim": capsim_version(), "python": platform.python_version()}
    for package in ("numpy", "simpy", "scipy", "pydantic"):
        versions[package] = metadata.version(package)
    manifest = {
        "tool": "capsim",
        "versions": versions,
        "command": command,
        "wall_seconds": wall_seconds,
        "jobs": jobs,
        "platform": platform.platform(),
    }
    if extends is not None:
        manifest["extends"] = extends
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def write_files(results: Results, folder: Path, *, command: list[str] | None = None,
                wall_seconds: float | None = None, jobs: int | None = None) -> None:
    """Every file of a results folder, into an existing (staging) folder."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "summary.json": summary_json(results),
        "replications.csv": replications_csv(results),
        "occupancy.csv": occupancy_csv(results),
        "occupancy_distribution.csv": occupancy_distribution_csv(results),
        "stays.csv": stays_csv(results),
        "scenario.yaml": scenario_yaml(results.scenario),
        "manifest.json": manifest_json(command, wall_seconds, jobs, results.scenario.extends),
    }
    if results.scenario.periods:
        files["periods.csv"] = periods_csv(results)
    if results.scenario.centres is not None:
        files["centres.csv"] = centres_csv(results)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def write(results: Results, out_dir: str | Path, *, command: list[str] | None = None,
          wall_seconds: float | None = None, jobs: int | None = None, overwrite: bool = False) -> Path:
    """Write the results folder of one run atomically (see `atomic_folder`)."""
    with atomic_folder(out_dir, overwrite) as staging:
        write_files(results, staging, command=command, wall_seconds=wall_seconds, jobs=jobs)
    return Path(out_dir)
