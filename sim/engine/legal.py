"""Stays under the legal clock: extensions granted with a probability, and refusals to board that start
the clock again (`sim/scenario/legal.py` says what the planner writes).

A stream without the clock never comes here: its stays, fates and random
numbers are those of `people.People.draw` alone. A stream with it draws, on
generators of their own (so no other draw moves), every person's extension
decisions and refusals and the times to return of later attempts, whether or
not they are used.

A stay's fate keeps its outcome (OUTCOMES) and adds a variant, what the legal
counts need: how a stay the law ended ended (the last title ran out, an
extension was refused, the last attempt allowed was refused), whether it
outlasted the nominal maximum, and the refusals in it. The per-fate counters
hold every variant of every outcome (`people.fate`), so the counts by outcome
are sums over variants, and a stream without the clock only has variant 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from sim.engine.seeds import generator
from sim.metrics import LEGAL_CLOCK, OUTCOMES
from sim.scenario import Scenario, Stream
from sim.scenario.dated import Phase
from sim.scenario.distributions import Distribution
from sim.scenario.legal import MOST_ATTEMPTS, attempts, nominal_maximum, uses_legal_clock

RETURNED, RELEASED_COURT, RELEASED_DEADLINE = (
    OUTCOMES.index(name) for name in ("returned", "released_court", "released_deadline"))
TITLE_RAN_OUT, NOT_EXTENDED, AFTER_REFUSALS = range(3)
"""How a stay that the law ended ended (for other stays: TITLE_RAN_OUT, unused)."""
_ENDINGS = 3
VARIANTS = _ENDINGS * 2 * (MOST_ATTEMPTS + 1)
"""Variants of a fate: ending + 3 * (beyond the nominal maximum + 2 * refusals)."""

Times = Callable[[Sequence[Distribution], np.random.Generator, np.ndarray], np.ndarray]
"""`people._times`: the times of people by phase, each at their own position of the generator."""


def _weights() -> dict[str, np.ndarray]:
    """What each reported count adds up over one origin group's fates (outcome + 3 * variant)."""
    slot = np.arange(len(OUTCOMES) * VARIANTS)
    outcome, variant = slot % len(OUTCOMES), slot // len(OUTCOMES)
    ending, rest = variant % _ENDINGS, variant // _ENDINGS
    weights = {name: (outcome == k).astype(np.int64) for k, name in enumerate(OUTCOMES)}
    return weights | {"released_not_extended": (ending == NOT_EXTENDED).astype(np.int64),
                      "released_after_refusals": (ending == AFTER_REFUSALS).astype(np.int64),
                      "refused_boarding": rest // 2, "stays_beyond_nominal_maximum": rest % 2}


_WEIGHTS = _weights()


def tally(per_fate: Sequence[int], names: Sequence[str]) -> dict[str, int]:
    """The counts `names` (OUTCOMES, LEGAL_CLOCK) of one origin group's per-fate counter."""
    counts = np.asarray(per_fate, dtype=np.int64)
    return {name: int(_WEIGHTS[name] @ counts) for name in names}


def reported(scenario: Scenario) -> tuple[str, ...]:
    """The counts every stream of `scenario` reports per origin group: the outcomes, and the legal clock's
    when some stream uses it (so every stream and the system have the same metrics)."""
    return OUTCOMES + LEGAL_CLOCK if any(uses_legal_clock(s) for s in scenario.streams) else OUTCOMES


class Clock:
    """The legal clock of one stream: its draws, and the stays it makes of returns and court releases.

    The clock is the stream's `legal_clock`, or else a single title of the maximum detention in force on
    the arrival day. A person whose return can succeed is tried after each time to return that falls
    within the clock; a refusal (the origin group's `refuses_boarding`) starts the clock again and a new
    time to return, up to the attempts allowed, the last refusal ending the stay. A court release that
    comes first ends the stay, as without the clock.
    """

    def __init__(self, stream: Stream, phases: list[Phase], seed: np.random.SeedSequence, times: Times):
        name, clock = stream.name, stream.legal_clock  # neither can change on a date
        self.times = times
        self.extension_draws = generator(seed, name, "extensions")
        self.refusal_draws = [generator(seed, name, o.name, "refuses_boarding") for o in stream.origins]
        self.later_time_draws = [generator(seed, name, o.name, "time_to_return_again") for o in stream.origins]
        self.first = np.array([clock.first if clock else phase.max_detention for phase in phases])
        self.lengths = np.array([e.length for e in clock.extensions]) if clock else np.zeros(0)
        self.granted = np.array([e.granted for e in clock.extensions]) if clock else np.zeros(0)
        self.nominal = np.array([nominal_maximum(stream, phase.max_detention) for phase in phases])
        self.allowed = np.array([attempts(stream, o) for o in stream.origins])
        self.refuses = [np.array([phase.stream.origins[g].refuses_boarding for phase in phases])
                        for g in range(len(stream.origins))]
        self.time_to_return = [[phase.stream.origins[g].time_to_return for phase in phases]
                               for g in range(len(stream.origins))]

    def stays(self, group: np.ndarray, phase: np.ndarray, return_day: np.ndarray,
              court_day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stays, outcomes and fate variants of people of origin groups `group` arriving in phases `phase`,
        whose first return would come at `return_day` (inf: it cannot succeed) and a court's release at
        `court_day` (inf: none)."""
        n, most = len(group), int(self.allowed.max())
        granted = self.extension_draws.random((n, most, len(self.granted))) < self.granted
        extended = np.cumprod(granted, axis=2).sum(axis=2)  # extensions granted before the first refusal
        title_ends = np.concatenate([[0.0], np.cumsum(self.lengths)])
        clock = self.first[phase][:, None] + title_ends[extended]  # (person, attempt)
        not_extended = extended < len(self.granted)
        times = np.empty((n, most))
        times[:, 0] = return_day
        refuses = np.empty((n, most), dtype=bool)
        for g, (refusal_draws, later_time_draws) in enumerate(zip(self.refusal_draws, self.later_time_draws)):
            members = group == g
            member_phase = phase[members]
            refuses[members] = refusal_draws.random((len(member_phase), most)) < self.refuses[g][member_phase, None]
            for attempt in range(1, most):
                later = self.times(self.time_to_return[g], later_time_draws, member_phase)
                times[members, attempt] = np.where(np.isfinite(return_day[members]), later, np.inf)
        start, end = np.zeros(n), np.full(n, np.inf)
        outcome = np.full(n, RELEASED_DEADLINE)
        ending = np.full(n, TITLE_RAN_OUT)
        refused_at = np.full((n, most), np.inf)
        refusals = np.zeros(n, dtype=np.int64)
        allowed = self.allowed[group]
        active = np.ones(n, dtype=bool)
        for attempt in range(most):
            runs_out = active & (times[:, attempt] > clock[:, attempt])
            end[runs_out] = start[runs_out] + clock[runs_out, attempt]
            ending[runs_out & not_extended[:, attempt]] = NOT_EXTENDED
            tried = active & ~runs_out
            refused = tried & refuses[:, attempt]
            returned = tried & ~refused
            end[returned] = start[returned] + times[returned, attempt]
            outcome[returned] = RETURNED
            start[refused] += times[refused, attempt]
            refused_at[refused, attempt] = start[refused]
            refusals[refused] += 1
            last = refused & (refusals == allowed)
            end[last] = start[last]
            ending[last] = AFTER_REFUSALS
            active = refused & ~last
        # a court's release ends the stay if it comes first (a return on the same day wins, as without the clock)
        court_first = (court_day < end) | ((court_day == end) & (outcome != RETURNED))
        stay = np.where(court_first, court_day, end)
        outcome[court_first] = RELEASED_COURT
        ending[court_first] = TITLE_RAN_OUT
        refusals = np.where(court_first, (refused_at < court_day[:, None]).sum(axis=1), refusals)
        beyond = stay > self.nominal[phase]
        return stay, outcome, ending + _ENDINGS * (beyond + 2 * refusals)
