"""A stream of the scenario file: its arrivals, screening, what happens when no bed is free, its legal
maximum and court releases, and its groups of countries of origin.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from sim.scenario.centres import PeopleKey, PlacementKey
from sim.scenario.distributions import Distribution
from sim.scenario.durations import PositiveDays
from sim.scenario.keys import At, PartName, Probability, Rate, Strict, arrivals_at_most, left_out_unused
from sim.scenario.legal import AttemptsKey, LegalClockKey, OriginAttemptsKey, RefusesBoardingKey
from sim.scenario.present import DetainedAtStart
from sim.scenario.rates import Season, Trend
from sim.scenario.uncertain import Count


class RateChange(Strict):
    """One piece of a piecewise-constant arrival rate: `rate` from `from` on.

    Examples
    --------
    ``{from: 2020-01-01, rate: 0.075}``
    """

    from_: At = Field(alias="from", description="when this rate starts: days since day 0 (a duration) or a "
                                                "date (with `start`); the first piece starts at day 0")
    rate: Annotated[float, AfterValidator(arrivals_at_most)] = Field(ge=0, description="arrivals per day from "
                                                                                          "this time on")


class Arrivals(Strict):
    """How a stream's detention requests arrive: a Poisson process.

    Give either one `rate` for the whole run, or a `schedule` whose rate
    changes over time (a campaign that starts, doubles, stops).
    """

    rate: Rate | None = Field(default=None, description="arrivals per day (Poisson): a number, or an "
                                 "uncertain rate drawn once per replication")
    schedule: list[RateChange] | None = Field(default=None, min_length=1,
                                                 description="instead of `rate`: a rate that changes over "
                                                             "time, as pieces [{from, rate}, ...] in time order")
    seasons: list[Season] | None = Field(default=None, max_length=366, exclude_if=left_out_unused(),
                                         description="with rate or schedule: parts of every year in which the "
                                                     "rate is multiplied by a factor")
    trend: Trend = Field(default=None, exclude_if=left_out_unused())

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.rate is None) == (self.schedule is None):
            raise ValueError("give exactly one of rate or schedule")
        return self


class CourtRelease(Strict):
    """Release ordered by a court (the raadkamer / chambre du conseil).

    With `probability` a detainee's stay is cut short by a court at `time`
    after admission, unless the return or the legal maximum comes first.
    """

    probability: Probability = Field(description="the chance that a court orders a detainee's release")
    time: Distribution = Field(description="the time from admission to the court's release")


class Origin(Strict):
    """A group of countries of origin within a stream.

    Cooperation on returns differs by country: each group has its share of
    the stream, the chance that a return succeeds, and how long the return
    takes (identifying the person, travel documents, the flight). A person
    whose return fails stays until a court release or the legal maximum.
    """

    name: PartName = Field(description="the group's name (e.g. maghreb), unique within the stream")
    share: float = Field(gt=0, le=1, description="the group's share of the stream's detainees; the shares "
                                                  "of a stream sum to 1")
    return_probability: Probability = Field(description="the chance that the return of a detainee of this "
                                                        "group succeeds")
    time_to_return: Distribution = Field(description="the time from admission to the return, when it succeeds")
    refuses_boarding: RefusesBoardingKey = Field(default=0.0, exclude_if=left_out_unused(0.0))
    attempts: OriginAttemptsKey = Field(default=None, exclude_if=left_out_unused())
    people: PeopleKey = Field(default=None, exclude_if=left_out_unused())


class Stream(Strict):
    """One flow of people into the shared beds.

    A police zone's action, the other national detention flows, airport
    cases: each stream has its arrivals, the share the Immigration Office
    screens out before detention, what happens when no bed is free, its legal
    maximum and court releases, and its groups of countries of origin.
    """

    name: PartName = Field(description="the stream's name, unique in the scenario; results are reported under it")
    arrivals: Arrivals = Field(description="how detention requests arrive: a rate or a schedule")
    screened_out: Probability = Field(default=0.0, description="the share of requests turned down before "
                                      "detention (return known to be impossible)")
    when_full: Literal["turn_away", "wait", "release_least_removable"] = Field(
        default="turn_away", description="with no free bed: turn_away (not detained, counted as turned away), "
        "wait (a waiting list) or release_least_removable (released_for_room: of those whose bed the newcomer may "
        "take, i.e. a shared bed or this stream's, only this stream's with max_beds, with centres a place in a centre "
        "that accepts the newcomer, the lowest return probability, the longest detained first, if it is below the "
        "newcomer's; else turned away)")
    max_wait: PositiveDays | Distribution | None = Field(
        default=None, description="with when_full: wait, how long someone waits for a bed before giving up "
                                  "(a duration or a distribution); none: no limit")
    priority: int = Field(default=0, description="with when_full: wait, lower numbers are served first; equal "
                                                 "priorities in arrival order")
    reserved_beds: Count = Field(default=0, ge=0, description="beds only this stream may use, taken from the capacity")
    max_beds: int | None = Field(default=None, ge=1, description="the most beds this stream may hold at "
                                                                    "once; none: no cap")
    max_detention: PositiveDays | None = Field(
        default=None, description="the legal maximum stay for this stream (a duration such as '8 months'); "
                                  "none: the scenario's max_detention")
    court_release: CourtRelease | None = Field(default=None, description="release ordered by a court: its "
                                                                            "probability and time; none: never")
    legal_clock: LegalClockKey = Field(default=None, exclude_if=left_out_unused())
    attempts: AttemptsKey = Field(default=1, exclude_if=left_out_unused(1))
    people: PeopleKey = Field(default=None, exclude_if=left_out_unused())
    placement: PlacementKey = Field(default=None, exclude_if=left_out_unused())
    origins: list[Origin] = Field(min_length=1, description="the groups of countries of origin, with their "
                                                            "shares, return probabilities and times to return")
    detained_at_start: DetainedAtStart | None = Field(
        default=None, exclude_if=lambda value: value is None, description="people of this stream detained at day "
        "0: a count (the time each has spent drawn from the stream's equilibrium), or {count, since: equilibrium "
        "| day 0}; none: the stream starts empty")

    @field_validator("origins")
    @classmethod
    def _shares_sum_to_one(cls, origins):
        total = sum(origin.share for origin in origins)
        if abs(total - 1) > 1e-9:
            raise ValueError(f"origin shares must sum to 1 (got {total:.12g})")
        return origins

