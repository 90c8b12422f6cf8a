"""The report of a folder of `capsim compare`: the scenarios, their paired differences, per origin group too,
and the forest plots.

It reads compare.csv, compare.json and each scenario's results folder (its
scenario.yaml, summary.json and replications.csv).
"""

from __future__ import annotations

from pathlib import Path

from sim import metrics
from sim.formatting import MISSING, as_written, finite, for_people, stat_interval
from sim.metrics import BY_NAME, counted_in_window
from sim.report.html import esc, figure_block, html_id, html_table, metric_cell
from sim.report.reading import (
    a_year,
    changes_said,
    origin_columns,
    origin_differences,
    read_csv,
    read_json,
    read_yaml,
    to_float,
    windows_note,
)
from sim.report.stress import STUDENT_T
from sim.report.study_figures import forest_plot_svg
from sim.report.study_pages import scenario_description, study_files, study_page
from sim.scenario.paths import changes

COMPARE_METHOD = (
    "Common random numbers: replication r of every scenario draws from the same seeds, so the same people "
    "arrive with the same fates wherever the scenarios share a stream. For each metric, the difference "
    "alternative − base is taken replication by replication; the table and the forest plots give the mean "
    f"difference and its paired Student-t 95% interval, {STUDENT_T} (zero width when every replication gives the "
    "same difference). A difference is <span class=\"sig\">significant</span> when its interval excludes zero; "
    "there is no correction for the number of metrics, so about one metric in twenty with no real difference is "
    "flagged by chance.")


def _scenarios_html(folder: Path, base: str, alternatives: list[str], notes: list[str]) -> str:
    """A row per scenario: its description, and for an alternative what it changes from the base (one that
    extends the base without a description of its own would otherwise read as the base)."""
    base_scenario = read_yaml(folder / base / "scenario.yaml")
    rows = []
    for role, name in [("base", base)] + [("alternative", name) for name in alternatives]:
        scenario = base_scenario if name == base else read_yaml(folder / name / "scenario.yaml")
        capacity = scenario.get("capacity") or {}
        beds = as_written(capacity.get("beds")) + (f" ({len(capacity['changes'])} changes)"
                                                  if capacity.get("changes") else "")
        streams = ", ".join(esc(s.get("name")) for s in scenario.get("streams") or []) or MISSING
        description = esc(scenario.get("description", ""))
        if name != base:
            changes = esc(changes_from(base_scenario, scenario))
            if scenario.get("description", "") == base_scenario.get("description", ""):
                description = f"as {esc(base)}, but: {changes}"
            else:
                description += f"<br><small>changes from {esc(base)}: {changes}</small>"
        rows.append([esc(name), role, description, beds, streams])
    text = (html_table(["scenario", "role", "description", "beds", "streams"], rows, numeric=(3,))
            + '\n<p class="note">Each scenario\'s own results folder is in the folder of this report, under '
              "its name; <code>capsim report</code> on it draws its full report.</p>")
    return text + "".join(f'\n<p class="note">Note: {esc(note)}</p>' for note in notes)


def changes_from(base: dict, alt: dict) -> str:
    """What `alt` (scenario.yaml) changes from `base`, by dotted path: 'capacity.beds 751 → 539; ...'."""
    return changes_said(changes(base, alt))


def _differences_html(differences: list[dict], base: str, alternatives: list[str], windows: dict[str, float]) -> str:
    """The paired differences of the headline metrics, system-wide; counts and cost also a year."""
    parts = []
    for alt in alternatives:
        rows = []
        for metric in metrics.HEADLINE:
            d = next((d for d in differences if d["scenario"] == alt and d["metric"] == metric), None)
            if d is None or not finite(d["difference"]):
                continue
            rows.append(_difference_row(d, metric_cell(metric), windows.get(base), windows.get(alt)))
        if len(alternatives) > 1:
            parts.append(f"<h3>{esc(alt)} − {esc(base)}</h3>")
        parts.append(html_table(["metric", esc(base), esc(alt), "difference", "95% interval", "difference a year",
                                 "significant"], rows, numeric=(1, 2, 3, 4, 5)))
    parts.append(f'<p class="note">Means over the replications; {esc(windows_note(windows))}. Every metric, '
                 "system-wide and per stream, is in compare.csv.</p>")
    return "\n".join(parts)


def _centres_html(differences: list[dict], base: str, alternatives: list[str], windows: dict[str, float]) -> str:
    """With centres: the paired differences per centre and per sex and category (compare.csv's
    centre.NAME.METRIC and DIMENSION.VALUE.METRIC rows); nothing without them."""
    rows = [_difference_row(d, (esc(d["scenario"]) + ": " if len(alternatives) > 1 else "") + metric_cell(d["metric"]),
                            windows.get(base), windows.get(d["scenario"]))
            for d in differences if d["metric"].count(".") == 2]
    if not rows:
        return ""
    return ("\n<h3>Per centre, and per sex and category</h3>\n"
            + html_table(["metric (centre, or people)", esc(base), "alternative", "difference", "95% interval",
                          "difference a year", "significant"], rows, numeric=(1, 2, 3, 4, 5)))


def _difference_row(d: dict, first: str, base_window, alt_window) -> list[str]:
    """A row of a differences table: the metric (HTML), the means, the difference and its interval, the
    difference a year (a count or cost) and whether it is significant."""
    mark = '<span class="sig">yes</span>' if d["significant"] else "no"
    difference = for_people(d["difference"])
    if d["significant"]:
        difference = f"<strong>{difference}</strong>"
    yearly = ""
    if counted_in_window(d["metric"]):
        alt, was = a_year(d["alt_mean"], alt_window), a_year(d["base_mean"], base_window)
        yearly = for_people(alt - was) if alt is not None and was is not None else MISSING
    return [first, for_people(d["base_mean"]), for_people(d["alt_mean"]), difference, stat_interval(d), yearly,
            mark]


def _origins_html(folder: Path, base: str, alternatives: list[str], windows: dict[str, float]) -> str:
    """The outcomes of the stays of each origin group (replications.csv of each run), paired alt - base."""
    base_values = origin_columns(read_csv(folder / base / "replications.csv"))
    parts = []
    for alt in alternatives:
        found = origin_differences(alt, base_values, origin_columns(read_csv(folder / alt / "replications.csv")))
        rows = [_difference_row({**vars(d), "significant": d.significant}, metric_cell(d.metric), windows.get(base),
                                windows.get(alt)) for d in found]
        if not rows:
            continue
        if len(alternatives) > 1:
            parts.append(f"<h4>{esc(alt)} − {esc(base)}</h4>")
        parts.append(html_table(["outcome (stream.origin)", esc(base), esc(alt), "difference", "95% interval",
                                 "difference a year", "significant"], rows, numeric=(1, 2, 3, 4, 5)))
    if not parts:
        return '<p class="note">No outcome per origin group in both the base and an alternative.</p>'
    parts.append('<p class="note">Each origin group\'s stays, paired replication by replication (common random '
                 f"numbers), from each scenario's replications.csv; {esc(windows_note(windows))}. Outcomes that are "
                 "zero in every replication of both are left out.</p>")
    return "\n".join(parts)


def _forest_plots_html(differences: list[dict], alternatives: list[str], png_dir: Path | None) -> str:
    figures, unchanged = [], []
    for metric in metrics.HEADLINE:
        rows = []
        for alt in alternatives:
            for d in differences:
                stream, _, name = d["metric"].rpartition(".")
                if d["scenario"] == alt and name == metric and "." not in stream:  # not a centre's
                    where = stream or "all streams"
                    rows.append({**d, "label": f"{alt}: {where}" if len(alternatives) > 1 else where})
        if not any(finite(r["difference"]) for r in rows):
            continue
        if all(r[key] == 0 for r in rows for key in ("difference", "ci95_low", "ci95_high")):
            unchanged.append(f"<code>{metric}</code>")
            continue
        text = BY_NAME[metric].label
        caption = (f"<code>{metric}</code>: {esc(text)}; the difference alternative − base, system-wide and per "
                   f"shared stream, with its 95% interval; <span class=\"sig\">significant</span> differences "
                   f"(interval excluding zero) drawn in colour.")
        figures.append(figure_block(
            forest_plot_svg, png_dir, f"forest-{html_id(metric)}", caption, rows=rows,
            title=f"{metric}: alternative − base (95% intervals)", xlabel=f"difference in {text}"))
    if unchanged:
        figures.append(f'<p class="note">Not drawn: {", ".join(unchanged)}, equal in the base and every '
                       "alternative, replication by replication (difference zero, interval of zero width).</p>")
    return "\n".join(figures) or '<p class="note">No metric with a defined difference.</p>'


def compare_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a folder of `capsim compare` (compare.csv, compare.json and a results folder per scenario)."""
    folder, table, info, manifest = study_files(results_dir, "compare")
    differences = [{"scenario": row["scenario"], "metric": row["metric"], "base_mean": to_float(row["base_mean"]),
                    "alt_mean": to_float(row["alt_mean"]), "difference": to_float(row["difference"]),
                    "ci95_low": to_float(row["ci95_low"]), "ci95_high": to_float(row["ci95_high"]),
                    "significant": row["significant"] == "true"} for row in table]
    alternatives = list(dict.fromkeys(row["scenario"] for row in table))
    runs = sorted(p.name for p in folder.iterdir() if (p / "summary.json").is_file())
    base = info.get("base") or next((name for name in runs if name not in alternatives), "base")
    base_summary = read_json(folder / base / "summary.json")
    windows = {name: days for name in [base, *alternatives]
               if (days := read_json(folder / name / "summary.json").get("horizon_days"))}
    seed = info.get("seed", base_summary.get("seed"))
    replications = info.get("replications", base_summary.get("replications"))
    sections = [
        ("Scenarios compared", _scenarios_html(folder, base, alternatives, info.get("notes") or [])),
        ("Differences", _differences_html(differences, base, alternatives, windows)
         + "\n<h3>Per origin group</h3>\n" + _origins_html(folder, base, alternatives, windows)
         + _centres_html(differences, base, alternatives, windows)),
        ("Forest plots", _forest_plots_html(differences, alternatives, png_dir)),
    ]
    return study_page(
        f"capsim comparison: {', '.join(alternatives)} against {base}", scenario_description(folder / base),
        [f"base {esc(base)}", f"{len(alternatives)} alternative(s)", f"{esc(replications)} paired replications"],
        sections, approach=COMPARE_METHOD, manifest=manifest, seed=seed, replications=replications)


