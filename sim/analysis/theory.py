"""What queueing theory says about a scenario, and whether the simulation agrees.

`analytic_check` computes a scenario's offered load from the exact expected
stays and, where the scenario is an M/G/c/c loss system, Erlang B's share
turned away and mean occupancy; `agreement` is the one rule by which the
terminal and the report warn that a simulation disagrees with it.
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
    for stream in scenario.streams:
        if stream.arrivals.schedule is not None:
            return f"stream {stream.name}: the arrival rate changes over time (not a stationary Poisson flow)"
        if stream.when_full == "wait":
            return f"stream {stream.name}: people wait for a bed (a queue, not a loss system)"
        if stream.reserved_beds or stream.max_beds is not None:
            return f"stream {stream.name}: reserved beds or a cap split the beds (not one shared pool)"
    if scenario.capacity.changes:
        return "the capacity changes over time"
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
    return AnalyticCheck(scenario.capacity.beds, loads, stays, reason)


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
