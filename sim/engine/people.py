"""Who a stream brings and what becomes of them: arrival times and fates, drawn in batches.

Drawing with numpy a batch at a time pays its cost per batch, not per person;
the model then reads the batch as plain lists. A person's fate (origin group
and how the stay would end) is one int, coded and decoded here only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.engine.monitors import stay_bins
from sim.engine.seeds import generator
from sim.metrics import OUTCOMES
from sim.scenario import Scenario, Stream

BATCH = 1024
"""People drawn at once per stream."""

RETURNED, RELEASED_COURT, RELEASED_DEADLINE = (
    OUTCOMES.index(name) for name in ("returned", "released_court", "released_deadline"))
_PER_ORIGIN = len(OUTCOMES)
SCREENED_OUT = -1
"""The fate of a person screened out; any other fate is ``origin * len(OUTCOMES) + outcome``
(see `fate`), so that one counter per fate counts per origin and outcome."""


def fate(origin: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """The fate codes of people of origin groups `origin` whose stays end by `outcome`."""
    return origin * _PER_ORIGIN + outcome


def fate_count(origins: int) -> int:
    """How many fates a stream with `origins` origin groups has (the length of a per-fate counter)."""
    return origins * _PER_ORIGIN


def per_origin(per_fate: Sequence[int]) -> list[dict[str, int]]:
    """A per-fate counter as, for each origin group, the counts by outcome name (OUTCOMES)."""
    return [dict(zip(OUTCOMES, per_fate[start:start + _PER_ORIGIN]))
            for start in range(0, len(per_fate), _PER_ORIGIN)]


class People:
    """The people of one stream, drawn in batches: arrival times and fates.

    Every person gets a value from every purpose's generator, whether or not
    they are screened out or find a bed, so that the i-th person of a stream
    has the same fate in every scenario that shares the seed.
    """

    def __init__(self, scenario: Scenario, stream: Stream, seed: np.random.SeedSequence):
        name = stream.name
        self.stream = stream
        self.max_detention = scenario.stream_max_detention(stream)
        self.gaps = generator(seed, name, "arrivals")
        self.screening = generator(seed, name, "screening")
        self.origin = generator(seed, name, "origin")
        self.returns = [
            (generator(seed, name, o.name, "return"), generator(seed, name, o.name, "time_to_return"))
            for o in stream.origins
        ]
        self.court = generator(seed, name, "court") if stream.court_release else None
        self.court_time = generator(seed, name, "court_time") if stream.court_release else None
        self.patience = generator(seed, name, "patience") if stream.max_wait is not None else None
        self.cumulative_share = np.cumsum([o.share for o in stream.origins])
        self.cumulative_share[-1] = 1.0
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
        screened = self.screening.random(n) < stream.screened_out
        group = np.searchsorted(self.cumulative_share, self.origin.random(n), side="right")
        return_day = np.full(n, math.inf)
        for g, (origin, (success_rng, time_rng)) in enumerate(zip(stream.origins, self.returns)):
            members = group == g
            count = int(members.sum())
            succeeds = success_rng.random(count) < origin.return_probability
            times = origin.time_to_return.sample(time_rng, count)
            return_day[members] = np.where(succeeds, times, math.inf)
        court_day = np.full(n, math.inf)
        if stream.court_release and self.court is not None and self.court_time is not None:
            ordered = self.court.random(n) < stream.court_release.probability
            times = stream.court_release.time.sample(self.court_time, n)
            court_day = np.where(ordered, times, math.inf)
        stay = np.minimum(np.minimum(return_day, court_day), self.max_detention)
        outcome = np.where(
            return_day <= stay, RETURNED, np.where(court_day <= stay, RELEASED_COURT, RELEASED_DEADLINE)
        )
        fates = fate(group, outcome)
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
