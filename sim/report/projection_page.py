"""The page of `capsim project`: a scenario's variants period by period, as a fan chart and a table.

Read from the folder's files: projection.csv names the variants in their order, and each variant's
results folder (its periods.csv) holds its periods, per stream too.
"""

from __future__ import annotations

from pathlib import Path

from sim.analysis.periods import OFTEN_FULL
from sim.formatting import for_people, interval, percent
from sim.report.html import esc, figure_html, html_table
from sim.report.periods import PeriodFigures, first_often_full, periods_figure, system_periods
from sim.report.reading import read_csv, read_yaml
from sim.report.study_pages import scenario_description, study_files, study_page

APPROACH = ("every variant is run with the same seeds, so that replication r of each variant sees the same "
            "people with the same fates (common random numbers); each period's figures are means over the "
            "replications with Student-t 95% intervals")


def projection_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    folder, rows, _, manifest = study_files(results_dir, "projection")
    names = list(dict.fromkeys(row["variant"] for row in rows))
    variants = {name: system_periods(read_csv(folder / name / "periods.csv")) for name in names}
    variants = {name: series for name, series in variants.items() if series}
    first = folder / names[0] if names else folder
    scenario = read_yaml(first / "scenario.yaml")
    summary_rows = read_csv(first / "replications.csv")
    sections = [("Beds in use by period", _fan_html(variants, png_dir)),
                ("Period by period", _table_html(variants))]
    return study_page(f"capsim projection: {esc(str(scenario.get('name', folder.name)).rsplit('-', 1)[0])}",
                      scenario_description(first),
                      [f"{len(variants)} variants: {esc(', '.join(variants))}",
                       f"by {esc(scenario.get('periods', 'period'))}"],
                      sections, approach=APPROACH, manifest=manifest, seed=scenario.get("seed"),
                      replications=len(summary_rows))


def _fan_html(variants: dict[str, list[PeriodFigures]], png_dir: Path | None) -> str:
    if not variants:
        return '<p class="note">No period in the variants\' periods.csv.</p>'
    said = []
    for name, series in variants.items():
        often = first_often_full(series)
        said.append(f"<li>{esc(name)}: " + (f"full more than {percent(OFTEN_FULL)} of the time from "
                                             f"{esc(often.label)} on ({percent(often.values['probability_full'][0])})"
                                             if often else f"never full more than {percent(OFTEN_FULL)} of the time")
                    + "</li>")
    png = png_dir / "projection.png" if png_dir is not None else None
    return (f"<ul>{''.join(said)}</ul>\n"
            + figure_html(periods_figure(variants, png, name="projection"),
                          "Beds in use by period for each variant, all streams together: the mean of the period "
                          "and the 95% interval of that mean, against the beds at each period's start."))


def _table_html(variants: dict[str, list[PeriodFigures]]) -> str:
    if not variants:
        return ""
    series = list(variants.values())
    same = len({tuple(p.beds for p in figures) for figures in series}) == 1  # else each cell says its beds
    header = ["period", *(["beds"] if same else [])] + [
        f"{esc(name)}: beds in use [95% interval]{'' if same else ' of the beds'}, time full" for name in variants]
    table = []
    for k, period in enumerate(series[0]):
        cells = [esc(period.label), *([for_people(int(period.beds))] if same else [])]
        for figures in series:
            values = figures[k].values
            mean, low, high = values["occupancy_mean"]
            cells.append(f"{for_people(mean)} {interval(low, high)}" + ("" if same else f" of {int(figures[k].beds)}")
                         + f", {percent(values['probability_full'][0])}")
        table.append(cells)
    return html_table(header, table, numeric=tuple(range(1, len(header))))
