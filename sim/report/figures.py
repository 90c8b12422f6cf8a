"""The figures of capsim's reports, drawn with matplotlib as inline SVG (and PNG for slides).

A run's figures (occupancy over time, occupancy distribution, outcomes, length
of stay) take the files of a results folder as `sim.report` reads them; the
figures of compare, sweep and size (forest plot, metric against a parameter,
heat map, target metric against beds) take plain rows. Every drawer returns
the `<svg>` element and, given `png`, also writes the figure there.

Reproducible: the same data give byte-identical SVG and PNG (no date, a fixed
hash salt per figure, text kept as text). matplotlib is in the `report` extra
and imported only inside the functions that draw: importing this module works
without it, drawing raises `ReportUnavailable`. No pyplot, so no global state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.errors import ReportUnavailable
from sim.formatting import as_written, for_people, percent

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


def _finish(fig, name: str, label: str, png: Path | None) -> str:
    """The figure's <svg>; also figures/<name>.png when `png` is a path."""
    svg = _svg(fig, name, label)  # first, so that the SVG is the same with or without the PNG
    if png is not None:
        _png(fig, png)
    return svg


# --- numbers ----------------------------------------------------------------------------

def to_float(text: str | None) -> float:
    """A CSV cell as a float (NaN when empty)."""
    return float(text) if text not in (None, "") else math.nan








# --- the figures of a run -----------------------------------------------------------------

def _time_axis(folder, rows: list[dict[str, str]]):
    """x values of occupancy.csv (dates when it has a date column) and whether they are dates."""
    if rows and rows[0].get("date"):
        return [dt.date.fromisoformat(row["date"]) for row in rows], True
    return [float(row["day"]) for row in rows], False


def occupancy_figure(folder, png: Path | None = None) -> str:
    rows = folder.occupancy
    x, dated = _time_axis(folder, rows)
    mean = [to_float(r["occupancy_mean"]) for r in rows]
    low = [to_float(r.get("occupancy_p05")) for r in rows]
    high = [to_float(r.get("occupancy_p95")) for r in rows]
    capacity = [to_float(r["capacity"]) for r in rows]
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
        return _finish(fig, "occupancy", "Occupancy over time: mean, 5-95% band, capacity and warm-up", png)


def distribution_figure(folder, png: Path | None = None) -> str:
    rows = folder.distribution
    levels = [int(r["occupancy"]) for r in rows]
    shares = [to_float(r["share_of_time"]) for r in rows]
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
            text = f"full (no free bed): {percent(full['mean'])} of the time"
            if full.get("ci95_low") is not None:
                text += f"\n95% interval [{percent(full['ci95_low'])}, {percent(full['ci95_high'])}]"
            ax.text(0.01, 0.97, text, transform=ax.transAxes, va="top", ha="left",
                    bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#bbbbbb"})
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("beds in use")
        ax.set_ylabel("% of the measured time")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right")
        ax.set_title("Time-weighted occupancy distribution (measured window)")
        return _finish(fig, "distribution", "Distribution of the occupancy over the measured time, with capacity", png)


def outcomes_figure(folder, png: Path | None = None) -> str:
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
            ax.text(101, yi, f"n = {for_people(total)}", va="center", ha="left", fontsize=7.5)
        ax.set_xlim(0, 116)
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.set_xlabel("% of the people of the stream (mean per replication over the measured window)")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3)
        return _finish(fig, "outcomes", "Outcomes per stream as stacked bars", png)


def stays_figure(folder, png: Path | None = None) -> str:
    by_stream: dict[str, list[tuple[float, float]]] = {}
    for row in folder.stays:
        days = to_float(row["los_days"])
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
                           label=f"maximum detention {as_written(maximum)} d ({who})")
            else:
                off_scale.append(f"maximum detention {as_written(maximum)} d ({who}): off scale")
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
        return _finish(fig, "stays", "Length of stay per stream as empirical distribution functions", png)


# --- figures for compare, sweep and size --------------------------------------------------

def finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def forest_plot_svg(rows: Sequence[dict], *, title: str = "Differences (alternative − base) with 95% intervals",
                    xlabel: str = "difference", name: str = "forest",
                    png: Path | None = None) -> str:
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
            if finite(row.get("ci95_low")) and finite(row.get("ci95_high")):
                ax.plot([row["ci95_low"], row["ci95_high"]], [y, y], color=colour, lw=2.2 if row.get("significant")
                        else 1.4, solid_capstyle="butt")
            if finite(row.get("difference")):
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
        return _finish(fig, name, title, png)


def _positions(values: Sequence) -> tuple[list[float], list[str] | None]:
    """Numeric x positions of swept values; categories (0, 1, ...) when they are not numbers."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values], None
    try:
        return [float(v) for v in values], None
    except (TypeError, ValueError):
        return list(map(float, range(len(values)))), [str(v) for v in values]


def sweep_plot_svg(parameter: str, points: Sequence[dict], *, metric: str = "", name: str = "sweep",
                   png: Path | None = None) -> str:
    """A metric against a swept parameter, with its 95% interval band.

    points: dicts {value, mean, ci95_low, ci95_high}, in the order to draw them;
    values that are not numbers are placed as categories.
    """
    x, categories = _positions([p["value"] for p in points])
    order = sorted(range(len(points)), key=lambda i: x[i]) if categories is None else list(range(len(points)))
    xs = [x[i] for i in order]
    nan = math.nan
    mean = [points[i]["mean"] if finite(points[i].get("mean")) else nan for i in order]
    low = [points[i]["ci95_low"] if finite(points[i].get("ci95_low")) else nan for i in order]
    high = [points[i]["ci95_high"] if finite(points[i].get("ci95_high")) else nan for i in order]
    title = f"{metric or 'metric'} against {parameter}"
    with _figure(5.0, 3.4) as fig:
        ax = fig.add_subplot()
        ax.fill_between(xs, low, high, color=SKY, alpha=0.35, lw=0, label="95% interval")
        ax.plot(xs, mean, color=BLUE, marker="o", ms=4, lw=1.4, label="mean")
        if categories is not None:
            ax.set_xticks(xs, [categories[i] for i in order])
        ax.set_xlabel(parameter)
        ax.set_ylabel(metric)
        ax.set_title(title)
        ax.legend(loc="best")
        return _finish(fig, name, title, png)


def _axis_values(values: Sequence) -> list:
    """The distinct values of a grid axis, in numeric order when they are numbers, else as first seen."""
    distinct = list(dict.fromkeys(values))
    positions, categories = _positions(distinct)
    if categories is not None:
        return distinct
    return [v for _, v in sorted(zip(positions, distinct), key=lambda pair: pair[0])]


def heatmap_svg(x_parameter: str, y_parameter: str, cells: Sequence[dict], *, metric: str = "",
                name: str = "heatmap", png: Path | None = None) -> str:
    """A metric over a two-parameter grid: one coloured cell per point, its mean and 95% interval written in it.

    cells: dicts {x, y, mean, ci95_low, ci95_high}; a combination without a cell is left blank.
    """
    require_matplotlib()
    import numpy as np
    from matplotlib import colormaps

    xs = _axis_values([c["x"] for c in cells])
    ys = _axis_values([c["y"] for c in cells])
    grid = np.full((len(ys), len(xs)), np.nan)
    by_place = {(xs.index(c["x"]), ys.index(c["y"])): c for c in cells}
    for (i, j), cell in by_place.items():
        if finite(cell.get("mean")):
            grid[j, i] = cell["mean"]
    title = f"{metric or 'metric'} over {x_parameter} and {y_parameter}"
    defined = grid[~np.isnan(grid)]
    low, high = (float(defined.min()), float(defined.max())) if defined.size else (0.0, 1.0)
    if high <= low:  # one value everywhere: a colour scale still needs a range
        low, high = low - 0.5, high + 0.5
    cmap = colormaps["viridis"].with_extremes(bad="#eeeeee")
    with _figure(6.5, max(2.6, 1.4 + 0.55 * len(ys))) as fig:
        ax = fig.add_subplot()
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=low, vmax=high, origin="lower",
                          aspect="auto", interpolation="nearest")
        for (i, j), cell in sorted(by_place.items()):
            if not finite(cell.get("mean")):
                continue
            shade = cmap((cell["mean"] - low) / (high - low))
            light = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] > 0.55
            text = for_people(cell["mean"])
            if finite(cell.get("ci95_low")) and finite(cell.get("ci95_high")):
                text += f"\n[{for_people(cell['ci95_low'])}, {for_people(cell['ci95_high'])}]"
            ax.text(i, j, text, ha="center", va="center", fontsize=7, color="black" if light else "white")
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
        ax.set_yticks(range(len(ys)), [str(v) for v in ys])
        ax.grid(visible=False)
        ax.set_xlabel(x_parameter)
        ax.set_ylabel(y_parameter)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, label=metric, shrink=0.9)
        return _finish(fig, name, title, png)


def _target_parts(target) -> tuple[float | None, str, str]:
    """(bound, label, metric) of a target: a number, 'metric<=value', or an object with .bound/.metric."""
    if target is None:
        return None, "", ""
    if isinstance(target, (int, float)):
        return float(target), f"target {as_written(float(target))}", ""
    if hasattr(target, "bound"):
        metric, comparison = getattr(target, "metric", ""), getattr(target, "comparison", "")
        return float(target.bound), f"target {metric}{comparison}{as_written(float(target.bound))}", metric
    match = re.match(r"^\s*([\w.]+)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$", str(target))
    if match:
        return float(match.group(3)), f"target {match.group(1)}{match.group(2)}{match.group(3)}", match.group(1)
    return None, str(target), ""


def size_plot_svg(rows: Sequence[dict], target, answer: int | None, *, metric: str = "",
                  name: str = "size", png: Path | None = None) -> str:
    """The target metric against beds with its 95% interval, the target line and the answer.

    rows: dicts {beds, mean, ci95_low, ci95_high} and optionally meets (whether
    that count met every target: filled marker, else open); target: the bound (a
    number, a string such as 'probability_full<=0.01', or sim.experiments.Target);
    answer: the smallest number of beds that meets it (None when none does).
    When the counts tried span far more than the neighbourhood of the answer, a
    second panel zooms in on it.
    """
    bound, target_label, target_metric = _target_parts(target)
    metric = metric or target_metric
    rows = sorted(rows, key=lambda r: r["beds"])
    title = f"{metric or 'target metric'} against beds"
    near = []
    if answer is not None and rows:
        reach = max(5, math.ceil(0.05 * answer))
        near = [r for r in rows if abs(r["beds"] - answer) <= reach]
        if not (len(near) >= 3 and rows[-1]["beds"] - rows[0]["beds"] > 4 * reach):
            near = []
    with _figure(8.0 if near else 6.5, 3.2) as fig:
        panels = [(rows, "every count tried")] + ([(near, f"near the answer ({answer} beds)")] if near else [])
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (shown, subtitle) in zip(axes, panels):
            _size_panel(ax, shown, bound, target_label, answer)
            ax.set_xlabel("beds")
            ax.set_title(subtitle if near else title)
        axes[0].set_ylabel(metric)
        if near:
            fig.suptitle(title, fontsize=10)
            from matplotlib.ticker import MaxNLocator

            axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
        if near:
            fig.legend(*axes[-1].get_legend_handles_labels(), loc="outside lower center", ncols=4)
        else:
            axes[0].legend(loc="best")
        return _finish(fig, name, title, png)


def _size_panel(ax, rows: Sequence[dict], bound: float | None, target_label: str, answer: int | None) -> None:
    beds = [r["beds"] for r in rows]
    mean = [r["mean"] if finite(r.get("mean")) else math.nan for r in rows]
    for r in rows:
        if finite(r.get("ci95_low")) and finite(r.get("ci95_high")):
            ax.plot([r["beds"], r["beds"]], [r["ci95_low"], r["ci95_high"]], color=BLUE, lw=1.4)
    ax.plot(beds, mean, color=BLUE, lw=1.0, label="mean and 95% interval")
    for r, m in zip(rows, mean):
        ax.plot([r["beds"]], [m], "o", color=BLUE, ms=4.5, mfc=BLUE if r.get("meets", True) else "white")
    if any("meets" in r for r in rows):
        ax.plot([], [], "o", color=BLUE, mfc="white", ms=4.5, label="misses a target")
    if bound is not None:
        ax.axhline(bound, color=VERMILLION, ls="--", lw=1.2, label=target_label)
    if answer is not None:
        ax.axvline(answer, color=GREEN, lw=1.4, label=f"answer: {answer} beds")
        ax.annotate(f"{answer} beds", xy=(answer, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(-4, -12), textcoords="offset points", ha="right", color=GREEN, fontsize=8)
