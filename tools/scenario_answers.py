"""Write scenarios/README.md: the planners' fourteen questions, the command that
answers each, and capsim's own answer, computed here by running the scenarios
(never typed). Run it with `make readme` after changing a scenario or the model.

Every scenario runs with the seed and replications in its file, so the numbers
are those of the committed baselines in results/ (and of the commands shown).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
from answers import paired, per_year, stat, table
from centres_answers import question_11, question_12, question_13, question_14
from projection_answers import question_8, question_9, question_10

from sim.analysis.stats import summarise
from sim.execution.lanes import default_jobs
from sim.execution.runner import run_many
from sim.formatting import for_people
from sim.scenario import load_scenario
from sim.studies.project import project
from sim.studies.size import Target, size
from sim.studies.sweep import sweep_points

NAMES = ["today", "ixelles-pilot", "brussels-south", "all-brussels", "operational-capacity", "masterplan",
         "advance-identification", "five-months", "projection", "morocco-agreement", "summer-plan",
         "centres", "centres-merksplas-wing", "centres-refusals"]
CAMPAIGN = "brussels_south"
NATIONAL = "other_flows"
SWEEP_PATH = f"streams.{CAMPAIGN}.origins.maghreb.return_probability"
SWEEP_VALUES = [0.1, 0.2, 0.3, 0.4, 0.5]


def difference(base, alt, metric: str, stream: str | None = None, scale: float = 1.0, percent: bool = False) -> str:
    return paired(base.values(metric, stream), alt.values(metric, stream), scale, percent)


def campaign_streams(results) -> list[str]:
    return [name for name in results.stream_names if name != NATIONAL]


def summed(results, metric: str, streams: list[str]) -> list[float]:
    return [sum(rep.streams[s][metric] for s in streams) for rep in results.replications]


def question_1(runs) -> str:
    today, pilot = runs["today"], runs["ixelles-pilot"]
    y = per_year(today)
    m = lambda metric: today.values(metric)  # noqa: E731
    ixelles = "brussels_capital_ixelles"
    observed = []
    for metric, seen in [("arrivals", 109), ("returned", 67)]:
        low, high = np.quantile(pilot.values(metric, ixelles), [0.05, 0.95])
        observed.append([metric, str(seen), f"{low:.0f} to {high:.0f}", "inside" if low <= seen <= high else "OUTSIDE"])
    occupancy = summarise(m("occupancy_mean"))
    inside = 0.75 * 751 <= occupancy["ci95_low"] and occupancy["ci95_high"] <= 0.95 * 751
    verdict = ("Yes: the whole 95% interval of the occupancy lies inside the reported 75-95%." if inside
               else "No: the 95% interval of the occupancy is not inside the reported 75-95%.")
    return f"""## 1. Today: is the occupancy the sources report reproduced?

`capsim run scenarios/today.yaml` (the national flows and the Ixelles collaboration in 751 beds)

{table(["figure", "capsim (mean, 95% interval)", "public figure ([docs/sources.md](../docs/sources.md))"], [
    ["beds in use", stat(m("occupancy_mean")), "75-95% of 751 (2017-2023)"],
    ["share of the 751 beds", stat(m("occupancy_mean"), 1 / 751, as_percent=True), "'about a quarter empty' (2023)"],
    ["people detained a year", stat(m("admitted"), y), "4,285 (2022), 4,915 (2023)"],
    ["mean length of stay (days)", stat(m("los_mean_days")), "35 (2017, per centre; longer per person)"],
    ["share of ended stays that are removals", stat(m("return_rate"), as_percent=True), "60-77% (2019-2022)"],
    ["beds held by the Ixelles collaboration", stat(today.values("occupancy_mean", ixelles)),
     "'a few places out of 751'"],
])}

{verdict} The Ixelles pilot over its
observed period (`capsim run scenarios/ixelles-pilot.yaml`, 2020 to the report
of 2024-02-15) against what was reported:

{table(["count", "observed", "capsim, 90% of replications", ""], observed)}
"""


def campaign_rows(results, streams: list[str]) -> list[list[str]]:
    y = per_year(results)
    return [
        ["beds held by the campaign, mean", stat(summed(results, "occupancy_mean", streams))],
        ["beds held by the campaign, 95th percentile of time",
         stat(summed(results, "occupancy_p95", streams)) if len(streams) == 1 else "-"],
        ["share of time the centres are full", stat(results.values("probability_full"), as_percent=True)],
        ["detention requests a year", stat(summed(results, "detention_requests", streams), y)],
        ["returned a year", stat(summed(results, "returned", streams), y)],
        ["released at the legal maximum a year", stat(summed(results, "released_deadline", streams), y)],
        ["released by a court a year", stat(summed(results, "released_court", streams), y)],
        ["turned away (no bed) a year", stat(summed(results, "turned_away", streams), y)],
    ]


def question_2(runs) -> str:
    south = runs["brussels-south"]
    y = per_year(south)
    origins = [[origin, stat([rep.origins[CAMPAIGN][origin]["admitted"] for rep in south.replications], y),
                stat([rep.origins[CAMPAIGN][origin]["returned"] for rep in south.replications], y),
                stat([rep.origins[CAMPAIGN][origin]["released_deadline"] for rep in south.replications], y)]
               for origin in south.replications[0].origins[CAMPAIGN]]
    return f"""## 2. The Brussels-South campaign added

`capsim run scenarios/brussels-south.yaml`

{table(["figure", "capsim (mean, 95% interval)"], campaign_rows(south, [CAMPAIGN]))}

Per origin group of the campaign, a year:

{table(["origin", "admitted", "returned", "released at 8 months"], origins)}

The Maghreb return probability is uncertain ([range 0.1-0.3](../docs/sources.md#defaults)), drawn per
replication; these intervals include that uncertainty (`--fix-inputs` removes it).
"""


def question_3(runs, sizing) -> str:
    south, everywhere = runs["brussels-south"], runs["all-brussels"]
    y = per_year(everywhere)
    zones = campaign_streams(everywhere)
    return f"""## 3. Rolled out to all six Brussels police zones

`capsim run scenarios/all-brussels.yaml`, and against Brussels-South alone:
`capsim compare scenarios/brussels-south.yaml scenarios/all-brussels.yaml`

{table(["figure (the six zones together)", "capsim (mean, 95% interval)"], campaign_rows(everywhere, zones))}

What it does to the national flows (paired differences, all-brussels minus
brussels-south, common random numbers):

{table(["figure", "brussels-south", "all-brussels", "difference"], [
    ["national flows turned away a year", stat(south.values("turned_away", NATIONAL), y),
     stat(everywhere.values("turned_away", NATIONAL), y), difference(south, everywhere, "turned_away", NATIONAL, y)],
    ["share of time full", stat(south.values("probability_full"), as_percent=True),
     stat(everywhere.values("probability_full"), as_percent=True),
     difference(south, everywhere, "probability_full", percent=True)],
    ["beds in use", stat(south.values("occupancy_mean")), stat(everywhere.values("occupancy_mean")),
     difference(south, everywhere, "occupancy_mean")],
])}

Beds needed for the roll-out: `capsim size scenarios/all-brussels.yaml --target probability_full<=0.05`
gives **{sizing.answer if sizing.answer is not None else "no answer"}** ({sizing.reason}).
"""


def question_4(runs) -> str:
    south, staffed = runs["brussels-south"], runs["operational-capacity"]
    y = per_year(staffed)
    rows = [[label, stat(south.values(metric, stream), scale, as_percent=percent),
             stat(staffed.values(metric, stream), scale, as_percent=percent)]
            for label, metric, stream, scale, percent in [
                ("beds in use", "occupancy_mean", None, 1, False),
                ("share of time full", "probability_full", None, 1, True),
                ("share of requests turned away", "blocking_probability", None, 1, True),
                ("national flows turned away a year", "turned_away", NATIONAL, y, False),
                ("campaign turned away a year", "turned_away", CAMPAIGN, y, False),
            ]]
    return f"""## 4. Operational capacity (539 places) instead of 751

`capsim compare scenarios/brussels-south.yaml scenarios/operational-capacity.yaml`

{table(["figure", "751 beds", "539 beds"], rows)}
"""


def question_5(runs) -> str:
    plan = runs["masterplan"]
    scenario = plan.scenario
    daily = plan.daily_occupancy()
    steps = scenario.capacity_steps()
    capacity = np.array([[beds for at, beds in steps if at <= day][-1] for day in range(daily.shape[1])])
    rows = []
    start = scenario.start
    for year in range(start.year + 1, (start + dt.timedelta(days=scenario.end_day)).year + 1):
        first = (dt.date(year, 1, 1) - start).days
        last = min((dt.date(year + 1, 1, 1) - start).days, daily.shape[1])
        if first >= last:
            continue
        span = slice(first, last)
        full = (daily[:, span] >= capacity[span]).mean()
        beds = f"{capacity[span].min():,}"
        if capacity[span].max() != capacity[span].min():
            beds += f"-{capacity[span].max():,}"
        rows.append([str(year), beds,
                     for_people(daily[:, span].mean()), f"{100 * daily[:, span].mean() / capacity[span].mean():.0f}%",
                     f"{100 * full:.1f}%"])
    return f"""## 5. The masterplan: capacity rising to 1,145 by 2030

`capsim run scenarios/masterplan.yaml --report` (the roll-out to all six zones; opening dates are assumptions)

{table(["year", "beds", "mean occupancy", "share of the beds", "share of days starting full"], rows)}

Over the whole period: beds in use {stat(plan.values("occupancy_mean"))}, full
{stat(plan.values("probability_full"), as_percent=True)} of the time.
"""


def question_6(runs, swept) -> str:
    south, advance = runs["brussels-south"], runs["advance-identification"]
    y = per_year(south)
    rows = [[f"{value:g}", stat(results.values("occupancy_mean", CAMPAIGN)),
             stat(results.values("returned", CAMPAIGN), y), stat(results.values("released_deadline", CAMPAIGN), y),
             stat(results.values("probability_full"), as_percent=True)]
            for value, results in zip(SWEEP_VALUES, swept)]
    compared = [[label, stat(south.values(metric, CAMPAIGN), scale), stat(advance.values(metric, CAMPAIGN), scale),
                 difference(south, advance, metric, CAMPAIGN, scale)]
                for label, metric, scale in [("campaign beds in use", "occupancy_mean", 1),
                                             ("mean stay (days)", "los_mean_days", 1),
                                             ("returned a year", "returned", y),
                                             ("released at 8 months a year", "released_deadline", y)]]
    values = ",".join(f"{v:g}" for v in SWEEP_VALUES)
    return f"""## 6. Cooperation with the countries of origin

Return probability of the Maghreb countries for the campaign's cases:
`capsim sweep scenarios/brussels-south.yaml --set {SWEEP_PATH}={values}`

{table(["return probability", "campaign beds", "returned a year", "released at 8 months a year", "time full"], rows)}

Advance identification halving the time to return:
`capsim compare scenarios/brussels-south.yaml scenarios/advance-identification.yaml`

{table(["figure", "today's times", "halved", "difference"], compared)}
"""


def question_7(runs) -> str:
    south, five = runs["brussels-south"], runs["five-months"]
    y = per_year(south)
    rows = [[label, stat(south.values(metric, CAMPAIGN), scale), stat(five.values(metric, CAMPAIGN), scale),
             difference(south, five, metric, CAMPAIGN, scale)]
            for label, metric, scale in [("campaign beds in use", "occupancy_mean", 1),
                                         ("returned a year", "returned", y),
                                         ("released at the maximum a year", "released_deadline", y),
                                         ("mean stay (days)", "los_mean_days", 1)]]
    return f"""## 7. The legal maximum: 5 months vs 8 months for the campaign's cases

`capsim compare scenarios/brussels-south.yaml scenarios/five-months.yaml`

{table(["figure", "8 months", "5 months", "difference"], rows)}
"""


def main(out: str = "scenarios/README.md") -> None:
    jobs = default_jobs()
    scenarios = [load_scenario(f"scenarios/{name}.yaml") for name in NAMES]
    south = scenarios[NAMES.index("brussels-south")]
    points = sweep_points(south, {SWEEP_PATH: SWEEP_VALUES})
    by_quarter = south.model_copy(update={"periods": "quarter"})  # beside the agreement, by quarter
    print(f"running {len(scenarios)} scenarios and {len(points)} sweep points", file=sys.stderr)
    results = run_many(scenarios + [by_quarter] + [p.scenario for p in points], jobs=jobs)
    runs = dict(zip(NAMES, results))
    south_by_quarter = results[len(NAMES)]
    swept = results[len(NAMES) + 1:]
    print("projecting projection", file=sys.stderr)
    projected = project(scenarios[NAMES.index("projection")], jobs=jobs)
    print("sizing all-brussels", file=sys.stderr)
    sizing = size(scenarios[NAMES.index("all-brussels")],
                              [Target.parse("probability_full<=0.05")], jobs=jobs)
    listing = "\n".join(f"- `{name}.yaml`: {runs[name].scenario.description}" for name in NAMES)
    text = f"""# The scenario library: fourteen questions and capsim's answers

Generated by `python tools/scenario_answers.py` (`make readme`) from the
scenarios in this folder, with the seeds and replications in the files: every
number below was computed by capsim, none was typed. Each file names its
sources ([docs/sources.md](../docs/sources.md)) and marks every assumption; most extend
`today.yaml` (`extends:`). Intervals are 95% confidence intervals over the
replications; where a scenario has uncertain inputs (the Ixelles rate from its
counts, the Maghreb return probability from its range) they include that
uncertainty.

{listing}

{question_1(runs)}
{question_2(runs)}
{question_3(runs, sizing)}
{question_4(runs)}
{question_5(runs)}
{question_6(runs, swept)}
{question_7(runs)}
{question_8(projected)}
{question_9(south_by_quarter, runs["morocco-agreement"], CAMPAIGN)}
{question_10(runs["summer-plan"])}
{question_11(runs["centres"])}
{question_12(runs["centres"], runs["centres-merksplas-wing"])}
{question_13(runs["centres"])}
{question_14(runs["centres"], runs["centres-refusals"])}"""
    Path(out).write_text(text.rstrip() + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
