"""The four figures of a run's report: occupancy over time, occupancy distribution, outcomes, length of stay.

Each takes the `RunFolder` the report read (occupancy.csv,
occupancy_distribution.csv, summary.json, stays.csv) and returns the `<svg>`
element, also written as a PNG when given a path.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from sim.formatting import as_written, for_people, percent
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
from sim.report.reading import RunFolder, to_float

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


def distribution_figure(folder: RunFolder, png: Path | None = None) -> str:
    rows = folder.distribution
    levels = [int(r["occupancy"]) for r in rows]
    shares = [to_float(r["share_of_time"]) for r in rows]
    steps = folder.capacity_steps()
    full = (folder.summary.get("metrics") or {}).get("probability_full") or {}
    with figure(8.0, 3.2) as fig:
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
            text = f"{BY_NAME['probability_full'].label}: {percent(full['mean'])}"
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
        return finish(fig, "distribution", "Distribution of the occupancy over the measured time, with capacity", png)


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
        for yi, total in enumerate(totals):
            ax.text(101, yi, f"n = {for_people(total)}", va="center", ha="left", fontsize=7.5)
        ax.set_xlim(0, 116)
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
        return finish(fig, "stays", "Length of stay per stream as empirical distribution functions", png)
