"""The report of a results folder of `capsim run`: headline results, four figures, uncertain inputs, STRESS-DES.

The headline table shows the registry's headline metrics with their labels,
beside Erlang B where queueing theory covers the scenario (with the verdict of
`sim.analysis.theory.agreement`, the rule the terminal warns by).
"""

from __future__ import annotations

from pathlib import Path

from sim import metrics
from sim.analysis.theory import agreement
from sim.formatting import MISSING, as_written, for_people, interval, percent, places, stat_interval
from sim.metrics import BY_NAME
from sim.output.run_folder import FIXED_INPUTS
from sim.report.centres import centres_brief, centres_html
from sim.report.drawing import require_matplotlib
from sim.report.html import esc, figure_html, html_page, html_table, mean_cell, metric_cell, page_lead
from sim.report.periods import periods_html
from sim.report.reading import RunFolder, a_year, a_year_note, changes_said, read_json, window_words
from sim.report.run_figures import (
    capacity_periods,
    distribution_figure,
    occupancy_figure,
    outcomes_figure,
    stays_figure,
)
from sim.report.stress import stress_html


def _code(name: str) -> str:
    return f"<code>{esc(name)}</code>"


def _verdict(folder: RunFolder, metric: str, exact: float) -> str:
    """Erlang B's value and whether it lies inside the simulated 99% interval of the replications."""
    check = agreement(exact, folder.column(metric))
    if check.agrees is None:
        verdict = "not checked (fewer than two replications)"
    else:
        verdict = "inside the simulated 99% interval" if check.agrees else (
            '<span class="bad">outside the simulated 99% interval</span>')
        verdict += f"<br>{interval(check.low, check.high)}"
    return f"{for_people(exact)}<br><small>{verdict}</small>"


def headline_html(folder: RunFolder) -> str:
    """The headline metrics, system-wide (with Erlang B where it applies) and per stream; counts and cost
    also a year."""
    system = folder.summary.get("metrics") or {}
    streams = folder.summary.get("streams") or {}
    analytic = folder.summary.get("analytic") or {}
    window = folder.summary.get("horizon_days")
    covered = bool(analytic) and analytic.get("reason") is None and analytic.get("offered_load") is not None
    shown = [m for m in metrics.HEADLINE  # cost only with a cost per bed-day
             if m in system and not (m == "cost" and (system[m] or {}).get("mean") is None)]
    header = ["metric", "mean in the window", "95% interval", "a year"] + (["analytic (Erlang B)"] if covered else [])
    rows = []
    for metric in shown:
        stat = system[metric]
        yearly = for_people(a_year(stat.get("mean"), window)) if metrics.counted_in_window(metric) else ""
        row = [metric_cell(metric), for_people(stat.get("mean")), stat_interval(stat), yearly]
        if covered:
            exact = analytic.get(metric)
            row.append(_verdict(folder, metric, exact) if exact is not None else "")
        rows.append(row)
    parts = [html_table(header, rows, numeric=(1, 2, 3, 4) if covered else (1, 2, 3))]
    if window:
        parts.append(f'<p class="note">{esc(a_year_note(window))}.</p>')
    if covered:
        parts.append(f'<p class="note">Analytic check: the scenario is an M/G/c/c loss system; Erlang B on the '
                     f'offered load a = {for_people(analytic["offered_load"])} erlangs gives the share turned '
                     f'away, and a (1 − B) the mean occupancy, whatever the shape of the stay distribution. It '
                     f'should lie inside the 99% Student-t interval of the replications.</p>')
    elif analytic.get("reason"):
        parts.append(f'<p class="note">Analytic check: not applicable ({esc(analytic["reason"])}).</p>')
    names = folder.streams
    if names:
        parts.append("<h3>Per stream</h3>")
        rows = [[metric_cell(metric)] + [mean_cell(stat, metric, window)
                                         if (stat := (streams.get(name) or {}).get(metric)) else MISSING
                                         for name in names] for metric in shown]
        parts.append(html_table(["metric"] + [esc(n) for n in names], rows, numeric=range(1, len(names) + 1)))
        parts.append(f'<p class="note">Mean over replications in the window and its 95% interval (in brackets); '
                     f'counts and cost also a year. <code>probability_full</code>: '
                     f'{esc(BY_NAME["probability_full"].meaning)}.</p>')
    return "\n".join(parts)


def brief_html(folder: RunFolder) -> str:
    """What a planner came for, in sentences generated from summary.json: the beds in use against the
    capacity, the time full and those turned away, each stream's beds and returns, the cost a year."""
    summary = folder.summary
    system = summary.get("metrics") or {}
    window = summary.get("horizon_days")

    def mean(stats: dict, metric: str):
        return (stats.get(metric) or {}).get("mean")

    def yearly(stats: dict, metric: str) -> str:
        return for_people(a_year(mean(stats, metric), window))

    occupancy = system.get("occupancy_mean") or {}
    steps = folder.capacity_steps()
    if occupancy.get("mean") is None:
        return ""
    spread = f"(95% interval {for_people(occupancy.get('ci95_low'))}–{for_people(occupancy.get('ci95_high'))})"
    centres = summary.get("centres") or {}
    if centres:  # against the centres' places; "full" is said of each centre, below
        usable, nominal = (sum(mean(centre, m) or 0.0 for centre in centres.values())
                           for m in ("places_usable", "places_nominal"))
        first = (f"On average {for_people(occupancy['mean'])} of the {places(usable)} usable places of the "
                 f"{len(centres)} centres ({places(nominal)} nominal) are in use {spread}")
    elif len({step.beds for step in steps}) > 1:
        first = (f"On average {for_people(occupancy['mean'])} beds are in use {spread}, while the capacity goes "
                 f"from {steps[0].beds:,} to {steps[-1].beds:,} beds")
    else:
        beds = f" of the {steps[0].beds:,}" if steps else ""
        first = f"On average {for_people(occupancy['mean'])}{beds} beds are in use {spread}"
    if mean(system, "probability_full") is not None and not centres:
        first += f"; the centres are full {percent(mean(system, 'probability_full'))} of the time"
    if mean(system, "turned_away") is not None:
        first += f", and {yearly(system, 'turned_away')} people a year are turned away"
        if mean(system, "blocking_probability") is not None:
            first += f" ({percent(mean(system, 'blocking_probability'))} of the detention requests)"
    sentences = [first + ".", *centres_brief(folder)]
    streams = summary.get("streams") or {}
    held = [f"the {esc(name)} stream holds {for_people(mean(streams[name], 'occupancy_mean'))} beds on average "
            f"and returns {yearly(streams[name], 'returned')} people a year"
            for name in folder.streams if name in streams]
    if held:
        sentences.append("By stream: " + "; ".join(held) + ".")
    cost = folder.scenario.get("cost_per_bed_day")
    if cost is not None and mean(system, "cost") is not None:
        sentences.append(f"At {as_written(cost)} a bed-day, the bed-days cost {yearly(system, 'cost')} a year.")
    if window:
        sentences.append(f"Means over {esc(summary.get('replications'))} replications; a year is the "
                         f"{esc(window_words(window))}'s count divided by its length.")
    return f'<p class="brief">{" ".join(sentences)}</p>'


def uncertain_inputs_html(folder: RunFolder) -> str:
    """The values drawn for each uncertain input, and the headline intervals with
    the inputs drawn beside those with the inputs at their means (simulation
    noise alone), when the folder holds that companion run."""
    inputs = folder.summary["inputs"]
    rows = [[_code(path), for_people(stat.get("mean")), f"{for_people(stat.get('min'))} – "
             f"{for_people(stat.get('max'))}"] for path, stat in sorted(inputs.items())]
    parts = [html_table(["input", "mean of the values drawn", "range over replications"], rows, numeric=(1, 2))]
    fixed = read_json(folder.path / FIXED_INPUTS / "summary.json")
    if not fixed:
        parts.append('<p class="note">Each replication drew its own value of these inputs, so the intervals above '
                     "include what the data do not know. <code>capsim run --report</code> also runs the scenario "
                     "with the inputs at their means, and shows both intervals here.</p>")
        return "\n".join(parts)
    # system-wide headline metrics, then the stream headline of each stream an uncertain input belongs to
    streams = sorted({path.split(".")[1] for path in inputs if path.startswith("streams.")})
    places = [(None, metric) for metric in metrics.HEADLINE]
    places += [(stream, metric) for stream in streams for metric in metrics.STREAM_HEADLINE]
    rows = []
    for stream, metric in places:
        drawn_side = folder.summary.get("metrics") if stream is None else folder.summary["streams"].get(stream)
        noise_side = fixed.get("metrics") if stream is None else (fixed.get("streams") or {}).get(stream)
        drawn, noise = (drawn_side or {}).get(metric), (noise_side or {}).get(metric)
        if drawn and noise and drawn.get("mean") is not None:
            name = metric if stream is None else f"{stream}.{metric}"
            rows.append([metric_cell(name), mean_cell(drawn), mean_cell(noise)])
    parts.append(html_table(["metric", "inputs drawn: mean and 95% interval",
                             "inputs at their means: mean and 95% interval (simulation noise only)"],
                            rows, numeric=(1, 2)))
    parts.append('<p class="note">Both runs use the same seeds (common random numbers). The wider the first '
                 "interval is than the second, the more of the uncertainty comes from the inputs rather than "
                 f"from the simulation; the companion run is in <code>{FIXED_INPUTS}/</code>.</p>")
    return "\n".join(parts)


FIGURES = {  # name: (drawer, the file it needs, caption)
    "occupancy": (occupancy_figure, "occupancy",
                  "Beds in use over time: the mean over replications, the band holding 90% of them (5th to 95th "
                  "percentile) and the capacity in force; the warm-up, shaded, is not measured."),
    "distribution": (distribution_figure, "distribution",
                     "Share of the measured time spent at each occupancy level (averaged over replications), with "
                     "the capacity and the share of time the centres are full."),
    "outcomes": (outcomes_figure, None,
                 "What became of the people of each stream during the measured window (mean per replication; n, "
                 "the mean number of people, rounded): "
                 "ended stays by their end, those still detained at the end, those turned away for lack of a bed "
                 "and those screened out before detention."),
    "stays": (stays_figure, "stays",
              "Share of stays no longer than a given length, per stream, with its maximum detention."),
}


PERIODS_CAPTION = (
    "The capacity changes in the measured window, so the occupancy is shown per capacity period: in each, the "
    "share of its days at each level of the day's mean occupancy over replications (occupancy.csv), with the "
    "capacity of the period. The time-weighted distribution of occupancy_distribution.csv pools the periods, "
    "and is not drawn.")


def _figures_of_run(folder: RunFolder, png_dir: Path | None) -> dict[str, str]:
    figures = {}
    for name, (draw, needs, caption) in FIGURES.items():
        data = getattr(folder, needs) if needs else folder.summary.get("streams")
        if not data:
            figures[name] = f'<p class="note">No data for this figure ({esc(needs or "streams")} missing).</p>'
            continue
        svg = draw(folder, png=png_dir / f"{name}.png" if png_dir is not None else None)
        if name == "distribution" and len(capacity_periods(folder)) > 1:
            caption = PERIODS_CAPTION
        figures[name] = figure_html(svg, esc(caption))
    return figures


def run_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a results folder of `capsim run` as HTML text (PNG copies of the figures into `png_dir`)."""
    require_matplotlib()
    folder = RunFolder(Path(results_dir))
    figures = _figures_of_run(folder, png_dir)
    summary = folder.summary
    meta = [f"seed {esc(summary.get('seed'))}", f"{esc(summary.get('replications'))} replications",
            f"warm-up {as_written(summary.get('warmup_days'))} days",
            f"measured {as_written(summary.get('horizon_days'))} days"]
    if folder.start is not None:
        meta.append(f"day 0 = {folder.start.isoformat()}")
    if summary.get("capsim_version"):
        meta.append(f"capsim {esc(summary['capsim_version'])}")
    if summary.get("scenario_sha256"):
        meta.append(f"scenario sha256 {esc(str(summary['scenario_sha256'])[:12])}")
    sections = [
        ("Headline results", headline_html(folder)),
        ("Occupancy over time", figures["occupancy"]),
        *([(f"By {folder.scenario.get('periods')}", periods_html(folder.periods, str(folder.scenario.get("periods")),
                                                              png_dir))] if folder.periods else []),
        *([("Centres", centres_html(folder, png_dir))] if summary.get("centres") else []),
        ("Occupancy distribution", figures["distribution"]),
        ("Outcomes per stream", figures["outcomes"]),
        ("Length of stay", figures["stays"]),
        *([("Uncertain inputs", uncertain_inputs_html(folder))] if summary.get("inputs") else []),
        ("STRESS-DES reporting checklist", stress_html(folder)),
    ]
    return html_page(f"capsim report: {folder.name}", sections,
                     lead=page_lead(description_html(folder), meta) + "\n" + brief_html(folder))


def description_html(folder: RunFolder) -> str:
    """The scenario's description, and where it comes from when it extends another: the base's name and
    what it changes (a description inherited from the base would otherwise read as the base's own)."""
    description = esc(folder.scenario.get("description", ""))
    parent = folder.manifest.get("extends")
    if not isinstance(parent, dict):
        return description
    if "name" not in parent:
        return description + f"<br><small>extends {esc(parent.get('file'))}</small>"
    name = f"{esc(parent['name'])} ({esc(parent.get('file'))})"
    changes = esc(changes_said(parent.get("changes") or []))
    if folder.scenario.get("description", "") == parent.get("description", ""):
        return f"As {name}, but: {changes}." + (f"<br><small>{esc(parent['name'])}: {description}</small>"
                                                 if description else "")
    return description + f"<br><small>extends {name}; changes: {changes}</small>"
