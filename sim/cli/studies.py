"""The planner's studies from the command line: compare, sweep, size and project.

Each parses its options, calls `sim.output.workflows` (which runs and writes
the folder) and prints the terminal's table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sim.cli import tables
from sim.cli.options import (
    friendly,
    main,
    periods_option,
    read_scenario,
    report_into,
    report_possible,
    report_written,
    resume_option,
    say_resumed,
    study_options,
    where,
)
from sim.execution import limits
from sim.output import workflows
from sim.scenario import load_grid


@main.command()
@click.argument("base_file", type=click.Path(dir_okay=False))
@click.argument("alt_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--replications", "-n", type=click.IntRange(min=2), help="Override the base scenario's replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the base scenario's seed (used by all).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder [results/runs/compare-BASE].")
@study_options
@friendly
def compare(base_file, alt_files, replications, seed, out_dir, jobs, scheduler, fix_inputs, with_report,
            max_events):
    """Compare ALT scenarios with BASE on paired replications (common random numbers)."""
    base = read_scenario(base_file, fix_inputs)
    alternatives = [read_scenario(f, fix_inputs) for f in alt_files]
    report_possible(with_report)
    out = Path(out_dir or Path("results") / "runs" / f"compare-{base.name}")
    comparison = workflows.compare_to_folder(base, alternatives, out, replications=replications, seed=seed,
                                             max_events=max_events, command=sys.argv,
                                             finish=report_into(with_report), **where(jobs, scheduler))
    click.echo(tables.comparison_table(comparison))
    for note in comparison.notes:
        click.echo(f"note: {note}")
    click.echo(f"\nevery metric, system-wide and per stream: {out}/compare.csv")
    report_written(out, with_report)


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--replications", "-n", type=click.IntRange(min=2), help="Override the scenario's replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the scenario's seed (used by every variant).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder [results/runs/project-NAME].")
@periods_option
@study_options
@friendly
def project(scenario_file, replications, seed, out_dir, periods, jobs, scheduler, fix_inputs, with_report,
            max_events):
    """Project every variant of SCENARIO_FILE period by period, on common random numbers [by month]."""
    scenario = read_scenario(scenario_file, fix_inputs)
    report_possible(with_report)
    out = Path(out_dir or Path("results") / "runs" / f"project-{scenario.name}")
    projection = workflows.project_to_folder(scenario, out, periods=periods, replications=replications, seed=seed,
                                             max_events=max_events, command=sys.argv,
                                             finish=report_into(with_report), **where(jobs, scheduler))
    click.echo(tables.projection_table(projection))
    click.echo(f"\nevery period of each variant, per stream too: {out}/VARIANT/periods.csv")
    report_written(out, with_report)


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
@study_options
@resume_option
@friendly
def sweep(scenario_file, settings, grid_file, zipped, replications, seed, out_dir, jobs, scheduler, fix_inputs,
          with_report, resume, max_events):
    """Run SCENARIO_FILE over a grid of parameter values, with the same seeds at every point."""
    from sim.studies.sweep import parse_values, sweep_points

    scenario = read_scenario(scenario_file, fix_inputs)
    report_possible(with_report)
    grid = {}
    for setting in settings:
        path, equals, values = setting.partition("=")
        if not equals or not values.strip():
            raise click.UsageError(f"--set takes PATH=V1,V2,... (got {setting!r})")
        grid[path.strip()] = parse_values(values)
    if grid_file:
        grid |= load_grid(grid_file)
    if not grid:
        raise click.UsageError("give at least one --set PATH=V1,V2,... or --grid FILE")
    points = sweep_points(scenario, grid, zipped)
    count, seed = replications or scenario.replications, scenario.seed if seed is None else seed
    click.echo(f"{len(points)} points x {count} replications", err=True)
    out = Path(out_dir or Path("results") / "runs" / f"sweep-{scenario.name}")
    runs = workflows.sweep_to_folder(points, out, replications=count, seed=seed, resume=resume, max_events=max_events,
                                     command=sys.argv, finish=report_into(with_report),
                                     on_resume=say_resumed(out), **where(jobs, scheduler))
    click.echo(tables.sweep_table(points, runs))
    click.echo(f"every metric with its interval: {out}/sweep.csv")
    report_written(out, with_report)


@main.command("size")
@click.argument("scenario_file", type=click.Path(dir_okay=False))
@click.option("--target", "targets", multiple=True, required=True, metavar="METRIC<=VALUE",
              help="e.g. probability_full<=0.05 or blocking_probability<=0.01 (a stream's: STREAM.METRIC).")
@click.option("--min-beds", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--max-beds", type=click.IntRange(min=1), help="Upper end of the search [4x the load or the beds].")
@click.option("--replications", "-n", type=click.IntRange(min=2), help="Override the scenario's replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the scenario's seed.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder [results/runs/size-NAME].")
@study_options
@friendly
def size_command(scenario_file, targets, min_beds, max_beds, replications, seed, out_dir, jobs, scheduler,
                 fix_inputs, with_report, max_events):
    """The smallest number of beds at which every target holds with 95% confidence."""
    from sim.studies.size import Target

    scenario = read_scenario(scenario_file, fix_inputs)
    report_possible(with_report)
    try:
        parsed = [Target.parse_for(t, scenario) for t in targets]
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    out = Path(out_dir or Path("results") / "runs" / f"size-{scenario.name}")
    limits.check(limits.size_workload(scenario, min_beds, max_beds, replications or scenario.replications), max_events)
    sizing = workflows.size_to_folder(scenario, parsed, out, min_beds=min_beds, max_beds=max_beds,
                                      replications=replications, seed=seed, max_events=max_events, command=sys.argv,
                                      finish=report_into(with_report), **where(jobs, scheduler))
    click.echo(tables.size_text(sizing))
    click.echo(f"every count tried: {out}/size.csv")
    report_written(out, with_report)
    sys.exit(0 if sizing.answer is not None else 1)
