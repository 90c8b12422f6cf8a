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
import sys
import tempfile
from pathlib import Path

import click
from ruamel.yaml import YAML

from sim import metrics
from sim.analysis.results import capsim_version
from sim.analysis.stats import summarise
from sim.errors import CapsimError, ScenarioError
from sim.execution import limits
from sim.execution.lanes import default_jobs
from sim.formatting import for_people, interval, stat_interval
from sim.output import workflows
from sim.scenario import json_schema, load_scenario


def _friendly(command):
    """Turn the errors people can fix into messages and exit codes, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except CapsimError as err:
            for line in err.lines():
                click.echo(line, err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt as err:
            click.echo("capsim: interrupted; no results folder was written", err=True)
            for note in getattr(err, "__notes__", ()):
                click.echo(f"capsim: {note}", err=True)
            sys.exit(130)
        except OSError as err:
            click.echo(f"capsim: {err.strerror or err}: {err.filename or ''}".rstrip(": "), err=True)
            sys.exit(2)

    return wrapper


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
@click.version_option(capsim_version(), prog_name="capsim")
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
        from sim.report import require_matplotlib

        require_matplotlib()


def _report_into(with_report: bool):
    """With --report, what writes report.html into a folder (compare, sweep and size: the
    staging folder, so that the report is renamed into place with the results)."""
    if not with_report:
        return None
    from sim.report import write_report

    return write_report


def _report_written(out: Path, with_report: bool) -> None:
    if with_report:
        click.echo(f"report: {out / 'report.html'}")


def _say_resumed(out: Path):
    def say(kept: int | None) -> None:
        if kept is None:
            click.echo(f"capsim: nothing to resume for {out}; starting from the beginning", err=True)
        else:
            click.echo(f"capsim: resuming: {kept} replication(s) already finished", err=True)
    return say


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
    out = Path(out_dir) if out_dir else Path("results") / "runs" / scenario.name
    with _progress(max_replications if precision else (replications or scenario.replications), quiet) as advance:
        results, wall = workflows.run_to_folder(
            scenario, out, replications=replications, seed=seed, jobs=jobs, scheduler=scheduler, precision=precision,
            max_replications=max_replications, only_replication=only_replication, overwrite=overwrite,
            resume=resume, max_events=max_events, inputs_at_means=with_report, command=sys.argv,
            on_progress=advance, on_resume=_say_resumed(out))
    if with_report:
        from sim.report import write_report

        write_report(out)
    if not quiet:
        click.echo(headline_table(results))
        click.echo(analytic_comparison(results))
        if results.stopping:
            click.echo(f"\n{results.stopping.reason}.")
        click.echo(f"\n{len(results.replications)} replications in {wall:.1f} s; results in {out}/")
    _report_written(out, with_report)


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
    lines.append(f"{'metric':<40} {'mean':>12}  {'95% interval':>25}")
    for name in metrics.HEADLINE:
        stat = summary["metrics"].get(name)
        if stat is not None and stat["mean"] is not None:
            lines.append(f"{metrics.label(name):<40} {for_people(stat['mean']):>12}  {stat_interval(stat):>25}")
    if len(results.stream_names) > 1:
        lines += ["", "per stream (mean): " + ", ".join(metrics.label(m) for m in metrics.STREAM_HEADLINE)]
        for name, stream in summary["streams"].items():
            values = [stream[m]["mean"] for m in metrics.STREAM_HEADLINE]
            lines.append(f"  {name:<30} " + "  ".join(f"{for_people(v):>10}" for v in values))
    return "\n".join(lines)


def analytic_comparison(results) -> str:
    """Erlang B beside the simulation, with a warning when they disagree (theory.agreement)."""
    from sim.analysis.theory import agreement

    analytic = results.analytic
    if not analytic.covered:
        return f"\nanalytic check: not applicable ({analytic.reason})"
    lines = [f"\nanalytic check (M/G/c/c, Erlang B; offered load {analytic.offered_load:.2f} erlangs, "
             f"{analytic.beds} beds):"]
    for metric, exact in [("blocking_probability", analytic.blocking_probability),
                          ("occupancy_mean", analytic.occupancy_mean)]:
        check = agreement(exact, results.values(metric))
        line = (f"  {metrics.label(metric):<40} analytic {for_people(exact):>10}   "
                f"simulated {for_people(check.simulated):>10}")
        if check.agrees is not None:
            line += f"   99% interval {interval(check.low, check.high)}"
            if not check.agrees:
                line += "   WARNING: outside the simulated 99% interval (warm-up too short? too few replications?)"
        lines.append(line)
    return "\n".join(lines)


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
@_friendly
def warmup(scenario_file, replications, window, out_file, jobs):
    """Recommend a warm-up: Welch's method and MSER-5 on the daily occupancy from empty."""
    from sim.studies.warmup import warmup_analysis

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
    from sim.output.check import check_exact, check_statistical, scenario_changed

    if scenario_file and folders or not scenario_file and len(folders) != 2:
        raise click.UsageError("give RESULTS_DIR BASELINE_DIR, or --scenario FILE")
    with tempfile.TemporaryDirectory(prefix="capsim-check-") as scratch:
        if scenario_file:
            new, baseline = workflows.run_beside_baseline(load_scenario(scenario_file), Path(baselines),
                                                          Path(scratch), jobs=jobs or default_jobs())
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
    from sim.analysis.theory import analytic_check, erlang_b, mginf_occupancy_tail, outside_loss_model, smallest_beds

    scenario = _scenario(scenario_file, fix_inputs)
    analytic = analytic_check(scenario)
    click.echo(f"{scenario.name}: {scenario.capacity.beds} beds")
    click.echo(f"  {'stream':<28} {'E[stay] (days)':>15} {'offered load':>14}")
    for name, stay in analytic.expected_stays.items():
        load = analytic.stream_loads[name]
        click.echo(f"  {name:<28} {stay:>15.2f} {for_people(load) if load is not None else 'varies':>14}")
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
    base = _scenario(base_file, fix_inputs)
    alternatives = [_scenario(f, fix_inputs) for f in alt_files]
    _report_possible(with_report)
    out = Path(out_dir or Path("results") / "runs" / f"compare-{base.name}")
    comparison = workflows.compare_to_folder(base, alternatives, out, replications=replications, seed=seed,
                                             max_events=max_events, command=sys.argv,
                                             finish=_report_into(with_report), **_where(jobs, scheduler))
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
    for d in comparison.differences:
        if d.metric in metrics.HEADLINE:
            lines.append(f"{d.scenario:<24} {d.metric:<28} {for_people(d.base_mean):>10} {for_people(d.alt_mean):>10} "
                         f"{for_people(d.difference):>11}{'*' if d.significant else ' '} "
                         f"{interval(d.ci95_low, d.ci95_high):>24}")
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
    from sim.studies.sweep import parse_values, sweep_points

    scenario = _scenario(scenario_file, fix_inputs)
    _report_possible(with_report)
    grid = {}
    for setting in settings:
        path, equals, values = setting.partition("=")
        if not equals or not values.strip():
            raise click.UsageError(f"--set takes PATH=V1,V2,... (got {setting!r})")
        grid[path.strip()] = parse_values(values)
    if grid_file:
        loaded = YAML(typ="safe").load(Path(grid_file).read_text(encoding="utf-8"))
        if not isinstance(loaded, dict) or not all(isinstance(v, list) for v in loaded.values()):
            raise click.UsageError(f"{grid_file}: expected a mapping of PATH: [values]")
        grid |= loaded
    if not grid:
        raise click.UsageError("give at least one --set PATH=V1,V2,... or --grid FILE")
    points = sweep_points(scenario, grid, zipped)
    count, seed = replications or scenario.replications, scenario.seed if seed is None else seed
    click.echo(f"{len(points)} points x {count} replications", err=True)
    out = Path(out_dir or Path("results") / "runs" / f"sweep-{scenario.name}")
    runs = workflows.sweep_to_folder(points, out, replications=count, seed=seed, resume=resume, max_events=max_events,
                                     command=sys.argv, finish=_report_into(with_report),
                                     on_resume=_say_resumed(out), **_where(jobs, scheduler))
    parameters = list(grid)
    click.echo(f"{'point':<10} " + " ".join(f"{p.split('.')[-1]:>16}" for p in parameters)
               + "".join(f" {_sweep_heading(m):>12}" for m in metrics.SWEEP_HEADLINE))
    for point, results in zip(points, runs):
        summary = results.summary["metrics"]
        click.echo(f"{point.label:<10} " + " ".join(f"{str(point.settings[p]):>16}" for p in parameters)
                   + "".join(f" {for_people(summary[m]['mean']):>12}" for m in metrics.SWEEP_HEADLINE))
    click.echo("\n" + "; ".join(f"{_sweep_heading(m)}: {metrics.label(m)}" for m in metrics.SWEEP_HEADLINE))
    click.echo(f"every metric with its interval: {out}/sweep.csv")
    _report_written(out, with_report)


def _sweep_heading(metric: str) -> str:
    """A short column heading: the metric's name without its family (occupancy_p95 -> p95)."""
    return metric.removeprefix("occupancy_") if metric != "occupancy_mean" else "occupancy"


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
    from sim.studies.size import Target

    scenario = _scenario(scenario_file, fix_inputs)
    _report_possible(with_report)
    try:
        parsed = [Target.parse_for(t, scenario) for t in targets]
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    out = Path(out_dir or Path("results") / "runs" / f"size-{scenario.name}")
    sizing = workflows.size_to_folder(scenario, parsed, out, min_beds=min_beds, max_beds=max_beds,
                                      replications=replications, seed=seed, max_events=max_events, command=sys.argv,
                                      finish=_report_into(with_report), **_where(jobs, scheduler))
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
                    stat = summarise(target.values(results))
                    shown.append(f"{target.metric} {for_people(stat['mean'])} {stat_interval(stat)}")
                click.echo(f"  at {beds} beds: " + "; ".join(shown))
    click.echo(f"every count tried: {out}/size.csv")
    _report_written(out, with_report)
    sys.exit(0 if sizing.answer is not None else 1)
