"""How big a run is, estimated from the scenario before anything runs.

A slip in a scenario file (a rate per year written as a rate per day, a
horizon in days written as weeks) can turn a minute's run into days of work.
`workload` estimates the events and the memory of a run from the rates
integrated over the simulated days; `check` stops a run above a limit with a
message that says how big it is and how to raise the limit. Cheap: no model
is built and nothing is imported beyond the scenario.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sim.errors import TooBig
from sim.scenario import Scenario

EVENTS_PER_ARRIVAL = 3
"""An arrival, its admission (or turning away) and its departure."""
ARRIVALS_PER_SECOND = 300_000
"""capsim's measured speed on one core, arrivals per second: 0.2 million when
nearly every arrival is admitted, 0.6 million when most are turned away."""
DEFAULT_MAX_EVENTS = 1e10
"""About 3.3e9 arrivals: some 3 hours on one core at ARRIVALS_PER_SECOND, under
an hour on a 4-core laptop; a few thousand times a committed scenario's run
(2-4 million events), so only a slip or a deliberately huge study reaches it."""
BYTES_PER_STAY = 150
"""One person in detention during a replication: a heap entry and its fate."""


@dataclass(frozen=True)
class Workload:
    """The estimated size of a run: every scenario x replication it simulates."""

    arrivals: float
    replications: int
    days: float  # the longest replication, warm-up included
    memory_bytes: float

    @property
    def events(self) -> float:
        return self.arrivals * EVENTS_PER_ARRIVAL

    @property
    def core_hours(self) -> float:
        return self.arrivals / ARRIVALS_PER_SECOND / 3600


def expected_arrivals(scenario: Scenario) -> float:
    """Expected arrivals of one replication, every stream's rate (an uncertain
    rate at its mean) integrated over the schedule from day 0 to the end."""
    end = scenario.end_day
    total = 0.0
    for stream in scenario.streams:
        steps = scenario.rate_steps(stream)
        for k, (day, rate) in enumerate(steps):
            until = steps[k + 1][0] if k + 1 < len(steps) else end
            rate = rate if isinstance(rate, (int, float)) else rate.mean()
            total += rate * max(0.0, min(until, end) - max(day, 0.0))
    return total


def workload(scenarios: Sequence[Scenario], replications: int, repeats: int = 1) -> Workload:
    """The size of running each of `scenarios` `replications` times, all of it `repeats` times.

    Memory: the daily occupancy (4 bytes a day per replication, held twice
    while the results are written) and, in each worker, the people in
    detention (at most the most beds there ever are).
    """
    days = max(s.end_day for s in scenarios)
    arrivals = sum(expected_arrivals(s) for s in scenarios) * replications * repeats
    daily = sum(math.floor(s.end_day) + 1 for s in scenarios) * replications * 4 * 2
    in_detention = max(max(beds for _, beds in s.capacity_steps()) for s in scenarios) * BYTES_PER_STAY
    return Workload(arrivals, len(scenarios) * replications * repeats, days, daily + in_detention)


def bed_counts_tried(min_beds: int, max_beds: int) -> int:
    """About how many bed counts `capsim size` runs at most between `min_beds` and
    `max_beds`: a bracket of doubling steps, then a bisection inside it."""
    return 2 * math.ceil(math.log2(max(2, max_beds - min_beds + 1))) + 2


def check(load: Workload, max_events: float | None) -> None:
    """Stop (TooBig, exit 2) if `load` is beyond `max_events`; None means no limit."""
    if max_events is None or load.events <= max_events:
        return
    exponent = math.floor(math.log10(load.events))
    raised = f"{math.ceil(load.events / 10 ** exponent)}e{exponent}"
    raise TooBig(
        f"this run is bigger than the limit: about {load.events:.2g} events ({load.arrivals:.2g} arrivals over "
        f"{load.replications:,} replications of up to {load.days:,.0f} days), about "
        f"{_size(load.memory_bytes)} of memory, {_duration(load.core_hours)} of one core; the limit is "
        f"{max_events:.2g} events (--max-events). Check the rates (arrivals per day), the horizon and the "
        f"replications; if the size is meant, raise the limit: --max-events {raised} "
        f"(or CAPSIM_MAX_EVENTS={raised})")


def _duration(hours: float) -> str:
    if hours >= 48:
        return f"about {hours / 24:,.0f} days"
    if hours >= 1:
        return f"about {hours:.1f} hours"
    return "under an hour" if hours > 1 / 60 else "under a minute"


def _size(count: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if count < 1000:
            return f"{count:.0f} {unit}"
        count /= 1000
    return f"{count:,.0f} TB"
