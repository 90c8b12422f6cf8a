"""The periods of a run's report (a run with periods: periods.csv): how full, period by period.

A dated question is answered by a dated picture: the beds in use per period with the 95% interval of
their mean, against the beds in force; the first period in which the centres are full more than 5% of
the time; the periods in which the beds in use are likely to reach 95% of the beds. Read from
periods.csv only, like the rest of the report. A projection's page (several variants) draws the same
figure with a line and a band per variant.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from sim import metrics
from sim.analysis.periods import ALL_STREAMS, NEAR_FULL, OFTEN_FULL
from sim.formatting import for_people, interval, percent
from sim.report.drawing import BLUE, SKY, STREAM_COLOURS, VERMILLION, figure, finish
from sim.report.html import esc, figure_html, html_table, metric_cell
from sim.report.reading import to_float

"""The share of time full from which a period is said to be often full."""
TABLE_METRICS = ("occupancy_p95", "probability_full", "near_full", "admitted", "turned_away", "returned")


class PeriodFigures(NamedTuple):
    """The system-wide figures of one period, as periods.csv gives them."""

    label: str
    start: dt.date | float
    """The period's first date, or its first day without a calendar."""
    end: dt.date | float
    beds: float
    values: Mapping[str, tuple[float, float, float]]
    """metric -> (mean, 95% low, 95% high)."""


def system_periods(rows: Sequence[Mapping[str, str]]) -> list[PeriodFigures]:
    """periods.csv's system-wide rows, a PeriodFigures per period in their order."""
    found: dict[str, PeriodFigures] = {}
    for row in rows:
        if row.get("stream") != ALL_STREAMS:
            continue
        label = row["period"]
        if label not in found:
            dated = bool(row.get("from_date"))
            found[label] = PeriodFigures(
                label, dt.date.fromisoformat(row["from_date"]) if dated else float(row["from_day"]),
                dt.date.fromisoformat(row["until_date"]) if dated else float(row["until_day"]),
                float(row["capacity"]), {})
        found[label].values[row["metric"]] = (  # type: ignore[index]  # filled here, read-only after
            to_float(row["mean"]), to_float(row["ci95_low"]), to_float(row["ci95_high"]))
    return list(found.values())


def first_often_full(series: Sequence[PeriodFigures]) -> PeriodFigures | None:
    """The first period whose mean share of time full exceeds OFTEN_FULL, if any."""
    return next((p for p in series if p.values.get("probability_full", (0.0,))[0] > OFTEN_FULL), None)


def periods_figure(variants: Mapping[str, Sequence[PeriodFigures]], png: Path | None = None, *,
                   name: str = "periods") -> str:
    """The beds in use per period (mean and the 95% interval of the mean) of each variant, against the
    beds in force; one variant in blue, several in the stream colours."""
    with figure(8.0, 3.8) as fig:
        ax = fig.add_subplot()
        for k, (variant, series) in enumerate(variants.items()):
            colour = BLUE if len(variants) == 1 else STREAM_COLOURS[k % len(STREAM_COLOURS)]
            x = [p.start for p in series] + [series[-1].end]
            mean, low, high = ([p.values["occupancy_mean"][i] for p in series] for i in range(3))
            ax.stairs(high, x, baseline=low, fill=True, color=SKY if len(variants) == 1 else colour,
                      alpha=0.35 if len(variants) == 1 else 0.2, lw=0,
                      label="95% interval of the mean" if len(variants) == 1 else None)
            ax.stairs(mean, x, baseline=None, color=colour, lw=1.5,
                      label="beds in use, mean of the period" if len(variants) == 1 else variant)
        beds = {tuple(p.beds for p in series): series for series in variants.values()}  # one line per plan of beds
        for k, (plan, series) in enumerate(beds.items()):
            x = [p.start for p in series] + [series[-1].end]
            ax.stairs(plan, x, baseline=None, color=VERMILLION if len(variants) == 1 else "#000000",
                      ls="-" if len(variants) == 1 else "--", lw=1.4,
                      label="beds at the period's start" if k == 0 else None)
        ax.set_ylabel("beds in use")
        ax.set_ylim(bottom=0)
        ax.legend(loc="lower right", ncols=2)
        ax.set_title("Beds in use by period")
        return finish(fig, name, "Beds in use by period: mean, 95% interval and the beds in force", png)


def periods_html(rows: Sequence[Mapping[str, str]], kind: str, png_dir: Path | None = None) -> str:
    """The periods section: what a planner reads first, the figure, and the table of the periods."""
    series = system_periods(rows)
    if not series:
        return '<p class="note">No period in periods.csv.</p>'
    often = first_often_full(series)
    near = [p for p in series if p.values.get("near_full", (0.0,))[0] > 0.5]
    said = [(f"The centres are first full more than {percent(OFTEN_FULL)} of the time in {esc(often.label)} "
             f"({percent(often.values['probability_full'][0])} of the time)." if often else
             f"In no {esc(kind)} are the centres full more than {percent(OFTEN_FULL)} of the time."),
            (f"The beds in use are more likely than not to reach {percent(NEAR_FULL)} of the beds at some moment of "
             f"{len(near)} of the {len(series)} periods, first in {esc(near[0].label)}." if near else
             f"In no {esc(kind)} are the beds in use more likely than not to reach {percent(NEAR_FULL)} of the beds.")]
    header = ["period", "beds", metric_cell("occupancy_mean"), "95% interval",
              *(metric_cell(m) for m in TABLE_METRICS)]
    table = [[esc(p.label), for_people(int(p.beds)), for_people(p.values["occupancy_mean"][0]),
              interval(*p.values["occupancy_mean"][1:]),
              *(_cell(m, p.values.get(m, (math.nan,))[0]) for m in TABLE_METRICS)] for p in series]
    png = png_dir / "periods.png" if png_dir is not None else None
    return (f"<p>{' '.join(said)}</p>\n"
            + figure_html(periods_figure({"": series}, png), "Beds in use by period, all streams together "
                                         "(means over the replications; the band is the 95% interval of the mean).")
            + html_table(header, table, numeric=tuple(range(1, len(header))))
            + f'\n<p class="note">Every period, per stream too, with intervals: periods.csv. '
              f"{esc(metrics.label('near_full'))}: {esc(metrics.BY_NAME['near_full'].meaning)}.</p>")


def _cell(metric: str, value: float) -> str:
    return percent(value) if metrics.BY_NAME[metric].kind == "share" else for_people(value)
