"""The figures of compare, sweep and size: forest plot, metric against a parameter, heat map, metric against beds.

They take plain rows (dicts of means and 95% intervals), not folders, so that
they serve any caller; each returns the `<svg>` element, also written as a PNG
when given a path. An axis that shows a metric is labelled with its planner's
label from the registry; titles name the metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from sim.formatting import as_written, finite, for_people, interval
from sim.metrics import label
from sim.report.drawing import BLUE, GREEN, GREY, SKY, VERMILLION, figure, finish, require_matplotlib
from sim.studies.size import Target


def forest_plot_svg(rows: Sequence[dict], *, title: str = "Differences (alternative − base) with 95% intervals",
                    xlabel: str = "difference", name: str = "forest",
                    png: Path | None = None) -> str:
    """A forest plot: one row per difference with its interval; significant ones highlighted.

    rows: dicts {label, difference, ci95_low, ci95_high, significant}, drawn top to bottom.
    Rows on one plot share an axis: give it differences of one metric (or of comparable scale).
    """
    with figure(8.0, max(2.4, 1.2 + 0.32 * len(rows))) as fig:
        ax = fig.add_subplot()
        n = len(rows)
        for i, row in enumerate(rows):
            y = n - 1 - i
            significant = bool(row.get("significant"))
            colour = VERMILLION if significant else GREY
            if finite(row.get("ci95_low")) and finite(row.get("ci95_high")):
                ax.plot([row["ci95_low"], row["ci95_high"]], [y, y], color=colour, lw=2.2 if significant else 1.4,
                        solid_capstyle="butt")
            if finite(row.get("difference")):
                ax.plot([row["difference"]], [y], "o", color=colour, ms=6 if significant else 4.5,
                        mfc=colour if significant else "white")
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
        return finish(fig, name, title, png)


def _positions(values: Sequence) -> tuple[list[float], list[str] | None]:
    """Numeric x positions of swept values; categories (0, 1, ...) when they are not numbers."""
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

    def column(key: str) -> list[float]:
        return [points[i][key] if finite(points[i].get(key)) else math.nan for i in order]

    xs = [x[i] for i in order]
    title = f"{metric or 'metric'} against {parameter}"
    with figure(5.0, 3.4) as fig:
        ax = fig.add_subplot()
        ax.fill_between(xs, column("ci95_low"), column("ci95_high"), color=SKY, alpha=0.35, lw=0,
                        label="95% interval")
        ax.plot(xs, column("mean"), color=BLUE, marker="o", ms=4, lw=1.4, label="mean")
        if categories is not None:
            ax.set_xticks(xs, [categories[i] for i in order])
        ax.set_xlabel(parameter)
        ax.set_ylabel(label(metric))
        ax.set_title(title)
        ax.legend(loc="best")
        return finish(fig, name, title, png)


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
    with figure(6.5, max(2.6, 1.4 + 0.55 * len(ys))) as fig:
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
                text += "\n" + interval(cell["ci95_low"], cell["ci95_high"])
            ax.text(i, j, text, ha="center", va="center", fontsize=7, color="black" if light else "white")
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
        ax.set_yticks(range(len(ys)), [str(v) for v in ys])
        ax.grid(visible=False)
        ax.set_xlabel(x_parameter)
        ax.set_ylabel(y_parameter)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, label=label(metric), shrink=0.9)
        return finish(fig, name, title, png)


def target_text(target: Target) -> str:
    """A target as a planner writes it: probability_full<=0.05."""
    return f"{target.metric}{target.comparison}{as_written(target.bound)}"


def _target_parts(target) -> tuple[float | None, str, str]:
    """(bound, label, metric) of a target: a number, 'metric<=value', or a `Target`."""
    if target is None:
        return None, "", ""
    if isinstance(target, (int, float)):
        return float(target), f"target {as_written(float(target))}", ""
    if isinstance(target, str):
        try:
            target = Target.parse(target)
        except ValueError:
            return None, target, ""
    return float(target.bound), f"target {target_text(target)}", target.metric


def size_plot_svg(rows: Sequence[dict], target, answer: int | None, *, metric: str = "",
                  name: str = "size", png: Path | None = None) -> str:
    """The target metric against beds with its 95% interval, the target line and the answer.

    rows: dicts {beds, mean, ci95_low, ci95_high} and optionally meets (whether
    that count met every target: filled marker, else open); target: the bound (a
    number, a string such as 'probability_full<=0.01', or a `sim.Target`);
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
    with figure(8.0 if near else 6.5, 3.2) as fig:
        panels = [(rows, "every count tried")] + ([(near, f"near the answer ({answer} beds)")] if near else [])
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (shown, subtitle) in zip(axes, panels):
            _size_panel(ax, shown, bound, target_label, answer)
            ax.set_xlabel("beds")
            ax.set_title(subtitle if near else title)
        axes[0].set_ylabel(label(metric))
        if near:
            from matplotlib.ticker import MaxNLocator

            fig.suptitle(title, fontsize=10)
            axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
            fig.legend(*axes[-1].get_legend_handles_labels(), loc="outside lower center", ncols=4)
        else:
            axes[0].legend(loc="best")
        return finish(fig, name, title, png)


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
