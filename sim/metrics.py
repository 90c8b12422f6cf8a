"""The metrics capsim reports: one registry of their names, labels, units, kinds and formulas.

Every table, CSV header, report and methods text reads a metric's name, label
and meaning here; the model computes the derived metrics with `derive`, whose
formulas are the ones `Metric.meaning` states. A metric's `kind` says what it
is (a count of people, a share, a duration, a number of beds, money) and so
how it is shown and which bounds its interval keeps; `summed` says that the
system's value is the sum of the streams' (the others come from the system's
own monitors or from the formulas).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Kind = Literal["count", "share", "days", "beds", "bed_days", "money"]


@dataclass(frozen=True)
class Metric:
    """One metric of a replication, system-wide and per stream."""

    name: str
    label: str
    """What a planner calls it (tables and reports)."""
    kind: Kind
    meaning: str
    """How it is measured or computed, in a sentence (the report's methods)."""
    summed: bool = False
    """The system's value is the sum over streams."""
    at_one_moment: bool = False
    """A count of the people present at one moment (the window's start or end), not through the window."""
    by_period_only: bool = False
    """A figure of each period of a run with periods (periods.csv), not of a replication's window."""

    @property
    def unit(self) -> str:
        return UNITS[self.kind]


UNITS: dict[str, str] = {"count": "people", "share": "share", "days": "days", "beds": "beds",
                         "bed_days": "bed-days", "money": "EUR"}


def bounds(name: str, beds: float = math.inf) -> tuple[float, float]:
    """The values a metric (or STREAM.METRIC) can take, which its interval keeps within:
    a share lies in [0, 1], beds in use in [0, `beds`] (the most beds the stream or
    the system may hold), every other metric is at least 0."""
    kind = BY_NAME[name.rpartition(".")[2]].kind
    return (0.0, 1.0) if kind == "share" else (0.0, beds) if kind == "beds" else (0.0, math.inf)


def _count(name: str, label: str, meaning: str, at_one_moment: bool = False) -> Metric:
    return Metric(name, label, "count", meaning, summed=True, at_one_moment=at_one_moment)


REGISTRY: tuple[Metric, ...] = (
    _count("arrivals", "arrests reported", "people a stream brings in the measured window"),
    _count("screened_out", "screened out (not detained)",
           "arrests the Immigration Office turns down before detention"),
    _count("detention_requests", "detention requests", "arrivals - screened_out"),
    _count("admitted", "people admitted", "detention requests that got a bed (at once or after waiting)"),
    _count("turned_away", "people turned away", "requests that found no bed, or gave up waiting for one"),
    _count("gave_up", "gave up waiting", "people whose maximum wait ran out before a bed was free"),
    _count("waited", "put on the waiting list", "requests that found no bed and joined the waiting list"),
    _count("admitted_after_waiting", "admitted from the waiting list",
           "people admitted when a bed came free for them on the waiting list"),
    _count("returned", "stays ended by return", "stays that ended in a return to the country of origin"),
    _count("released_court", "stays ended by court release", "stays ended by a court's order"),
    _count("released_deadline", "stays ended at the maximum detention",
           "stays ended because the legal maximum detention ran out"),
    _count("released_not_extended", "stays ended by a refused extension",
           "with a legal clock: stays ended when the current title ran out and its extension was refused "
           "(counted among released_deadline)"),
    _count("released_after_refusals", "stays ended by the last refusal to board",
           "with refusals to board: stays ended when the person refused the last removal attempt allowed "
           "(counted among released_deadline)"),
    _count("refused_boarding", "refusals to board",
           "removal attempts that failed because the person refused to board, in the stays ended"),
    _count("stays_beyond_nominal_maximum", "stays longer than the nominal maximum",
           "stays ended after the longest one clock allows (first title and every extension): the clock "
           "started again after a refusal to board"),
    _count("released_for_room", "released to make room",
           "with when_full: release_least_removable: stays ended to give the bed to a newcomer more likely to be "
           "returned (not among returned, released_court, released_deadline; their lengths count among the stays)"),
    _count("still_detained", "still detained at the end",
           "people in detention when the window closes", at_one_moment=True),
    _count("present_at_start", "detained when the window opens",
           "people in detention at the end of the warm-up", at_one_moment=True),
    _count("waiting_at_start", "waiting when the window opens",
           "people on the waiting list at the end of the warm-up", at_one_moment=True),
    _count("still_waiting", "still waiting at the end",
           "people on the waiting list when the window closes", at_one_moment=True),
    Metric("wait_days_total", "days waited by those admitted", "days", "sum of the waits of the people admitted",
           summed=True),
    Metric("wait_days_given_up", "days waited by those who gave up", "days",
           "sum of the waits of the people who gave up", summed=True),
    _count("stays_ended", "stays ended", "returned + released_court + released_deadline"),
    Metric("occupancy_mean", "beds in use, time-weighted mean", "beds",
           "time-weighted mean of the beds in use over the measured window"),
    Metric("occupancy_p50", "beds in use, median of time", "beds", "the level occupied at least half of the time"),
    Metric("occupancy_p90", "beds in use, 90th percentile of time", "beds",
           "the level not exceeded 90% of the time"),
    Metric("occupancy_p95", "beds in use, 95th percentile of time", "beds",
           "the level not exceeded 95% of the time"),
    Metric("occupancy_p99", "beds in use, 99th percentile of time", "beds",
           "the level not exceeded 99% of the time"),
    Metric("occupancy_max", "beds in use, most at once", "beds", "the highest level reached in the window"),
    Metric("bed_days", "bed-days used", "bed_days", "the integral of the beds in use over the window"),
    Metric("probability_full", "share of time with no free bed", "share",
           "share of the measured time in which no bed was free (for a stream: in which it could not be admitted)"),
    Metric("los_mean_days", "mean length of stay (days)", "days", "mean of the stays that ended in the window"),
    Metric("los_p50_days", "median length of stay (days)", "days", "median of the stays that ended in the window"),
    Metric("los_p90_days", "length of stay, 90th percentile (days)", "days",
           "90th percentile of the stays that ended in the window"),
    Metric("los_max_days", "longest stay (days)", "days", "the longest stay that ended in the window"),
    Metric("blocking_probability", "share of detention requests turned away", "share",
           "turned_away / (waiting_at_start + detention_requests)"),
    Metric("return_rate", "returned / stays ended", "share", "returned / stays_ended"),
    Metric("mean_wait_days", "mean wait of those admitted (days)", "days", "wait_days_total / admitted"),
    Metric("mean_wait_listed_days", "mean wait of all who waited (days)", "days",
           "(wait_days_total + wait_days_given_up) / (admitted_after_waiting + gave_up): those who gave up "
           "count with the time they waited"),
    Metric("cost", "cost (bed-days x cost per bed-day)", "money", "bed_days x cost_per_bed_day"),
    _count("found_no_place", "found no place of their kind",
           "with centres: detention requests that found no centre accepting them (by sex and category) with a "
           "free usable place on arrival (turned away, or put on the waiting list)"),
    Metric("share_found_no_place", "share of requests that found no place of their kind", "share",
           "found_no_place / detention_requests"),
    Metric("places_nominal", "nominal places, time-weighted mean", "beds",
           "with centres: the nominal places over the measured window (their dated changes included)"),
    Metric("places_usable", "usable places, time-weighted mean", "beds",
           "with centres: the places that can be used (staffed, not closed) over the measured window; occupancy "
           "and the share of time full are measured against them"),
    Metric("near_full", "chance the beds in use reach 95% of the beds", "share",
           "share of the replications in which the beds in use reached 95% of the beds in force at the period's "
           "start at some moment of the period", by_period_only=True),
)

BY_NAME: dict[str, Metric] = {metric.name: metric for metric in REGISTRY}
LEGAL_CLOCK: tuple[str, ...] = ("released_not_extended", "released_after_refusals", "refused_boarding",
                                "stays_beyond_nominal_maximum")
"""Counts of ended stays that only scenarios with a legal clock or refusals to board report
(sim/engine/legal.py), every stream of them; other scenarios keep their metrics as before."""
CENTRE_OCCUPANCY: tuple[str, ...] = ("bed_days", "occupancy_max", "occupancy_mean", "occupancy_p95",
                                     "probability_full")
"""The occupancy figures of a centre (against its usable places) and of a group of people."""
CENTRE_METRICS: tuple[str, ...] = tuple(sorted(CENTRE_OCCUPANCY + ("admitted", "places_nominal", "places_usable")))
"""What a scenario with centres reports for each centre."""
GROUP_METRICS: tuple[str, ...] = tuple(sorted(CENTRE_OCCUPANCY + (
    "admitted", "detention_requests", "found_no_place", "share_found_no_place", "places_usable")))
"""What a scenario with centres reports for the people of each sex and of each category, and of each sex of
each category when people are described by both (probability_full:
the share of time in which a person of the group, of its mix of kinds (sex and category) among its requests,
would find every centre that accepts them full; places_usable: the usable places of the centres that accept
some of them)."""
NAMES: tuple[str, ...] = tuple(sorted(metric.name for metric in REGISTRY
                                      if not metric.by_period_only and metric.name not in LEGAL_CLOCK
                                      and metric.name not in ("released_for_room", "found_no_place",
                                                              "share_found_no_place", "places_nominal",
                                                              "places_usable")))
"""Every metric a replication reports (cost only with a cost per bed-day), in the order of the data files;
a scenario with the legal clock also reports LEGAL_CLOCK, one with release to make room released_for_room."""
SUMMED: tuple[str, ...] = tuple(metric.name for metric in REGISTRY if metric.summed)
OUTCOMES: tuple[str, ...] = ("returned", "released_court", "released_deadline")
"""How a stay ends, in the order of a person's fate code."""

HEADLINE: tuple[str, ...] = (
    "occupancy_mean", "occupancy_p95", "probability_full", "blocking_probability", "detention_requests", "admitted",
    "turned_away", "returned", "released_court", "released_deadline", "return_rate", "los_mean_days", "bed_days",
    "cost")
"""The metrics every run shows first (terminal and report), in this order."""
STREAM_HEADLINE: tuple[str, ...] = ("occupancy_mean", "detention_requests", "turned_away", "returned",
                                    "released_deadline")
"""The per-stream columns of the terminal's run table."""
SWEEP_HEADLINE: tuple[str, ...] = ("occupancy_mean", "occupancy_p95", "probability_full", "blocking_probability",
                                   "return_rate")
"""The columns of the sweep tables (terminal and report)."""


def label(name: str) -> str:
    """The planner's label of a metric, or of STREAM.METRIC as 'label (STREAM)'."""
    stream, _, metric = name.rpartition(".")
    text = BY_NAME[metric].label if metric in BY_NAME else metric
    return f"{text} ({stream})" if stream else text


def counted_in_window(name: str) -> bool:
    """Is a metric (or STREAM.METRIC) counted through the measured window (people, bed-days, cost), so that
    it has a value a year? Shares, beds, durations and the people present at one moment do not."""
    metric = BY_NAME.get(name.rpartition(".")[2])
    return metric is not None and metric.kind in ("count", "bed_days", "money") and not metric.at_one_moment


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when there is nothing to divide."""
    return numerator / denominator if denominator else math.nan


def derive(metrics: dict[str, float], cost_per_bed_day: float | None) -> None:
    """Add the metrics computed from others, with the formulas their `meaning` states."""
    # those waiting when the window opens may give up inside it: they count among the
    # requests the window settles, so that the share turned away stays within [0, 1]
    requests = metrics["waiting_at_start"] + metrics["detention_requests"]
    metrics["blocking_probability"] = ratio(metrics["turned_away"], requests)
    metrics["return_rate"] = ratio(metrics["returned"], metrics["stays_ended"])
    metrics["mean_wait_days"] = ratio(metrics["wait_days_total"], metrics["admitted"])
    metrics["mean_wait_listed_days"] = ratio(metrics["wait_days_total"] + metrics["wait_days_given_up"],
                                             metrics["admitted_after_waiting"] + metrics["gave_up"])
    if cost_per_bed_day is not None:
        metrics["cost"] = metrics["bed_days"] * cost_per_bed_day
