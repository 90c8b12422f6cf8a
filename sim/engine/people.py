"""Who a stream brings and what becomes of them: arrival times and fates, drawn in batches.

Drawing with numpy a batch at a time pays its cost per batch, not per person;
the model then reads the batch as plain lists. A person's fate (origin group
and how the stay would end) is one int, coded and decoded here only.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np

from sim.engine.kinds import KindDraw, Kinds
from sim.engine.legal import RELEASED_COURT, RELEASED_DEADLINE, RETURNED, VARIANTS, Clock, reported, tally
from sim.engine.monitors import stay_bins
from sim.engine.seeds import generator
from sim.metrics import OUTCOMES
from sim.scenario import Scenario, Stream
from sim.scenario.distributions import Distribution
from sim.scenario.legal import longest_stay, uses_legal_clock

BATCH = 1024
"""People drawn at once per stream."""

_PER_ORIGIN = len(OUTCOMES) * VARIANTS
SCREENED_OUT = -1
"""The fate of a person screened out; any other fate is ``origin * _PER_ORIGIN + outcome +
len(OUTCOMES) * variant`` (see `fate`; the variants are the legal clock's, engine/legal.py), so that
one counter per fate counts per origin and outcome. With centres, a person's kind (sex and category,
engine/kinds.py) is added as ``kind * fate_count(origins)``, and at admission the centre likewise
(engine/centres.py); the stream's counters then count per code (kind and centre) and fate."""


def fate(origin: np.ndarray, outcome: np.ndarray, variant: np.ndarray | int = 0) -> np.ndarray:
    """The fate codes of people of origin groups `origin` whose stays end by `outcome` (with the legal
    clock's `variant`)."""
    return origin * _PER_ORIGIN + outcome + len(OUTCOMES) * variant


def fate_count(origins: int) -> int:
    """How many fates a stream with `origins` origin groups has (the length of a per-fate counter)."""
    return origins * _PER_ORIGIN


def per_origin(per_fate: Sequence[int], names: Sequence[str] = OUTCOMES) -> list[dict[str, int]]:
    """A per-fate counter as, for each origin group, the counts `names`: by outcome name (OUTCOMES), and
    the legal clock's counts (metrics.LEGAL_CLOCK, `People.reported`)."""
    return [tally(per_fate[start:start + _PER_ORIGIN], names) for start in range(0, len(per_fate), _PER_ORIGIN)]


class People:
    """The people of one stream, drawn in batches: arrival times and fates.

    Every person gets a value from every purpose's generator, whether or not
    they are screened out or find a bed, so that the i-th person of a stream
    has the same fate in every scenario that shares the seed.

    With dated parameter changes (`Scenario.phases`) a person's fate is drawn
    with the parameters in force on their arrival day, from the same random
    numbers: a threshold (screening, a return or court probability, the
    shares) is compared with the person's own uniform, the maximum detention
    caps the same stay, and a changed time distribution draws from a copy of
    the generator at the person's own position (`_times`). The return draws of
    an origin group go to its members of the batch in arrival order; a share
    change that moves a person to another group gives them the next position
    of that group's generators, and moves the later members of both groups, so
    common random numbers then hold for the people admitted before the change,
    and for each group's sequence of draws, not person by person after it.
    """

    def __init__(self, scenario: Scenario, stream: Stream, seed: np.random.SeedSequence):
        name = stream.name
        self.stream = stream
        self.phases = scenario.phases(stream)
        self.max_detention = max(longest_stay(phase.stream, phase.max_detention) for phase in self.phases)
        """The longest stay possible (with the legal clock, on every attempt allowed)."""
        self.reported = reported(scenario)
        """The counts of ended stays reported per origin group (`per_origin`)."""
        self.gaps = generator(seed, name, "arrivals")
        self.screening = generator(seed, name, "screening")
        self.origin = generator(seed, name, "origin")
        self.returns = [
            (generator(seed, name, o.name, "return"), generator(seed, name, o.name, "time_to_return"))
            for o in stream.origins
        ]
        courts = [phase.stream.court_release for phase in self.phases]
        released = any(courts)
        self.court = generator(seed, name, "court") if released else None
        self.court_time = generator(seed, name, "court_time") if released else None
        self.patience = generator(seed, name, "patience") if stream.max_wait is not None else None
        self.clock = Clock(stream, self.phases, seed, _times) if uses_legal_clock(stream) else None
        self.kinds = KindDraw(Kinds(scenario), stream, seed) if scenario.centres is not None else None
        """With centres: each person's kind (sex and category), added to their fate (see SCREENED_OUT)."""
        self.phase_day = np.array([phase.day for phase in self.phases])
        self.screened_out = np.array([phase.stream.screened_out for phase in self.phases])
        self.cumulative_share = [np.cumsum([o.share for o in phase.stream.origins]) for phase in self.phases]
        for cumulative in self.cumulative_share:
            cumulative[-1] = 1.0
        self.return_probability = [np.array([phase.stream.origins[g].return_probability for phase in self.phases])
                                   for g in range(len(stream.origins))]
        self.time_to_return = [[phase.stream.origins[g].time_to_return for phase in self.phases]
                               for g in range(len(stream.origins))]
        self.court_probability = np.array([court.probability if court else 0.0 for court in courts])
        first = next((court.time for court in courts if court), None)
        self.court_times = [court.time if court else first for court in courts] if first is not None else []
        self.phase_max_detention = np.array([phase.max_detention for phase in self.phases])
        steps = scenario.rate_steps(stream)
        self.step_day = np.array([day for day, _ in steps])
        self.step_rate = np.array([rate for _, rate in steps])
        self.unit_at_step = np.concatenate([[0.0], np.cumsum(np.diff(self.step_day) * self.step_rate[:-1])])
        self.unit_time = 0.0  # Lambda at the last arrival drawn

    def draw(self) -> tuple[list[float], list[int], list[float], list[int], list[float] | None]:
        """A batch: arrival days, fates, stays (days), their histogram bins and patience (days)."""
        stream, n = self.stream, BATCH
        unit_times = self.unit_time + np.cumsum(self.gaps.standard_exponential(n))
        self.unit_time = float(unit_times[-1])
        days = self._invert_cumulative_rate(unit_times)
        phase = np.searchsorted(self.phase_day, days, side="right") - 1
        screened = self.screening.random(n) < self.screened_out[phase]
        share_draws = self.origin.random(n)
        group = np.empty(n, dtype=np.int64)
        for k, cumulative in enumerate(self.cumulative_share):
            in_phase = phase == k
            group[in_phase] = np.searchsorted(cumulative, share_draws[in_phase], side="right")
        return_day = np.full(n, math.inf)
        for g, (success_rng, time_rng) in enumerate(self.returns):
            members = group == g
            member_phase = phase[members]
            succeeds = success_rng.random(len(member_phase)) < self.return_probability[g][member_phase]
            times = _times(self.time_to_return[g], time_rng, member_phase)
            return_day[members] = np.where(succeeds, times, math.inf)
        court_day = np.full(n, math.inf)
        if self.court is not None and self.court_time is not None:
            ordered = self.court.random(n) < self.court_probability[phase]
            times = _times(self.court_times, self.court_time, phase)
            court_day = np.where(ordered, times, math.inf)
        if self.clock is not None:
            stay, outcome, variant = self.clock.stays(group, phase, return_day, court_day)
            fates = fate(group, outcome, variant)
        else:
            stay = np.minimum(np.minimum(return_day, court_day), self.phase_max_detention[phase])
            outcome = np.where(
                return_day <= stay, RETURNED, np.where(court_day <= stay, RELEASED_COURT, RELEASED_DEADLINE)
            )
            fates = fate(group, outcome)
        if self.kinds is not None:
            fates += self.kinds.draw(group) * fate_count(len(stream.origins))
        fates[screened] = SCREENED_OUT
        patience = None
        max_wait = stream.max_wait
        if self.patience is not None and max_wait is not None:
            waits = np.full(n, max_wait) if isinstance(max_wait, float) else max_wait.sample(self.patience, n)
            patience = waits.tolist()
        return days.tolist(), fates.tolist(), stay.tolist(), stay_bins(stay).tolist(), patience

    def _invert_cumulative_rate(self, unit_times: np.ndarray) -> np.ndarray:
        """Arrival days of a unit-rate Poisson process mapped through the inverse
        of the cumulative rate Lambda(t): exact for piecewise-constant rates, and
        the i-th arrival keeps its random number when a rate changes (CRN)."""
        piece = np.searchsorted(self.unit_at_step, unit_times, side="right") - 1
        rate = self.step_rate[piece]
        with np.errstate(divide="ignore", invalid="ignore"):
            days = self.step_day[piece] + (unit_times - self.unit_at_step[piece]) / rate
        return np.where(rate > 0, days, math.inf)


def _times(specs: Sequence[Distribution], rng: np.random.Generator, phase: np.ndarray) -> np.ndarray:
    """Times of people in phases `phase` (indexes of `specs`): drawn from `rng` with the first phase's
    distribution, and for a later phase's other distribution from a copy of `rng` as it was before
    that draw, so that each person takes the same position of the generator in every phase and `rng`
    advances as without the change. (A rejection sampler, such as the gamma's, may use more than one
    number a person: the positions are then those of the draws, not of the uniforms.)"""
    count = len(phase)
    later = [int(k) for k in np.unique(phase) if specs[k] != specs[0]]
    before = copy.deepcopy(rng) if later else None
    times = specs[0].sample(rng, count)
    for k in later:
        chosen = phase == k
        times[chosen] = specs[k].sample(copy.deepcopy(before), count)[chosen]
    return times
