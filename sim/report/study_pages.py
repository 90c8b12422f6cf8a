"""The reports of the studies: a folder of `capsim sweep` or `capsim size` (compare: `compare_page`),
and the frame every study's page shares.

Each reads its table (sweep.csv, size.csv), its JSON and the results folders
of its runs, draws the study's figures, and ends with the method (the
STRESS-DES items an experiment documents).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sim import metrics
from sim.formatting import finite, for_people
from sim.metrics import BY_NAME
from sim.report.drawing import require_matplotlib
from sim.report.html import esc, figure_block, html_id, html_page, html_table, mean_cell, metric_cell, page_lead
from sim.report.reading import (
    A_YEAR_COLUMNS,
    a_year,
    read_csv,
    read_json,
    read_yaml,
    to_float,
    windows_note,
)
from sim.report.stress import STUDENT_T, method_html
from sim.report.study_figures import heatmap_svg, size_plot_svg, sweep_plot_svg, target_text
from sim.studies.size import PlanStep, Target, shift_sentence, shifted


def study_page(title: str, description: str, facts: Sequence[str], sections: list[tuple[str, str]], *,
                approach: str, manifest: dict, seed, replications) -> str:
    """The page of a study: the description (HTML) and a line of facts under the title, the sections,
    then the method (STRESS-DES items) with `approach` as its estimation approach."""
    facts = [*facts, f"seed {esc(seed)}"]
    if (manifest.get("versions") or {}).get("capsim"):
        facts.append(f"capsim {esc(manifest['versions']['capsim'])}")
    sections = [*sections, ("Method and reproducibility", method_html(approach, manifest, seed, replications))]
    return html_page(title, sections, lead=page_lead(description, facts))


def study_files(results_dir: str | Path, study: str) -> tuple[Path, list[dict[str, str]], dict, dict]:
    """(folder, the rows of <study>.csv, <study>.json, manifest.json) of a study's folder; matplotlib first,
    so that a report that cannot be drawn reads nothing."""
    require_matplotlib()
    folder = Path(results_dir)
    return (folder, read_csv(folder / f"{study}.csv"), read_json(folder / f"{study}.json"),
            read_json(folder / "manifest.json"))


def scenario_description(run: Path) -> str:
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
    folder, rows, _, manifest = study_files(results_dir, "sweep")
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
    yearly = [m for m in A_YEAR_COLUMNS if m in found and all(finite(_stat(r, m)["mean"]) for r in rows)]
    windows = {r["point"]: read_json(folder / r["point"] / "summary.json").get("horizon_days") for r in rows}
    table = html_table(
        ["point"] + [f"<code>{esc(p)}</code>" for p in parameters] + [metric_cell(m) for m in columns]
        + [f"{esc(metrics.label(m))} a year<br><small><code>{esc(m)}</code> a year</small>" for m in yearly],
        [[esc(r["point"])] + [esc(r[p]) for p in parameters] + [mean_cell(_stat(r, m)) for m in columns]
         + [for_people(a_year(_stat(r, m)["mean"], windows[r["point"]])) for m in yearly] for r in rows],
        numeric=range(1, 1 + len(parameters) + len(columns) + len(yearly)))
    table += (f'\n<p class="note">Mean over replications and its 95% interval (in brackets); '
              f"{esc(windows_note(windows))}. Every metric is in sweep.csv, and each point's results folder is under "
              "its name (<code>capsim report</code> on it draws its full report).</p>")
    sections = [
        ("Points of the sweep", table),
        ("Headline metrics against the parameters", f'<p class="note">{layout}</p>\n{drawn}'),
    ]
    replications = first.get("replications")
    return study_page(
        f"capsim sweep: {base} over {', '.join(parameters)}",
        scenario_description(folder / rows[0]["point"]) if rows else "",
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


def _plan_html(plan: list[PlanStep], shift: int) -> str:
    """The capacity plan at the answer: each step with its date, name, beds as written and at the answer."""
    rows = [[esc(step.when), esc(step.label), str(step.beds_written), f"<strong>{step.beds}</strong>"]
            for step in plan]
    return (f"<p>The scenario's capacity changes over time, so the answer is a whole plan: "
            f"{esc(shift_sentence(shift))}.</p>\n"
            + html_table(["from", "step", "beds in the scenario", "beds at the answer"], rows, numeric=(2, 3)))


def size_report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a folder of `capsim size` (size.csv and size.json)."""
    folder, rows, info, manifest = study_files(results_dir, "size")
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

    plan = [PlanStep.from_json(step) for step in info.get("plan") or []]
    steps = len(plan) > 1  # a capacity plan: every count tried moves each of its steps
    table_rows = []
    for r in rows:
        beds = int(r["beds"])
        cells = [f"<strong>{beds}</strong> (answer)" if beds == answer else str(beds),
                 "yes" if r["meets_targets"] == "true" else "no"]
        if steps:
            shift = beds - plan[0].beds_written
            cells.append(" / ".join(str(shifted(step.beds_written, shift)) for step in plan))
        table_rows.append(cells + [mean_cell(_stat(r, m), m, info.get("horizon_days")) for m in found])
    table = html_table(["beds" + (" at the start" if steps else ""), "meets every target"]
                       + (["beds of each step"] if steps else []) + [metric_cell(m) for m in found],
                       table_rows, numeric=[0] + list(range(2, 2 + steps + len(found))))
    wanted = ", ".join(f"<code>{esc(target_text(t))}</code>" for t in targets.values()) or "not recorded"
    verdict = info.get("reason") or (f"{answer} beds meet every target" if answer is not None
                                     else "no number of beds tried meets every target")
    verdict = esc(verdict[:1].upper() + verdict[1:])
    summary = f"<p class=\"lead\"><strong>{verdict}.</strong></p>\n<p>Targets: {wanted}.</p>"
    if info.get("analytic_start") is not None:
        summary += f"\n<p>The search started from Erlang B's answer, {esc(info['analytic_start'])} beds.</p>"
    if steps:
        summary += "\n<h3>The capacity plan at the answer</h3>\n" + _plan_html(plan, info["shift"])
    sections = [
        ("Answer", summary),
        ("Target metrics against beds", "\n".join(figures)),
        ("Every number of beds tried", table),
    ]
    base = info.get("scenario") or folder.name
    return study_page(
        f"capsim size: {base}", esc(info.get("description", "")),
        [f"scenario {esc(base)}", f"{len(rows)} numbers of beds tried", f"{esc(info.get('replications'))} "
         "replications each"],
        sections, approach=SIZE_METHOD, manifest=manifest, seed=info.get("seed"), replications=info.get("replications"))
