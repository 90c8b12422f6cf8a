"""Who a person is, for the centres: a sex and a category, coded as one kind.

With centres, a centre accepts people by sex and by category, so each person
draws a sex and a category from their stream's (or origin group's) shares.
The kind, `sex * len(categories) + category`, is what the engine carries; a
dimension nobody describes has the single value None.
"""

from __future__ import annotations

import numpy as np

from sim.engine.seeds import generator
from sim.scenario import Scenario, Stream
from sim.scenario.centres import DIMENSIONS


class Kinds:
    """The sexes and categories of a scenario with centres (each sorted by name, or [None])."""

    def __init__(self, scenario: Scenario):
        people = [p for stream in scenario.streams for p in [stream.people, *(o.people for o in stream.origins)]
                  if p is not None]
        self.values: dict[str, list[str | None]] = {
            dimension: sorted({value for p in people for value in (getattr(p, dimension) or {})}) or [None]
            for dimension in DIMENSIONS}
        self.sexes, self.categories = self.values["sex"], self.values["category"]
        self.count = len(self.sexes) * len(self.categories)

    def of(self, kind: int) -> tuple[str | None, str | None]:
        """The (sex, category) of a kind."""
        return self.sexes[kind // len(self.categories)], self.categories[kind % len(self.categories)]

    def described(self) -> list[str]:
        """The dimensions that people are described by."""
        return [dimension for dimension, values in self.values.items() if values != [None]]


class KindDraw:
    """The kinds of a stream's people, drawn in batches from a generator per dimension (named, so that
    the other draws of the stream keep their random numbers)."""

    def __init__(self, kinds: Kinds, stream: Stream, seed: np.random.SeedSequence):
        self.kinds = kinds
        self.draws = []
        for dimension in kinds.described():
            values = kinds.values[dimension]
            cumulative = []
            for origin in stream.origins:
                shares = getattr(origin.people or stream.people, dimension, None) or getattr(stream.people, dimension)
                group = np.cumsum([shares.get(value, 0.0) for value in values])
                group[-1] = 1.0
                cumulative.append(group)
            self.draws.append((dimension, generator(seed, stream.name, dimension), cumulative))

    def draw(self, group: np.ndarray) -> np.ndarray:
        """The kind of each person of a batch, given each one's origin group."""
        index = {"sex": np.zeros(len(group), dtype=np.int64), "category": np.zeros(len(group), dtype=np.int64)}
        for dimension, rng, cumulative in self.draws:
            uniform = rng.random(len(group))
            for g, shares in enumerate(cumulative):
                members = group == g
                index[dimension][members] = np.searchsorted(shares, uniform[members], side="right")
        return index["sex"] * len(self.kinds.categories) + index["category"]
