"""The commands about one scenario: run, validate, report, schema, warmup, check, theory.

Thin on purpose: each parses its options, calls the library and prints.
Commands import what needs SciPy (theory, check, warm-up) when they run:
SciPy takes a second to import.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from sim.cli import tables
from sim.cli.options import (
    fix_inputs_option,
    friendly,
    main,
    max_events_option,
    periods_option,
    read_scenario,
    report_option,
    report_possible,
    report_written,
    resume_option,
    say_resumed,
)
from sim.errors import ScenarioError
from sim.execution import limits
from sim.execution.lanes import default_jobs
from sim.output import workflows
from sim.scenario import Scenario, json_schema, load_scenario
from sim.scenario.checks import late_steps


def _warn(file: str, scenario: Scenario) -> Scenario:
    """Say on standard error what the scenario holds without effect (a change after the end of the run)."""
    for warning in late_steps(scenario):
        click.echo(f"{file}: warning: {warning}", err=True)
    return scenario


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
              help="Add replications until each headline 95% half-width is within this share of its mean.")
@click.option("--max-replications", type=click.IntRange(min=3), default=1000, show_default=True,
              help="Upper bound with --precision.")
@click.option("--only-replication", type=click.IntRange(min=0), metavar="R",
              help="Run replication R alone, as it runs within the full run (to reproduce a failure).")
@click.option("--overwrite", is_flag=True, help="Replace --out even if capsim did not write it.")
@resume_option
@max_events_option
@report_option
@fix_inputs_option
@periods_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no table.")
@friendly
def run_command(scenario_file, replications, seed, out_dir, jobs, scheduler, precision, max_replications,
                only_replication, overwrite, resume, max_events, with_report, fix_inputs, periods, quiet):
    """Simulate SCENARIO_FILE and write its results folder."""
    scenario = _warn(scenario_file, read_scenario(scenario_file, fix_inputs, periods))
    report_possible(with_report)
    jobs = jobs or default_jobs()
    out = Path(out_dir) if out_dir else Path("results") / "runs" / scenario.name
    with _progress(max_replications if precision else (replications or scenario.replications), quiet) as advance:
        results, wall = workflows.run_to_folder(
            scenario, out, replications=replications, seed=seed, jobs=jobs, scheduler=scheduler, precision=precision,
            max_replications=max_replications, only_replication=only_replication, overwrite=overwrite,
            resume=resume, max_events=max_events, inputs_at_means=with_report, command=sys.argv,
            on_progress=advance, on_resume=say_resumed(out))
    if with_report:
        from sim.report import write_report

        write_report(out)
    if not quiet:
        click.echo(tables.headline_table(results))
        if results.scenario.periods:
            click.echo(tables.periods_table(results))
        click.echo(tables.analytic_comparison(results))
        if results.stopping:
            click.echo(f"\n{results.stopping.reason}.")
        click.echo(f"\n{len(results.replications)} replications in {wall:.1f} s; results in {out}/")
    report_written(out, with_report)


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


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files):
    """Check scenario FILES and list every problem with its line."""
    failed = False
    for file in files:
        try:
            _warn(file, load_scenario(file))
            click.echo(f"{file}: ok")
        except ScenarioError as err:
            failed = True
            for problem in err.problems:
                click.echo(problem, err=True)
    sys.exit(2 if failed else 0)


@main.command()
@click.argument("results_dir", type=click.Path(file_okay=False))
@click.option("--figures", is_flag=True, help="Also write each figure as figures/NAME.png (for slides).")
@friendly
def report(results_dir, figures):
    """Write report.html (figures, tables, STRESS-DES) into a folder of capsim run, compare, sweep, size or project."""
    from sim.report import write_report

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
@max_events_option
@friendly
def warmup(scenario_file, replications, window, out_file, jobs, max_events):
    """Recommend a warm-up: Welch's method and MSER-5 on the daily occupancy from empty."""
    from sim.studies.warmup import warmup_analysis

    scenario = _warn(scenario_file, load_scenario(scenario_file))
    limits.check(limits.workload([scenario], replications or scenario.replications), max_events)
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
@click.option("--update", is_flag=True,
              help="With --scenario: write or refresh its baseline BASELINES/NAME (the scenario's own seed) and stop.")
@max_events_option
@friendly
def check(folders, scenario_file, baselines, tier, alpha, rel_tol, abs_tol, jobs, max_events, update):
    """Check RESULTS_DIR against BASELINE_DIR (or --scenario FILE against its baseline).

    Exit 0 when it passes, 1 on a regression or a changed scenario, 2 on bad input.
    """
    from sim.output.check import check_exact, check_statistical, scenario_changed

    if scenario_file and folders or not scenario_file and len(folders) != 2:
        raise click.UsageError("give RESULTS_DIR BASELINE_DIR, or --scenario FILE")
    if update and not scenario_file:
        raise click.UsageError("--update writes the baseline of --scenario FILE: give it")
    with tempfile.TemporaryDirectory(prefix="capsim-check-") as scratch:
        if scenario_file:
            scenario = _warn(scenario_file, load_scenario(scenario_file))
            limits.check(limits.workload([scenario], scenario.replications), max_events)
            if update:
                written = workflows.refresh_baseline(scenario, Path(baselines), jobs=jobs or default_jobs())
                click.echo(f"baseline written: {written}")
                return
            new, baseline = workflows.run_beside_baseline(scenario, Path(baselines), Path(scratch),
                                                          jobs=jobs or default_jobs())
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
@fix_inputs_option
@friendly
def theory(scenario_file, fix_inputs):
    """Queueing theory for SCENARIO_FILE, without simulating: offered load,
    Erlang B blocking, mean occupancy and the beds each blocking target needs."""
    scenario = _warn(scenario_file, read_scenario(scenario_file, fix_inputs))
    limits.check_theory(scenario)
    click.echo(tables.theory_text(scenario))


