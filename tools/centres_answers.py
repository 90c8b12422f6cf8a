"""The questions of the scenario library that need the centres one by one (questions 11-14 of
scenarios/README.md): the women's places, a wing of Merksplas closed, the airport centre, refusals to
board. Called by scenario_answers.py (`make readme`) with fresh runs; every number is computed here.
"""

from __future__ import annotations

from answers import paired, per_year, stat, table

from sim.analysis.periods import OFTEN_FULL
from sim.analysis.stats import summarise
from sim.formatting import for_people, percent
from sim.studies.compare import paired_difference

AIRPORT = "caricole"
"""The centre at the airport, which holds the border cases."""
BORDER = "border"
"""The category of the people stopped at the border."""
WING = "merksplas"
"""The centre whose wing closes in centres-merksplas-wing.yaml."""


def _mean(values, scale: float = 1.0) -> float:
    return summarise([v * scale for v in values])["mean"]


def _only(results, sex: str) -> list:
    """The centres that accept people of `sex` and no other."""
    return [centre for centre in results.scenario.centres if centre.accepts.sex == [sex]]


def _summed(results, centres: list, metric: str) -> list[float]:
    """`metric` of `centres` together, in each replication."""
    return [sum(column) for column in zip(*(results.centre_values(centre.name, metric) for centre in centres))]


def _ratio(numerators: list[float], denominators: list[float]) -> list[float]:
    return [n / d if d else 0.0 for n, d in zip(numerators, denominators)]


def _no_place_share(results, dimension: str, value: str) -> list[float]:
    """Share of the group's detention requests that found no place, in each replication."""
    return results.group_values(dimension, value, "share_found_no_place")


def _share_of(results, dimension: str, value: str) -> str:
    """The share of `value` among the people of the scenario's national flows (the first stream that
    describes `dimension`), as written: '10%'."""
    for stream in results.scenario.streams:
        shares = getattr(stream.people, dimension, None) if stream.people is not None else None
        if shares is not None:
            return percent(shares.get(value, 0.0))
    return "-"


def _places(centres: list) -> str:
    """'58' usable places, with the nominal ones when they differ: '58 of 82 nominal'."""
    usable = sum(centre.usable if centre.usable is not None else centre.places for centre in centres)
    nominal = sum(centre.places for centre in centres)
    return f"{usable:,}" + (f" of {nominal:,} nominal" if nominal != usable else "")


def question_11(centres) -> str:
    y = per_year(centres)
    women = _only(centres, "women")
    rows = [[label] + [stat(values(sex), scale, as_percent=share) for sex in ("women", "men")]
            for label, values, scale, share in [
                ("detention requests a year", lambda s: centres.group_values("sex", s, "detention_requests"), y,
                 False),
                ("share of the requests that found no place", lambda s: _no_place_share(centres, "sex", s), 1, True),
                ("found no place, a year", lambda s: centres.group_values("sex", s, "found_no_place"), y, False),
                ("share of time with every place they may use taken",
                 lambda s: centres.group_values("sex", s, "probability_full"), 1, True),
                ("beds held, mean", lambda s: centres.group_values("sex", s, "occupancy_mean"), 1, False),
                ("beds held, 95th percentile of time", lambda s: centres.group_values("sex", s, "occupancy_p95"), 1,
                 False),
            ]]
    by_centre = [[centre.name, _places([centre]),
                  stat(centres.centre_values(centre.name, "occupancy_mean")),
                  stat(centres.centre_values(centre.name, "occupancy_p95")),
                  stat(_ratio(centres.centre_values(centre.name, "occupancy_mean"),
                               centres.centre_values(centre.name, "places_usable")), as_percent=True),
                  stat(centres.centre_values(centre.name, "probability_full"), as_percent=True)]
                 for centre in women]
    full = _mean(centres.group_values("sex", "women", "probability_full"))
    no_place = _mean(_no_place_share(centres, "sex", "women"))
    verdict = ("No: every place a woman may use is taken" if full > OFTEN_FULL else
               "Yes, on the whole: every place a woman may use is taken only")
    names = " and ".join(centre.name for centre in women)
    return f"""## 11. Are the women's places enough?

`capsim run scenarios/centres.yaml` (today's flows in the six centres with their usable places of March 2023;
{_share_of(centres, "sex", "women")} women among the people detained is an assumption)

{table(["figure", "women", "men"], rows)}

The women's centres ({names}; usable places {_places(women)}):

{table(["centre", "usable places", "beds in use", "95th percentile", "share of the usable places",
         "time full"], by_centre)}

{verdict} {percent(full)} of the time (the library calls a place often full above
{percent(OFTEN_FULL)}), and {percent(no_place)} of the women's detention requests find no place, against
{percent(_mean(_no_place_share(centres, "sex", "men")))} of the men's.
"""


def question_12(centres, wing) -> str:
    y = per_year(centres)
    closed = next(centre for centre in wing.scenario.centres if centre.name == WING)
    before, after = closed.steps(wing.scenario.day)[0][2], closed.steps(wing.scenario.day)[-1][2]
    others = [centre for centre in _only(centres, "men") if centre.name != WING]
    other_names = ", ".join(centre.name for centre in others)
    rows = [[label, stat(values(centres), scale, as_percent=share), stat(values(wing), scale, as_percent=share),
             paired(values(centres), values(wing), scale, as_percent=share)]
            for label, values, scale, share in [
                ("turned away a year, all streams", lambda r: r.values("turned_away"), y, False),
                ("men who found no place, a year", lambda r: r.group_values("sex", "men", "found_no_place"), y,
                 False),
                ("share of all requests turned away", lambda r: r.values("blocking_probability"), 1, True),
                (f"{WING}: beds in use", lambda r: r.centre_values(WING, "occupancy_mean"), 1, False),
                *[(f"{centre.name}: beds in use",
                   lambda r, name=centre.name: r.centre_values(name, "occupancy_mean"), 1, False)
                  for centre in others],
                ("the other men's centres together: beds in use", lambda r: _summed(r, others, "occupancy_mean"), 1,
                 False),
                ("time every men's place is taken", lambda r: r.group_values("sex", "men", "probability_full"), 1,
                 True),
                ("beds in use, all centres", lambda r: r.values("occupancy_mean"), 1, False),
            ]]
    lost = paired_difference(centres.centre_values(WING, "occupancy_mean"), wing.centre_values(WING, "occupancy_mean"))
    taken = paired_difference(_summed(centres, others, "occupancy_mean"), _summed(wing, others, "occupancy_mean"))
    turned = paired_difference(centres.values("turned_away"), wing.values("turned_away"))
    return f"""## 12. A wing of Merksplas closed

`capsim compare scenarios/centres.yaml scenarios/centres-merksplas-wing.yaml` ({WING}'s usable places
{before} to {after} from {closed.changes[0].at}, for want of staff; the size of the wing is an assumption)

{table(["figure", "centres.yaml", "wing closed", "difference"], rows)}

{WING.capitalize()} holds {-lost[0]:,.1f} beds fewer ({-lost[2]:,.1f} to {-lost[1]:,.1f}); the other men's
centres ({other_names}) take {taken[0]:+,.1f} of them ({taken[1]:+,.1f} to {taken[2]:+,.1f}), and
{turned[0] * y:+,.0f} more people a year ({turned[1] * y:+,.0f} to {turned[2] * y:+,.0f}) are turned away.
"""


def question_13(centres) -> str:
    y = per_year(centres)
    airport = next(centre for centre in centres.scenario.centres if centre.name == AIRPORT)
    border = lambda metric: centres.group_values("category", BORDER, metric)  # noqa: E731
    elsewhere = [a - b for a, b in zip(border("admitted"), centres.centre_values(AIRPORT, "admitted"))]
    rows = [
        [f"{AIRPORT}: usable places", _places([airport])],
        [f"{AIRPORT}: beds in use, mean", stat(centres.centre_values(AIRPORT, "occupancy_mean"))],
        [f"{AIRPORT}: beds in use, 95th percentile of time", stat(centres.centre_values(AIRPORT, "occupancy_p95"))],
        [f"{AIRPORT}: share of time full", stat(centres.centre_values(AIRPORT, "probability_full"), as_percent=True)],
        ["border cases: detention requests a year", stat(border("detention_requests"), y)],
        [f"border cases placed in another centre ({AIRPORT} full), a year", stat(elsewhere, y)],
        ["border cases who found no place, a year", stat(border("found_no_place"), y)],
        ["share of the border cases' requests that found no place",
         stat(_no_place_share(centres, "category", BORDER), as_percent=True)],
        ["time every place a border case may use is taken", stat(border("probability_full"), as_percent=True)],
    ]
    full = _mean(centres.centre_values(AIRPORT, "probability_full"))
    return f"""## 13. How often is the airport centre full?

`capsim run scenarios/centres.yaml` (border cases, {_share_of(centres, "category", BORDER)} of the people detained by
assumption, go to {AIRPORT} first, then to any other centre that takes them)

{table(["figure", "capsim (mean, 95% interval)"], rows)}

{AIRPORT.capitalize()} is full {percent(full)} of the time ({"more" if full > OFTEN_FULL else "less"} than the
{percent(OFTEN_FULL)} from which the library calls a centre often full): {for_people(_mean(elsewhere, y))} border
cases a year go to another centre instead, and {for_people(_mean(border("found_no_place"), y))} a year find no place
anywhere.
"""


def _legal(results, metric: str) -> list[float]:
    """A legal clock count; a scenario that uses neither the clock nor refusals reports none: zero."""
    return results.values(metric) if metric in results.metric_names else [0.0] * len(results.replications)


def question_14(centres, refusals) -> str:
    y = per_year(centres)
    rows = [[label, stat(values(centres), scale), stat(values(refusals), scale),
             paired(values(centres), values(refusals), scale)]
            for label, values, scale in [
                ("mean length of stay (days)", lambda r: r.values("los_mean_days"), 1),
                ("stays longer than the legal maximum of one clock, a year",
                 lambda r: _legal(r, "stays_beyond_nominal_maximum"), y),
                ("refused boardings in the stays that ended, a year", lambda r: _legal(r, "refused_boarding"), y),
                ("returned, a year", lambda r: r.values("returned"), y),
                ("released after the last refusal allowed, a year",
                 lambda r: _legal(r, "released_after_refusals"), y),
                ("released at the legal maximum (refusals included), a year",
                 lambda r: r.values("released_deadline"), y),
                ("beds in use", lambda r: r.values("occupancy_mean"), 1),
                ("bed-days a year", lambda r: r.values("bed_days"), y),
                ("turned away, a year", lambda r: r.values("turned_away"), y),
            ]]
    stay = paired_difference(centres.values("los_mean_days"), refusals.values("los_mean_days"))
    beds = paired_difference(centres.values("occupancy_mean"), refusals.values("occupancy_mean"))
    turned = paired_difference(centres.values("turned_away"), refusals.values("turned_away"))
    returned = paired_difference(centres.values("returned"), refusals.values("returned"))
    refused = _mean(_legal(refusals, "refused_boarding"), y)
    men_full = _mean(centres.group_values("sex", "men", "probability_full"))
    beyond = _mean(_legal(refusals, "stays_beyond_nominal_maximum"), y)
    crowded = (f": the men's places, all taken {percent(men_full)} of the time without refusals,\nhave no room for "
               "the longer stays, so a bed a refusal keeps is a place another person does not get."
               if men_full > OFTEN_FULL else ".")
    attempts = max(stream.attempts for stream in refusals.scenario.streams)
    return f"""## 14. Refusals to board

`capsim compare scenarios/centres.yaml scenarios/centres-refusals.yaml` (the clock starts again after a
refusal, at most {attempts} attempts; the refusal probabilities are assumptions)

{table(["figure", "without refusals", "with refusals", "difference"], rows)}

{for_people(refused)} boardings a year are refused; the mean stay grows by {stay[0]:+,.1f} days ({stay[1]:+,.1f}
to {stay[2]:+,.1f}) and {for_people(beyond)} stays a year outlast the maximum of one clock. The centres hold
{beds[0]:+,.1f} beds ({beds[1]:+,.1f} to {beds[2]:+,.1f}), turn away {turned[0] * y:+,.0f} people a year
({turned[1] * y:+,.0f} to {turned[2] * y:+,.0f}) and return {returned[0] * y:+,.0f} a year ({returned[1] * y:+,.0f}
to {returned[2] * y:+,.0f}){crowded}
"""
