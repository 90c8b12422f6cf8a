"""A single-file HTML report of a results folder of capsim run, compare, sweep or size.

`write_report(folder)` reads the files the command wrote (a run's summary.json,
occupancy.csv, occupancy_distribution.csv, stays.csv, scenario.yaml and
manifest.json; compare.csv and compare.json; sweep.csv; size.csv and
size.json), never the Python objects, so that any folder can be reported on,
and writes `report.html` into it: figures as inline SVG, CSS inline, no script
and no external URL, so that it opens offline in any browser and prints on A4.

The output is reproducible: the same folder gives a byte-identical report (see
`sim.figures` for the figures; no time stamp and no path of the folder is written).

The figures are drawn by `sim.figures`; this module reads the folders and
assembles the pages. matplotlib (the `report` extra) is imported only when a
figure is drawn: `import sim.report` works without it, writing a report raises
`ReportUnavailable`.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import html
import json
import math
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim import metrics
from sim.errors import NotAResultsFolder
from sim.formatting import as_written, for_people, stat_interval
from sim.metrics import BY_NAME
from sim.output.run_folder import FIXED_INPUTS
from sim.report.figures import (
    distribution_figure,
    finite,
    forest_plot_svg,
    heatmap_svg,
    occupancy_figure,
    outcomes_figure,
    require_matplotlib,
    size_plot_svg,
    stays_figure,
    sweep_plot_svg,
    to_float,
)

REPORT_NAME = "report.html"
HEADLINE = [(name, BY_NAME[name].label) for name in metrics.HEADLINE]  # (metric, what it means)

CSS = """
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 14px; line-height: 1.45;
       color: #1a1a1a; background: #fff; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
p.lead { margin: .2rem 0 .6rem; }
p.meta, p.note, figcaption { color: #444; font-size: .85rem; }
figure { margin: 1rem 0; }
figure svg { width: 100%; max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .82rem; width: 100%; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td small, td .ci { color: #555; font-size: .9em; }
code { font-size: .9em; }
.bad { color: #b00020; font-weight: bold; }
.sig { color: #b03a00; font-weight: bold; }
div.pair { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0 1.2rem; }
@page { size: A4; margin: 15mm; }
@media print {
  body { font-size: 10pt; max-width: none; margin: 0; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, table, tr, img, svg { break-inside: avoid; page-break-inside: avoid; }
  figure svg, img { max-width: 100%; }
  table { font-size: 8pt; }
}
""".strip()





# --- reading a results folder -----------------------------------------------------------

def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _read_yaml(path: Path) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _day(at, start: dt.date | None) -> float:
    """Days since day 0 of a time in scenario.yaml (a number, or a date when `start` is set)."""
    if isinstance(at, (int, float)):
        return float(at)
    date = _date(at)
    if start is None or date is None:
        return math.nan
    return float((date - start).days)


class _Folder:
    """The files of one results folder, read once."""

    def __init__(self, folder: Path):
        self.path = folder
        summary = folder / "summary.json"
        if not summary.is_file():
            raise NotAResultsFolder(f"{folder}: not a results folder of capsim run (no summary.json)")
        self.summary = _read_json(summary)
        self.scenario = _read_yaml(folder / "scenario.yaml") if (folder / "scenario.yaml").is_file() else {}
        self.manifest = _read_json(folder / "manifest.json") if (folder / "manifest.json").is_file() else {}
        self.occupancy = self._csv("occupancy.csv")
        self.distribution = self._csv("occupancy_distribution.csv")
        self.stays = self._csv("stays.csv")
        self.replications = self._csv("replications.csv")
        self.start = _date(self.scenario.get("start"))

    def _csv(self, name: str) -> list[dict[str, str]] | None:
        path = self.path / name
        return _read_csv(path) if path.is_file() else None

    @property
    def name(self) -> str:
        return str(self.summary.get("scenario") or self.scenario.get("name") or self.path.name)

    @property
    def streams(self) -> list[str]:
        names = [s.get("name") for s in self.scenario.get("streams") or []]
        return [n for n in names if n in self.summary.get("streams", {})] or sorted(self.summary.get("streams", {}))

    def stream_spec(self, name: str) -> dict:
        return next((s for s in self.scenario.get("streams") or [] if s.get("name") == name), {})

    def max_detention(self, name: str) -> float | None:
        value = self.stream_spec(name).get("max_detention")
        return value if value is not None else self.scenario.get("max_detention")

    def capacity_steps(self) -> list[tuple[float, int, Any]]:
        """(day, beds, as written) of the capacity from day 0 on."""
        capacity = self.scenario.get("capacity") or {}
        if "beds" not in capacity:
            return []
        steps = [(0.0, int(capacity["beds"]), 0)]
        for change in capacity.get("changes") or []:
            steps.append((_day(change.get("at"), self.start), int(change["beds"]), change.get("at")))
        return sorted(steps, key=lambda step: step[0])

    def when(self, at) -> str:
        """A time of scenario.yaml as text: 'day 60 (2024-03-01)'."""
        day = _day(at, self.start)
        if math.isnan(day):
            return str(at)
        text = f"day {as_written(day)}"
        if self.start is not None:
            text += f" ({(self.start + dt.timedelta(days=day)).isoformat()})"
        return text


# --- number formatting ------------------------------------------------------------------

def _esc(text) -> str:
    return html.escape(str(text), quote=True)




# --- HTML -------------------------------------------------------------------------------

def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (),
               caption: str | None = None) -> str:
    """A table; cells are HTML (escape text first); columns in `numeric` right-aligned."""
    numeric = set(numeric)

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{caption}</caption>")
    parts.append("<thead><tr>" + "".join(
        f"<th{cls(i)}>{cell}</th>" for i, cell in enumerate(header))
        + "</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(
            f"<td{cls(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def figure_html(svg: str, caption: str) -> str:
    """An inline SVG in a <figure> with its caption (HTML)."""
    return f"<figure>\n{svg}<figcaption>{caption}</figcaption>\n</figure>"


def html_page(title: str, sections: Sequence[tuple[str, str]], *, lead: str = "") -> str:
    """A self-contained page: `title` (text), then each (heading text, HTML body) section.

    `lead` is HTML put under the title. CSS is inline, nothing is fetched, no script.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="capsim">',
        f"<title>{_esc(title)}</title>",
        f"<style>\n{CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_esc(title)}</h1>",
    ]
    if lead:
        parts.append(lead)
    for number, (heading, body) in enumerate(sections, 1):
        parts.append(f'<section id="section-{number}">')
        parts.append(f"<h2>{_esc(heading)}</h2>")
        parts.append(body)
        parts.append("</section>")
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


# --- the tables of a run ----------------------------------------------------------------

def _analytic_verdict(folder: _Folder, metric: str, exact: float) -> str:
    """Is `exact` inside the simulated 99% interval (the CLI's warning rule)?"""
    column = [to_float(r.get(metric)) for r in folder.replications or []]
    column = [v for v in column if not math.isnan(v)]
    if len(column) >= 2:
        if max(column) == min(column):
            low = high = column[0]
        else:
            from sim.analysis.stats import confidence_interval

            low, high = confidence_interval(column, 0.99)
    else:
        stat = (folder.summary.get("metrics") or {}).get(metric) or {}
        if stat.get("ci95_low") is None:
            return ""
        low, high = stat["ci95_low"], stat["ci95_high"]
    slack = 1e-9 * max(1.0, abs(exact))  # a zero-width interval (nobody ever turned away)
    if low - slack <= exact <= high + slack:
        return "inside the simulated 99% interval"
    return '<span class="bad">outside the simulated 99% interval</span>'


def headline_html(folder: _Folder) -> str:
    metrics = folder.summary.get("metrics") or {}
    streams = folder.summary.get("streams") or {}
    analytic = folder.summary.get("analytic") or {}
    covered = bool(analytic) and analytic.get("reason") is None and analytic.get("offered_load") is not None
    shown = [(m, text) for m, text in HEADLINE
             if m in metrics and not (m == "cost" and (metrics[m] or {}).get("mean") is None)]
    header = ["metric", "meaning", "mean", "95% interval"] + (["analytic (Erlang B)"] if covered else [])
    rows = []
    for metric, text in shown:
        stat = metrics[metric]
        row = [f"<code>{metric}</code>", _esc(text), for_people(stat.get("mean")), stat_interval(stat)]
        if covered:
            exact = analytic.get(metric)
            row.append(f"{for_people(exact)}<br><small>{_analytic_verdict(folder, metric, exact)}</small>"
                       if exact is not None else "")
        rows.append(row)
    parts = [html_table(header, rows, numeric=(2, 3, 4) if covered else (2, 3))]
    if covered:
        parts.append(f'<p class="note">Analytic check: the scenario is an M/G/c/c loss system; Erlang B on the '
                     f'offered load a = {for_people(analytic["offered_load"])} erlangs gives the share turned away, and '
                     f'a (1 − B) the mean occupancy, whatever the shape of the stay distribution.</p>')
    elif analytic.get("reason"):
        parts.append(f'<p class="note">Analytic check: not applicable ({_esc(analytic["reason"])}).</p>')
    names = folder.streams
    if names:
        parts.append("<h3>Per stream</h3>")
        rows = []
        for metric, _ in shown:
            row = [f"<code>{metric}</code>"]
            for name in names:
                stat = (streams.get(name) or {}).get(metric)
                row.append(f'{for_people((stat or {}).get("mean"))}<br><span class="ci">{stat_interval(stat)}</span>'
                           if stat else "—")
            rows.append(row)
        parts.append(html_table(["metric"] + [_esc(n) for n in names], rows, numeric=range(1, len(names) + 1)))
        parts.append('<p class="note">Mean over replications and its 95% interval (in brackets). Per stream, '
                     "<code>probability_full</code> is the share of time an arrival of the stream finds no bed "
                     "it may use.</p>")
    return "\n".join(parts)


def _distribution(spec) -> str:
    if spec is None:
        return "—"
    if isinstance(spec, (int, float)):
        return f"fixed {as_written(spec)} d"
    if not isinstance(spec, dict):
        return _esc(spec)
    family = spec.get("dist", "?")
    params = []
    for key, value in spec.items():
        if key == "dist":
            continue
        if isinstance(value, list):
            numbers = [v for v in value if isinstance(v, (int, float))]
            span = f", {as_written(min(numbers))}–{as_written(max(numbers))}" if numbers else ""
            params.append(f"{len(value)} {key}{span}")
        else:
            params.append(f"{key} {as_written(value)}")
    return _esc(f"{family} ({', '.join(params)})" if params else family)


def _quantity(value) -> str:
    """A number, or an uncertain quantity as a reader says it."""
    if not isinstance(value, dict):
        return as_written(value)
    if "beta_from" in value:
        counts = value["beta_from"]
        return _esc(f"uncertain: Beta from {counts.get('successes')} of {counts.get('trials')}")
    if "gamma_from" in value:
        counts = value["gamma_from"]
        return _esc(f"uncertain: Gamma from {counts.get('events')} in {as_written(counts.get('days'))} days")
    form, values = next(iter(value.items()))
    return _esc(f"uncertain: {form} " + ", ".join(as_written(v) for v in values))


def _arrivals(folder: _Folder, spec: dict) -> str:
    arrivals = spec.get("arrivals") or {}
    if arrivals.get("rate") is not None:
        return f"Poisson, {_quantity(arrivals['rate'])}/day"
    pieces = arrivals.get("schedule") or []
    return "Poisson, schedule: " + "; ".join(
        f"{as_written(piece.get('rate'))}/day from {_esc(folder.when(piece.get('from')))}" for piece in pieces)


def _when_full(spec: dict) -> str:
    text = _esc(spec.get("when_full") or "turn_away")
    if spec.get("when_full") == "wait":
        text += f", max wait {_distribution(spec.get('max_wait')) if spec.get('max_wait') is not None else 'none'}"
        text += f", priority {_esc(spec.get('priority', 0))}"
    if spec.get("reserved_beds"):
        text += f"; {spec['reserved_beds']} reserved beds"
    if spec.get("max_beds") is not None:
        text += f"; at most {spec['max_beds']} beds"
    return text


def inputs_html(folder: _Folder) -> str:
    """STRESS-DES 3.3: a row per stream and origin."""
    header = ["stream", "arrivals", "screened out", "origin (share)", "return probability", "time to return",
              "court release", "max detention", "when full"]
    rows = []
    for stream in folder.scenario.get("streams") or []:
        origins = stream.get("origins") or [{}]
        court = stream.get("court_release")
        court_text = (f"{_quantity(court.get('probability'))} after {_distribution(court.get('time'))}"
                      if court else "none")
        maximum = folder.max_detention(stream.get("name"))
        span = f' rowspan="{len(origins)}"' if len(origins) > 1 else ""
        for i, origin in enumerate(origins):
            own = [f"{_esc(origin.get('name', '—'))} ({as_written(origin.get('share'))})",
                   _quantity(origin.get("return_probability")), _distribution(origin.get("time_to_return"))]
            if i == 0:
                cells = [(_esc(stream.get("name")), span), (_arrivals(folder, stream), span),
                         (_quantity(stream.get("screened_out", 0.0)), span)]
                cells += [(c, "") for c in own]
                cells += [(court_text, span),
                          (f"{as_written(maximum)} d" + ("" if stream.get("max_detention") is not None else
                                                   " (scenario default)"), span),
                          (_when_full(stream), span)]
            else:
                cells = [(c, "") for c in own]
            rows.append("<tr>" + "".join(f"<td{attrs}>{cell}</td>" for cell, attrs in cells) + "</tr>")
    table = ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr></thead><tbody>\n"
             + "\n".join(rows) + "\n</tbody></table>")
    steps = folder.capacity_steps()
    capacity = "; ".join(f"{beds} from {_esc(folder.when(at))}" for _, beds, at in steps) or "—"
    extra = f"Beds: {capacity}."
    cost = folder.scenario.get("cost_per_bed_day")
    if cost is not None:
        extra += f" Cost per bed-day: {as_written(cost)}."
    extra += (" Durations in days; distributions by their family and parameters (days). A stay ends at the first "
              "of a successful return (with the origin's probability, after its time to return), a court release "
              "(with its probability, after its time) and the maximum detention.")
    return table + f"\n<p class=\"note\">{extra}</p>"


def _purposes(folder: _Folder) -> str:
    lines = []
    for stream in folder.scenario.get("streams") or []:
        name = stream.get("name")
        purposes = ["arrivals", "screening", "origin"]
        purposes += [f"{o.get('name')}/return, {o.get('name')}/time_to_return" for o in stream.get("origins") or []]
        if stream.get("court_release"):
            purposes += ["court", "court_time"]
        if stream.get("max_wait") is not None:
            purposes.append("patience")
        lines.append(f"<code>{_esc(name)}</code>: {_esc(', '.join(purposes))}")
    return "<br>".join(lines)


def _command(manifest: dict) -> str:
    command = manifest.get("command")
    return f" Command: <code>{_esc(' '.join(map(str, command)))}</code>." if command else ""


def _software(manifest: dict) -> str:
    versions = manifest.get("versions") or {}
    software = ", ".join(f"{_esc(k)} {_esc(v)}" for k, v in versions.items()) or "not recorded (no manifest.json)"
    return software + f". Report drawn with matplotlib {_esc(require_matplotlib().__version__)}."


def _system(manifest: dict) -> str:
    system = _esc(manifest.get("platform") or "not recorded")
    if manifest.get("jobs") is not None:
        system += f"; {_esc(manifest['jobs'])} worker process(es)"
    if manifest.get("wall_seconds") is not None:
        system += f"; wall time {for_people(manifest['wall_seconds'])} s"
    return system


def _seed_tree(seed, replications) -> str:
    return (f"numpy SeedSequence: replication r uses "
            f"<code>SeedSequence({_esc(seed)}).spawn({_esc(replications)})[r]</code>. Inside a replication, "
            f"each stream and purpose has a PCG64 generator of its own, its spawn key derived from the names "
            f"(SHA-256), never from positions, so that scenarios that differ only in beds or rules see the same "
            f"people with the same fates (common random numbers), whatever the number of worker processes.")


STRESS_CITATION = ('<p class="note">STRESS-DES: Monks T, Currie CSM, Onggo BS, Robinson S, Kunc M, Taylor SJE (2019). '
                   "Strengthening the reporting of empirical simulation studies: Introducing the STRESS guidelines. "
                   "Journal of Simulation 13(1):55-67.</p>")


def stress_html(folder: _Folder) -> str:
    """The STRESS-DES checklist items (Monks et al. 2019) this folder documents."""
    summary, scenario, manifest = folder.summary, folder.scenario, folder.manifest
    replications = summary.get("replications")
    seed = summary.get("seed")
    warmup = summary.get("warmup_days", scenario.get("warmup"))
    horizon = summary.get("horizon_days", scenario.get("horizon"))
    metrics = sorted(summary.get("metrics") or {})
    outputs = (f"Every metric is counted over the measured window (after the warm-up), per replication, "
               f"system-wide and per stream: {_esc(', '.join(metrics))}. "
               f"Time-weighted occupancy and its percentiles; <code>probability_full</code> the share of time with "
               f"no free bed; <code>blocking_probability</code> = {_esc(BY_NAME['blocking_probability'].meaning)}; "
               f"<code>return_rate</code> = {_esc(BY_NAME['return_rate'].meaning)}. Each is reported as the mean over "
               f"{_esc(replications)} independent replications with a Student-t 95% interval, "
               f"mean ± t<sub>0.975, R−1</sub> · s / √R (replications where a metric is undefined are left out). "
               f"The occupancy figure shows the 5th-95th percentiles across replications day by day.")
    if folder.start is not None and warmup is not None:
        first = folder.start + dt.timedelta(days=float(warmup))
        init = (f"Empty at day 0 ({folder.start.isoformat()}): nobody detained, nobody waiting. Warm-up of "
                f"{as_written(warmup)} days (to {first.isoformat()}), not measured.")
    else:
        init = f"Empty at day 0: nobody detained, nobody waiting. Warm-up of {as_written(warmup)} days, not measured."
    if folder.start is not None and warmup is not None and horizon is not None:
        begin = folder.start + dt.timedelta(days=float(warmup))
        end = folder.start + dt.timedelta(days=float(warmup) + float(horizon))
        length = (f"Measured window of {as_written(horizon)} days, from {begin.isoformat()} to {end.isoformat()} "
                  f"(day {as_written(warmup)} to day {as_written(float(warmup) + float(horizon))}).")
    else:
        length = f"Measured window of {as_written(horizon)} days after the warm-up."
    estimation = f"{_esc(replications)} independent replications, seed {_esc(seed)}."
    precision = summary.get("precision")
    if precision:
        estimation += (f" The number of replications came from a precision target: add replications until the "
                       f"95% half-width of occupancy_mean, probability_full, blocking_probability and return_rate "
                       f"is within {as_written(precision.get('precision'))} of the mean (Hoad, Robinson and Davies "
                       f"2010, with look-ahead); {'reached' if precision.get('reached') else 'not reached'} with "
                       f"{_esc(precision.get('replications'))} replications ({_esc(precision.get('reason', ''))}).")
    estimation += _command(manifest)
    sampling = _seed_tree(seed, replications) + f" Generators:<br>{_purposes(folder)}"
    execution = ("Event scheduling with SimPy: arrivals (batch-drawn from the inverse cumulative rate), capacity "
                 "and rate changes, the warm-up reset and the daily occupancy samples are SimPy events. A stay's end "
                 "is known at admission (the first of return, court release and the maximum detention), so "
                 "departures wait in a binary heap ordered by time and arrival sequence and are applied at their own "
                 "times before anything else happens. A capacity cut never evicts anyone. Every replication is "
                 "checked against the conservation laws (present + admitted = returned + released + still detained; "
                 "requests = admitted + turned away + still waiting).")
    items = [
        ("1.2", "Model outputs", outputs),
        ("3.3", "Input parameters", inputs_html(folder)),
        ("4.1", "Initialisation", init),
        ("4.2", "Run length", length),
        ("4.3", "Estimation approach", estimation),
        ("5.1", "Software or programming language", _software(manifest)),
        ("5.2", "Random sampling", sampling),
        ("5.3", "Model execution", execution),
        ("5.4", "System specification", _system(manifest)),
    ]
    rows = [[number, _esc(topic), body] for number, topic, body in items]
    return html_table(["item", "topic", "this study"], rows) + "\n" + STRESS_CITATION


# --- the report of a run ----------------------------------------------------------------

FIGURES = {  # name: (drawer, the file it needs, caption)
    "occupancy": (occupancy_figure, "occupancy",
                  "Beds in use over time: the mean over replications, the band holding 90% of them (5th to 95th "
                  "percentile) and the capacity in force; the warm-up, shaded, is not measured."),
    "distribution": (distribution_figure, "distribution",
                     "Share of the measured time spent at each occupancy level (averaged over replications), with "
                     "the capacity and the share of time the centres are full."),
    "outcomes": (outcomes_figure, None,
                 "What became of the people of each stream during the measured window (mean per replication): "
                 "ended stays by their end, those still detained at the end, those turned away for lack of a bed "
                 "and those screened out before detention."),
    "stays": (stays_figure, "stays",
              "Share of stays no longer than a given length, per stream, with its maximum detention."),
}


def _figures_of_run(folder: _Folder, png_dir: Path | None) -> dict[str, str]:
    figures = {}
    for name, (draw, needs, caption) in FIGURES.items():
        data = getattr(folder, needs) if needs else folder.summary.get("streams")
        if not data:
            figures[name] = f'<p class="note">No data for this figure ({_esc(needs or "streams")} missing).</p>'
            continue
        svg = draw(folder, png=png_dir / f"{name}.png" if png_dir is not None else None)
        figures[name] = figure_html(svg, _esc(caption))
    return figures


def run_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a results folder of `capsim run` as HTML text (PNG copies of the figures into `png_dir`)."""
    require_matplotlib()
    folder = _Folder(Path(results_dir))
    scenario = folder.scenario
    figures = _figures_of_run(folder, png_dir)
    summary = folder.summary
    meta = [f"seed {_esc(summary.get('seed'))}", f"{_esc(summary.get('replications'))} replications",
            f"warm-up {as_written(summary.get('warmup_days'))} days",
            f"measured {as_written(summary.get('horizon_days'))} days"]
    if folder.start is not None:
        meta.append(f"day 0 = {folder.start.isoformat()}")
    if summary.get("capsim_version"):
        meta.append(f"capsim {_esc(summary['capsim_version'])}")
    if summary.get("scenario_sha256"):
        meta.append(f"scenario sha256 {_esc(str(summary['scenario_sha256'])[:12])}")
    lead = ""
    if scenario.get("description"):
        lead += f'<p class="lead">{_esc(scenario["description"])}</p>\n'
    lead += f'<p class="meta">{" · ".join(meta)}</p>'
    sections = [
        ("Headline results", headline_html(folder)),
        ("Occupancy over time", figures["occupancy"]),
        ("Occupancy distribution", figures["distribution"]),
        ("Outcomes per stream", figures["outcomes"]),
        ("Length of stay", figures["stays"]),
        *([("Uncertain inputs", uncertain_inputs_html(folder))] if summary.get("inputs") else []),
        ("STRESS-DES reporting checklist", stress_html(folder)),
    ]
    return html_page(f"capsim report: {folder.name}", sections, lead=lead)




def uncertain_inputs_html(folder: _Folder) -> str:
    """The values drawn for each uncertain input, and the headline intervals with
    the inputs drawn beside those with the inputs at their means (simulation
    noise alone), when the folder holds that companion run."""
    rows = [[f"<code>{_esc(path)}</code>", for_people(stat.get("mean")), f"{for_people(stat.get('min'))} – "
             f"{for_people(stat.get('max'))}"] for path, stat in sorted(folder.summary["inputs"].items())]
    parts = [html_table(["input", "mean of the values drawn", "range over replications"], rows, numeric=(1, 2))]
    companion = folder.path / FIXED_INPUTS / "summary.json"
    if not companion.is_file():
        parts.append('<p class="note">Each replication drew its own value of these inputs, so the intervals above '
                     "include what the data do not know. <code>capsim run --report</code> also runs the scenario "
                     "with the inputs at their means, and shows both intervals here.</p>")
        return "\n".join(parts)
    fixed = _read_json(companion)
    # system-wide headline metrics, then those of each stream an uncertain input belongs to
    places = [(None, metric, text) for metric, text in HEADLINE]
    streams = sorted({path.split(".")[1] for path in folder.summary["inputs"] if path.startswith("streams.")})
    places += [(stream, metric, text) for stream in streams for metric, text in HEADLINE
               if metric in ("occupancy_mean", "returned", "released_deadline", "turned_away")]
    rows = []
    for stream, metric, text in places:
        drawn_side = folder.summary.get("metrics") if stream is None else folder.summary["streams"].get(stream)
        noise_side = fixed.get("metrics") if stream is None else (fixed.get("streams") or {}).get(stream)
        drawn, noise = (drawn_side or {}).get(metric), (noise_side or {}).get(metric)
        if drawn and noise and drawn.get("mean") is not None:
            label = f"<code>{metric}</code>" if stream is None else f"<code>{_esc(stream)}.{metric}</code>"
            rows.append([label, _esc(text), for_people(drawn.get("mean")), stat_interval(drawn),
                         for_people(noise.get("mean")), stat_interval(noise)])
    parts.append(html_table(["metric", "meaning", "mean", "95% interval, inputs drawn",
                             "mean, inputs at their means", "95% interval (simulation noise only)"],
                            rows, numeric=(2, 3, 4, 5)))
    parts.append('<p class="note">Both runs use the same seeds (common random numbers). The wider the first '
                 "interval is than the second, the more of the uncertainty comes from the inputs rather than "
                 f"from the simulation; the companion run is in <code>{FIXED_INPUTS}/</code>.</p>")
    return "\n".join(parts)


# --- compare, sweep and size ---------------------------------------------------------------

def _id(text: str) -> str:
    """A name safe in an id and a file name: brussels_south.probability_full -> brussels_south-probability_full."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def _cell(value, low, high) -> str:
    """A mean and its interval in one table cell."""
    stat = {"mean": value, "ci95_low": low, "ci95_high": high}
    return f'{for_people(value)}<br><span class="ci">{stat_interval(stat)}</span>'


def _experiment_page(title: str, description: str, facts: Sequence[str], sections: list[tuple[str, str]], *,
                     approach: str, manifest: dict, seed, replications) -> str:
    """The page of a compare, sweep or size folder: the description (HTML) and a line of facts under the
    title, the sections, then the method (STRESS-DES items) with `approach` as its estimation approach."""
    facts = [*facts, f"seed {_esc(seed)}"]
    if (manifest.get("versions") or {}).get("capsim"):
        facts.append(f"capsim {_esc(manifest['versions']['capsim'])}")
    lead = f'<p class="lead">{description}</p>\n' if description else ""
    lead += f'<p class="meta">{" · ".join(facts)}</p>'
    sections = [*sections, ("Method and reproducibility", _method_html(approach, manifest, seed, replications))]
    return html_page(title, sections, lead=lead)


def _method_html(approach: str, manifest: dict, seed, replications) -> str:
    """The STRESS-DES items an experiment's folder documents: estimation, random numbers, software, system."""
    items = [
        ("4.3", "Estimation approach", approach + f" {_esc(replications)} replications, seed {_esc(seed)}."
         + _command(manifest)),
        ("5.2", "Random sampling", _seed_tree(seed, replications)),
        ("5.1", "Software or programming language", _software(manifest)),
        ("5.4", "System specification", _system(manifest)),
    ]
    rows = [[number, _esc(topic), body] for number, topic, body in items]
    return html_table(["item", "topic", "this study"], rows) + "\n" + STRESS_CITATION


def _run_summary(folder: Path) -> dict:
    path = folder / "summary.json"
    return _read_json(path) if path.is_file() else {}


def _run_scenario(folder: Path) -> dict:
    path = folder / "scenario.yaml"
    return _read_yaml(path) if path.is_file() else {}


def _figure_block(draw, png_dir: Path | None, name: str, caption: str, **kwargs) -> str:
    svg = draw(**kwargs, name=name, png=png_dir / f"{name}.png" if png_dir is not None else None)
    return figure_html(svg, caption)


COMPARE_METHOD = (
    "Common random numbers: replication r of every scenario draws from the same seeds, so the same people "
    "arrive with the same fates wherever the scenarios share a stream. For each metric, the difference "
    "alternative − base is taken replication by replication; the table and the forest plots give the mean "
    "difference and its paired Student-t 95% interval, mean ± t<sub>0.975, R−1</sub> · s / √R (zero width when "
    "every replication gives the same difference). A difference is <span class=\"sig\">significant</span> when "
    "its interval excludes zero; there is no correction for the number of metrics, so about one metric in twenty "
    "with no real difference is flagged by chance.")


def compare_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a folder of `capsim compare` (compare.csv, compare.json and a results folder per scenario)."""
    require_matplotlib()
    folder = Path(results_dir)
    info = _read_json(folder / "compare.json") if (folder / "compare.json").is_file() else {}
    manifest = _read_json(folder / "manifest.json") if (folder / "manifest.json").is_file() else {}
    differences = [{"scenario": row["scenario"], "metric": row["metric"], "base_mean": to_float(row["base_mean"]),
                    "alt_mean": to_float(row["alt_mean"]), "difference": to_float(row["difference"]),
                    "ci95_low": to_float(row["ci95_low"]), "ci95_high": to_float(row["ci95_high"]),
                    "significant": row["significant"] == "true"}
                   for row in _read_csv(folder / "compare.csv")]
    alternatives = list(dict.fromkeys(d["scenario"] for d in differences))
    runs = sorted(p.name for p in folder.iterdir() if (p / "summary.json").is_file())
    base = info.get("base") or next((name for name in runs if name not in alternatives), "base")
    base_summary = _run_summary(folder / base)
    seed = info.get("seed", base_summary.get("seed"))
    replications = info.get("replications", base_summary.get("replications"))

    scenario_rows = []
    for role, name in [("base", base)] + [("alternative", name) for name in alternatives]:
        scenario = _run_scenario(folder / name)
        capacity = scenario.get("capacity") or {}
        beds = as_written(capacity.get("beds")) + (f" ({len(capacity['changes'])} changes)"
                                                  if capacity.get("changes") else "")
        streams = ", ".join(_esc(s.get("name")) for s in scenario.get("streams") or []) or "—"
        scenario_rows.append([_esc(name), role, _esc(scenario.get("description", "")), beds, streams])
    scenarios = (html_table(["scenario", "role", "description", "beds", "streams"], scenario_rows, numeric=(3,))
                 + '\n<p class="note">Each scenario\'s own results folder is in the folder of this report, under '
                   "its name; <code>capsim report</code> on it draws its full report.</p>")
    for note in info.get("notes") or []:
        scenarios += f'\n<p class="note">Note: {_esc(note)}</p>'

    meaning = dict(HEADLINE)
    headline = []
    for alt in alternatives:
        rows = []
        for metric, text in HEADLINE:
            d = next((d for d in differences if d["scenario"] == alt and d["metric"] == metric), None)
            if d is None or not finite(d["difference"]):
                continue
            mark = '<span class="sig">yes</span>' if d["significant"] else "no"
            difference = for_people(d["difference"])
            rows.append([f"<code>{metric}</code>", _esc(text), for_people(d["base_mean"]), for_people(d["alt_mean"]),
                         f"<strong>{difference}</strong>" if d["significant"] else difference,
                         stat_interval(d), mark])
        if len(alternatives) > 1:
            headline.append(f"<h3>{_esc(alt)} − {_esc(base)}</h3>")
        headline.append(html_table(["metric", "meaning", _esc(base), _esc(alt), "difference", "95% interval",
                                    "significant"], rows, numeric=(2, 3, 4, 5)))
    headline.append('<p class="note">System-wide means over the replications; every metric, system-wide and per '
                    "stream, is in compare.csv.</p>")

    figures, unchanged = [], []
    for metric, text in HEADLINE:
        rows = []
        for alt in alternatives:
            for d in differences:
                stream, _, name = d["metric"].rpartition(".")
                if d["scenario"] != alt or name != metric:
                    continue
                where = stream or "all streams"
                rows.append({**d, "label": f"{alt}: {where}" if len(alternatives) > 1 else where})
        if not any(finite(r["difference"]) for r in rows):
            continue
        if all(r[key] == 0 for r in rows for key in ("difference", "ci95_low", "ci95_high")):
            unchanged.append(f"<code>{metric}</code>")
            continue
        caption = (f"Difference in <code>{metric}</code> ({_esc(text)}), alternative − base, system-wide and per "
                   f"shared stream, with its 95% interval; <span class=\"sig\">significant</span> differences "
                   f"(interval excluding zero) drawn in colour.")
        figures.append(_figure_block(
            forest_plot_svg, png_dir, f"forest-{_id(metric)}", caption, rows=rows,
            title=f"{metric}: alternative − base (95% intervals)", xlabel=f"difference in {meaning[metric]}"))

    if unchanged:
        figures.append(f'<p class="note">Not drawn: {", ".join(unchanged)}, equal in the base and every '
                       "alternative, replication by replication (difference zero, interval of zero width).</p>")
    sections = [
        ("Scenarios compared", scenarios),
        ("Differences", "\n".join(headline)),
        ("Forest plots", "\n".join(figures) or '<p class="note">No metric with a defined difference.</p>'),
    ]
    return _experiment_page(
        f"capsim comparison: {', '.join(alternatives)} against {base}",
        _esc(_run_scenario(folder / base).get("description", "")),
        [f"base {_esc(base)}", f"{len(alternatives)} alternative(s)", f"{_esc(replications)} paired replications"],
        sections, approach=COMPARE_METHOD, manifest=manifest, seed=seed, replications=replications)


def _sweep_columns(header: Sequence[str]) -> tuple[list[str], list[str]]:
    """(parameters, metrics) of sweep.csv: a metric has _mean, _ci95_low and _ci95_high columns."""
    metrics = [c[:-5] for c in header if c.endswith("_mean")
               and f"{c[:-5]}_ci95_low" in header and f"{c[:-5]}_ci95_high" in header]
    used = {f"{m}_{part}" for m in metrics for part in ("mean", "ci95_low", "ci95_high")}
    return [c for c in header[1:] if c not in used], metrics


def _stat(row: dict, metric: str) -> dict:
    return {part: to_float(row.get(f"{metric}_{part}")) for part in ("mean", "ci95_low", "ci95_high")}


SWEEP_METHOD = (
    "Every point of the sweep runs the same replications from the same seeds (common random numbers), so "
    "differences between points come from the parameters, not from the draw. Each point's mean over its "
    "replications with a Student-t 95% interval, mean ± t<sub>0.975, R−1</sub> · s / √R.")
SIZE_METHOD = (
    "The smallest number of beds at which the whole 95% interval (Student-t over the replications) of every target "
    "metric lies on the right side of its bound. The search starts from Erlang B where the theory covers the "
    "scenario, brackets the answer and bisects; capacity changes keep their size. Every number of beds tried runs "
    "the same seeds (common random numbers), so neighbouring counts differ only by the beds; the search assumes "
    "the targets get easier as beds are added.")
SWEEP_TABLE = list(metrics.SWEEP_HEADLINE)


def sweep_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a folder of `capsim sweep` (sweep.csv and a results folder per point).

    One parameter, or several taken together (--zip): each headline metric
    against the first parameter with its interval band. Two parameters on a
    full grid: a heat map per headline metric. Otherwise against the points.
    """
    require_matplotlib()
    folder = Path(results_dir)
    with (folder / "sweep.csv").open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    rows = _read_csv(folder / "sweep.csv")
    parameters, metrics = _sweep_columns(header)
    manifest = _read_json(folder / "manifest.json") if (folder / "manifest.json").is_file() else {}
    first = _run_summary(folder / rows[0]["point"]) if rows else {}
    base = re.sub(r"-point-\d+$", "", str(first.get("scenario", ""))) or folder.name
    shown = [(m, text) for m, text in HEADLINE
             if m in metrics and any(finite(_stat(r, m)["mean"]) for r in rows)]

    pairs = {tuple(r[p] for p in parameters) for r in rows}
    distinct = {p: list(dict.fromkeys(r[p] for r in rows)) for p in parameters}
    grid = (len(parameters) == 2 and len(pairs) == len(rows)
            and len(rows) == len(distinct[parameters[0]]) * len(distinct[parameters[1]]))
    if grid:
        x_parameter, y_parameter = parameters
        layout = (f"A full grid of {len(distinct[x_parameter])} × {len(distinct[y_parameter])} points: each "
                  f"headline metric as a heat map, its mean and 95% interval written in each cell.")
    elif parameters and len(distinct[parameters[0]]) == len(rows):
        x_parameter = parameters[0]
        together = ", ".join(f"<code>{_esc(p)}</code>" for p in parameters[1:])
        layout = ("Each headline metric against the swept parameter, with its 95% interval band"
                  + (f"; {together} taken together with it (see the table)." if together else "."))
    else:
        x_parameter = "point"
        layout = "Each headline metric against the points of the sweep (their settings are in the table)."

    figures = []
    for metric, text in shown:
        name = f"sweep-{_id(metric)}"
        caption = f"<code>{metric}</code>: {_esc(text)}; mean over replications and its 95% interval."
        if grid:
            cells = [{"x": r[x_parameter], "y": r[y_parameter], **_stat(r, metric)} for r in rows]
            figures.append(_figure_block(heatmap_svg, png_dir, name, caption, x_parameter=x_parameter,
                                           y_parameter=y_parameter, cells=cells, metric=metric))
        else:
            points = [{"value": r[x_parameter], **_stat(r, metric)} for r in rows]
            figures.append(_figure_block(sweep_plot_svg, png_dir, name, caption, parameter=x_parameter,
                                           points=points, metric=metric))

    drawn = "\n".join(figures)
    if not grid:  # line plots two abreast; a heat map needs the width for the numbers in its cells
        drawn = f'<div class="pair">\n{drawn}\n</div>'
    columns = [m for m in SWEEP_TABLE if m in metrics]
    table = html_table(
        ["point"] + [f"<code>{_esc(p)}</code>" for p in parameters] + [f"<code>{m}</code>" for m in columns],
        [[_esc(r["point"])] + [_esc(r[p]) for p in parameters]
         + [_cell(*_stat(r, m).values()) for m in columns] for r in rows],
        numeric=range(1, 1 + len(parameters) + len(columns)))
    table += ('\n<p class="note">Mean over replications and its 95% interval (in brackets); every metric is in '
              "sweep.csv, and each point's results folder is under its name (<code>capsim report</code> on it draws "
              "its full report).</p>")
    sections = [
        ("Points of the sweep", table),
        ("Headline metrics against the parameters", f'<p class="note">{layout}</p>\n{drawn}'),
    ]
    replications = first.get("replications")
    return _experiment_page(
        f"capsim sweep: {base} over {', '.join(parameters)}",
        _esc(_run_scenario(folder / rows[0]["point"]).get("description", "") if rows else ""),
        [f"scenario {_esc(base)}", f"{len(rows)} points", f"{_esc(replications)} replications per point"],
        sections, approach=SWEEP_METHOD, manifest=manifest, seed=first.get("seed"), replications=replications)


def _size_targets(info: dict, manifest: dict) -> list[dict]:
    """The targets of a size folder: from size.json, else from the command in manifest.json."""
    if info.get("targets"):
        return info["targets"]
    command = [str(part) for part in manifest.get("command") or []]
    texts = [command[i + 1] for i, part in enumerate(command[:-1]) if part == "--target"]
    texts += [part.split("=", 1)[1] for part in command if part.startswith("--target=")]
    targets = []
    for text in texts:
        match = re.match(r"^\s*([\w.-]+)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$", text)
        if match:
            targets.append({"metric": match.group(1), "comparison": match.group(2), "bound": float(match.group(3))})
    return targets


def size_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a folder of `capsim size` (size.csv and size.json)."""
    require_matplotlib()
    folder = Path(results_dir)
    info = _read_json(folder / "size.json") if (folder / "size.json").is_file() else {}
    manifest = _read_json(folder / "manifest.json") if (folder / "manifest.json").is_file() else {}
    rows = _read_csv(folder / "size.csv")
    with (folder / "size.csv").open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    metrics = _sweep_columns(header)[1]
    targets = {t["metric"]: t for t in _size_targets(info, manifest)}
    good = [int(r["beds"]) for r in rows if r["meets_targets"] == "true"]
    answer = info["answer"] if "answer" in info else (min(good) if good else None)

    figures = []
    for metric in metrics:
        target = targets.get(metric)
        points = [{"beds": int(r["beds"]), "meets": r["meets_targets"] == "true", **_stat(r, metric)} for r in rows]
        text = f"{metric}{target['comparison']}{as_written(target['bound'])}" if target else None
        caption = (f"<code>{_esc(metric)}</code> at each number of beds tried: mean and 95% interval"
                   + (f", the target <code>{_esc(text)}</code> (dashed)" if target else "")
                   + (f" and the answer, {answer} beds" if answer is not None else "") + ".")
        figures.append(_figure_block(size_plot_svg, png_dir, f"size-{_id(metric)}", caption, rows=points,
                                       target=text, answer=answer, metric=metric))

    table_rows = []
    for r in rows:
        beds = int(r["beds"])
        mark = "yes" if r["meets_targets"] == "true" else "no"
        cells = [f"<strong>{beds}</strong> (answer)" if beds == answer else str(beds), mark]
        table_rows.append(cells + [_cell(*_stat(r, m).values()) for m in metrics])
    table = html_table(["beds", "meets every target"] + [f"<code>{_esc(m)}</code>" for m in metrics], table_rows,
                       numeric=[0] + list(range(2, 2 + len(metrics))))
    wanted = ", ".join(f"<code>{_esc(t['metric'])}{_esc(t['comparison'])}{as_written(t['bound'])}</code>"
                       for t in targets.values()) or "not recorded"
    verdict = _esc(info.get("reason") or (f"{answer} beds meet every target" if answer is not None
                                          else "no number of beds tried meets every target"))
    summary = f"<p class=\"lead\"><strong>{verdict}.</strong></p>\n<p>Targets: {wanted}.</p>"
    if info.get("analytic_start") is not None:
        summary += f"\n<p>The search started from Erlang B's answer, {_esc(info['analytic_start'])} beds.</p>"
    sections = [
        ("Answer", summary),
        ("Target metrics against beds", "\n".join(figures)),
        ("Every number of beds tried", table),
    ]
    base = info.get("scenario") or folder.name
    return _experiment_page(
        f"capsim size: {base}", _esc(info.get("description", "")),
        [f"scenario {_esc(base)}", f"{len(rows)} numbers of beds tried", f"{_esc(info.get('replications'))} "
         "replications each"],
        sections, approach=SIZE_METHOD, manifest=manifest, seed=info.get("seed"), replications=info.get("replications"))


KINDS = [  # (the file that marks a folder, what wrote it, its report)
    ("summary.json", "run", run_report_html),
    ("compare.csv", "compare", compare_report_html),
    ("sweep.csv", "sweep", sweep_report_html),
    ("size.csv", "size", size_report_html),
]


def folder_kind(results_dir: str | Path) -> str:
    """'run', 'compare', 'sweep' or 'size': the command that wrote the folder, by the file it holds."""
    folder = Path(results_dir)
    for marker, kind, _ in KINDS:
        if (folder / marker).is_file():
            return kind
    raise NotAResultsFolder(f"{folder}: not a results folder of capsim run, compare, sweep or size "
                            f"(no summary.json, compare.csv, sweep.csv or size.csv)")


def report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a results folder of capsim run, compare, sweep or size as HTML text.

    With `png_dir`, each figure is also written there as <name>.png.
    """
    kind = folder_kind(results_dir)
    draw = next(report for _, name, report in KINDS if name == kind)
    return draw(results_dir, png_dir=png_dir)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `path` through a temporary file in its folder, renamed into place."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_report(results_dir: Path, *, figures: bool = False) -> Path:
    """Write report.html into a results folder of capsim run, compare, sweep or size and return its path.

    Reads only the folder's files. With `figures`, also writes each figure as
    figures/<name>.png (150 dpi) for slides. Raises ReportUnavailable without
    matplotlib, NotAResultsFolder when the folder holds none of summary.json,
    compare.csv, sweep.csv and size.csv.
    """
    require_matplotlib()
    results_dir = Path(results_dir)
    folder_kind(results_dir)  # before creating figures/ in a folder that is not one
    png_dir = None
    if figures:
        png_dir = results_dir / "figures"
        png_dir.mkdir(exist_ok=True)
    text = report_html(results_dir, png_dir=png_dir)
    path = results_dir / REPORT_NAME
    _atomic_write(path, text.encode("utf-8"))
    return path

