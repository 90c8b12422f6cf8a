"""What the commands print: the terminal's tables, from the metric registry and the one formatter."""

from __future__ import annotations

import math
from typing import Any

from sim import metrics
from sim.formatting import for_people, interval, percent, percent_interval, places, stat_interval


def headline_table(results) -> str:
    """The headline metrics, system-wide and per stream, with 95% intervals; counts and cost also a year."""
    from sim.report.reading import a_year, a_year_note

    summary = results.summary
    window = summary["horizon_days"]
    lines = [
        f"{summary['scenario']}: {summary['replications']} replications, "
        f"{window:g} days measured after {summary['warmup_days']:g} days of warm-up",
        a_year_note(window),
        "",
    ]
    lines.append(f"{'metric':<40} {'mean in the window':>18}  {'95% interval':>25}  {'a year':>10}")
    for name in metrics.HEADLINE + metrics.LEGAL_CLOCK + ("released_for_room",):  # the last two: when reported
        stat = summary["metrics"].get(name)
        if stat is not None and stat["mean"] is not None:
            yearly = f"  {for_people(a_year(stat['mean'], window)):>10}" if metrics.counted_in_window(name) else ""
            lines.append(f"{metrics.label(name):<40} {for_people(stat['mean']):>18}  {stat_interval(stat):>25}"
                         + yearly)
    if len(results.stream_names) > 1:
        counted = [m for m in metrics.STREAM_HEADLINE if metrics.counted_in_window(m)]
        for title, columns, scale in [("mean in the window", metrics.STREAM_HEADLINE, None),
                                      ("a year", counted, window)]:
            lines += ["", f"per stream, {title}: " + ", ".join(metrics.label(m) for m in columns)]
            for name, stream in summary["streams"].items():
                values = [stream[m]["mean"] if scale is None else a_year(stream[m]["mean"], scale) for m in columns]
                lines.append(f"  {name:<30} " + "  ".join(f"{for_people(v):>10}" for v in values))
    if "centres" in summary:
        lines += centres_lines(summary)
    return "\n".join(lines)


def centres_lines(summary: dict) -> list[str]:
    """With centres: each centre's places and occupancy (against its usable places), then the people of each
    sex and category: how many found no place of their kind, and how often every place open to them was taken."""
    from sim.engine.centres import KIND
    from sim.report.reading import a_year

    window = summary["horizon_days"]
    lines = ["", "per centre, means over the replications (full: every usable place taken):",
             f"  {'centre':<22} {'places':>7} {'usable':>7} {'in use':>8} {'95% interval':>18} {'p95':>6} "
             f"{'time full':>10} {'admitted a year':>16}"]
    for name, centre in summary["centres"].items():
        lines.append(f"  {name:<22} {places(centre['places_nominal']['mean']):>7} "
                     f"{places(centre['places_usable']['mean']):>7} {for_people(centre['occupancy_mean']['mean']):>8} "
                     f"{stat_interval(centre['occupancy_mean']):>18} {places(centre['occupancy_p95']['mean']):>6} "
                     f"{percent(centre['probability_full']['mean']):>10} "
                     f"{for_people(a_year(centre['admitted']['mean'], window)):>16}")
    lines += ["", "per sex and category, means over the replications (places open: the usable places of the centres "
                  "that accept some of them; no place: every one open to a person taken):",
              f"  {'people':<22} {'open':>7} {'in use':>8} {'requests a year':>16} {'found no place':>15} "
              f"{'95% interval':>18} {'time no place':>14}"]
    for dimension, groups in summary["groups"].items():
        for value, group in groups.items():
            who = value.replace("/", ", ") if dimension == KIND else f"{dimension} {value}"
            lines.append(f"  {who:<22} {places(group['places_usable']['mean']):>7} "
                         f"{for_people(group['occupancy_mean']['mean']):>8} "
                         f"{for_people(a_year(group['detention_requests']['mean'], window)):>16} "
                         f"{percent(group['share_found_no_place']['mean']):>15} "
                         f"{percent_interval(group['share_found_no_place']):>18} "
                         f"{percent(group['probability_full']['mean']):>14}")
    return lines


PERIOD_COLUMNS = {"occupancy_p95": "p95 in use", "probability_full": "time full", "admitted": "admitted",
                  "turned_away": "turned away", "returned": "returned"}
"""The terminal's period table, beside the mean beds in use: metric -> column heading (periods.csv has every
metric, per stream too)."""


def periods_table(results) -> str:
    """All streams together, period by period: the mean beds in use with its 95% interval, then the means of
    PERIOD_COLUMNS."""
    from sim.analysis.periods import ALL_STREAMS, period_rows

    rows: dict[str, dict[str, Any]] = {}
    for found in period_rows(results):
        if found.scope == ALL_STREAMS and (found.metric in PERIOD_COLUMNS or found.metric == "occupancy_mean"):
            rows.setdefault(found.period.label, {"beds": found.capacity})[found.metric] = found
    lines = ["", f"by {results.scenario.periods}, all streams (means over the replications):",
             f"{'period':<10} {'beds':>6} {'in use':>9} {'95% interval':>21} "
             + " ".join(f"{head:>11}" for head in PERIOD_COLUMNS.values())]
    for label, row in rows.items():
        mean = row["occupancy_mean"]
        others = [percent(row[m].mean) if metrics.BY_NAME[m].kind == "share" else for_people(row[m].mean)
                  for m in PERIOD_COLUMNS]
        lines.append(f"{label:<10} {row['beds']:>6} {for_people(mean.mean):>9} "
                     f"{interval(mean.ci95_low, mean.ci95_high):>21} " + " ".join(f"{v:>11}" for v in others))
    return "\n".join(lines)


def projection_table(projection) -> str:
    """Period by period, each variant's mean beds in use with its 95% interval and its share of time full (and
    its beds, when the variants' beds differ)."""
    from sim.analysis.periods import ALL_STREAMS, period_rows

    names = list(projection.variants)
    cells: dict[str, dict[Any, Any]] = {}
    for name, results in projection.variants.items():
        for found in period_rows(results):
            if found.scope == ALL_STREAMS and found.metric in ("occupancy_mean", "probability_full"):
                cells.setdefault(found.period.label, {})[(name, found.metric)] = found
    same = all(len({row[(name, "occupancy_mean")].capacity for name in names}) == 1 for row in cells.values())
    width = 30 if same else 38
    lines = [f"{projection.scenario.name}: {len(names)} variants on common random numbers, "
             f"{len(next(iter(projection.variants.values())).replications)} replications each",
             "beds in use (mean of the period, 95% interval) and share of time full, all streams together", "",
             f"{'period':<10} {'beds' if same else '':>6}  " + "  ".join(f"{name:>{width}}" for name in names)]
    for label, row in cells.items():
        shown = []
        for name in names:
            mean, full = row[(name, "occupancy_mean")], row[(name, "probability_full")]
            shown.append(f"{for_people(mean.mean)} {interval(mean.ci95_low, mean.ci95_high)} "
                         + ("" if same else f"of {mean.capacity} ") + f"{percent(full.mean):>6}")
        beds = row[(names[0], "occupancy_mean")].capacity if same else ""
        lines.append(f"{label:<10} {beds:>6}  " + "  ".join(f"{text:>{width}}" for text in shown))
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
    """The paired differences of the headline metrics, then of the outcomes per origin group; counts and cost
    also a year."""
    from sim.report.reading import origin_differences, windows_note

    base = comparison.base
    windows = {r.scenario.name: r.scenario.horizon for r in [base, *comparison.alternatives]}
    lines = [
        f"{alt.scenario.name} - {base.scenario.name}: paired differences over {len(base.replications)} "
        f"replications (* = the 95% interval excludes zero)"
        for alt in comparison.alternatives
    ]
    lines.append(windows_note(windows))
    by_origin = [d for alt in comparison.alternatives
                 for d in origin_differences(alt.scenario.name, _origin_values(base), _origin_values(alt))]
    width = max([28] + [len(d.metric) for d in by_origin])
    header = (f"{'scenario':<24} {'metric':<{width}} {'base':>10} {'alt':>10} {'difference':>11}  "
              f"{'95% interval':>24}  {'difference a year':>17}")
    lines += ["", header]
    lines += [_difference_line(d, width, windows[base.scenario.name], windows[d.scenario])
              for d in comparison.differences if d.metric in metrics.HEADLINE]
    if by_origin:
        lines += ["", "per origin group (outcomes of the stays of each group, paired):", header]
        lines += [_difference_line(d, width, windows[base.scenario.name], windows[d.scenario]) for d in by_origin]
    by_centre = [d for d in comparison.differences if d.of_centres]
    if by_centre:
        lines += ["", "per centre, and per sex and category (paired):", header]
        lines += [_difference_line(d, width, windows[base.scenario.name], windows[d.scenario]) for d in by_centre]
    return "\n".join(lines)


def _origin_values(results) -> dict[str, list[float]]:
    """A run's outcomes per origin group by STREAM.ORIGIN.METRIC, each over replications."""
    return {f"{stream}.{origin}.{metric}": values for stream in results.stream_names
            for origin, outcomes in results.origin_values(stream).items() for metric, values in outcomes.items()}


def _difference_line(d, width: int, base_window: float, alt_window: float) -> str:
    """A row of the comparison table: means, the difference and its interval, and a count's difference a year."""
    from sim.report.reading import a_year

    line = (f"{d.scenario:<24} {d.metric:<{width}} {for_people(d.base_mean):>10} {for_people(d.alt_mean):>10} "
            f"{for_people(d.difference):>11}{'*' if d.significant else ' '} {interval(d.ci95_low, d.ci95_high):>24}")
    if metrics.counted_in_window(d.metric):
        alt, was = a_year(d.alt_mean, alt_window), a_year(d.base_mean, base_window)
        line += f"  {for_people(alt - was if alt is not None and was is not None else None):>17}"
    return line


def sweep_table(points, runs) -> str:
    """One row per point: its settings, the sweep columns of the registry and counts and cost a year,
    then what they mean."""
    from sim.report.reading import A_YEAR_COLUMNS, a_year, windows_note

    parameters = list(points[0].settings)
    columns = [(m, _sweep_heading(m), max(10, len(_sweep_heading(m))), False) for m in metrics.SWEEP_HEADLINE]
    columns += [(m, f"{m} a year", max(10, len(m) + 7), True) for m in A_YEAR_COLUMNS
                if all(results.summary["metrics"].get(m, {}).get("mean") is not None for results in runs)]
    lines = [
        f"{'point':<10} "
        + " ".join(f"{p.split('.')[-1]:>16}" for p in parameters)
        + "".join(f" {heading:>{width}}" for _, heading, width, _ in columns)
    ]
    for point, results in zip(points, runs):
        summary = results.summary["metrics"]
        window = results.summary["horizon_days"]
        lines.append(
            f"{point.label:<10} "
            + " ".join(f"{point.settings[p]!s:>16}" for p in parameters)
            + "".join(f" {for_people(a_year(summary[m]['mean'], window) if yearly else summary[m]['mean']):>{width}}"
                      for m, _, width, yearly in columns)
        )
    lines.append("\n" + "; ".join(f"{heading}: {metrics.label(m)}" for m, heading, _, yearly in columns
                                   if not yearly))
    lines.append(windows_note({point.label: results.summary["horizon_days"] for point, results in zip(points, runs)}))
    return "\n".join(lines)


def _sweep_heading(metric: str) -> str:
    """A short column heading: the metric's name without its family (occupancy_p95 -> p95)."""
    return metric.removeprefix("occupancy_") if metric != "occupancy_mean" else "occupancy"


def size_text(sizing) -> str:
    """The answer of `capsim size` and the targets' values at it and one bed below (a count also a year)."""
    from sim.report.reading import a_year, window_words

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
                    mean, low, high = target.interval(results) or (math.nan, math.nan, math.nan)
                    text = f"{target.metric} {for_people(mean)} {interval(low, high)}"
                    if metrics.counted_in_window(target.metric):
                        window = results.scenario.horizon
                        text += f" in the {window_words(window)} ({for_people(a_year(mean, window))} a year)"
                    shown.append(text)
                lines.append(f"  at {beds} beds: " + "; ".join(shown))
    if sizing.is_plan:
        from sim.studies.size import shift_sentence

        lines += ["", f"the capacity plan at the answer: {shift_sentence(sizing.shift)}"]
        for step in sizing.plan:
            lines.append(f"  {step.when:<24} {step.label:<32} {step.beds:>6,} beds (written {step.beds_written:,})")
    return "\n".join(lines)


def theory_text(scenario) -> str:
    """`capsim theory`: offered load, then Erlang B (a loss system) or Erlang C/A (a waiting list), M/G/inf,
    and the beds each target needs."""
    from sim.analysis.queueing import mginf_occupancy_tail
    from sim.analysis.theory import analytic_check, outside_loss_model, waiting_check

    lines: list[str] = []
    analytic = analytic_check(scenario)
    lines.append(f"{scenario.name}: {scenario.beds} beds")
    lines.append(f"  {'stream':<28} {'E[stay] (days)':>15} {'offered load':>14}")
    for name, stay in analytic.expected_stays.items():
        load = analytic.stream_loads[name]
        lines.append(f"  {name:<28} {stay:>15.2f} {for_people(load) if load is not None else 'varies':>14}")
    if analytic.offered_load is None:
        lines.append("\nA rate changes over time: no single offered load; simulate it (capsim run).")
        return "\n".join(lines)
    load = analytic.offered_load
    lines.append(f"  {'all streams':<28} {'':>15} {load:>14.2f}  erlangs (mean beds used with unlimited beds)")
    waiting = waiting_check(scenario)
    lines += _loss_lines(scenario.beds, load) if waiting is None else _waiting_lines(waiting, load)
    lines.append(
        f"M/G/inf: share of time the flows would need more than {scenario.beds} beds: "
        f"{mginf_occupancy_tail(load, scenario.beds + 1):.4%}"
    )
    uncertain = scenario.uncertain_inputs()
    if uncertain:
        result = "its blocking is not Erlang B" if waiting is None else "its waiting is not that"
        lines.append(
            f"\nnote: uncertain inputs at their means ({', '.join(uncertain)}); the simulation draws "
            f"them per replication, so {result} of the mean load (--fix-inputs)."
        )
    structural = outside_loss_model(scenario)
    if structural and waiting is None:
        lines.append(
            f"\nnote: the scenario is not a pure loss system ({structural}); "
            "these figures describe the same flows on one shared pool of constant capacity."
        )
    return "\n".join(lines)


TARGETS = (0.01, 0.05, 0.10)
"""The shares `capsim theory` gives the beds for."""


def _loss_lines(beds: int, load: float) -> list[str]:
    from sim.analysis.queueing import erlang_b, smallest_beds

    blocking = erlang_b(beds, load)
    return [f"\nErlang B with {beds} beds: {blocking:.4%} of requests turned away; "
            f"mean occupancy {load * (1 - blocking):.1f}",
            "beds needed to keep the share turned away under: "
            + ", ".join(f"{target:.0%}: {smallest_beds(load, target)}" for target in TARGETS)]


def _waiting_lines(waiting, load: float) -> list[str]:
    """A waiting list by Erlang C or A at the scenario's beds, and the beds each waiting target needs;
    or why theory does not cover it."""
    if not waiting.covered:
        return [f"\nwaiting list: queueing theory does not cover this scenario ({waiting.reason}); "
                "simulate it (capsim run)."]
    who = ("nobody gives up" if waiting.mean_patience is None
           else f"each gives up after an exponential wait of mean {for_people(waiting.mean_patience)} days")
    lines = [f"\nwaiting list ({waiting.model}: Poisson requests, exponential stays of mean "
             f"{for_people(waiting.mean_stay)} days, {who}) with {waiting.beds} beds:"]
    answer = waiting.at(waiting.beds)
    lines.append(f"  probability of waiting for a bed: {percent(answer.probability_wait)}")
    if math.isinf(answer.mean_wait):
        lines.append(f"  mean wait: without end (the offered load, {load:.2f} erlangs, is not below the "
                     f"{waiting.beds} beds, so the waiting list grows without end)")
    else:
        lines.append(f"  mean wait, over all requests: {for_people(answer.mean_wait)} days"
                     + (f"; over those who wait: {for_people(answer.mean_wait / answer.probability_wait)} days"
                        if answer.probability_wait > 0 else ""))
    if waiting.mean_patience is None:
        lines.append("  share who give up: 0 (nobody gives up: no max_wait)")
    else:
        lines.append(f"  share who give up: {percent(answer.share_gave_up)}")
    measures = [("probability_wait", "the probability of waiting")]
    if waiting.mean_patience is not None:
        measures.append(("share_gave_up", "the share who give up"))
    for measure, words in measures:
        lines.append(f"beds needed to keep {words} under: "
                     + ", ".join(f"{target:.0%}: {waiting.beds_for(measure, target)}" for target in TARGETS))
    return lines
