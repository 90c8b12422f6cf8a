"""The dated questions of the scenario library (questions 8-10 of scenarios/README.md), answered from
fresh runs: a projection from today's population, an agreement that takes effect on a date, a summer
plan every year. Called by scenario_answers.py (`make readme`); every number is computed here.
"""

from __future__ import annotations

from answers import table

from sim.analysis.periods import ALL_STREAMS, OFTEN_FULL, period_capacities, period_rows, period_values
from sim.analysis.stats import summarise
from sim.engine.periods import PERIOD_METRICS, periods
from sim.formatting import for_people, interval, percent
from sim.studies.compare import paired_difference


def _system(results) -> dict[str, dict[str, object]]:
    """Period label -> metric -> PeriodRow, all streams together."""
    found: dict[str, dict[str, object]] = {}
    for row in period_rows(results):
        if row.scope == ALL_STREAMS:
            found.setdefault(row.period.label, {})[row.metric] = row
    return found


def _mean(row) -> str:
    return f"{for_people(row.mean)} {interval(row.ci95_low, row.ci95_high)}"


def _first_often_full(by_period: dict[str, dict[str, object]]) -> str | None:
    return next((label for label, row in by_period.items() if row["probability_full"].mean > OFTEN_FULL), None)


def question_8(projection) -> str:
    by_variant = {name: _system(results) for name, results in projection.variants.items()}
    labels = list(next(iter(by_variant.values())))
    shown = [label for label in labels if label.endswith(("-01", "-04", "-07", "-10"))]
    rows = [[label] + [f"{_mean(by[label]['occupancy_mean'])}, {percent(by[label]['probability_full'].mean)}"
                       for by in by_variant.values()] for label in shown]
    said = []
    for name, by in by_variant.items():
        first = _first_often_full(by)
        said.append(f"- {name}: " + (f"full more than {percent(OFTEN_FULL)} of the time from {first} on "
                                     f"({percent(by[first]['probability_full'].mean)} of {first})" if first
                                     else f"never full more than {percent(OFTEN_FULL)} of the time in a month"))
    central = by_variant.get("central") or next(iter(by_variant.values()))
    return f"""## 8. From today's population, month by month (2025-2027)

`capsim project scenarios/projection.yaml` (the three variants on common random numbers, by month)

Beds in use, mean of the month with its 95% interval, and the share of the month the centres are full
(the first month of each quarter shown; every month is in the folder's projection.csv):

{table(["month", *(f"{name} (751 beds)" for name in by_variant)], rows)}

{chr(10).join(said)}

The run starts from the people present, not from empty: in the central variant the beds in use are
{for_people(central[labels[0]]['occupancy_mean'].mean)} in {labels[0]} and
{for_people(central[labels[-1]]['occupancy_mean'].mean)} in {labels[-1]}, with no warm-up transient.
"""


def _campaign(results, stream: str, metric: str) -> list[list[float]]:
    """Per period, the campaign's `metric` in each replication."""
    values = period_values(results, period_capacities(results.scenario))
    scope = 1 + results.stream_names.index(stream)
    return [list(values[:, scope, p, PERIOD_METRICS.index(metric)]) for p in range(values.shape[2])]


def question_9(before, after, stream: str) -> str:
    found = periods(after.scenario, after.scenario.periods)
    beds = [_campaign(r, stream, "occupancy_mean") for r in (before, after)]
    returned = [_campaign(r, stream, "returned") for r in (before, after)]
    change = after.scenario.day(after.scenario.parameter_changes[0].at)
    rows = []
    for p, period in enumerate(found):
        difference, low, high = paired_difference(returned[0][p], returned[1][p])
        rows.append([period.label, for_people(summarise(beds[0][p])["mean"]),
                     for_people(summarise(beds[1][p])["mean"]), for_people(summarise(returned[0][p])["mean"]),
                     for_people(summarise(returned[1][p])["mean"]),
                     f"{difference:+,.1f} [{low:+,.1f}, {high:+,.1f}]"])
    same = all(a == b for p, period in enumerate(found) if period.until_day <= change
               for a, b in zip(returned[0][p], returned[1][p]))
    total = paired_difference([sum(col) for col in zip(*returned[0])], [sum(col) for col in zip(*returned[1])])
    return f"""## 9. An agreement with Morocco from 1 July 2025

`capsim run scenarios/morocco-agreement.yaml` against `capsim run scenarios/brussels-south.yaml --periods quarter`
(the same people with the same fates: common random numbers)

The Brussels-Midi campaign by quarter, without and with the agreement (means over the replications;
the difference of returns is paired, with its 95% interval):

{table(["quarter", "beds held, without", "beds held, with", "returned, without", "returned, with",
         "returned, difference"], rows)}

Before the agreement the two runs are {"identical in every replication" if same else "NOT identical"}: a person's
fate is drawn with the parameters in force on the day of their arrest. Over the three years the campaign
returns {total[0]:+,.1f} people ({total[1]:+,.1f} to {total[2]:+,.1f}) more with the agreement.
"""


def question_10(summer) -> str:
    by_period = _system(summer)
    rows = [[label, _mean(row["occupancy_mean"]), for_people(row["occupancy_p95"].mean),
             percent(row["probability_full"].mean), percent(row["near_full"].mean)]
            for label, row in by_period.items() if label.startswith("2026")]
    first = _first_often_full(by_period)
    fullest = max(by_period, key=lambda label: by_period[label]["probability_full"].mean)
    return f"""## 10. A summer plan every year: when are the centres full?

`capsim run scenarios/summer-plan.yaml` (the campaign's requests tripled from June to September)

The months of 2026 (every month of 2025-2027 is in the run's periods.csv): beds in use with the 95%
interval of the mean, the 95th percentile, the share of the month full, and the chance that the beds in
use reach 95% of the 751 beds at some moment of the month:

{table(["month", "beds in use", "95th percentile", "time full", "chance of reaching 95%"], rows)}

{f"The centres are first full more than {percent(OFTEN_FULL)} of the time in {first}." if first else
 f"In no month are the centres full more than {percent(OFTEN_FULL)} of the time"}{"" if first else
 f": the fullest is {fullest}, full {percent(by_period[fullest]['probability_full'].mean)} of the time."}
The summer's people stay for months (up to the 8-month maximum), so the peak comes in autumn, after
the plan.
"""
