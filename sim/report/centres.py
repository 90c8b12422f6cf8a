"""The centres of a run's report (a scenario with centres): each centre's places and beds in use, the people of
each sex and category, and the sentences that open the page about them.

Read from summary.json (`centres`, `groups`) and centres.csv only, like the rest of the report. Occupancy and
the share of time full are counted against a centre's usable places; the tables show its nominal places too,
split as the Dutch custodial agency (DJI) publishes its sites: occupied, empty and usable, out of use.
"""

from __future__ import annotations

import math
from pathlib import Path

from sim import metrics
from sim.formatting import MISSING, finite, for_people, percent, percent_interval, places, stat_interval
from sim.report.drawing import BLUE, SKY, VERMILLION, figure, finish
from sim.report.html import esc, figure_html, html_table
from sim.report.reading import RunFolder, a_year, centre_days

CAPTION = ("Beds in use in each centre over time: the mean over replications and the band holding 90% of them "
           "(5th to 95th percentile), against the centre's usable places (solid line) and its nominal places "
           "(dashed line); the warm-up, shaded, is not measured. A centre is full when every usable place is "
           "taken; each panel's title gives its places in the measured window and the share of time it is full.")
NOMINAL = "#000000"
"""The colour of the nominal places' line (dashed; the usable places are VERMILLION, as the capacity elsewhere)."""
DIMENSION_WORDS = {"sex": "by sex", "category": "by category"}


def _mean(stats: dict | None, metric: str):
    return ((stats or {}).get(metric) or {}).get("mean")


def _head(metric: str, *lines: str) -> str:
    """A column heading: its words on `lines` (or the registry's label), the metric's code name under them.
    Numeric headings do not wrap (html.CSS), so a long heading is given on several lines."""
    words = "<br>".join(esc(line) for line in lines) or esc(metrics.label(metric))
    return f"{words}<br><small><code>{esc(metric)}</code></small>"


def _mean_and_interval(stat: dict | None) -> str:
    return f'{for_people((stat or {}).get("mean"))}<br><span class="ci">{stat_interval(stat)}</span>'


def _share_and_interval(stat: dict | None) -> str:
    """A share in percent with its 95% interval in percent."""
    return f'{percent((stat or {}).get("mean"))}<br><span class="ci">{percent_interval(stat)}</span>'


def _dimensions(summary: dict) -> list[tuple[str, dict]]:
    """summary.json's groups by dimension: sex, then category (as the scenario describes people), then any other."""
    groups = summary.get("groups") or {}
    return sorted(groups.items(), key=lambda item: (list(DIMENSION_WORDS) + [item[0]]).index(item[0]))


def _difference(a, b) -> float | None:
    return float(a) - float(b) if finite(a) and finite(b) else None


def centre_rows(summary: dict, names: list[str]) -> list[list[str]]:
    """A row per centre of summary.json (`names`, in their order), then all centres together: places, beds in
    use (the occupied places: mean and 95% interval), its 95th percentile of time, time full, admitted a year,
    and the rest of the nominal places: empty usable, out of use."""
    window = summary.get("horizon_days")
    rows = []
    for name in names:
        centre = summary["centres"][name]
        nominal, usable, in_use = (_mean(centre, m) for m in ("places_nominal", "places_usable", "occupancy_mean"))
        rows.append([esc(name), places(nominal), places(usable), _mean_and_interval(centre.get("occupancy_mean")),
                     places(_mean(centre, "occupancy_p95")), percent(_mean(centre, "probability_full")),
                     for_people(a_year(_mean(centre, "admitted"), window)),
                     for_people(_difference(usable, in_use)), places(_difference(nominal, usable))])
    if len(rows) > 1:
        centres = list((summary.get("centres") or {}).values())
        system = summary.get("metrics") or {}
        nominal, usable = (sum(_mean(c, m) or 0.0 for c in centres) for m in ("places_nominal", "places_usable"))
        in_use = _mean(system, "occupancy_mean")
        rows.append(["<b>all centres</b>", places(nominal), places(usable),
                     _mean_and_interval(system.get("occupancy_mean")), places(_mean(system, "occupancy_p95")),
                     percent(_mean(system, "probability_full")), for_people(a_year(_mean(system, "admitted"), window)),
                     for_people(_difference(usable, in_use)), places(_difference(nominal, usable))])
    return rows


def group_rows(summary: dict) -> list[list[str]]:
    """A row per sex and per category of summary.json: the usable places open to them, their beds in use,
    requests and those who found no place a year, the share that found none, the time with no place."""
    window = summary.get("horizon_days")
    rows = []
    for dimension, groups in _dimensions(summary):
        for value, group in groups.items():
            rows.append([f"{esc(dimension)}: {esc(value)}", places(_mean(group, "places_usable")),
                         _mean_and_interval(group.get("occupancy_mean")),
                         for_people(a_year(_mean(group, "detention_requests"), window)),
                         for_people(a_year(_mean(group, "found_no_place"), window)),
                         _share_and_interval(group.get("share_found_no_place")),
                         percent(_mean(group, "probability_full"))])
    return rows


def centres_html(folder: RunFolder, png_dir: Path | None = None) -> str:
    """The centres section: the table of the centres, their figure, the table of the people by sex and category."""
    summary = folder.summary
    header = ["centre", _head("places_nominal", "nominal", "places"), _head("places_usable", "usable", "places"),
              _head("occupancy_mean", "beds in use", "(occupied), mean"),
              _head("occupancy_p95", "beds in use, 95th", "percentile of time"),
              _head("probability_full", "share of", "time full"), _head("admitted", "admitted", "a year"),
              "empty,<br>usable", "out of use"]
    parts = ["<h3>Per centre</h3>",
             html_table(header, centre_rows(summary, folder.centre_names), numeric=range(1, len(header))),
             '<p class="note">Means over the replications in the measured window, with the 95% interval of the '
             "beds in use in brackets. Occupancy and the share of time full are counted against the usable "
             "places (staffed, not closed): a centre is full when every usable place is taken. As the Dutch "
             "custodial agency publishes its sites, the nominal places are the occupied places (the beds in use), "
             "the empty usable places (usable − occupied) and the places out of use (nominal − usable). For all "
             "centres together, full means every usable place of every centre taken.</p>"]
    if folder.centres:
        png = png_dir / "centres.png" if png_dir is not None else None
        parts.append(figure_html(centres_figure(folder, png), esc(CAPTION)))
    else:
        parts.append('<p class="note">No data for the figure of the centres (centres.csv missing).</p>')
    rows = group_rows(summary)
    if rows:
        header = ["people", _head("places_usable", "usable places", "open to them"),
                  _head("occupancy_mean", "beds in use,", "mean"),
                  _head("detention_requests", "detention", "requests a year"),
                  _head("found_no_place", "found no", "place a year"),
                  _head("share_found_no_place", "share of requests", "that found no place"),
                  _head("probability_full", "share of time", "with no place")]
        parts += ["<h3>By sex and by category</h3>", html_table(header, rows, numeric=range(1, len(header))),
                  '<p class="note">Means over the replications in the measured window, 95% intervals in brackets. '
                  f"{esc(metrics.label('found_no_place')).capitalize()}: "
                  f"{esc(metrics.BY_NAME['found_no_place'].meaning.removeprefix('with centres: '))}. "
                  "Share of time with no place: the share of the measured time in which every usable place open "
                  "to a person of the group (weighted by its mix of sex and category among its requests) was taken. "
                  "Usable places open to them: those of the centres that accept some of them, so a place may "
                  "count for several groups.</p>"]
    return "\n".join(parts)


def centres_brief(folder: RunFolder) -> list[str]:
    """The opening sentences about the centres: the centre full most often, and in each dimension the people
    who most often find no place of their kind. None without centres."""
    summary = folder.summary
    centres = {name: _mean(summary["centres"][name], "probability_full") for name in folder.centre_names}
    centres = {name: full for name, full in centres.items() if finite(full)}
    if not centres:
        return []
    ranked = sorted(centres, key=lambda name: -centres[name])  # stable: the first in the scenario's order on a tie
    first = ranked[0]
    usable = _mean(summary["centres"][first], "places_usable")
    if centres[first] == 0:
        sentences = ["No centre is ever full in the measured window."]
    else:
        said = (f"The centre full most often is {esc(first)}: every one of its {places(usable)} usable places is "
                f"taken {percent(centres[first])} of the time")
        if len(ranked) > 1:
            said += f" (next: {esc(ranked[1])}, {percent(centres[ranked[1]])})"
        sentences = [said + "."]
    worst = []
    for dimension, groups in _dimensions(summary):
        shares = {value: _mean(group, "share_found_no_place") for value, group in groups.items()}
        shares = {value: share for value, share in shares.items() if finite(share)}
        if shares:
            value = max(shares, key=lambda v: shares[v])
            stat = groups[value]["share_found_no_place"]
            spread = (f", 95% interval {percent(stat['ci95_low'])}–{percent(stat['ci95_high'])}"
                      if finite(stat.get("ci95_low")) and finite(stat.get("ci95_high")) else "")
            worst.append(f"{DIMENSION_WORDS.get(dimension, 'by ' + esc(dimension))}, {esc(value)} "
                         f"({percent(shares[value])} of their detention requests{spread})")
    if worst:
        sentences.append("Those who most often find no place of their kind: " + "; ".join(worst) + ".")
    return sentences


def _steps(values: list[float]) -> str:
    """Places through the measured window: '110', or '110→80' when they change."""
    shown = [v for k, v in enumerate(values) if not math.isnan(v) and (k == 0 or v != values[k - 1])]
    return "→".join(places(v) for v in shown) or MISSING


def centres_figure(folder: RunFolder, png: Path | None = None) -> str:
    """A panel per centre (one time axis): the mean beds in use and its 5-95% band over the replications,
    against the usable places (solid) and the nominal places (dashed); the warm-up shaded. Each panel's title:
    its places through the measured window and its share of time full (summary.json)."""
    series = centre_days(folder.centres)
    stats = folder.summary.get("centres") or {}
    columns = 1 if len(series) <= 2 else 2
    rows = math.ceil(len(series) / columns)
    dated = any(days.x and not isinstance(days.x[0], float) for days in series.values())
    with figure(8.0, 1.0 + 1.75 * rows) as fig:
        from matplotlib.ticker import MaxNLocator

        grid = fig.subplots(rows, columns, sharex=True, squeeze=False)
        axes = [ax for row in grid for ax in row]
        for ax in axes[len(series):]:  # an empty cell: the panel above it keeps the dates
            above = axes[axes.index(ax) - columns]
            above.tick_params(labelbottom=True)
            ax.remove()
        for k, (ax, (name, days)) in enumerate(zip(axes, series.items())):
            warm = [x for x, w in zip(days.x, days.warmup) if w]
            if warm:
                end = next((x for x, w in zip(days.x, days.warmup) if not w), days.x[-1])
                ax.axvspan(days.x[0], end, color="#eeeeee", lw=0, label="warm-up (not measured)", zorder=0)
            ax.fill_between(days.x, days.low, days.high, color=SKY, alpha=0.35, lw=0,
                            label="5-95% of replications")
            ax.plot(days.x, days.mean, color=BLUE, lw=1.3, label="mean beds in use")
            ax.step(days.x, days.usable, where="post", color=VERMILLION, lw=1.4, label="usable places")
            ax.step(days.x, days.places, where="post", color=NOMINAL, lw=1.0, ls=(0, (4, 3)),
                    label="nominal places")
            top = max((v for v in days.places + days.usable + days.high if not math.isnan(v)), default=0.0)
            ax.set_ylim(0, top * 1.12 if top > 0 else 1)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlim(days.x[0], days.x[-1])
            measured = [i for i, w in enumerate(days.warmup) if not w] or range(len(days.x))
            title = (f"{name}: {_steps([days.usable[i] for i in measured])} usable of "
                     f"{_steps([days.places[i] for i in measured])} places")
            full = _mean(stats.get(name), "probability_full")
            if finite(full):
                title += f", full {percent(full)}"
            ax.set_title(title, fontsize=8.5, loc="left")
            if k % columns == 0:
                ax.set_ylabel("beds in use")
        if dated:
            import matplotlib.dates as mdates

            for ax in axes[:len(series)]:
                locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
                ax.xaxis.set_major_locator(locator)
                ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        else:  # under the lowest panel of each column
            for ax in axes[max(0, len(series) - columns):len(series)]:
                ax.set_xlabel("day (0 = start of the warm-up)")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
        fig.suptitle("Beds in use per centre, against its usable places (solid) and nominal places (dashed)",
                     fontsize=10)
        return finish(fig, "centres", "Beds in use per centre over time: mean, 5-95% band, usable and nominal "
                                      "places, warm-up", png)
