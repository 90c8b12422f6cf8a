"""The results of a run, and the results directory that holds them.

`Results` is what `sim.run` returns: the scenario, its seed and every
replication. `write` turns it into the files planners and CI read
(summary.json, replications.csv, occupancy.csv, scenario.yaml, manifest.json),
written into a temporary folder and renamed into place, so that a results
folder is never half-written. Data files diff well: keys sorted, floats with a
fixed number of significant digits, no time stamps (those go to the manifest).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import errno
import io
import json
import math
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .model import RepResult
from .scenario import Scenario, scenario_yaml
from .stats import daily_quantiles, pooled_stay_quantiles, summarise

SCHEMA_VERSION = 1
SIGNIFICANT_DIGITS = 10


def capsim_version() -> str:
    try:
        return metadata.version("capsim")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass
class Results:
    """A finished run: `replications[r]` is replication r's RepResult."""

    scenario: Scenario
    seed: int
    replications: list[RepResult]
    stopping: Any = None  # runner.Stopping when the number of replications came from a precision target

    @property
    def stream_names(self) -> list[str]:
        return [stream.name for stream in self.scenario.streams]

    @cached_property
    def metric_names(self) -> list[str]:
        return sorted(self.replications[0].metrics)

    def values(self, metric: str, stream: str | None = None) -> list[float]:
        """One metric over replications, system-wide or for one stream."""
        if stream is None:
            return [rep.metrics[metric] for rep in self.replications]
        return [rep.streams[stream][metric] for rep in self.replications]

    @cached_property
    def summary(self) -> dict:
        """The content of summary.json (before rounding)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "capsim_version": capsim_version(),
            "scenario": self.scenario.name,
            "scenario_sha256": self.scenario.sha256(),
            "seed": self.seed,
            "replications": len(self.replications),
            **({"precision": dataclasses.asdict(self.stopping)} if self.stopping else {}),
            "warmup_days": self.scenario.warmup,
            "horizon_days": self.scenario.horizon,
            "analytic": self.analytic.as_json(),
            "metrics": {name: summarise(self.values(name)) for name in self.metric_names},
            "streams": {
                stream: {name: summarise(self.values(name, stream)) for name in self.metric_names}
                | {"origins": {origin: {name: summarise(values) for name, values in metrics.items()}
                               for origin, metrics in self.origin_values(stream).items()}}
                for stream in self.stream_names
            },
            **({"inputs": {path: summarise(values) for path, values in self.input_values().items()}}
               if self.replications[0].inputs else {}),
        }

    def origin_values(self, stream: str) -> dict[str, dict[str, list[float]]]:
        """Outcomes per origin group of a stream, each over replications."""
        first = self.replications[0].origins[stream]
        return {origin: {name: [rep.origins[stream][origin][name] for rep in self.replications]
                         for name in metrics}
                for origin, metrics in first.items()}

    def input_values(self) -> dict[str, list[float]]:
        """The uncertain inputs' values drawn in each replication, by path."""
        return {path: [rep.inputs[path] for rep in self.replications] for path in self.replications[0].inputs}

    @cached_property
    def analytic(self):
        """theory.AnalyticCheck of the scenario (theory, and scipy with it, is
        imported here, not in every worker process that imports this module)."""
        from .theory import analytic_check

        return analytic_check(self.scenario)

    def daily_occupancy(self) -> np.ndarray:
        """Replications x days array of occupancy at each day's start (day 0 = warm-up start)."""
        return np.vstack([rep.daily_occupancy for rep in self.replications])


def rounded(value):
    """Round floats to SIGNIFICANT_DIGITS recursively; NaN becomes None (null)."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def number(value: float) -> str:
    """A float as it appears in the CSV files."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


def summary_json(results: Results) -> str:
    return json.dumps(rounded(results.summary), indent=2, sort_keys=True) + "\n"


def replications_csv(results: Results) -> str:
    columns = results.metric_names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    origins = [(s, o, m) for s in results.stream_names for o, metrics in results.replications[0].origins[s].items()
               for m in metrics]
    inputs = list(results.replications[0].inputs)
    writer.writerow(["replication"] + columns + [f"{s}.{m}" for s in results.stream_names for m in columns]
                    + [f"{s}.{o}.{m}" for s, o, m in origins] + [f"input.{path}" for path in inputs])
    for r, rep in enumerate(results.replications):
        row = [r] + [number(rep.metrics[m]) for m in columns]
        row += [number(rep.streams[s][m]) for s in results.stream_names for m in columns]
        row += [number(rep.origins[s][o][m]) for s, o, m in origins]
        row += [number(rep.inputs[path]) for path in inputs]
        writer.writerow(row)
    return buffer.getvalue()


def occupancy_csv(results: Results) -> str:
    scenario = results.scenario
    daily = results.daily_occupancy()
    quantiles = daily_quantiles(daily)
    steps = scenario.capacity_steps()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    dated = scenario.start is not None
    writer.writerow(["day"] + (["date"] if dated else []) + ["window", "capacity"] + list(quantiles))
    for day in range(daily.shape[1]):
        capacity = [beds for at, beds in steps if at <= day][-1]
        row = [day] + ([(scenario.start + dt.timedelta(days=day)).isoformat()] if dated else [])
        row += ["warmup" if day < scenario.warmup else "measured", capacity]
        row += [number(float(values[day])) for values in quantiles.values()]
        writer.writerow(row)
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


def manifest_json(command: list[str] | None, wall_seconds: float | None, jobs: int | None) -> str:
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
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


class NotCapsimFolder(FileExistsError):
    """The target exists and capsim did not write it: it is left alone unless overwriting is asked for."""


CHECKPOINT_FOLDER = ".checkpoint"
"""Inside a staging folder: the finished replications of a run that may resume (see checkpoint.py)."""
CHECKPOINT_PLAN = "plan.json"
"""In the checkpoint folder: which run its replications belong to (see checkpoint.py)."""


def holds_checkpoint(staging: Path) -> bool:
    """Does a staging folder hold a checkpoint that --resume could continue?"""
    return (staging / CHECKPOINT_FOLDER / CHECKPOINT_PLAN).is_file()


@contextlib.contextmanager
def atomic_folder(out_dir: str | Path, overwrite: bool = False, *, resume: bool = False) -> Iterator[Path]:
    """A temporary folder beside `out_dir` to fill; renamed into place when the block ends.

    A folder capsim wrote before (it holds a manifest.json) is replaced,
    anything else at the target only with `overwrite`; the replacement is one
    atomic exchange where the system has it (Linux), so a reader sees the old
    folder or the new one, never neither. Temporary folders left by a run that
    was killed are removed, or with `resume` the newest one that holds a
    checkpoint is filled again. A run holds a lock on its temporary folder
    until it ends (released by the system even on SIGKILL): the folder of a
    run still going on is never taken for a leftover.

    If the block raises and the folder holds a checkpoint, the folder is kept
    (for --resume) and the exception gets a note saying where; otherwise it is
    removed. Nothing is ever left half-written at `out_dir`.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not (out_dir / "manifest.json").is_file() and not overwrite:
        raise NotCapsimFolder(
            f"{out_dir} exists and was not written by capsim (no manifest.json); "
            "choose another --out or pass --overwrite")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging, lock = None, None
    leftovers = sorted(out_dir.parent.glob(f".{out_dir.name}.tmp-*"), key=_modified, reverse=True)
    for leftover in leftovers:
        if leftover.is_symlink() or not leftover.is_dir():
            leftover.unlink(missing_ok=True)
            continue
        held = _lock(leftover)
        if held is None:
            continue  # the staging folder of a run still going on
        if (resume and staging is None and ".tmp-old-" not in leftover.name
                and holds_checkpoint(leftover)):
            staging, lock = leftover, held
            continue
        shutil.rmtree(leftover, ignore_errors=True)
        _unlock(held)
    if staging is None:
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
        umask = os.umask(0o022)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp's 0700 would make the results folder private
        lock = _lock(staging)
    try:
        try:
            yield staging
        except BaseException as err:
            if holds_checkpoint(staging):
                err.add_note(f"the unfinished run is kept in {staging}: rerun the command that started it, "
                             "with --resume, to go on from where it stopped")
            else:
                shutil.rmtree(staging, ignore_errors=True)
            raise
        if out_dir.exists() or out_dir.is_symlink():
            if _exchange(staging, out_dir):
                retired = staging  # now holds what was at out_dir
            else:
                retired = staging.with_name(staging.name.replace(".tmp-", ".tmp-old-"))
                os.replace(out_dir, retired)
                os.replace(staging, out_dir)
            if retired.is_dir() and not retired.is_symlink():
                shutil.rmtree(retired, ignore_errors=True)
            else:
                retired.unlink(missing_ok=True)
        else:
            os.replace(staging, out_dir)
    finally:
        _unlock(lock)


def _modified(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def _lock(folder: Path) -> int | None:
    """An exclusive lock on `folder` (its open descriptor), or None if another
    process holds it (or the folder is gone). -1 where there are no such locks."""
    try:
        import fcntl
    except ImportError:
        return -1
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


def _unlock(descriptor: int | None) -> None:
    if descriptor is not None and descriptor >= 0:
        os.close(descriptor)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # glibc before 2.28, or another C library
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):  # the file system cannot
        return False
    raise OSError(error, os.strerror(error), str(b))


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
        "manifest.json": manifest_json(command, wall_seconds, jobs),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def write(results: Results, out_dir: str | Path, *, command: list[str] | None = None,
          wall_seconds: float | None = None, jobs: int | None = None, overwrite: bool = False) -> Path:
    """Write the results folder of one run atomically (see `atomic_folder`)."""
    with atomic_folder(out_dir, overwrite) as staging:
        write_files(results, staging, command=command, wall_seconds=wall_seconds, jobs=jobs)
    return Path(out_dir)
