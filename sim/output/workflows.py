"""What `capsim run`, `compare`, `sweep` and `size` do, as library calls: check the
workload, run, and write the results folder atomically (with a checkpoint to
resume from, for run and sweep).

`import sim` can do all that the command line does; the command line parses
its options, calls these and prints. `finish(staging)` lets a caller add files
(the report) to a folder before it is renamed into place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sim.analysis.results import Results
from sim.errors import CheckInputError
from sim.execution import limits
from sim.execution.checkpoint import Checkpoint, run_plan
from sim.execution.runner import run
from sim.output.check import REFRESH
from sim.output.folders import atomic_folder
from sim.output.run_folder import FIXED_INPUTS, manifest_json, write, write_files
from sim.output.study_folders import (
    comparison_csv,
    comparison_json,
    projection_csv,
    size_csv,
    size_json,
    sweep_csv,
)
from sim.scenario import Scenario
from sim.studies.compare import Comparison, compare
from sim.studies.project import Projection, project, variant_scenarios
from sim.studies.size import Sizing, Target, size
from sim.studies.sweep import SweepPoint, sweep

Finish = Callable[[Path], None]
"""Called with the staging folder once every data file is in it (e.g. to write the report)."""
OnResume = Callable[[int | None], None]
"""Told what --resume found: the number of finished replications kept, or None for nothing to resume."""


def _checkpoint(staging: Path, plan: dict, resume: bool, on_resume: OnResume | None) -> Checkpoint:
    checkpoint = Checkpoint.open(staging, plan, resume)
    if on_resume and resume:
        on_resume(checkpoint.count() if checkpoint.resumed else None)
    return checkpoint


def _fill_study_folder(staging: Path, files: dict[str, str], runs: dict[str, Results], *,
                       command: list[str] | None, jobs: int, finish: Finish | None) -> None:
    """A study's folder: its own files, each run's results folder (by subfolder name), the
    manifest, then what `finish` adds."""
    for name, text in files.items():
        (staging / name).write_text(text, encoding="utf-8")
    for subfolder, results in runs.items():
        write_files(results, staging / subfolder, command=command)
    (staging / "manifest.json").write_text(manifest_json(command, None, jobs), encoding="utf-8")
    if finish:
        finish(staging)


def run_to_folder(scenario: Scenario, out: str | Path, *, replications: int | None = None, seed: int | None = None,
                  jobs: int = 1, scheduler: str | None = None, precision: float | None = None,
                  max_replications: int = 1000, only_replication: int | None = None, overwrite: bool = False,
                  resume: bool = False, max_events: float | None = limits.DEFAULT_MAX_EVENTS,
                  inputs_at_means: bool = False, command: list[str] | None = None,
                  on_progress: Callable[[int], None] | None = None, on_resume: OnResume | None = None
                  ) -> tuple[Results, float]:
    """Run `scenario` into the results folder `out`; the Results and the wall time (s).

    See `sim.run` for the run's options. `resume` goes on from the checkpoint
    an interrupted run of the same plan kept beside `out`. `inputs_at_means`
    adds, in `out/fixed-inputs`, the same replications with every uncertain
    input at its mean (what the report sets beside the run).

    Raises
    ------
    TooBig
        The estimated events exceed `max_events` (nothing is run).
    """
    total = max_replications if precision else (replications or scenario.replications)
    seed = scenario.seed if seed is None else seed
    limits.check(limits.workload([scenario], total if only_replication is None else 1), max_events)
    plan = run_plan("run", [scenario], seed=seed, replications=None if precision else total, precision=precision,
                    max_replications=max_replications if precision else None, only_replication=only_replication)
    started = time.perf_counter()
    with atomic_folder(out, overwrite, resume=resume) as staging:
        checkpoint = _checkpoint(staging, plan, resume, on_resume)
        results = run(scenario, replications=replications, seed=seed, jobs=jobs, scheduler=scheduler,
                      precision=precision, max_replications=max_replications, only_replication=only_replication,
                      on_progress=on_progress, checkpoint=checkpoint)
        wall = time.perf_counter() - started
        write_files(results, staging, command=command, wall_seconds=round(wall, 3), jobs=jobs)
        checkpoint.discard()
    if inputs_at_means and scenario.uncertain_inputs() and only_replication is None:
        fixed = run(scenario.at_means(), replications=len(results.replications), seed=results.seed, jobs=jobs,
                    scheduler=scheduler)
        write(fixed, Path(out) / FIXED_INPUTS, command=command, jobs=jobs, overwrite=True)
    return results, wall


def compare_to_folder(base: Scenario, alternatives: Sequence[Scenario], out: str | Path, *,
                      replications: int | None = None, seed: int | None = None, jobs: int = 1,
                      scheduler: str | None = None, max_events: float | None = limits.DEFAULT_MAX_EVENTS,
                      command: list[str] | None = None, finish: Finish | None = None) -> Comparison:
    """`sim.studies.compare.compare` into the folder `out`: compare.csv, compare.json and each
    scenario's results folder."""
    limits.check(limits.workload([base, *alternatives], replications or base.replications), max_events)
    comparison = compare(base, alternatives, replications=replications, seed=seed, jobs=jobs, scheduler=scheduler)
    with atomic_folder(out) as staging:
        _fill_study_folder(staging, {"compare.csv": comparison_csv(comparison),
                                     "compare.json": comparison_json(comparison)},
                           {r.scenario.name: r for r in [comparison.base, *comparison.alternatives]},
                           command=command, jobs=jobs, finish=finish)
    return comparison


def project_to_folder(scenario: Scenario, out: str | Path, *, periods: str | None = None,
                      replications: int | None = None, seed: int | None = None, jobs: int = 1,
                      scheduler: str | None = None, max_events: float | None = limits.DEFAULT_MAX_EVENTS,
                      command: list[str] | None = None, finish: Finish | None = None) -> Projection:
    """`sim.studies.project.project` into the folder `out`: projection.csv (the variants side by side, period
    by period) and each variant's results folder (with its periods.csv), by the variant's name."""
    limits.check(limits.workload(list(variant_scenarios(scenario, periods).values()),
                                 replications or scenario.replications), max_events)
    projection = project(scenario, periods=periods, replications=replications, seed=seed, jobs=jobs,
                         scheduler=scheduler)
    with atomic_folder(out) as staging:
        _fill_study_folder(staging, {"projection.csv": projection_csv(projection)}, projection.variants,
                           command=command, jobs=jobs, finish=finish)
    return projection


def sweep_to_folder(points: Sequence[SweepPoint], out: str | Path, *, replications: int, seed: int, jobs: int = 1,
                    scheduler: str | None = None, resume: bool = False,
                    max_events: float | None = limits.DEFAULT_MAX_EVENTS, command: list[str] | None = None,
                    finish: Finish | None = None, on_resume: OnResume | None = None) -> list[Results]:
    """`sim.studies.sweep.sweep` into the folder `out`: sweep.csv and each point's results
    folder (with a checkpoint: `resume` goes on from an interrupted sweep)."""
    scenarios = [point.scenario for point in points]
    limits.check(limits.workload(scenarios, replications), max_events)
    plan = run_plan("sweep", scenarios, seed=seed, replications=replications)
    with atomic_folder(out, resume=resume) as staging:
        checkpoint = _checkpoint(staging, plan, resume, on_resume)
        runs = sweep(points, replications=replications, seed=seed, checkpoint=checkpoint, jobs=jobs,
                     scheduler=scheduler)
        _fill_study_folder(staging, {"sweep.csv": sweep_csv(points, runs)},
                           {point.label: results for point, results in zip(points, runs)},
                           command=command, jobs=jobs, finish=finish)
        checkpoint.discard()  # only now: a full disk while writing keeps the finished replications
    return runs


def size_to_folder(scenario: Scenario, targets: Sequence[Target], out: str | Path, *, min_beds: int = 1,
                   max_beds: int | None = None, replications: int | None = None, seed: int | None = None,
                   jobs: int = 1, scheduler: str | None = None,
                   max_events: float | None = limits.DEFAULT_MAX_EVENTS, command: list[str] | None = None,
                   finish: Finish | None = None) -> Sizing:
    """`sim.studies.size.size` into the folder `out`: size.csv (every count tried) and size.json."""
    tried = limits.bed_counts_tried(min_beds, max_beds or 4 * max(scenario.beds, min_beds + 1))
    limits.check(limits.workload([scenario], replications or scenario.replications, tried), max_events)
    sizing = size(scenario, targets, min_beds=min_beds, max_beds=max_beds, replications=replications, seed=seed,
                  jobs=jobs, scheduler=scheduler)
    with atomic_folder(out) as staging:
        _fill_study_folder(staging, {"size.csv": size_csv(sizing), "size.json": size_json(sizing, scenario)}, {},
                           command=command, jobs=jobs, finish=finish)
    return sizing


def run_beside_baseline(scenario: Scenario, baselines: Path, scratch: Path, *, jobs: int = 1) -> tuple[Path, Path]:
    """Run `scenario` into `scratch` to check it against its baseline `baselines/NAME`
    (`capsim check --scenario`); the two folders, new first.

    Raises
    ------
    CheckInputError
        There is no baseline for the scenario.
    """
    baseline = baselines / scenario.name
    if not (baseline / "summary.json").exists():
        raise CheckInputError(f"{baseline}: no baseline for {scenario.name} ({REFRESH} writes it)")
    return write(run(scenario, jobs=jobs), scratch / scenario.name), baseline


def refresh_baseline(scenario: Scenario, baselines: Path, *, jobs: int = 1, command: list[str] | None = None) -> Path:
    """Write or rewrite `baselines/NAME`, the baseline `capsim check --scenario` compares to: the
    scenario run with the seed and replications in its file, as `make baselines` does here."""
    return write(run(scenario, jobs=jobs), baselines / scenario.name, command=command, jobs=jobs, overwrite=True)
