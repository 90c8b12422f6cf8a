"""The reports of the studies: a folder of `capsim compare`, `capsim sweep` or `capsim size`.

Each reads its table (compare.csv, sweep.csv, size.csv), its JSON and the
results folders of its runs, draws the study's figures, and ends with the
method (the STRESS-DES items an experiment documents).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sim import metrics
from sim.formatting import MISSING, as_written, finite, for_people, stat_interval
from sim.metrics import BY_NAME
from sim.report.drawing import require_matplotlib
from sim.report.html import esc, figure_block, html_id, html_page, html_table, mean_cell, page_lead
from sim.report.reading import read_csv, read_json, read_yaml, to_float
from sim.report.stress import STUDENT_T, method_html
from sim.report.study_figures import forest_plot_svg, heatmap_svg, size_plot_svg, sweep_plot_svg, target_text
from sim.studies.size import Target


def _study_page(title: str, description: str, facts: Sequence[str], sections: list[tuple[str, str]], *,
                approach: str, manifest: dict, seed, replications) -> str:
    """The page of a study: the description (HTML) and a line of facts under the title, the sections,
    then the method (STRESS-DES items) with `approach` as its estimation approach."""
    facts = [*facts, f"seed {esc(seed)}"]
    if (manifest.get("versions") or {}).get("capsim"):
        facts.append(f"capsim {esc(manifest['versions']['capsim'])}")
    sections = [*sections, ("Method and reproducibility", method_html(approach, manifest, seed, replications))]
    return html_page(title, sections, lead=page_lead(description, facts))


def _study_files(results_dir: str | Path, study: str) -> tuple[Path, list[dict[str, str]], dict, dict]:
    """(folder, the rows of <study>.csv, <study>.json, manifest.json) of a study's folder; matplotlib first,
    so that a report that cannot be drawn reads nothing."""
    require_matplotlib()
    folder = Path(results_dir)
    return (folder, read_csv(folder / f"{study}.csv"), read_json(folder / f"{study}.json"),
            read_json(folder / "manifest.json"))


def _description(run: Path) -> str:
    """The description of the scenario of a run's folder, as HTML."""
    return esc(read_yaml(run / "scenario.yaml").get("description", ""))


def _table_columns(rows: list[dict]) -> tuple[list[str], list[str]]:
    """(parameters, metrics) of sweep.csv or size.csv: a metric has _mean, _ci95_low and _ci95_high columns;
    the parameters are the columns after the first that are none of those."""
    header = list(rows[0]) if rows else []
    found = [c[:-5] for c in header if c.endswith("_mean")
             and f"{c[:-5]}_ci95_low" in header and f"{c[:-5]}_ci95_high" in header]
    used = {f"{m}_{part}" for m in found for part in ("mean", "ci95_low", "ci95_high")}
    return [c for c in header[1:] if c not in used], found


def _stat(row: dict, metric: str) -> dict:
    return {part: to_float(row.get(f"{metric}_{part}")) for part in ("mean", "ci95_low", "ci95_high")}


# --- compare ---------------------------------------------------------------------------------

COMPARE_METHOD = (
    "Common random numbers: replication r of every scenario draws from the same seeds, so the same people "
    "arrive with the same fates wherever the scenarios share a stream. For each metric, the difference "
    "alternative − base is taken replication by replication; the table and the forest plots give the mean "
    f"difference and its paired Student-t 95% interval, {STUDENT_T} (zero width when every replication gives the "
    "same difference). A difference is <span class=\"sig\">significant</span> when its interval excludes zero; "
    "there is no correction for the number of metrics, so about one metric in twenty with no real difference is "
    "flagged by chance.")


def _scenarios_html(folder: Path, base: str, alternatives: list[str], notes: list[str]) -> str:
    rows = []
    for role, name in [("base", base)] + [("alternative", name) for name in alternatives]:
        scenario = read_yaml(folder / name / "scenario.yaml")
        capacity = scenario.get("capacity") or {}
        beds = as_written(capacity.get("beds")) + (f" ({len(capacity['changes'])} changes)"
                                                  if capacity.get("changes") else "")
        streams = ", ".join(esc(s.get("name")) for s in scenario.get("streams") or []) or MISSING
        rows.append([esc(name), role, esc(scenario.get("description", "")), beds, streams])
    text = (html_table(["scenario", "role", "description", "beds", "streams"], rows, numeric=(3,))
            + '\n<p class="note">Each scenario\'s own results folder is in the folder of this report, under '
              "its name; <code>capsim report</code> on it draws its full report.</p>")
    return text + "".join(f'\n<p class="note">Note: {esc(note)}</p>' for note in notes)


def _differences_html(differences: list[dict], base: str, alternatives: list[str]) -> str:
    parts = []
    for alt in alternatives:
        rows = []
        for metric in metrics.HEADLINE:
            d = next((d for d in differences if d["scenario"] == alt and d["metric"] == metric), None)
            if d is None or not finite(d["difference"]):
                continue
            mark = '<span class="sig">yes</span>' if d["significant"] else "no"
            difference = for_people(d["difference"])
            if d["significant"]:
                difference = f"<strong>{difference}</strong>"
            rows.append([f"<code>{metric}</code>", esc(BY_NAME[metric].label), for_people(d["base_mean"]),
                         for_people(d["alt_mean"]), difference, stat_interval(d), mark])
        if len(alternatives) > 1:
            parts.append(f"<h3>{esc(alt)} − {esc(base)}</h3>")
        parts.append(html_table(["metric", "in words", esc(base), esc(alt), "difference", "95% interval",
                                 "significant"], rows, numeric=(2, 3, 4, 5)))
    parts.append('<p class="note">System-wide means over the replications; every metric, system-wide and per '
                 "stream, is in compare.csv.</p>")
    return "\n".join(parts)


def _forest_plots_html(differences: list[dict], alternatives: list[str], png_dir: Path | None) -> str:
    figures, unchanged = [], []
    for metric in metrics.HEADLINE:
        rows = []
        for alt in alternatives:
            for d in differences:
                stream, _, name = d["metric"].rpartition(".")
                if d["scenario"] == alt and name == metric:
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
    folder, table, info, manifest = _study_files(results_dir, "compare")
    differences = [{"scenario": row["scenario"], "metric": row["metric"], "base_mean": to_float(row["base_mean"]),
                    "alt_mean": to_float(row["alt_mean"]), "difference": to_float(row["difference"]),
                    "ci95_low": to_float(row["ci95_low"]), "ci95_high": to_float(row["ci95_high"]),
                    "significant": row["significant"] == "true"} for row in table]
    alternatives = list(dict.fromkeys(row["scenario"] for row in table))
    runs = sorted(p.name for p in folder.iterdir() if (p / "summary.json").is_file())
    base = info.get("base") or next((name for name in runs if name not in alternatives), "base")
    base_summary = read_json(folder / base / "summary.json")
    seed = info.get("seed", base_summary.get("seed"))
    replications = info.get("replications", base_summary.get("replications"))
    sections = [
        ("Scenarios compared", _scenarios_html(folder, base, alternatives, info.get("notes") or [])),
        ("Differences", _differences_html(differences, base, alternatives)),
        ("Forest plots", _forest_plots_html(differences, alternatives, png_dir)),
    ]
    return _study_page(
        f"capsim comparison: {', '.join(alternatives)} against {base}", _description(folder / base),
        [f"base {esc(base)}", f"{len(alternatives)} alternative(s)", f"{esc(replications)} paired replications"],
        sections, approach=COMPARE_METHOD, manifest=manifest, seed=seed, replications=replications)


# --- sweep -----------------------------------------------------------------------------------

SWEEP_METHOD = (
    "Every point of the sweep runs the same replications from the same seeds (common random numbers), so "
    "differences between points come from the parameters, not from the draw. Each point's mean over its "
    f"replications with a Student-t 95% interval, {STUDENT_T}.")


def _sweep_layout(parameters: list[str], rows: list[dict]) -> tuple[str, str | None, str]:
    """(x parameter, y parameter of a full grid or None, the layout in words)."""
    pairs = {tuple(r[p] for p in parameters) for r in rows}
    distinct = {p: list(dict.fromkeys(r[p] for r in rows)) for p in parameters}
    if (len(parameters) == 2 and len(pairs) == len(rows)
            and len(rows) == len(distinct[parameters[0]]) * len(distinct[parameters[1]])):
        x_parameter, y_parameter = parameters
        return x_parameter, y_parameter, (
            f"A full grid of {len(distinct[x_parameter])} × {len(distinct[y_parameter])} points: each headline "
            f"metric as a heat map, its mean and 95% interval written in each cell.")
    if parameters and len(distinct[parameters[0]]) == len(rows):
        together = ", ".join(f"<code>{esc(p)}</code>" for p in parameters[1:])
        return parameters[0], None, ("Each headline metric against the swept parameter, with its 95% interval band"
                                     + (f"; {together} taken together with it (see the table)." if together else "."))
    return "point", None, "Each headline metric against the points of the sweep (their settings are in the table)."


def sweep_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a folder of `capsim sweep` (sweep.csv and a results folder per point).

    One parameter, or several taken together (--zip): each headline metric
    against the first parameter with its interval band. Two parameters on a
    full grid: a heat map per headline metric. Otherwise against the points.
    """
    folder, rows, _, manifest = _study_files(results_dir, "sweep")
    parameters, found = _table_columns(rows)
    first = read_json(folder / rows[0]["point"] / "summary.json") if rows else {}
    base = re.sub(r"-point-\d+$", "", str(first.get("scenario", ""))) or folder.name
    x_parameter, y_parameter, layout = _sweep_layout(parameters, rows)

    figures = []
    for metric in metrics.HEADLINE:
        if metric not in found or not any(finite(_stat(r, metric)["mean"]) for r in rows):
            continue
        name = f"sweep-{html_id(metric)}"
        caption = f"<code>{metric}</code>: {esc(BY_NAME[metric].label)}; mean over replications and its 95% interval."
        if y_parameter is not None:
            cells = [{"x": r[x_parameter], "y": r[y_parameter], **_stat(r, metric)} for r in rows]
            figures.append(figure_block(heatmap_svg, png_dir, name, caption, x_parameter=x_parameter,
                                        y_parameter=y_parameter, cells=cells, metric=metric))
        else:
            points = [{"value": r[x_parameter], **_stat(r, metric)} for r in rows]
            figures.append(figure_block(sweep_plot_svg, png_dir, name, caption, parameter=x_parameter,
                                        points=points, metric=metric))
    drawn = "\n".join(figures)
    if y_parameter is None:  # line plots two abreast; a heat map needs the width for the numbers in its cells
        drawn = f'<div class="pair">\n{drawn}\n</div>'

    columns = [m for m in metrics.SWEEP_HEADLINE if m in found]
    table = html_table(
        ["point"] + [f"<code>{esc(p)}</code>" for p in parameters] + [f"<code>{m}</code>" for m in columns],
        [[esc(r["point"])] + [esc(r[p]) for p in parameters] + [mean_cell(_stat(r, m)) for m in columns]
         for r in rows],
        numeric=range(1, 1 + len(parameters) + len(columns)))
    table += ('\n<p class="note">Mean over replications and its 95% interval (in brackets); every metric is in '
              "sweep.csv, and each point's results folder is under its name (<code>capsim report</code> on it draws "
              "its full report).</p>")
    sections = [
        ("Points of the sweep", table),
        ("Headline metrics against the parameters", f'<p class="note">{layout}</p>\n{drawn}'),
    ]
    replications = first.get("replications")
    return _study_page(
        f"capsim sweep: {base} over {', '.join(parameters)}", _description(folder / rows[0]["point"]) if rows else "",
        [f"scenario {esc(base)}", f"{len(rows)} points", f"{esc(replications)} replications per point"],
        sections, approach=SWEEP_METHOD, manifest=manifest, seed=first.get("seed"), replications=replications)


# --- size ------------------------------------------------------------------------------------

SIZE_METHOD = (
    "The smallest number of beds at which the whole 95% interval (Student-t over the replications) of every target "
    "metric lies on the right side of its bound. The search starts from Erlang B where the theory covers the "
    "scenario, brackets the answer and bisects; capacity changes keep their size. Every number of beds tried runs "
    "the same seeds (common random numbers), so neighbouring counts differ only by the beds; the search assumes "
    "the targets get easier as beds are added.")


def _size_targets(info: dict, manifest: dict) -> list[Target]:
    """The targets of a size folder: from size.json, else from the command in manifest.json."""
    if info.get("targets"):
        return [Target(t["metric"], t["comparison"], float(t["bound"])) for t in info["targets"]]
    command = [str(part) for part in manifest.get("command") or []]
    texts = [command[i + 1] for i, part in enumerate(command[:-1]) if part == "--target"]
    texts += [part.split("=", 1)[1] for part in command if part.startswith("--target=")]
    targets = []
    for text in texts:
        try:
            targets.append(Target.parse(text))
        except ValueError:
            continue  # not a target capsim could have run: nothing to draw
    return targets


def size_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a folder of `capsim size` (size.csv and size.json)."""
    folder, rows, info, manifest = _study_files(results_dir, "size")
    found = _table_columns(rows)[1]
    targets = {t.metric: t for t in _size_targets(info, manifest)}
    good = [int(r["beds"]) for r in rows if r["meets_targets"] == "true"]
    answer = info["answer"] if "answer" in info else (min(good) if good else None)

    figures = []
    for metric in found:
        target = targets.get(metric)
        points = [{"beds": int(r["beds"]), "meets": r["meets_targets"] == "true", **_stat(r, metric)} for r in rows]
        caption = (f"<code>{esc(metric)}</code> at each number of beds tried: mean and 95% interval"
                   + (f", the target <code>{esc(target_text(target))}</code> (dashed)" if target else "")
                   + (f" and the answer, {answer} beds" if answer is not None else "") + ".")
        figures.append(figure_block(size_plot_svg, png_dir, f"size-{html_id(metric)}", caption, rows=points,
                                    target=target, answer=answer, metric=metric))

    table_rows = []
    for r in rows:
        beds = int(r["beds"])
        cells = [f"<strong>{beds}</strong> (answer)" if beds == answer else str(beds),
                 "yes" if r["meets_targets"] == "true" else "no"]
        table_rows.append(cells + [mean_cell(_stat(r, m)) for m in found])
    table = html_table(["beds", "meets every target"] + [f"<code>{esc(m)}</code>" for m in found], table_rows,
                       numeric=[0] + list(range(2, 2 + len(found))))
    wanted = ", ".join(f"<code>{esc(target_text(t))}</code>" for t in targets.values()) or "not recorded"
    verdict = esc(info.get("reason") or (f"{answer} beds meet every target" if answer is not None
                                         else "no number of beds tried meets every target"))
    summary = f"<p class=\"lead\"><strong>{verdict}.</strong></p>\n<p>Targets: {wanted}.</p>"
    if info.get("analytic_start") is not None:
        summary += f"\n<p>The search started from Erlang B's answer, {esc(info['analytic_start'])} beds.</p>"
    sections = [
        ("Answer", summary),
        ("Target metrics against beds", "\n".join(figures)),
        ("Every number of beds tried", table),
    ]
    base = info.get("scenario") or folder.name
    return _study_page(
        f"capsim size: {base}", esc(info.get("description", "")),
        [f"scenario {esc(base)}", f"{len(rows)} numbers of beds tried", f"{esc(info.get('replications'))} "
         "replications each"],
        sections, approach=SIZE_METHOD, manifest=manifest, seed=info.get("seed"), replications=info.get("replications"))
