"""The STRESS-DES reporting checklist (Monks et al. 2019): what a report says of how its numbers were made.

A run's report documents nine items (outputs, inputs, initialisation, run
length, estimation, software, random sampling, execution, system); the
reports of compare, sweep and size the four an experiment adds to its runs
(estimation, random sampling, software, system). The outputs are defined from
the metric registry, the inputs read from the folder's scenario.yaml.
"""

from __future__ import annotations

import datetime as dt

from sim.analysis.precision import PRECISION_METRICS
from sim.analysis.stats import INTERVAL_METHOD
from sim.formatting import MISSING, as_written, for_people
from sim.metrics import BY_NAME
from sim.report.drawing import require_matplotlib
from sim.report.html import esc, html_table
from sim.report.reading import RunFolder

CITATION = ('<p class="note">STRESS-DES: Monks T, Currie CSM, Onggo BS, Robinson S, Kunc M, Taylor SJE (2019). '
            "Strengthening the reporting of empirical simulation studies: Introducing the STRESS guidelines. "
            "Journal of Simulation 13(1):55-67.</p>")
STUDENT_T = "mean ± t<sub>0.975, R−1</sub> · s / √R"
"""The 95% interval of R replications, as every report states it."""


def checklist_html(items: list[tuple[str, str, str]]) -> str:
    """The checklist items (number, topic as text, what this study did as HTML) as a table, with the citation."""
    rows = [[number, esc(topic), body] for number, topic, body in items]
    return html_table(["item", "topic", "this study"], rows) + "\n" + CITATION


# --- 1.2 and 3.3: outputs and inputs ------------------------------------------------------

def _outputs(summary: dict) -> str:
    """1.2: how the outputs are estimated, and each metric reported with its label, unit and meaning."""
    reported = summary.get("metrics") or {}
    rows = [[f"<code>{esc(name)}</code>", esc(BY_NAME[name].label), esc(BY_NAME[name].unit),
             esc(BY_NAME[name].meaning)] if name in BY_NAME else [f"<code>{esc(name)}</code>", "", "", ""]
            for name in [m for m in BY_NAME if m in reported] + sorted(set(reported) - set(BY_NAME))]
    text = (f"Every metric is counted over the measured window (after the warm-up), per replication, system-wide "
            f"and per stream, and reported as the mean over {esc(summary.get('replications'))} independent "
            f"replications with a Student-t 95% interval, {STUDENT_T} (replications where a metric is undefined "
            f"are left out): {esc(INTERVAL_METHOD)}. The occupancy figure shows the 5th-95th percentiles across "
            f"replications day by day.")
    return text + "\n" + html_table(["metric", "in words", "unit", "how it is measured"], rows)


def _distribution(spec) -> str:
    if spec is None:
        return MISSING
    if isinstance(spec, (int, float)):
        return f"fixed {as_written(spec)} d"
    if not isinstance(spec, dict):
        return esc(spec)
    family = spec.get("dist", "?")
    params = []
    for key, value in spec.items():
        if key == "dist":
            continue
        if isinstance(value, list):
            numbers = [v for v in value if isinstance(v, (int, float))]
            span = f", {as_written(min(numbers))}–{as_written(max(numbers))}" if numbers else ""
            params.append(f"{len(value)} {key}{span}")
        else:
            params.append(f"{key} {as_written(value)}")
    return esc(f"{family} ({', '.join(params)})" if params else family)


def _quantity(value) -> str:
    """A number, or an uncertain quantity as a reader says it."""
    if not isinstance(value, dict):
        return as_written(value)
    if "beta_from" in value:
        counts = value["beta_from"]
        return esc(f"uncertain: Beta from {counts.get('successes')} of {counts.get('trials')}")
    if "gamma_from" in value:
        counts = value["gamma_from"]
        return esc(f"uncertain: Gamma from {counts.get('events')} in {as_written(counts.get('days'))} days")
    form, values = next(iter(value.items()))
    return esc(f"uncertain: {form} " + ", ".join(as_written(v) for v in values))


def _arrivals(folder: RunFolder, spec: dict) -> str:
    arrivals = spec.get("arrivals") or {}
    if arrivals.get("rate") is not None:
        return f"Poisson, {_quantity(arrivals['rate'])}/day"
    pieces = arrivals.get("schedule") or []
    return "Poisson, schedule: " + "; ".join(
        f"{as_written(piece.get('rate'))}/day from {esc(folder.when(piece.get('from')))}" for piece in pieces)


def _when_full(spec: dict) -> str:
    text = esc(spec.get("when_full") or "turn_away")
    if spec.get("when_full") == "wait":
        text += f", max wait {_distribution(spec.get('max_wait')) if spec.get('max_wait') is not None else 'none'}"
        text += f", priority {esc(spec.get('priority', 0))}"
    if spec.get("reserved_beds"):
        text += f"; {spec['reserved_beds']} reserved beds"
    if spec.get("max_beds") is not None:
        text += f"; at most {spec['max_beds']} beds"
    return text


def inputs_html(folder: RunFolder) -> str:
    """3.3: a row per stream and origin, then the beds and the cost."""
    header = ["stream", "arrivals", "screened out", "origin (share)", "return probability", "time to return",
              "court release", "max detention", "when full"]
    rows = []
    for stream in folder.scenario.get("streams") or []:
        origins = stream.get("origins") or [{}]
        court = stream.get("court_release")
        court_text = (f"{_quantity(court.get('probability'))} after {_distribution(court.get('time'))}"
                      if court else "none")
        maximum = folder.max_detention(stream.get("name"))
        span = f' rowspan="{len(origins)}"' if len(origins) > 1 else ""
        for i, origin in enumerate(origins):
            own = [f"{esc(origin.get('name', MISSING))} ({as_written(origin.get('share'))})",
                   _quantity(origin.get("return_probability")), _distribution(origin.get("time_to_return"))]
            if i == 0:
                cells = [(esc(stream.get("name")), span), (_arrivals(folder, stream), span),
                         (_quantity(stream.get("screened_out", 0.0)), span)]
                cells += [(c, "") for c in own]
                cells += [(court_text, span),
                          (f"{as_written(maximum)} d" + ("" if stream.get("max_detention") is not None else
                                                         " (scenario default)"), span),
                          (_when_full(stream), span)]
            else:
                cells = [(c, "") for c in own]
            rows.append("<tr>" + "".join(f"<td{attrs}>{cell}</td>" for cell, attrs in cells) + "</tr>")
    table = ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr></thead><tbody>\n"
             + "\n".join(rows) + "\n</tbody></table>")
    steps = folder.capacity_steps()
    capacity = "; ".join(f"{step.beds} from {esc(folder.when(step.at))}" + (f": {esc(step.name)}" if step.name else "")
                         for step in steps) or MISSING
    extra = f"Beds: {capacity}."
    cost = folder.scenario.get("cost_per_bed_day")
    if cost is not None:
        extra += f" Cost per bed-day: {as_written(cost)}."
    extra += (" Durations in days; distributions by their family and parameters (days). A stay ends at the first "
              "of a successful return (with the origin's probability, after its time to return), a court release "
              "(with its probability, after its time) and the maximum detention.")
    return table + f"\n<p class=\"note\">{extra}</p>"


# --- 4 and 5: experimentation and implementation ------------------------------------------

def _purposes(folder: RunFolder) -> str:
    lines = []
    for stream in folder.scenario.get("streams") or []:
        purposes = ["arrivals", "screening", "origin"]
        purposes += [f"{o.get('name')}/return, {o.get('name')}/time_to_return" for o in stream.get("origins") or []]
        if stream.get("court_release"):
            purposes += ["court", "court_time"]
        if stream.get("max_wait") is not None:
            purposes.append("patience")
        lines.append(f"<code>{esc(stream.get('name'))}</code>: {esc(', '.join(purposes))}")
    return "<br>".join(lines)


def _names(names) -> str:
    """a, b and c."""
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _command(manifest: dict) -> str:
    command = manifest.get("command")
    return f" Command: <code>{esc(' '.join(map(str, command)))}</code>." if command else ""


def _software(manifest: dict) -> str:
    versions = manifest.get("versions") or {}
    software = ", ".join(f"{esc(k)} {esc(v)}" for k, v in versions.items()) or "not recorded (no manifest.json)"
    return software + f". Report drawn with matplotlib {esc(require_matplotlib().__version__)}."


def _system(manifest: dict) -> str:
    system = esc(manifest.get("platform") or "not recorded")
    if manifest.get("jobs") is not None:
        system += f"; {esc(manifest['jobs'])} worker process(es)"
    if manifest.get("wall_seconds") is not None:
        system += f"; wall time {for_people(manifest['wall_seconds'])} s"
    return system


def _seed_tree(seed, replications) -> str:
    return (f"numpy SeedSequence: replication r uses "
            f"<code>SeedSequence({esc(seed)}).spawn({esc(replications)})[r]</code>. Inside a replication, "
            f"each stream and purpose has a PCG64 generator of its own, its spawn key derived from the names "
            f"(SHA-256), never from positions, so that scenarios that differ only in beds or rules see the same "
            f"people with the same fates (common random numbers), whatever the number of worker processes.")


def _window(folder: RunFolder, warmup, horizon) -> tuple[str, str]:
    """4.1 and 4.2: the empty start and the warm-up, the measured window (with dates when there is a start)."""
    start = folder.start
    if start is not None and warmup is not None:
        first = start + dt.timedelta(days=float(warmup))
        init = (f"Empty at day 0 ({start.isoformat()}): nobody detained, nobody waiting. Warm-up of "
                f"{as_written(warmup)} days (to {first.isoformat()}), not measured.")
    else:
        init = f"Empty at day 0: nobody detained, nobody waiting. Warm-up of {as_written(warmup)} days, not measured."
    if start is not None and warmup is not None and horizon is not None:
        begin = start + dt.timedelta(days=float(warmup))
        end = start + dt.timedelta(days=float(warmup) + float(horizon))
        length = (f"Measured window of {as_written(horizon)} days, from {begin.isoformat()} to {end.isoformat()} "
                  f"(day {as_written(warmup)} to day {as_written(float(warmup) + float(horizon))}).")
    else:
        length = f"Measured window of {as_written(horizon)} days after the warm-up."
    return init, length


EXECUTION = (
    "Event scheduling with SimPy: arrivals (batch-drawn from the inverse cumulative rate), capacity and rate "
    "changes, the warm-up reset and the daily occupancy samples are SimPy events. A stay's end is known at "
    "admission (the first of return, court release and the maximum detention), so departures wait in a binary heap "
    "ordered by time and arrival sequence and are applied at their own times before anything else happens. A "
    "capacity cut never evicts anyone. Every replication is checked against the conservation laws (present + "
    "admitted = returned + released + still detained; requests = admitted + turned away + still waiting).")


def stress_html(folder: RunFolder) -> str:
    """The STRESS-DES checklist items a run's folder documents."""
    summary, manifest = folder.summary, folder.manifest
    replications, seed = summary.get("replications"), summary.get("seed")
    init, length = _window(folder, summary.get("warmup_days", folder.scenario.get("warmup")),
                           summary.get("horizon_days", folder.scenario.get("horizon")))
    estimation = f"{esc(replications)} independent replications, seed {esc(seed)}."
    precision = summary.get("precision")
    if precision:
        estimation += (f" The number of replications came from a precision target: add replications until the "
                       f"95% half-width of {_names(PRECISION_METRICS)} is within "
                       f"{as_written(precision.get('precision'))} of the mean (Hoad, Robinson and Davies 2010, with "
                       f"look-ahead); {'reached' if precision.get('reached') else 'not reached'} with "
                       f"{esc(precision.get('replications'))} replications ({esc(precision.get('reason', ''))}).")
    return checklist_html([
        ("1.2", "Model outputs", _outputs(summary)),
        ("3.3", "Input parameters", inputs_html(folder)),
        ("4.1", "Initialisation", init),
        ("4.2", "Run length", length),
        ("4.3", "Estimation approach", estimation + _command(manifest)),
        ("5.1", "Software or programming language", _software(manifest)),
        ("5.2", "Random sampling", _seed_tree(seed, replications) + f" Generators:<br>{_purposes(folder)}"),
        ("5.3", "Model execution", EXECUTION),
        ("5.4", "System specification", _system(manifest)),
    ])


def method_html(approach: str, manifest: dict, seed, replications) -> str:
    """The STRESS-DES items an experiment's folder documents, `approach` (HTML) its estimation approach."""
    return checklist_html([
        ("4.3", "Estimation approach", approach + f" {esc(replications)} replications, seed {esc(seed)}."
         + _command(manifest)),
        ("5.2", "Random sampling", _seed_tree(seed, replications)),
        ("5.1", "Software or programming language", _software(manifest)),
        ("5.4", "System specification", _system(manifest)),
    ])
