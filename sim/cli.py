"""The `capsim` command: parse, call the API, print, exit.

Thin on purpose: everything a command does is a call into the package. Exit
codes: 0 success, 1 a result that fails a check, 2 bad usage or input (with
file, line and key), 3 a replication that broke the model's invariants. No
traceback reaches the user. Commands import what needs scipy (theory,
check, experiments) when they run: scipy takes a second to import, and every
worker process started by `capsim run` imports this module.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import click

from ruamel.yaml import YAML

from . import results as results_io
from . import limits
from .checkpoint import Checkpoint, run_plan
from .runner import InvariantViolation, RunStopped, SchedulerUnavailable, default_jobs, run
from .scenario import ScenarioError, json_schema, load_scenario
from .model import METRICS
from .stats import confidence_interval
from .stats import summarise as summarise_values
from .report import ReportUnavailable

HEADLINE = [
    ("occupancy_mean", "mean occupancy (beds)"),
    ("occupancy_p95", "occupancy, 95th percentile"),
    ("probability_full", "share of time full"),
    ("blocking_probability", "share of requests turned away"),
    ("detention_requests", "detention requests"),
    ("admitted", "admitted"),
    ("turned_away", "turned away"),
    ("returned", "returned"),
    ("released_court", "released by a court"),
    ("released_deadline", "released at the deadline"),
    ("return_rate", "return rate (of ended stays)"),
    ("los_mean_days", "mean length of stay (days)"),
    ("cost", "cost (EUR)"),
]


def _friendly(command):
    """Turn the errors people can fix into messages and exit codes, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ScenarioError as err:
            for problem in err.problems:
                click.echo(problem, err=True)
            sys.exit(2)
        except InvariantViolation as err:
            click.echo(f"capsim: {err}", err=True)
            _notes(err)
            sys.exit(3)
        except RunStopped as err:  # worker failure, resume refused, too big: each says what to do
            click.echo(f"capsim: {err}", err=True)
            _notes(err)
            sys.exit(err.exit_code)
        except SchedulerUnavailable as err:
            click.echo(f"capsim: {err}", err=True)
            sys.exit(2)
        except KeyboardInterrupt as err:
            click.echo("capsim: interrupted; no results folder was written", err=True)
            _notes(err)
            sys.exit(130)
        except results_io.NotCapsimFolder as err:
            click.echo(f"capsim: {err}", err=True)
            sys.exit(2)
        except ReportUnavailable as err:
            click.echo(f"capsim: {err}", err=True)
            sys.exit(2)
        except OSError as err:
            click.echo(f"capsim: {err.strerror or err}: {err.filename or ''}".rstrip(": "), err=True)
            sys.exit(2)

    return wrapper


def _notes(err: BaseException) -> None:
    """What was added on the way up (e.g. where an unfinished run is kept for --resume)."""
    for note in getattr(err, "__notes__", ()):
        click.echo(f"capsim: {note}", err=True)


_max_events_option = click.option(
    "--max-events", type=click.FloatRange(min=0, min_open=True), default=limits.DEFAULT_MAX_EVENTS,
    envvar="CAPSIM_MAX_EVENTS", show_default=True,
    help="Refuse a run estimated at more events than this (rates x days x replications x 3) before "
         "starting. The default is about 3 hours of one core at capsim's measured 0.2-0.6 million "
         "arrivals a second: a slip in a rate or horizon is caught, a deliberate big study raises it.")
_resume_option = click.option(
    "--resume", is_flag=True,
    help="Go on with an interrupted run of the same command: its finished replications, kept beside "
         "--out, are not run again; the files are the same as those of an uninterrupted run.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(results_io.capsim_version(), prog_name="capsim")
def main():
    """capsim: how full will the closed centres be, and what does a policy need?"""


_fix_inputs_option = click.option(
    "--fix-inputs", is_flag=True,
    help="Use each uncertain input's mean instead of drawing it per replication (simulation noise alone).")


def _scenario(file: str, fix_inputs: bool):
    scenario = load_scenario(file)
    return scenario.at_means() if fix_inputs else scenario


_report_option = click.option("--report", "with_report", is_flag=True,
                              help="Also write report.html into the output folder (needs capsim[report]).")


def _report_possible(with_report: bool) -> None:
    """With --report, fail before simulating, not after, when matplotlib is missing."""
    if with_report:
        from .report import require_matplotlib

        require_matplotlib()


def _report_into(folder: Path, with_report: bool) -> None:
    """With --report, write report.html into `folder` (compare, sweep and size: the staging
    folder, so that the report is renamed into place with the results)."""
    if with_report:
        from .report import write_report

        write_report(folder)


def _report_written(out: Path, with_report: bool) -> None:
    if with_report:
        click.echo(f"report: {out / 'report.html'}")


@main.command("run")
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--replications", "-n", type=click.IntRange(min=1), help="Override the scenario's replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the scenario's seed.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Results folder [results/runs/NAME].")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes [the number of cores]; 1 runs in this process.")
@click.option("--scheduler", envvar="CAPSIM_SCHEDULER", metavar="ADDRESS",
              help="Run on a Dask scheduler (tcp://host:8786), or 'local' for a LocalCluster of --jobs workers.")
@click.option("--precision", type=click.FloatRange(min=0, min_open=True),
              help="Add replications until each headline 95%% half-width is within this share of its mean.")
@click.option("--max-replications", type=click.IntRange(min=3), default=1000, show_default=True,
              help="Upper bound with --precision.")
@click.option("--only-replication", type=click.IntRange(min=0), metavar="R",
              help="Run replication R alone, as it runs within the full run (to reproduce a failure).")
@click.option("--overwrite", is_flag=True, help="Replace --out even if capsim did not write it.")
@_resume_option
@_max_events_option
@_report_option
@_fix_inputs_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no table.")
@_friendly
def run_command(scenario_file, replications, seed, out_dir, jobs, scheduler, precision, max_replications,
                only_replication, overwrite, resume, max_events, with_report, fix_inputs, quiet):
    """Simulate SCENARIO_FILE and write its results folder."""
    scenario = _scenario(scenario_file, fix_inputs)
    _report_possible(with_report)
    jobs = jobs or default_jobs()
    total = max_replications if precision else (replications or scenario.replications)
    seed = scenario.seed if seed is None else seed
    limits.check(limits.workload([scenario], total if only_replication is None else 1), max_events)
    out = Path(out_dir) if out_dir else Path("results") / "runs" / scenario.name
    plan = run_plan("run", [scenario], seed=seed, replications=None if precision else total, precision=precision,
                    max_replications=max_replications if precision else None, only_replication=only_replication)
    started = time.perf_counter()
    with results_io.atomic_folder(out, overwrite, resume=resume) as staging:
        checkpoint = _checkpoint(staging, plan, resume, out)
        with _progress(total, quiet) as advance:
            results = run(scenario, replications=replications, seed=seed, jobs=jobs, scheduler=scheduler,
                          precision=precision, max_replications=max_replications,
                          only_replication=only_replication, on_progress=advance, checkpoint=checkpoint)
        wall = time.perf_counter() - started
        results_io.write_files(results, staging, command=sys.argv, wall_seconds=round(wall, 3), jobs=jobs)
        checkpoint.discard()
    if with_report and scenario.uncertain_inputs() and only_replication is None:
        _inputs_at_means(results, out, jobs, scheduler)
    _report_into(out, with_report)
    if not quiet:
        click.echo(headline_table(results))
        click.echo(analytic_comparison(results))
        if results.stopping:
            click.echo(f"\n{results.stopping.reason}.")
        click.echo(f"\n{len(results.replications)} replications in {wall:.1f} s; results in {out}/")
    _report_written(out, with_report)


def _checkpoint(staging: Path, plan: dict, resume: bool, out: Path) -> Checkpoint:
    """The checkpoint of a run or sweep in its staging folder; with --resume, say what is reused."""
    checkpoint = Checkpoint.open(staging, plan, resume)
    if checkpoint.resumed:
        click.echo(f"capsim: resuming: {checkpoint.count()} replication(s) already finished", err=True)
    elif resume:
        click.echo(f"capsim: nothing to resume for {out}; starting from the beginning", err=True)
    return checkpoint


def _inputs_at_means(results, out: Path, jobs: int, scheduler) -> None:
    """The run beside which the report shows how much of the uncertainty comes from
    the inputs: the same seeds and replications, every uncertain input at its mean."""
    from .report import FIXED_INPUTS

    fixed = run(results.scenario.at_means(), replications=len(results.replications), seed=results.seed,
                jobs=jobs, scheduler=scheduler)
    results_io.write(fixed, out / FIXED_INPUTS, command=sys.argv, jobs=jobs, overwrite=True)


class _progress:
    """A tqdm bar on standard error when it is a terminal, else nothing."""

    def __init__(self, total: int, quiet: bool):
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="rep", file=sys.stderr, delay=1.0, leave=False)

    def __enter__(self):
        return self.bar.update if self.bar else None

    def __exit__(self, *exc):
        if self.bar:
            self.bar.close()


def headline_table(results) -> str:
    """The headline metrics, system-wide and per stream, with 95% intervals."""
    summary = results.summary
    lines = [f"{summary['scenario']}: {summary['replications']} replications, "
             f"{summary['horizon_days']:g} days measured after {summary['warmup_days']:g} days of warm-up", ""]
    lines.append(f"{'metric':<32} {'mean':>12}  {'95% interval':>25}")
    for key, label in HEADLINE:
        stat = summary["metrics"].get(key)
        if stat is not None:
            lines.append(f"{label:<32} {_fmt(stat['mean']):>12}  {_interval(stat):>25}")
    if len(results.stream_names) > 1:
        lines += ["", "per stream (mean): " + ", ".join(
            ["occupancy", "requests", "turned away", "returned", "released at deadline"])]
        for name, metrics in summary["streams"].items():
            values = [metrics[k]["mean"] for k in ("occupancy_mean", "detention_requests", "turned_away",
                                                    "returned", "released_deadline")]
            lines.append(f"  {name:<30} " + "  ".join(f"{_fmt(v):>10}" for v in values))
    return "\n".join(lines)


def analytic_comparison(results) -> str:
    """Erlang B beside the simulation, with a warning when they disagree."""
    analytic = results.analytic
    if not analytic.covered:
        return f"\nanalytic check: not applicable ({analytic.reason})"
    lines = [f"\nanalytic check (M/G/c/c, Erlang B; offered load {analytic.offered_load:.2f} erlangs, "
             f"{analytic.beds} beds):"]
    for metric, label, exact in [("blocking_probability", "share turned away", analytic.blocking_probability),
                                 ("occupancy_mean", "mean occupancy", analytic.occupancy_mean)]:
        values = [v for v in results.values(metric) if not math.isnan(v)]  # NaN: nobody asked for a bed
        simulated = sum(values) / len(values) if values else None
        line = f"  {label:<20} analytic {_fmt(exact):>10}   simulated {_fmt(simulated):>10}"
        if len(values) >= 2:
            low, high = confidence_interval(values, 0.99)
            line += f"   99% interval [{_fmt(low)}, {_fmt(high)}]"
            slack = 1e-9 * max(1.0, abs(exact))  # a zero-width interval (nobody ever turned away)
            if not low - slack <= exact <= high + slack:
                line += "   WARNING: outside the simulated 99% interval (warm-up too short? too few replications?)"
        lines.append(line)
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.4f}" if abs(value) < 1 else f"{value:.2f}"


def _interval(stat) -> str:
    if stat["ci95_low"] is None:
        return "-"
    return f"[{_fmt(stat['ci95_low'])}, {_fmt(stat['ci95_high'])}]"


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files):
    """Check scenario FILES and list every problem with its line."""
    failed = False
    for file in files:
        try:
            load_scenario(file)
            click.echo(f"{file}: ok")
        except ScenarioError as err:
            failed = True
            for problem in err.problems:
                click.echo(problem, err=True)
    sys.exit(2 if failed else 0)


@main.command()
@click.argument("results_dir", type=click.Path(file_okay=False))
@click.option("--figures", is_flag=True, help="Also write each figure as figures/NAME.png (for slides).")
@_friendly
def report(results_dir, figures):
    """Write report.html (figures, tables, STRESS-DES) into a folder of capsim run, compare, sweep or size."""
    from .report import write_report

    click.echo(f"report: {write_report(Path(results_dir), figures=figures)}")


@main.command()
def schema():
    """Print the JSON Schema of the scenario file."""
    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--replications", "-n", type=click.IntRange(min=2), help="Override the scenario's replications.")
@click.option("--window", "-w", type=click.IntRange(min=1), default=30, show_default=True,
              help="Half-width (days) of Welch's moving average.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="CSV of the series [warmup-NAME.csv].")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes.")
@_friendly
def warmup(scenario_file, replications, window, out_file, jobs):
    """Recommend a warm-up: Welch's method and MSER-5 on the daily occupancy from empty."""
    from .warmup import warmup_analysis

    scenario = load_scenario(scenario_file)
    recommendation = warmup_analysis(scenario, replications=replications, window=window, jobs=jobs or default_jobs())
    out = Path(out_file or f"warmup-{scenario.name}.csv")
    out.write_text(recommendation.csv(), encoding="utf-8")
    click.echo(recommendation.describe(scenario))
    click.echo(f"series written to {out}")


@main.command()
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False))
@click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False),
              help="Run this scenario into a temporary folder and check it against BASELINES/<name>/.")
@click.option("--baselines", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Where the committed baselines live (with --scenario).")
@click.option("--tier", type=click.Choice(["exact", "statistical"]), default="statistical", show_default=True)
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True), default=0.01, show_default=True,
              help="Family-wise error rate of the statistical tier (Holm over the metrics).")
@click.option("--rel-tol", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="Smallest relative difference that counts as a regression.")
@click.option("--abs-tol", type=click.FloatRange(min=0), default=1e-3, show_default=True,
              help="Absolute floor of that threshold, for metrics near zero.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (with --scenario).")
@_friendly
def check(folders, scenario_file, baselines, tier, alpha, rel_tol, abs_tol, jobs):
    """Check RESULTS_DIR against BASELINE_DIR (or --scenario FILE against its baseline).

    Exit 0 when it passes, 1 on a regression or a changed scenario, 2 on bad input.
    """
    from .check import CheckInputError, check_exact, check_statistical, scenario_changed

    if scenario_file and folders or not scenario_file and len(folders) != 2:
        raise click.UsageError("give RESULTS_DIR BASELINE_DIR, or --scenario FILE")
    with tempfile.TemporaryDirectory(prefix="capsim-check-") as scratch:
        if scenario_file:
            scenario = load_scenario(scenario_file)
            baseline = Path(baselines) / scenario.name
            if not (baseline / "summary.json").exists():
                raise CheckInputError(f"{baseline}: no baseline for {scenario.name} (make baselines writes it)")
            new = results_io.write(run(scenario, jobs=jobs or default_jobs()), Path(scratch) / scenario.name)
        else:
            new, baseline = Path(folders[0]), Path(folders[1])
        changed = scenario_changed(new, baseline)
        if changed:
            click.echo(f"FAIL: {changed}")
            sys.exit(1)
        report = (check_exact(new, baseline) if tier == "exact"
                  else check_statistical(new, baseline, alpha=alpha, rel_tol=rel_tol, abs_tol=abs_tol))
    if report.metrics:
        click.echo(report.table())
    for message in report.messages:
        click.echo(message)
    click.echo(f"{'PASS' if report.passed else 'FAIL'} ({report.tier} tier): {new} against {baseline}")
    sys.exit(0 if report.passed else 1)


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@_fix_inputs_option
@_friendly
def theory(scenario_file, fix_inputs):
    """Queueing theory for SCENARIO_FILE, without simulating: offered load,
    Erlang B blocking, mean occupancy and the beds each blocking target needs."""
    from .theory import analytic_check, erlang_b, mginf_occupancy_tail, outside_loss_model, smallest_beds

    scenario = _scenario(scenario_file, fix_inputs)
    analytic = analytic_check(scenario)
    click.echo(f"{scenario.name}: {scenario.capacity.beds} beds")
    click.echo(f"  {'stream':<28} {'E[stay] (days)':>15} {'offered load':>14}")
    for name, stay in analytic.expected_stays.items():
        load = analytic.stream_loads[name]
        click.echo(f"  {name:<28} {stay:>15.2f} {_fmt(load) if load is not None else 'varies':>14}")
    if analytic.offered_load is None:
        click.echo("\nA rate changes over time: no single offered load; simulate it (capsim run).")
        return
    load = analytic.offered_load
    click.echo(f"  {'all streams':<28} {'':>15} {load:>14.2f}  erlangs (mean beds used with unlimited beds)")
    blocking = erlang_b(scenario.capacity.beds, load)
    click.echo(f"\nErlang B with {scenario.capacity.beds} beds: {blocking:.4%} of requests turned away; "
               f"mean occupancy {load * (1 - blocking):.1f}")
    click.echo(f"M/G/inf: share of time the flows would need more than {scenario.capacity.beds} beds: "
               f"{mginf_occupancy_tail(load, scenario.capacity.beds + 1):.4%}")
    click.echo("beds needed to keep the share turned away under: " + ", ".join(
        f"{target:.0%}: {smallest_beds(load, target)}" for target in (0.01, 0.05, 0.10)))
    uncertain = scenario.uncertain_inputs()
    if uncertain:
        click.echo(f"\nnote: uncertain inputs at their means ({', '.join(uncertain)}); the simulation draws "
                   "them per replication, so its blocking is not Erlang B of the mean load (--fix-inputs).")
    structural = outside_loss_model(scenario)
    if structural:
        click.echo(f"\nnote: the scenario is not a pure loss system ({structural}); "
                   "these figures describe the same flows on one shared pool of constant capacity.")


def _where(jobs, scheduler):
    """Shared options: where replications run."""
    return {"jobs": jobs or default_jobs(), "scheduler": scheduler}


_jobs_option = click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                            help="Worker processes [the number of cores].")
_scheduler_option = click.option("--scheduler", envvar="CAPSIM_SCHEDULER", metavar="ADDRESS",
                                 help="A Dask scheduler address, or 'local'.")


@main.command()
@click.argument("base_file", type=click.Path(dir_okay=False))
@click.argument("alt_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--replications", "-n", type=click.IntRange(min=2), help="Override the base scenario's replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the base scenario's seed (used by all).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder [results/runs/compare-BASE].")
@_jobs_option
@_scheduler_option
@_fix_inputs_option
@_report_option
@_max_events_option
@_friendly
def compare(base_file, alt_files, replications, seed, out_dir, jobs, scheduler, fix_inputs, with_report,
            max_events):
    """Compare ALT scenarios with BASE on paired replications (common random numbers)."""
    from . import experiments

    base = _scenario(base_file, fix_inputs)
    alternatives = [_scenario(f, fix_inputs) for f in alt_files]
    _report_possible(with_report)
    limits.check(limits.workload([base, *alternatives], replications or base.replications), max_events)
    comparison = experiments.compare(base, alternatives, replications=replications, seed=seed,
                                     **_where(jobs, scheduler))
    out = Path(out_dir or Path("results") / "runs" / f"compare-{base.name}")
    with results_io.atomic_folder(out) as staging:
        (staging / "compare.csv").write_text(experiments.comparison_csv(comparison), encoding="utf-8")
        (staging / "compare.json").write_text(experiments.comparison_json(comparison), encoding="utf-8")
        for results in [comparison.base, *comparison.alternatives]:
            results_io.write_files(results, staging / results.scenario.name, command=sys.argv)
        (staging / "manifest.json").write_text(results_io.manifest_json(sys.argv, None, jobs), encoding="utf-8")
        _report_into(staging, with_report)
    click.echo(comparison_table(comparison))
    for note in comparison.notes:
        click.echo(f"note: {note}")
    click.echo(f"\nevery metric, system-wide and per stream: {out}/compare.csv")
    _report_written(out, with_report)


def comparison_table(comparison) -> str:
    base = comparison.base
    lines = [f"{alt.scenario.name} - {base.scenario.name}: paired differences over {len(base.replications)} "
             f"replications (* = the 95% interval excludes zero)" for alt in comparison.alternatives]
    lines.append(f"\n{'scenario':<24} {'metric':<28} {'base':>10} {'alt':>10} {'difference':>11}  {'95% interval':>24}")
    headline = {key for key, _ in HEADLINE}
    for d in comparison.differences:
        if d.metric in headline:
            interval = f"[{_fmt(d.ci95_low)}, {_fmt(d.ci95_high)}]"
            lines.append(f"{d.scenario:<24} {d.metric:<28} {_fmt(d.base_mean):>10} {_fmt(d.alt_mean):>10} "
                         f"{_fmt(d.difference):>11}{'*' if d.significant else ' '} {interval:>24}")
    return "\n".join(lines)


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--set", "settings", multiple=True, metavar="PATH=V1,V2,...",
              help="A parameter and its values, e.g. capacity.beds=700,751,800 or "
                   "streams.brussels_south.origins.maghreb.return_probability=0.1,0.3,0.5.")
@click.option("--grid", "grid_file", type=click.Path(dir_okay=False, exists=True),
              help="A YAML mapping of PATH: [values] (added to --set).")
@click.option("--zip", "zipped", is_flag=True, help="Take the values together instead of their product.")
@click.option("--replications", "-n", type=click.IntRange(min=2), help="Override the scenario's replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the scenario's seed.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder [results/runs/sweep-NAME].")
@_jobs_option
@_scheduler_option
@_fix_inputs_option
@_report_option
@_resume_option
@_max_events_option
@_friendly
def sweep(scenario_file, settings, grid_file, zipped, replications, seed, out_dir, jobs, scheduler, fix_inputs,
          with_report, resume, max_events):
    """Run SCENARIO_FILE over a grid of parameter values, with the same seeds at every point."""
    from . import experiments

    scenario = _scenario(scenario_file, fix_inputs)
    _report_possible(with_report)
    grid = {}
    for setting in settings:
        path, equals, values = setting.partition("=")
        if not equals or not values.strip():
            raise click.UsageError(f"--set takes PATH=V1,V2,... (got {setting!r})")
        grid[path.strip()] = experiments.parse_values(values)
    if grid_file:
        loaded = YAML(typ="safe").load(Path(grid_file).read_text(encoding="utf-8"))
        if not isinstance(loaded, dict) or not all(isinstance(v, list) for v in loaded.values()):
            raise click.UsageError(f"{grid_file}: expected a mapping of PATH: [values]")
        grid |= loaded
    if not grid:
        raise click.UsageError("give at least one --set PATH=V1,V2,... or --grid FILE")
    points = experiments.sweep_points(scenario, grid, zipped)
    click.echo(f"{len(points)} points x {replications or scenario.replications} replications", err=True)
    count, seed = replications or scenario.replications, scenario.seed if seed is None else seed
    limits.check(limits.workload([p.scenario for p in points], count), max_events)
    out = Path(out_dir or Path("results") / "runs" / f"sweep-{scenario.name}")
    plan = run_plan("sweep", [p.scenario for p in points], seed=seed, replications=count)
    with results_io.atomic_folder(out, resume=resume) as staging:
        checkpoint = _checkpoint(staging, plan, resume, out)
        runs = experiments.sweep(points, replications=count, seed=seed, checkpoint=checkpoint,
                                 **_where(jobs, scheduler))
        checkpoint.discard()
        (staging / "sweep.csv").write_text(experiments.sweep_csv(points, runs), encoding="utf-8")
        for point, results in zip(points, runs):
            results_io.write_files(results, staging / point.label, command=sys.argv)
        (staging / "manifest.json").write_text(results_io.manifest_json(sys.argv, None, jobs), encoding="utf-8")
        _report_into(staging, with_report)
    parameters = list(grid)
    click.echo(f"{'point':<10} " + " ".join(f"{p.split('.')[-1]:>16}" for p in parameters)
               + f" {'occupancy':>10} {'p95':>8} {'full':>8} {'turned away':>12}")
    for point, results in zip(points, runs):
        m = results.summary["metrics"]
        click.echo(f"{point.label:<10} " + " ".join(f"{str(point.settings[p]):>16}" for p in parameters)
                   + f" {_fmt(m['occupancy_mean']['mean']):>10} {_fmt(m['occupancy_p95']['mean']):>8}"
                   f" {_fmt(m['probability_full']['mean']):>8} {_fmt(m['blocking_probability']['mean']):>12}")
    click.echo(f"\nevery metric with its interval: {out}/sweep.csv")
    _report_written(out, with_report)


@main.command("size")
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--target", "targets", multiple=True, required=True, metavar="METRIC<=VALUE",
              help="e.g. probability_full<=0.05 or blocking_probability<=0.01 (a stream's: STREAM.METRIC).")
@click.option("--min-beds", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--max-beds", type=click.IntRange(min=1), help="Upper end of the search [4x the load or the beds].")
@click.option("--replications", "-n", type=click.IntRange(min=2), help="Override the scenario's replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the scenario's seed.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder [results/runs/size-NAME].")
@_jobs_option
@_scheduler_option
@_fix_inputs_option
@_report_option
@_max_events_option
@_friendly
def size_command(scenario_file, targets, min_beds, max_beds, replications, seed, out_dir, jobs, scheduler,
                 fix_inputs, with_report, max_events):
    """The smallest number of beds at which every target holds with 95% confidence."""
    from . import experiments

    scenario = _scenario(scenario_file, fix_inputs)
    _report_possible(with_report)
    tried = limits.bed_counts_tried(min_beds, max_beds or 4 * max(scenario.capacity.beds, min_beds + 1))
    limits.check(limits.workload([scenario], replications or scenario.replications, tried), max_events)
    try:
        parsed = [experiments.Target.parse(t) for t in targets]
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    metrics = set(METRICS)
    for target in parsed:
        stream, _, metric = target.metric.rpartition(".")
        if metric not in metrics or (stream and stream not in {s.name for s in scenario.streams}):
            raise click.UsageError(f"unknown metric in --target {target} (metrics: {', '.join(sorted(metrics))})")
    sizing = experiments.size(scenario, parsed, min_beds=min_beds, max_beds=max_beds, replications=replications,
                              seed=seed, **_where(jobs, scheduler))
    out = Path(out_dir or Path("results") / "runs" / f"size-{scenario.name}")
    with results_io.atomic_folder(out) as staging:
        (staging / "size.csv").write_text(experiments.size_csv(sizing), encoding="utf-8")
        (staging / "size.json").write_text(experiments.size_json(sizing, scenario), encoding="utf-8")
        (staging / "manifest.json").write_text(results_io.manifest_json(sys.argv, None, jobs), encoding="utf-8")
        _report_into(staging, with_report)
    if sizing.analytic_start is not None:
        click.echo(f"Erlang B start: {sizing.analytic_start} beds")
    click.echo(f"tried: {', '.join(str(b) for b in sorted(sizing.trials))} beds")
    click.echo(f"answer: {sizing.reason}")
    if sizing.answer is not None:
        for beds in (sizing.answer, sizing.answer - 1):
            if beds in sizing.trials:
                results = sizing.trials[beds].results
                shown = []
                for target in parsed:
                    stat = summarise_values(target.values(results))
                    shown.append(f"{target.metric} {_fmt(stat['mean'])} {_interval(stat)}")
                click.echo(f"  at {beds} beds: " + "; ".join(shown))
    click.echo(f"every count tried: {out}/size.csv")
    _report_written(out, with_report)
    sys.exit(0 if sizing.answer is not None else 1)
