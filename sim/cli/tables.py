"""What the commands print: the terminal's tables, from the metric registry and the one formatter."""

from __future__ import annotations

from sim import metrics
from sim.analysis.stats import summarise
from sim.formatting import for_people, interval, stat_interval


def headline_table(results) -> str:
    """The headline metrics, system-wide and per stream, with 95% intervals."""
    summary = results.summary
    lines = [
        f"{summary['scenario']}: {summary['replications']} replications, "
        f"{summary['horizon_days']:g} days measured after {summary['warmup_days']:g} days of warm-up",
        "",
    ]
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
    lines = [
        f"\nanalytic check (M/G/c/c, Erlang B; offered load {analytic.offered_load:.2f} erlangs, {analytic.beds} beds):"
    ]
    for metric, exact in [
        ("blocking_probability", analytic.blocking_probability),
        ("occupancy_mean", analytic.occupancy_mean),
    ]:
        check = agreement(exact, results.values(metric))
        line = (
            f"  {metrics.label(metric):<40} analytic {for_people(exact):>10}   "
            f"simulated {for_people(check.simulated):>10}"
        )
        if check.agrees is not None:
            line += f"   99% interval {interval(check.low, check.high)}"
            if not check.agrees:
                line += "   WARNING: outside the simulated 99% interval (warm-up too short? too few replications?)"
        lines.append(line)
    return "\n".join(lines)


def comparison_table(comparison) -> str:
    base = comparison.base
    lines = [
        f"{alt.scenario.name} - {base.scenario.name}: paired differences over {len(base.replications)} "
        f"replications (* = the 95% interval excludes zero)"
        for alt in comparison.alternatives
    ]
    lines.append(f"\n{'scenario':<24} {'metric':<28} {'base':>10} {'alt':>10} {'difference':>11}  {'95% interval':>24}")
    for d in comparison.differences:
        if d.metric in metrics.HEADLINE:
            lines.append(
                f"{d.scenario:<24} {d.metric:<28} {for_people(d.base_mean):>10} {for_people(d.alt_mean):>10} "
                f"{for_people(d.difference):>11}{'*' if d.significant else ' '} "
                f"{interval(d.ci95_low, d.ci95_high):>24}"
            )
    return "\n".join(lines)


def sweep_table(points, runs) -> str:
    """One row per point: its settings and the sweep columns of the registry, then what they mean."""
    parameters = list(points[0].settings)
    columns = [(m, _sweep_heading(m), max(10, len(_sweep_heading(m)))) for m in metrics.SWEEP_HEADLINE]
    lines = [
        f"{'point':<10} "
        + " ".join(f"{p.split('.')[-1]:>16}" for p in parameters)
        + "".join(f" {heading:>{width}}" for _, heading, width in columns)
    ]
    for point, results in zip(points, runs):
        summary = results.summary["metrics"]
        lines.append(
            f"{point.label:<10} "
            + " ".join(f"{point.settings[p]!s:>16}" for p in parameters)
            + "".join(f" {for_people(summary[m]['mean']):>{width}}" for m, _, width in columns)
        )
    lines.append("\n" + "; ".join(f"{heading}: {metrics.label(m)}" for m, heading, _ in columns))
    return "\n".join(lines)


def _sweep_heading(metric: str) -> str:
    """A short column heading: the metric's name without its family (occupancy_p95 -> p95)."""
    return metric.removeprefix("occupancy_") if metric != "occupancy_mean" else "occupancy"


def size_text(sizing) -> str:
    """The answer of `capsim size` and the targets' values at it and one bed below."""
    lines = []
    if sizing.analytic_start is not None:
        lines.append(f"Erlang B start: {sizing.analytic_start} beds")
    lines.append(f"tried: {', '.join(str(b) for b in sorted(sizing.trials))} beds")
    lines.append(f"answer: {sizing.reason}")
    if sizing.answer is not None:
        for beds in (sizing.answer, sizing.answer - 1):
            if beds in sizing.trials:
                results = sizing.trials[beds].results
                shown = []
                for target in sizing.targets:
                    stat = summarise(target.values(results))
                    shown.append(f"{target.metric} {for_people(stat['mean'])} {stat_interval(stat)}")
                lines.append(f"  at {beds} beds: " + "; ".join(shown))
    return "\n".join(lines)


def theory_text(scenario) -> str:
    """`capsim theory`: offered load, Erlang B, M/G/inf and the beds each blocking target needs."""
    from sim.analysis.queueing import erlang_b, mginf_occupancy_tail, smallest_beds
    from sim.analysis.theory import analytic_check, outside_loss_model

    lines: list[str] = []
    analytic = analytic_check(scenario)
    lines.append(f"{scenario.name}: {scenario.capacity.beds} beds")
    lines.append(f"  {'stream':<28} {'E[stay] (days)':>15} {'offered load':>14}")
    for name, stay in analytic.expected_stays.items():
        load = analytic.stream_loads[name]
        lines.append(f"  {name:<28} {stay:>15.2f} {for_people(load) if load is not None else 'varies':>14}")
    if analytic.offered_load is None:
        lines.append("\nA rate changes over time: no single offered load; simulate it (capsim run).")
        return "\n".join(lines)
    load = analytic.offered_load
    lines.append(f"  {'all streams':<28} {'':>15} {load:>14.2f}  erlangs (mean beds used with unlimited beds)")
    blocking = erlang_b(scenario.capacity.beds, load)
    lines.append(
        f"\nErlang B with {scenario.capacity.beds} beds: {blocking:.4%} of requests turned away; "
        f"mean occupancy {load * (1 - blocking):.1f}"
    )
    lines.append(
        f"M/G/inf: share of time the flows would need more than {scenario.capacity.beds} beds: "
        f"{mginf_occupancy_tail(load, scenario.capacity.beds + 1):.4%}"
    )
    lines.append(
        "beds needed to keep the share turned away under: "
        + ", ".join(f"{target:.0%}: {smallest_beds(load, target)}" for target in (0.01, 0.05, 0.10))
    )
    uncertain = scenario.uncertain_inputs()
    if uncertain:
        lines.append(
            f"\nnote: uncertain inputs at their means ({', '.join(uncertain)}); the simulation draws "
            "them per replication, so its blocking is not Erlang B of the mean load (--fix-inputs)."
        )
    structural = outside_loss_model(scenario)
    if structural:
        lines.append(
            f"\nnote: the scenario is not a pure loss system ({structural}); "
            "these figures describe the same flows on one shared pool of constant capacity."
        )
    return "\n".join(lines)
