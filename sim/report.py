"""Figures and a single-file HTML report of a results folder.

`write_report(folder)` reads the files of a results folder (summary.json,
occupancy.csv, occupancy_distribution.csv, stays.csv, scenario.yaml,
manifest.json), never the Python `Results`, so that any folder can be
reported on, and writes `report.html` into it: figures as inline SVG, CSS
inline, no script and no external URL, so that it opens offline in any browser
and prints on A4.

The output is reproducible: the same folder gives a byte-identical report
(matplotlib's date metadata is dropped, its SVG hash salt is fixed, text is
kept as text rather than glyph paths, and no time stamp is written).

matplotlib is in the `report` extra and imported only inside the functions
that draw: `import sim.report` works without it, drawing raises
`ReportUnavailable`.

The figure helpers (`forest_plot_svg`, `sweep_plot_svg`, `size_plot_svg`) and
`html_page` are also the building blocks of the compare, sweep and size reports.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import html
import io
import json
import math
import os
import re
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPORT_NAME = "report.html"
INSTALL_HINT = "the report needs the report extra: pip install 'capsim[report]'"

# Okabe-Ito: distinguishable by colour-blind readers and in greyscale print.
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, GREY = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999")
STREAM_COLOURS = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, "#000000", YELLOW]

OUTCOMES = [  # (summary key, label, colour), in the order of a stay's story
    ("returned", "returned", GREEN),
    ("released_court", "released by court", BLUE),
    ("released_deadline", "released at the deadline", ORANGE),
    ("still_detained", "still detained at the end", GREY),
    ("turned_away", "turned away (no bed)", VERMILLION),
    ("screened_out", "screened out (not detained)", PURPLE),
    ("still_waiting", "still waiting at the end", YELLOW),  # drawn only when someone is
]

HEADLINE = [  # (metric, what it means)
    ("occupancy_mean", "beds in use, time-weighted mean"),
    ("occupancy_p95", "beds in use, 95th percentile of time"),
    ("probability_full", "share of time with no free bed"),
    ("blocking_probability", "share of detention requests turned away"),
    ("admitted", "people admitted"),
    ("turned_away", "people turned away"),
    ("returned", "stays ended by return"),
    ("released_court", "stays ended by court release"),
    ("released_deadline", "stays ended at the maximum detention"),
    ("return_rate", "returned / stays ended"),
    ("los_mean_days", "mean length of stay (days)"),
    ("bed_days", "bed-days used"),
    ("cost", "cost (bed-days x cost per bed-day)"),
]

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
@page { size: A4; margin: 15mm; }
@media print {
  body { font-size: 10pt; max-width: none; margin: 0; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, table, tr, img, svg { break-inside: avoid; page-break-inside: avoid; }
  figure svg, img { max-width: 100%; }
  table { font-size: 8pt; }
}
""".strip()


class ReportUnavailable(RuntimeError):
    """matplotlib (the `report` extra) is not installed."""

    def __init__(self, message: str = INSTALL_HINT):
        super().__init__(message)


class NotAResultsFolder(FileNotFoundError):
    """The folder lacks the files a run's report is drawn from."""


# --- matplotlib, lazily ---------------------------------------------------------------

def require_matplotlib():
    """matplotlib, on the Agg backend, or ReportUnavailable."""
    try:
        import matplotlib
    except ImportError:
        raise ReportUnavailable() from None
    if "matplotlib.pyplot" not in sys.modules:
        # Figures below are built as matplotlib.figure.Figure, never through pyplot, so
        # they need no GUI; Agg keeps a later pyplot import in this process headless too.
        matplotlib.use("Agg")
    return matplotlib


def _style() -> dict[str, Any]:
    return {
        "svg.fonttype": "none",  # text stays text: smaller, searchable, no glyph ids
        "svg.hashsalt": "capsim",
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Helvetica Neue", "Arial", "sans-serif"],
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "legend.frameon": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#d9d9d9",
        "grid.linewidth": 0.6,
        "axes.axisbelow": True,
        "path.simplify": True,
        "svg.image_inline": True,
    }


@contextlib.contextmanager
def _figure(width: float = 8.0, height: float = 3.6):
    """A Figure drawn in capsim's style (no pyplot, so no global figure registry)."""
    matplotlib = require_matplotlib()
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_style()):
        yield Figure(figsize=(width, height), layout="constrained")


def _svg(fig, name: str, label: str) -> str:
    """The figure as an <svg> element to inline in HTML.

    Deterministic: no date, a salt of its own (so that the ids of two figures in
    one page never clash), the XML header and the RDF metadata dropped (which
    also drops their URLs), every id prefixed with the figure's name.
    """
    matplotlib = require_matplotlib()
    buffer = io.BytesIO()
    with matplotlib.rc_context({**_style(), "svg.hashsalt": f"capsim-{name}"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue().decode("utf-8")
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', text)
    text = text.replace("url(#", f"url(#{name}-").replace('href="#', f'href="#{name}-')
    end = text.index(">")
    root = re.sub(r'\s(?:width|height)="[^"]*"', "", text[:end])
    root += f' role="img" aria-label="{html.escape(label, quote=True)}"'
    return root + text[end:].rstrip() + "\n"


def _png(fig, path: Path) -> None:
    fig.savefig(path, format="png", dpi=150, metadata={"Software": None})


# --- reading a results folder -----------------------------------------------------------

def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _read_yaml(path: Path) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _float(text: str | None) -> float:
    return float(text) if text not in (None, "") else math.nan


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
        text = f"day {_plain(day)}"
        if self.start is not None:
            text += f" ({(self.start + dt.timedelta(days=day)).isoformat()})"
        return text


# --- number formatting ------------------------------------------------------------------

def _num(value) -> str:
    """A number for people: no more digits than a planner reads."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    value = float(value)
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.1f}"
    if size >= 1:
        text = f"{value:.2f}"
        return text[:-3] if text.endswith(".00") else text
    if size >= 1e-4:
        return f"{value:.3g}"
    return f"{value:.2e}"


def _plain(value) -> str:
    """An input as written (up to 6 significant digits, no grouping): 365.25, 0.15, 120."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.6g}"


def _pct(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100 * value:.1f}%" if value >= 0.001 or value == 0 else f"{100 * value:.2g}%"


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _interval(stat: dict | None) -> str:
    if not stat or stat.get("ci95_low") is None or stat.get("ci95_high") is None:
        return "—"
    return f"[{_num(stat['ci95_low'])}, {_num(stat['ci95_high'])}]"


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


# --- the figures of a run -----------------------------------------------------------------

def _time_axis(folder: _Folder, rows: list[dict[str, str]]):
    """x values of occupancy.csv (dates when it has a date column) and whether they are dates."""
    if rows and rows[0].get("date"):
        return [dt.date.fromisoformat(row["date"]) for row in rows], True
    return [float(row["day"]) for row in rows], False


def occupancy_figure(folder: _Folder):
    rows = folder.occupancy
    x, dated = _time_axis(folder, rows)
    mean = [_float(r["occupancy_mean"]) for r in rows]
    low = [_float(r.get("occupancy_p05")) for r in rows]
    high = [_float(r.get("occupancy_p95")) for r in rows]
    capacity = [_float(r["capacity"]) for r in rows]
    with _figure(8.0, 3.6) as fig:
        ax = fig.add_subplot()
        warm = [xi for xi, r in zip(x, rows) if r.get("window") == "warmup"]
        if warm:
            end = next((xi for xi, r in zip(x, rows) if r.get("window") != "warmup"), x[-1])
            ax.axvspan(x[0], end, color="#eeeeee", lw=0, label="warm-up (not measured)", zorder=0)
        ax.fill_between(x, low, high, color=SKY, alpha=0.35, lw=0, label="5-95% of replications")
        ax.plot(x, mean, color=BLUE, lw=1.4, label="mean occupancy")
        ax.step(x, capacity, where="post", color=VERMILLION, lw=1.4, label="capacity (beds)")
        ax.set_ylabel("beds in use")
        ax.set_xlabel("date" if dated else "day (0 = start of the warm-up)")
        ax.set_xlim(x[0], x[-1])
        top = max(v for v in capacity + high + mean if not math.isnan(v))
        ax.set_ylim(0, top * 1.08 if top > 0 else 1)
        if dated:
            import matplotlib.dates as mdates

            locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.legend(loc="lower right", ncols=2)
        ax.set_title("Occupancy over time")
        return _svg(fig, "occupancy", "Occupancy over time: mean, 5-95% band, capacity and warm-up"), fig


def distribution_figure(folder: _Folder):
    rows = folder.distribution
    levels = [int(r["occupancy"]) for r in rows]
    shares = [_float(r["share_of_time"]) for r in rows]
    steps = folder.capacity_steps()
    full = (folder.summary.get("metrics") or {}).get("probability_full") or {}
    with _figure(8.0, 3.2) as fig:
        ax = fig.add_subplot()
        if levels:
            edges = [level - 0.5 for level in levels] + [levels[-1] + 0.5]
            ax.stairs([100 * s for s in shares], edges, fill=True, color=BLUE, alpha=0.85,
                      label="share of the measured time")
        seen = set()
        for i, (_, beds, at) in enumerate(steps):
            if beds in seen:
                continue
            seen.add(beds)
            label = f"capacity {beds}" + ("" if i == 0 else f" (from {folder.when(at)})")
            ax.axvline(beds, color=VERMILLION, lw=1.4, ls="-" if i == 0 else "--", label=label)
        marks = [level for level, share in zip(levels, shares) if share > 0] + [beds for _, beds, _ in steps]
        if marks:
            pad = max(2.0, 0.03 * (max(marks) - min(marks)))
            ax.set_xlim(max(-0.5, min(marks) - pad), max(marks) + pad)
        if full.get("mean") is not None:
            text = f"full (no free bed): {_pct(full['mean'])} of the time"
            if full.get("ci95_low") is not None:
                text += f"\n95% interval [{_pct(full['ci95_low'])}, {_pct(full['ci95_high'])}]"
            ax.text(0.01, 0.97, text, transform=ax.transAxes, va="top", ha="left",
                    bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#bbbbbb"})
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("beds in use")
        ax.set_ylabel("% of the measured time")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right")
        ax.set_title("Time-weighted occupancy distribution (measured window)")
        return _svg(fig, "distribution", "Distribution of the occupancy over the measured time, with capacity"), fig


def outcomes_figure(folder: _Folder):
    streams = folder.summary.get("streams") or {}
    names = folder.streams
    bars = [("all streams", folder.summary.get("metrics") or {})] + [(n, streams[n]) for n in names]
    if len(names) == 1:
        bars = bars[1:]
    bars.reverse()  # barh draws bottom-up: the system on top
    height = 1.2 + 0.42 * len(bars)
    with _figure(8.0, max(2.4, height)) as fig:
        ax = fig.add_subplot()
        outcomes = [o for o in OUTCOMES if o[0] != "still_waiting"
                    or any(((stats.get(o[0]) or {}).get("mean") or 0.0) > 0 for _, stats in bars)]
        totals = []
        for label, stats in bars:
            totals.append(sum((stats.get(key) or {}).get("mean") or 0.0 for key, _, _ in outcomes))
        y = list(range(len(bars)))
        left = [0.0] * len(bars)
        for key, label, colour in outcomes:
            widths = []
            for (name, stats), total in zip(bars, totals):
                value = (stats.get(key) or {}).get("mean") or 0.0
                widths.append(100 * value / total if total else 0.0)
            ax.barh(y, widths, left=left, color=colour, label=label, height=0.62, edgecolor="white", lw=0.5)
            for yi, (l, w) in enumerate(zip(left, widths)):
                if w >= 6:
                    ax.text(l + w / 2, yi, f"{w:.0f}%", ha="center", va="center", fontsize=7,
                            color="white" if colour not in (YELLOW, GREY, ORANGE) else "black")
            left = [l + w for l, w in zip(left, widths)]
        ax.set_yticks(y, [name for name, _ in bars])
        for yi, total in enumerate(totals):
            ax.text(101, yi, f"n = {_num(total)}", va="center", ha="left", fontsize=7.5)
        ax.set_xlim(0, 116)
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.set_xlabel("% of the people of the stream (mean per replication over the measured window)")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3)
        return _svg(fig, "outcomes", "Outcomes per stream as stacked bars"), fig


def stays_figure(folder: _Folder):
    by_stream: dict[str, list[tuple[float, float]]] = {}
    for row in folder.stays:
        days = _float(row["los_days"])
        if not math.isnan(days):
            by_stream.setdefault(row["stream"], []).append((days, float(row["quantile"])))
    names = [n for n in folder.streams if n in by_stream] + sorted(set(by_stream) - set(folder.streams))
    longest = max((d for points in by_stream.values() for d, _ in points), default=1.0)
    with _figure(8.0, 3.8 + 0.16 * len(names)) as fig:
        ax = fig.add_subplot()
        limit = longest * 1.1
        off_scale = []
        maxima: dict[float, list[int]] = {}  # a line per distinct maximum detention, with its streams
        for i, name in enumerate(names):
            colour = STREAM_COLOURS[i % len(STREAM_COLOURS)]
            points = sorted(by_stream[name])
            ax.step([d for d, _ in points], [100 * q for _, q in points], where="post", color=colour, lw=1.5,
                    label=name)
            maximum = folder.max_detention(name)
            if maximum is not None:
                maxima.setdefault(float(maximum), []).append(i)
        for maximum, members in sorted(maxima.items()):
            who = (", ".join(names[i] for i in members) if len(members) <= 2 else f"{len(members)} streams")
            if maximum <= 1.5 * longest:
                limit = max(limit, maximum * 1.04)
                colour = STREAM_COLOURS[members[0] % len(STREAM_COLOURS)] if len(members) == 1 else "#333333"
                ax.axvline(maximum, color=colour, ls="--", lw=1.0,
                           label=f"maximum detention {_plain(maximum)} d ({who})")
            else:
                off_scale.append(f"maximum detention {_plain(maximum)} d ({who}): off scale")
        ax.set_xlim(0, limit)
        ax.set_ylim(0, 100)
        ax.set_xlabel("length of stay (days)")
        ax.set_ylabel("% of stays at most this long")
        if off_scale:
            ax.text(0.99, 0.03, "\n".join(off_scale), transform=ax.transAxes, ha="right", va="bottom", fontsize=7.5)
        if names:
            fig.legend(loc="outside lower center", ncols=2)
        else:
            ax.text(0.5, 0.5, "no stay ended in the measured window", transform=ax.transAxes, ha="center")
        ax.set_title("Length of stay per stream (ECDF of the stays, percentiles 1-99, replications pooled)")
        return _svg(fig, "stays", "Length of stay per stream as empirical distribution functions"), fig


# --- figures for compare, sweep and size --------------------------------------------------

def _finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def forest_plot_svg(rows: Sequence[dict], *, title: str = "Differences (alternative − base) with 95% intervals",
                    xlabel: str = "difference", name: str = "forest") -> str:
    """A forest plot: one row per difference with its interval; significant ones highlighted.

    rows: dicts {label, difference, ci95_low, ci95_high, significant}, drawn top to bottom.
    Rows on one plot share an axis: give it differences of one metric (or of comparable scale).
    """
    with _figure(8.0, max(2.4, 1.2 + 0.32 * len(rows))) as fig:
        ax = fig.add_subplot()
        n = len(rows)
        for i, row in enumerate(rows):
            y = n - 1 - i
            colour = VERMILLION if row.get("significant") else GREY
            if _finite(row.get("ci95_low")) and _finite(row.get("ci95_high")):
                ax.plot([row["ci95_low"], row["ci95_high"]], [y, y], color=colour, lw=2.2 if row.get("significant")
                        else 1.4, solid_capstyle="butt")
            if _finite(row.get("difference")):
                ax.plot([row["difference"]], [y], "o" if row.get("significant") else "o", color=colour,
                        ms=6 if row.get("significant") else 4.5, mfc=colour if row.get("significant") else "white")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(range(n), [str(row.get("label", "")) for row in reversed(rows)])
        ax.set_ylim(-0.7, n - 0.3)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=VERMILLION, marker="o", lw=2.2, label="significant (interval excludes 0)"),
                   Line2D([], [], color=GREY, marker="o", mfc="white", lw=1.4, label="not significant")]
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        return _svg(fig, name, title)


def _positions(values: Sequence) -> tuple[list[float], list[str] | None]:
    """Numeric x positions of swept values; categories (0, 1, ...) when they are not numbers."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values], None
    try:
        return [float(v) for v in values], None
    except (TypeError, ValueError):
        return list(map(float, range(len(values)))), [str(v) for v in values]


def sweep_plot_svg(parameter: str, points: Sequence[dict], *, metric: str = "", name: str = "sweep") -> str:
    """A metric against a swept parameter, with its 95% interval band.

    points: dicts {value, mean, ci95_low, ci95_high}, in the order to draw them;
    values that are not numbers are placed as categories.
    """
    x, categories = _positions([p["value"] for p in points])
    order = sorted(range(len(points)), key=lambda i: x[i]) if categories is None else list(range(len(points)))
    xs = [x[i] for i in order]
    nan = math.nan
    mean = [points[i]["mean"] if _finite(points[i].get("mean")) else nan for i in order]
    low = [points[i]["ci95_low"] if _finite(points[i].get("ci95_low")) else nan for i in order]
    high = [points[i]["ci95_high"] if _finite(points[i].get("ci95_high")) else nan for i in order]
    title = f"{metric or 'metric'} against {parameter}"
    with _figure(6.5, 3.2) as fig:
        ax = fig.add_subplot()
        ax.fill_between(xs, low, high, color=SKY, alpha=0.35, lw=0, label="95% interval")
        ax.plot(xs, mean, color=BLUE, marker="o", ms=4, lw=1.4, label="mean")
        if categories is not None:
            ax.set_xticks(xs, [categories[i] for i in order])
        ax.set_xlabel(parameter)
        ax.set_ylabel(metric)
        ax.set_title(title)
        ax.legend(loc="best")
        return _svg(fig, name, title)


def _target_parts(target) -> tuple[float | None, str, str]:
    """(bound, label, metric) of a target: a number, 'metric<=value', or an object with .bound/.metric."""
    if target is None:
        return None, "", ""
    if isinstance(target, (int, float)):
        return float(target), f"target {_plain(float(target))}", ""
    if hasattr(target, "bound"):
        metric, comparison = getattr(target, "metric", ""), getattr(target, "comparison", "")
        return float(target.bound), f"target {metric}{comparison}{_plain(float(target.bound))}", metric
    match = re.match(r"^\s*([\w.]+)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$", str(target))
    if match:
        return float(match.group(3)), f"target {match.group(1)}{match.group(2)}{match.group(3)}", match.group(1)
    return None, str(target), ""


def size_plot_svg(rows: Sequence[dict], target, answer: int | None, *, metric: str = "",
                  name: str = "size") -> str:
    """The target metric against beds with its 95% interval, the target line and the answer.

    rows: dicts {beds, mean, ci95_low, ci95_high}; target: the bound (a number,
    a string such as 'probability_full<=0.01', or sim.experiments.Target);
    answer: the smallest number of beds that meets it (None when none does).
    """
    bound, target_label, target_metric = _target_parts(target)
    metric = metric or target_metric
    rows = sorted(rows, key=lambda r: r["beds"])
    beds = [r["beds"] for r in rows]
    mean = [r["mean"] if _finite(r.get("mean")) else math.nan for r in rows]
    title = f"{metric or 'target metric'} against beds"
    with _figure(6.5, 3.2) as fig:
        ax = fig.add_subplot()
        for r, m in zip(rows, mean):
            if _finite(r.get("ci95_low")) and _finite(r.get("ci95_high")):
                ax.plot([r["beds"], r["beds"]], [r["ci95_low"], r["ci95_high"]], color=BLUE, lw=1.4)
        ax.plot(beds, mean, color=BLUE, marker="o", ms=4, lw=1.0, label="mean and 95% interval")
        if bound is not None:
            ax.axhline(bound, color=VERMILLION, ls="--", lw=1.2, label=target_label)
        if answer is not None:
            ax.axvline(answer, color=GREEN, lw=1.4, label=f"answer: {answer} beds")
            ax.annotate(f"{answer} beds", xy=(answer, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(-4, -12), textcoords="offset points", ha="right", color=GREEN, fontsize=8)
        ax.set_xlabel("beds")
        ax.set_ylabel(metric)
        ax.set_title(title)
        ax.legend(loc="best")
        return _svg(fig, name, title)


# --- the tables of a run ----------------------------------------------------------------

def _analytic_verdict(folder: _Folder, metric: str, exact: float) -> str:
    """Is `exact` inside the simulated 99% interval (the CLI's warning rule)?"""
    column = [_float(r.get(metric)) for r in folder.replications or []]
    column = [v for v in column if not math.isnan(v)]
    if len(column) >= 2:
        if max(column) == min(column):
            low = high = column[0]
        else:
            from .stats import confidence_interval

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
        row = [f"<code>{metric}</code>", _esc(text), _num(stat.get("mean")), _interval(stat)]
        if covered:
            exact = analytic.get(metric)
            row.append(f"{_num(exact)}<br><small>{_analytic_verdict(folder, metric, exact)}</small>"
                       if exact is not None else "")
        rows.append(row)
    parts = [html_table(header, rows, numeric=(2, 3, 4) if covered else (2, 3))]
    if covered:
        parts.append(f'<p class="note">Analytic check: the scenario is an M/G/c/c loss system; Erlang B on the '
                     f'offered load a = {_num(analytic["offered_load"])} erlangs gives the share turned away, and '
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
                row.append(f'{_num((stat or {}).get("mean"))}<br><span class="ci">{_interval(stat)}</span>'
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
        return f"fixed {_plain(spec)} d"
    if not isinstance(spec, dict):
        return _esc(spec)
    family = spec.get("dist", "?")
    params = []
    for key, value in spec.items():
        if key == "dist":
            continue
        if isinstance(value, list):
            numbers = [v for v in value if isinstance(v, (int, float))]
            span = f", {_plain(min(numbers))}–{_plain(max(numbers))}" if numbers else ""
            params.append(f"{len(value)} {key}{span}")
        else:
            params.append(f"{key} {_plain(value)}")
    return _esc(f"{family} ({', '.join(params)})" if params else family)


def _arrivals(folder: _Folder, spec: dict) -> str:
    arrivals = spec.get("arrivals") or {}
    if arrivals.get("rate") is not None:
        return f"Poisson, {_plain(arrivals['rate'])}/day"
    pieces = arrivals.get("schedule") or []
    return "Poisson, schedule: " + "; ".join(
        f"{_plain(piece.get('rate'))}/day from {_esc(folder.when(piece.get('from')))}" for piece in pieces)


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
        court_text = (f"{_plain(court.get('probability'))} after {_distribution(court.get('time'))}"
                      if court else "none")
        maximum = folder.max_detention(stream.get("name"))
        span = f' rowspan="{len(origins)}"' if len(origins) > 1 else ""
        for i, origin in enumerate(origins):
            own = [f"{_esc(origin.get('name', '—'))} ({_plain(origin.get('share'))})",
                   _plain(origin.get("return_probability")), _distribution(origin.get("time_to_return"))]
            if i == 0:
                cells = [(_esc(stream.get("name")), span), (_arrivals(folder, stream), span),
                         (_plain(stream.get("screened_out", 0.0)), span)]
                cells += [(c, "") for c in own]
                cells += [(court_text, span),
                          (f"{_plain(maximum)} d" + ("" if stream.get("max_detention") is not None else
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
        extra += f" Cost per bed-day: {_plain(cost)}."
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
               f"no free bed; <code>blocking_probability</code> = turned_away / detention_requests; "
               f"<code>return_rate</code> = returned / stays ended. Each is reported as the mean over "
               f"{_esc(replications)} independent replications with a Student-t 95% interval, "
               f"mean ± t<sub>0.975, R−1</sub> · s / √R (replications where a metric is undefined are left out). "
               f"The occupancy figure shows the 5th-95th percentiles across replications day by day.")
    if folder.start is not None and warmup is not None:
        first = folder.start + dt.timedelta(days=float(warmup))
        init = (f"Empty at day 0 ({folder.start.isoformat()}): nobody detained, nobody waiting. Warm-up of "
                f"{_plain(warmup)} days (to {first.isoformat()}), not measured.")
    else:
        init = f"Empty at day 0: nobody detained, nobody waiting. Warm-up of {_plain(warmup)} days, not measured."
    if folder.start is not None and warmup is not None and horizon is not None:
        begin = folder.start + dt.timedelta(days=float(warmup))
        end = folder.start + dt.timedelta(days=float(warmup) + float(horizon))
        length = (f"Measured window of {_plain(horizon)} days, from {begin.isoformat()} to {end.isoformat()} "
                  f"(day {_plain(warmup)} to day {_plain(float(warmup) + float(horizon))}).")
    else:
        length = f"Measured window of {_plain(horizon)} days after the warm-up."
    estimation = f"{_esc(replications)} independent replications, seed {_esc(seed)}."
    precision = summary.get("precision")
    if precision:
        estimation += (f" The number of replications came from a precision target: add replications until the "
                       f"95% half-width of occupancy_mean, probability_full, blocking_probability and return_rate "
                       f"is within {_plain(precision.get('precision'))} of the mean (Hoad, Robinson and Davies 2010, "
                       f"with look-ahead); {'reached' if precision.get('reached') else 'not reached'} with "
                       f"{_esc(precision.get('replications'))} replications ({_esc(precision.get('reason', ''))}).")
    command = manifest.get("command")
    if command:
        estimation += f" Command: <code>{_esc(' '.join(map(str, command)))}</code>."
    versions = manifest.get("versions") or {}
    software = ", ".join(f"{_esc(k)} {_esc(v)}" for k, v in versions.items()) or "not recorded (no manifest.json)"
    software += f". Report drawn with matplotlib {_esc(require_matplotlib().__version__)}."
    sampling = (f"numpy SeedSequence: replication r uses "
                f"<code>SeedSequence({_esc(seed)}).spawn({_esc(replications)})[r]</code>. Inside a replication, "
                f"each stream and purpose has a PCG64 generator of its own, its spawn key derived from the names "
                f"(SHA-256), never from positions, so that scenarios that differ only in beds or rules see the same "
                f"people with the same fates (common random numbers), whatever the number of worker processes. "
                f"Generators:<br>{_purposes(folder)}")
    execution = ("Event scheduling with SimPy: arrivals (batch-drawn from the inverse cumulative rate), capacity "
                 "and rate changes, the warm-up reset and the daily occupancy samples are SimPy events. A stay's end "
                 "is known at admission (the first of return, court release and the maximum detention), so "
                 "departures wait in a binary heap ordered by time and arrival sequence and are applied at their own "
                 "times before anything else happens. A capacity cut never evicts anyone. Every replication is "
                 "checked against the conservation laws (present + admitted = returned + released + still detained; "
                 "requests = admitted + turned away + still waiting).")
    system = _esc(manifest.get("platform") or "not recorded")
    if manifest.get("jobs") is not None:
        system += f"; {_esc(manifest['jobs'])} worker process(es)"
    if manifest.get("wall_seconds") is not None:
        system += f"; wall time {_num(manifest['wall_seconds'])} s"
    items = [
        ("1.2", "Model outputs", outputs),
        ("3.3", "Input parameters", inputs_html(folder)),
        ("4.1", "Initialisation", init),
        ("4.2", "Run length", length),
        ("4.3", "Estimation approach", estimation),
        ("5.1", "Software or programming language", software),
        ("5.2", "Random sampling", sampling),
        ("5.3", "Model execution", execution),
        ("5.4", "System specification", system),
    ]
    rows = [[number, _esc(topic), body] for number, topic, body in items]
    return (html_table(["item", "topic", "this study"], rows)
            + '\n<p class="note">STRESS-DES: Monks T, Currie CSM, Onggo BS, Robinson S, Kunc M, Taylor SJE (2019). '
              "Strengthening the reporting of empirical simulation studies: Introducing the STRESS guidelines. "
              "Journal of Simulation 13(1):55-67.</p>")


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


def report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a results folder as HTML text (PNG copies of the figures into `png_dir`)."""
    require_matplotlib()
    folder = _Folder(Path(results_dir))
    scenario = folder.scenario
    figures = {}
    for name, (draw, needs, caption) in FIGURES.items():
        data = getattr(folder, needs) if needs else folder.summary.get("streams")
        if not data:
            figures[name] = f'<p class="note">No data for this figure ({_esc(needs or "streams")} missing).</p>'
            continue
        svg, fig = draw(folder)
        if png_dir is not None:
            _png(fig, png_dir / f"{name}.png")
        figures[name] = figure_html(svg, _esc(caption))
    summary = folder.summary
    meta = [f"seed {_esc(summary.get('seed'))}", f"{_esc(summary.get('replications'))} replications",
            f"warm-up {_plain(summary.get('warmup_days'))} days",
            f"measured {_plain(summary.get('horizon_days'))} days"]
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
        ("STRESS-DES reporting checklist", stress_html(folder)),
    ]
    return html_page(f"capsim report: {folder.name}", sections, lead=lead)


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
    """Write report.html into a results folder of `capsim run` and return its path.

    Reads only the folder's files. With `figures`, also writes each figure as
    figures/<name>.png (150 dpi) for slides. Raises ReportUnavailable without
    matplotlib, NotAResultsFolder when the folder has no summary.json.
    """
    require_matplotlib()
    results_dir = Path(results_dir)
    png_dir = None
    if figures:
        png_dir = results_dir / "figures"
        png_dir.mkdir(exist_ok=True)
    text = report_html(results_dir, png_dir=png_dir)
    path = results_dir / REPORT_NAME
    _atomic_write(path, text.encode("utf-8"))
    return path


__all__ = [
    "NotAResultsFolder", "ReportUnavailable", "figure_html", "forest_plot_svg", "html_page", "html_table",
    "report_html", "size_plot_svg", "sweep_plot_svg", "write_report",
]
