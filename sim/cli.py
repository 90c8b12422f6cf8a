"""The `capsim` command: parse, call the API, print, exit.

Thin on purpose: everything a command does is a call into the package. Exit
codes: 0 success, 1 a result that fails a check, 2 bad usage or input (with
file, line and key), 3 a replication that broke the model's invariants. No
traceback reaches the user.
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
import time
from pathlib import Path

import click

from . import results as results_io
from .check import CheckInputError, check_exact, check_statistical, scenario_changed
from .runner import InvariantViolation, SchedulerUnavailable, default_jobs, run
from .scenario import ScenarioError, json_schema, load_scenario
from .stats import confidence_interval
from .theory import analytic_check, erlang_b, mginf_occupancy_tail, smallest_beds
from .warmup import warmup_analysis

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
            sys.exit(3)
        except (SchedulerUnavailable, CheckInputError) as err:
            click.echo(f"capsim: {err}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("capsim: interrupted; nothing was written", err=True)
            sys.exit(130)
        except results_io.NotCapsimFolder as err:
            click.echo(f"capsim: {err}", err=True)
            sys.exit(2)
        except OSError as err:
            click.echo(f"capsim: {err.strerror or err}: {err.filename or ''}".rstrip(": "), err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(results_io.capsim_version(), prog_name="capsim")
def main():
    """capsim: how full will the closed centres be, and what does a policy need?"""


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
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no table.")
@_friendly
def run_command(scenario_file, replications, seed, out_dir, jobs, scheduler, precision, max_replications,
                only_replication, overwrite, quiet):
    """Simulate SCENARIO_FILE and write its results folder."""
    scenario = load_scenario(scenario_file)
    jobs = jobs or default_jobs()
    total = max_replications if precision else (replications or scenario.replications)
    started = time.perf_counter()
    with _progress(total, quiet) as advance:
        results = run(scenario, replications=replications, seed=seed, jobs=jobs, scheduler=scheduler,
                      precision=precision, max_replications=max_replications,
                      only_replication=only_replication, on_progress=advance)
    wall = time.perf_counter() - started
    out = Path(out_dir) if out_dir else Path("results") / "runs" / scenario.name
    results_io.write(results, out, command=sys.argv, wall_seconds=round(wall, 3), jobs=jobs, overwrite=overwrite)
    if not quiet:
        click.echo(headline_table(results))
        click.echo(analytic_comparison(results))
        if results.stopping:
            click.echo(f"\n{results.stopping.reason}.")
        click.echo(f"\n{len(results.replications)} replications in {wall:.1f} s; results in {out}/")


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
        values = results.values(metric)
        simulated = sum(values) / len(values)
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
    if value is None:
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
@_friendly
def theory(scenario_file):
    """Queueing theory for SCENARIO_FILE, without simulating: offered load,
    Erlang B blocking, mean occupancy and the beds each blocking target needs."""
    scenario = load_scenario(scenario_file)
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
    if not analytic.covered:
        click.echo(f"\nnote: the scenario is not a pure loss system ({analytic.reason}); "
                   "these figures describe the same flows on one shared pool of constant capacity.")
