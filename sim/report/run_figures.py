"""The four figures of a run's report: occupancy over time, occupancy distribution, outcomes, length of stay.

Each takes the `RunFolder` the report read (occupancy.csv,
occupancy_distribution.csv, summary.json, stays.csv) and returns the `<svg>`
element, also written as a PNG when given a path.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from sim.formatting import percent
from sim.metrics import BY_NAME, OUTCOMES
from sim.report.drawing import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    SKY,
    STREAM_COLOURS,
    VERMILLION,
    YELLOW,
    figure,
    finish,
)
from sim.report.reading import CapacityStep, RunFolder, as_duration, to_float

FATES = [  # (metric, colour), in the order of a stay's story; still_waiting drawn only when someone is
    *zip(OUTCOMES, (GREEN, BLUE, ORANGE)),
    ("still_detained", GREY),
    ("turned_away", VERMILLION),
    ("screened_out", PURPLE),
    ("still_waiting", YELLOW),
]


def occupancy_figure(folder: RunFolder, png: Path | None = None) -> str:
    rows = folder.occupancy
    dated = bool(rows and rows[0].get("date"))  # occupancy.csv has dates when the scenario has a start
    x = [dt.date.fromisoformat(r["date"]) if dated else float(r["day"]) for r in rows]
    mean = [to_float(r["occupancy_mean"]) for r in rows]
    low = [to_float(r.get("occupancy_p05")) for r in rows]
    high = [to_float(r.get("occupancy_p95")) for r in rows]
    capacity = [to_float(r["capacity"]) for r in rows]
    with figure(8.0, 3.6) as fig:
        ax = fig.add_subplot()
        warm = [xi for xi, r in zip(x, rows) if r.get("window") == "warmup"]
        if warm:
            end = next((xi for xi, r in zip(x, rows) if r.get("window") != "warmup"), x[-1])
            ax.axvspan(x[0], end, color="#eeeeee", lw=0, label="warm-up (not measured)", zorder=0)
        ax.fill_between(x, low, high, color=SKY, alpha=0.35, lw=0, label="5-95% of replications")
        ax.plot(x, mean, color=BLUE, lw=1.4, label="mean occupancy")
        ax.step(x, capacity, where="post", color=VERMILLION, lw=1.4, label="capacity (beds)")
        for step in folder.capacity_steps()[1:]:  # each change by its name, where the capacity line jumps
            if step.name and not math.isnan(step.day) and step.day <= (len(rows) - 1):
                at = folder.start + dt.timedelta(days=step.day) if dated and folder.start else step.day
                ax.annotate(step.name, xy=(at, step.beds), xytext=(3, 3), textcoords="offset points",
                            fontsize=7, color=VERMILLION)
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
        return finish(fig, "occupancy", "Occupancy over time: mean, 5-95% band, capacity and warm-up", png)


def capacity_periods(folder: RunFolder) -> list[tuple[CapacityStep, list[float]]]:
    """The capacity periods of the measured window, each step with the daily mean occupancy of its days
    (occupancy.csv); one period when the capacity does not change in the window."""
    steps = folder.capacity_steps()
    periods: list[tuple[CapacityStep, list[float]]] = []
    for row in folder.occupancy:
        if row.get("window") == "warmup":
            continue
        day = float(row["day"])
        step = [s for s in steps if s.day <= day][-1] if steps else None
        if step is None:
            continue
        if not periods or periods[-1][0] != step:
            periods.append((step, []))
        periods[-1][1].append(to_float(row["occupancy_mean"]))
    return periods


def distribution_figure(folder: RunFolder, png: Path | None = None) -> str:
    """The occupancy distribution of the measured window; per capacity period when the capacity changes in it
    (a pooled distribution would set the levels of one capacity against the line of another)."""
    periods = capacity_periods(folder)
    if len(periods) > 1:
        return _periods_figure(folder, periods, png)
    rows = folder.distribution
    levels = [int(r["occupancy"]) for r in rows]
    shares = [to_float(r["share_of_time"]) for r in rows]
    steps = folder.capacity_steps()
    full = (folder.summary.get("metrics") or {}).get("probability_full") or {}
    with figure(8.0, 3.4) as fig:
        ax = fig.add_subplot()
        if levels:
            edges = [level - 0.5 for level in levels] + [levels[-1] + 0.5]
            ax.stairs([100 * s for s in shares], edges, fill=True, color=BLUE, alpha=0.85,
                      label="share of the measured time")
        seen = set()
        for i, step in enumerate(steps):
            if step.beds in seen:
                continue
            seen.add(step.beds)
            label = f"capacity {step.beds}" + ("" if i == 0 else f" (from {folder.when(step.at)})")
            ax.axvline(step.beds, color=VERMILLION, lw=1.4, ls="-" if i == 0 else "--", label=label)
        marks = [level for level, share in zip(levels, shares) if share > 0] + [step.beds for step in steps]
        if marks:
            pad = max(2.0, 0.03 * (max(marks) - min(marks)))
            ax.set_xlim(max(-0.5, min(marks) - pad), max(marks) + pad)
        _integer_beds(ax)
        ax.set_ylabel("% of the measured time")
        ax.set_ylim(bottom=0)
        title = "Time-weighted occupancy distribution (measured window)"
        if full.get("mean") is not None:  # in the title, not in a box over the bars
            title += f"\n{BY_NAME['probability_full'].label}: {percent(full['mean'])}"
            if full.get("ci95_low") is not None:
                title += f" (95% interval {percent(full['ci95_low'])} to {percent(full['ci95_high'])})"
        ax.set_title(title)
        fig.legend(loc="outside lower center", ncols=3)
        return finish(fig, "distribution", "Distribution of the occupancy over the measured time, with capacity", png)


def _integer_beds(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("beds in use")


def _periods_figure(folder: RunFolder, periods: list[tuple[CapacityStep, list[float]]], png: Path | None) -> str:
    """One panel per capacity period: the share of its days at each level of the daily mean occupancy."""
    with figure(8.0, 1.3 + 1.5 * len(periods)) as fig:
        axes = fig.subplots(len(periods), 1, sharex=True, squeeze=False)[:, 0]
        top = max(max([step.beds for step, _ in periods]), max(v for _, values in periods for v in values
                                                                if not math.isnan(v)))
        for ax, (step, values) in zip(axes, periods):
            days = [v for v in values if not math.isnan(v)]
            edges = [level - 0.5 for level in range(int(top) + 2)]
            counts = [0.0] * (len(edges) - 1)
            for value in days:
                counts[min(len(counts) - 1, int(round(value)))] += 100 / len(days)
            ax.stairs(counts, edges, fill=True, color=BLUE, alpha=0.85)
            ax.axvline(step.beds, color=VERMILLION, lw=1.4)
            ax.set_title(f"from {folder.when(step.at)}, {step.label}: capacity {step.beds} beds "
                         f"({len(days)} days)", fontsize=8.5)
            ax.set_ylabel("% of days")
            ax.set_ylim(bottom=0)
        _integer_beds(axes[-1])
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        fig.legend(handles=[Patch(color=BLUE, alpha=0.85, label="daily mean occupancy (share of the period's days)"),
                            Line2D([], [], color=VERMILLION, lw=1.4, label="capacity of the period")],
                   loc="outside lower center", ncols=2)
        fig.suptitle("Occupancy per capacity period (measured window)", fontsize=10)
        return finish(fig, "distribution", "Distribution of the daily mean occupancy per capacity period", png)


def outcomes_figure(folder: RunFolder, png: Path | None = None) -> str:
    streams = folder.summary.get("streams") or {}
    names = folder.streams
    bars = [("all streams", folder.summary.get("metrics") or {})] + [(n, streams[n]) for n in names]
    if len(names) == 1:
        bars = bars[1:]
    bars.reverse()  # barh draws bottom-up: the system on top

    def mean(stats: dict, metric: str) -> float:
        return (stats.get(metric) or {}).get("mean") or 0.0

    fates = [(metric, colour) for metric, colour in FATES
             if metric != "still_waiting" or any(mean(stats, metric) > 0 for _, stats in bars)]
    totals = [sum(mean(stats, metric) for metric, _ in fates) for _, stats in bars]
    with figure(8.0, max(2.4, 1.2 + 0.42 * len(bars))) as fig:
        ax = fig.add_subplot()
        y = list(range(len(bars)))
        left = [0.0] * len(bars)
        for metric, colour in fates:
            widths = [100 * mean(stats, metric) / total if total else 0.0 for (_, stats), total in zip(bars, totals)]
            ax.barh(y, widths, left=left, color=colour, label=BY_NAME[metric].label, height=0.62,
                    edgecolor="white", lw=0.5)
            for yi, (start, width) in enumerate(zip(left, widths)):
                if width >= 6:
                    ax.text(start + width / 2, yi, percent(width / 100), ha="center", va="center", fontsize=7,
                            color="white" if colour not in (YELLOW, GREY, ORANGE) else "black")
            left = [start + width for start, width in zip(left, widths)]
        ax.set_yticks(y, [name for name, _ in bars])
        for yi, total in enumerate(totals):  # a mean over replications: rounded, since it counts people
            ax.text(101, yi, f"n = {round(total):,} (mean)", va="center", ha="left", fontsize=7.5)
        ax.set_xlim(0, 122)
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.set_xlabel("% of the people of the stream (mean per replication over the measured window)")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3)
        return finish(fig, "outcomes", "Outcomes per stream as stacked bars", png)


def stays_figure(folder: RunFolder, png: Path | None = None) -> str:
    by_stream: dict[str, list[tuple[float, float]]] = {}
    for row in folder.stays:
        days = to_float(row["los_days"])
        if not math.isnan(days):
            by_stream.setdefault(row["stream"], []).append((days, float(row["quantile"])))
    names = [n for n in folder.streams if n in by_stream] + sorted(set(by_stream) - set(folder.streams))
    longest = max((d for points in by_stream.values() for d, _ in points), default=1.0)
    with figure(8.0, 3.8 + 0.16 * len(names)) as fig:
        ax = fig.add_subplot()
        limit = longest * 1.1
        off_scale = []
        maxima: dict[float, list[int]] = {}  # a line per distinct maximum detention, with its streams
        for i, name in enumerate(names):
            colour = STREAM_COLOURS[i % len(STREAM_COLOURS)]
            points = sorted(by_stream[name])
            ax.plot([d for d, _ in points], [100 * q for _, q in points], color=colour, lw=1.5, label=name)
            maximum = folder.max_detention(name)
            if maximum is not None:
                maxima.setdefault(float(maximum), []).append(i)
        for maximum, members in sorted(maxima.items()):
            who = (", ".join(names[i] for i in members) if len(members) <= 2 else f"{len(members)} streams")
            if maximum <= 1.5 * longest:
                limit = max(limit, maximum * 1.04)
                colour = STREAM_COLOURS[members[0] % len(STREAM_COLOURS)] if len(members) == 1 else "#333333"
                ax.axvline(maximum, color=colour, ls="--", lw=1.0,
                           label=f"maximum detention {as_duration(maximum)} ({who})")
            else:
                off_scale.append(f"maximum detention {as_duration(maximum)} ({who}): off scale")
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
        ax.set_title("Length of stay per stream (distribution of the stays through percentiles 1-99, "
                     "replications pooled)")
        return finish(fig, "stays", "Length of stay per stream as empirical distribution functions", png)
