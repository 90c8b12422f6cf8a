"""What queueing theory says about a scenario, and whether the simulation agrees.

`analytic_check` computes a scenario's offered load from the exact expected
stays and, where the scenario is an M/G/c/c loss system, Erlang B's share
turned away and mean occupancy; `waiting_check` does the same for a waiting
list, with Erlang C (M/M/c) or Erlang A (M/M/c+M) where they cover it;
`agreement` is the one rule by which the terminal and the report warn that a
simulation disagrees with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sim.analysis.queueing import erlang_b, expected_stay
from sim.analysis.stats import confidence_interval


@dataclass(frozen=True)
class AnalyticCheck:
    """What queueing theory says about a scenario, or why it cannot say it.

    `offered_load` is sum over streams of lambda_s (1 - screened_out_s) E[S_s]
    (erlangs: beds the flows would fill with unlimited capacity); when the
    scenario is an M/G/c/c loss system (`covered`), Erlang B gives the share of
    requests turned away and a (1 - B) the mean occupancy, whatever the shape
    of the stay distribution.
    """

    beds: int
    stream_loads: dict[str, float | None]  # erlangs per stream, None where a rate changes over time
    expected_stays: dict[str, float]
    reason: str | None  # why the scenario is outside the loss model, None when covered

    @property
    def covered(self) -> bool:
        return self.reason is None

    @property
    def offered_load(self) -> float | None:
        loads = self.stream_loads.values()
        return None if any(load is None for load in loads) else float(sum(load for load in loads if load is not None))

    @property
    def blocking_probability(self) -> float | None:
        load = self.offered_load
        return erlang_b(self.beds, load) if self.covered and load is not None else None

    @property
    def occupancy_mean(self) -> float | None:
        load, blocking = self.offered_load, self.blocking_probability
        return load * (1 - blocking) if load is not None and blocking is not None else None

    def as_json(self) -> dict:
        """The `analytic` object of summary.json."""
        if not self.covered:
            return {"offered_load": self.offered_load, "blocking_probability": None, "occupancy_mean": None,
                    "reason": self.reason}
        return {"offered_load": self.offered_load, "blocking_probability": self.blocking_probability,
                "occupancy_mean": self.occupancy_mean, "reason": None}


def stream_expected_stay(scenario, stream) -> float:
    """E[S] of a stream's stays: the first of return, court release and its maximum detention."""
    groups = [(o.share, o.return_probability, o.time_to_return.sf) for o in stream.origins]
    court = stream.court_release
    breakpoints = [b for o in stream.origins for b in o.time_to_return.breakpoints()]
    if court:
        breakpoints += court.time.breakpoints()
    return expected_stay(groups, court.probability if court else 0.0, court.time.sf if court else None,
                         scenario.stream_max_detention(stream), breakpoints=breakpoints)


def outside_loss_model(scenario) -> str | None:
    """Why the scenario's structure is not one M/G/c/c loss system, or None."""
    return _outside_one_pool(scenario, queue=False)


def _outside_one_pool(scenario, *, queue: bool) -> str | None:
    """Why the scenario is not one stationary pool of beds that every stream turns away from (`queue` False)
    or waits for (`queue` True), or None."""
    for stream in scenario.streams:
        if stream.arrivals.schedule is not None or stream.arrivals.seasons or stream.arrivals.trend:
            return f"stream {stream.name}: the arrival rate changes over time (not a stationary Poisson flow)"
        if stream.when_full == "release_least_removable":
            return f"stream {stream.name}: people are released to make room (not a loss system)"
        if stream.when_full == "wait" and not queue:
            return f"stream {stream.name}: people wait for a bed (a queue, not a loss system)"
        if stream.when_full != "wait" and queue:
            return f"stream {stream.name}: people are turned away while other streams wait (not one queue)"
        if stream.legal_clock is not None or any(o.refuses_boarding for o in stream.origins):
            return f"stream {stream.name}: the legal clock (extensions, refusals to board) sets its stays"
        if stream.reserved_beds or stream.max_beds is not None:
            return f"stream {stream.name}: reserved beds or a cap split the beds (not one shared pool)"
    if any(centre.accepts.sex or centre.accepts.category for centre in scenario.centres or []):
        return "the centres accept different people (by sex or category): not one pool of beds"
    if len(scenario.capacity_steps()) > 1:
        return "the capacity changes over time"
    if scenario.parameter_changes:
        return "parameters change on dates (parameter_changes)"
    return None


def analytic_check(scenario) -> AnalyticCheck:
    """The offered load of `scenario`, and Erlang B where the scenario is a loss system.

    With uncertain inputs the offered load is taken at their means, which is its
    mean (it is linear in each independent input); Erlang B of the mean load is
    not the mean blocking, so that comparison needs fixed inputs.
    """
    uncertain = scenario.uncertain_inputs()
    if uncertain:
        scenario = scenario.at_means()
    stays = {stream.name: stream_expected_stay(scenario, stream) for stream in scenario.streams}
    loads = {
        stream.name: (stream.arrivals.rate * (1 - stream.screened_out) * stays[stream.name]
                      if stream.arrivals.rate is not None else None)
        for stream in scenario.streams
    }
    reason = outside_loss_model(scenario)
    if reason is None and uncertain:
        reason = (f"inputs are uncertain ({', '.join(uncertain)}): the offered load is at their means; "
                  "for Erlang B run with --fix-inputs")
    return AnalyticCheck(scenario.beds, loads, stays, reason)


TRUNCATION = 1e-6
"""The share of exponential stays the maximum detention may cut short for theory to call them exponential."""


@dataclass(frozen=True)
class WaitingAnswer:
    """A waiting list at a number of beds, by Erlang C or Erlang A."""

    probability_wait: float
    mean_wait: float
    """Days on the waiting list, over all requests (0 for those admitted at once; those who give up until they
    do); infinite when the list grows without end."""
    share_gave_up: float


@dataclass(frozen=True)
class WaitingCheck:
    """What queueing theory says of a scenario whose streams wait for a bed, or why it cannot say it.

    Covered (`reason` None): one stationary pool of beds; Poisson requests
    (after screening) at `arrival_rate` a day; exponential stays of mean
    `mean_stay` days for every stream; nobody gives up (M/M/c, Erlang C) or
    everyone gives up after an exponential time of mean `mean_patience`
    (M/M/c+M, Erlang A). Priorities change who waits, not how many.
    """

    beds: int
    arrival_rate: float | None
    mean_stay: float | None
    mean_patience: float | None
    reason: str | None

    @property
    def covered(self) -> bool:
        return self.reason is None

    @property
    def model(self) -> str:
        return "M/M/c, Erlang C" if self.mean_patience is None else "M/M/c+M, Erlang A"

    def at(self, beds: int) -> WaitingAnswer:
        """The waiting list with `beds` beds."""
        from sim.analysis.queueing import erlang_a, erlang_c, mmc_mean_wait

        rate, stay = self.arrival_rate, self.mean_stay
        if rate is None or stay is None:
            raise ValueError(f"theory does not cover this waiting list ({self.reason})")
        if rate == 0:  # everyone screened out
            return WaitingAnswer(0.0, 0.0, 0.0)
        if self.mean_patience is None:
            return WaitingAnswer(erlang_c(beds, rate * stay), mmc_mean_wait(beds, rate, stay), 0.0)
        answer = erlang_a(beds, rate, stay, self.mean_patience)
        return WaitingAnswer(answer.probability_wait, answer.mean_wait, answer.probability_abandon)

    def beds_for(self, measure: str, target: float) -> int:
        """The smallest number of beds at which `measure` (a WaitingAnswer field) is at most `target`.

        Every measure falls as beds are added: doubling, then bisection.
        """
        def met(beds: int) -> bool:
            return getattr(self.at(beds), measure) <= target

        if met(0):
            return 0
        low, high = 0, 1
        while not met(high):
            low, high = high, 2 * high
        while high - low > 1:  # invariant: low misses, high meets
            middle = (low + high) // 2
            low, high = (low, middle) if met(middle) else (middle, high)
        return high


def waiting_check(scenario) -> WaitingCheck | None:
    """Erlang C or Erlang A for a scenario whose streams wait for a bed; None when nobody waits.

    Uncertain inputs are taken at their means (as `analytic_check` does).
    """
    if not any(stream.when_full == "wait" for stream in scenario.streams):
        return None
    if scenario.uncertain_inputs():
        scenario = scenario.at_means()
    beds = scenario.beds
    reason = _outside_one_pool(scenario, queue=True) or _not_exponential(scenario)
    patience, why = _patience(scenario)
    reason = reason or why
    if reason is not None:
        return WaitingCheck(beds, None, None, None, reason)
    rate = sum(s.arrivals.rate * (1 - s.screened_out) for s in scenario.streams)
    stay = scenario.streams[0].origins[0].time_to_return.mean
    return WaitingCheck(beds, float(rate), float(stay), patience, None)


def _not_exponential(scenario) -> str | None:
    """Why the stays are not one exponential distribution for every stream, or None."""
    means = set()
    for stream in scenario.streams:
        if stream.court_release is not None and stream.court_release.probability > 0:
            return f"stream {stream.name}: court releases cut stays short, so stays are not exponential"
        for origin in stream.origins:
            time = origin.time_to_return
            if getattr(time, "dist", None) != "exponential":
                return (f"stream {stream.name}, origin {origin.name}: stays are not exponential (the time to "
                        f"return is {getattr(time, 'dist', time)}); with waiting, theory has exact answers "
                        "only for exponential stays")
            if origin.return_probability < 1:
                return (f"stream {stream.name}, origin {origin.name}: stays are not exponential (a failed return "
                        "stays until the maximum detention)")
            if math.exp(-scenario.stream_max_detention(stream) / time.mean) > TRUNCATION:
                return (f"stream {stream.name}: stays are not exponential (the maximum detention cuts "
                        "them short)")
            means.add(time.mean)
    if len(means) > 1:
        return "stays are not exponential with one mean for every stream (M/M/c needs one stay distribution)"
    return None


def _patience(scenario) -> tuple[float | None, str | None]:
    """(mean patience in days or None for nobody gives up, why theory does not cover the patience or None)."""
    waits = [stream.max_wait for stream in scenario.streams]
    if all(wait is None for wait in waits):
        return None, None
    if any(wait is None for wait in waits):
        return None, "some streams give up waiting and others never do (Erlang A needs one patience for all)"
    if any(isinstance(wait, (int, float)) for wait in waits):
        return None, ("a fixed maximum wait (max_wait as a duration): theory covers no limit (Erlang C) or an "
                      "exponential maximum wait (Erlang A)")
    if not all(getattr(wait, "dist", None) == "exponential" for wait in waits):
        return None, ("a maximum wait that is not exponential: theory covers no limit (Erlang C) or an "
                      "exponential maximum wait (Erlang A)")
    means = {wait.mean for wait in waits}  # every one exponential
    if len(means) > 1:
        return None, "streams give up after exponential waits of different means (Erlang A needs one)"
    return float(means.pop()), None


AGREEMENT_LEVEL = 0.99
"""The confidence level of the interval the analytic value must fall in."""


@dataclass(frozen=True)
class Agreement:
    """An analytic value beside the simulated replications of the same metric."""

    exact: float
    simulated: float | None  # mean of the replications where the metric is defined
    low: float | None  # the simulated AGREEMENT_LEVEL interval, None with fewer than two values
    high: float | None

    @property
    def agrees(self) -> bool | None:
        """Is the analytic value inside the simulated interval? None when it cannot be told."""
        if self.low is None or self.high is None:
            return None
        slack = 1e-9 * max(1.0, abs(self.exact))  # a zero-width interval (nobody ever turned away)
        return self.low - slack <= self.exact <= self.high + slack


def agreement(exact: float, values: Sequence[float]) -> Agreement:
    """The rule every warning of capsim uses (terminal and report): the analytic value
    must fall inside the simulated 99% Student-t interval of the replications."""
    defined = [v for v in values if not math.isnan(v)]  # NaN: nobody asked for a bed
    if not defined:
        return Agreement(exact, None, None, None)
    simulated = sum(defined) / len(defined)
    if len(defined) < 2:
        return Agreement(exact, simulated, None, None)
    low, high = confidence_interval(defined, AGREEMENT_LEVEL)
    return Agreement(exact, simulated, low, high)
