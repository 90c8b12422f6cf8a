"""The people detained at day 0: what is still ahead of each (scenario/present.py says who they are).

Each person's whole stay and fate (origin group, outcome) are those of a new
arrival of the stream, drawn by a People object of its own on a branch of the
replication's seed: the arrivals' random numbers are untouched, so a scenario
with a starting population sees the same new arrivals, with the same fates,
as the same scenario started empty (common random numbers).

- In equilibrium (the stationary ages of an M/G/inf population): a stay S is
  kept with probability S / M (length-biased), and the time already spent is
  U * S, U uniform; a stream started so and never full shows no transient.
  Exact, and it takes about M / E[S] draws a person (a few for a legal maximum
  of months, thousands for one no stay comes near).
- Admitted at day 0: the whole stay is ahead.
- From a file, with a days already spent: the first draw (of the person's
  origin group, when known) with S > a, by rejection; a person at or past the
  maximum detention M leaves at day 0, at the deadline.
"""

from __future__ import annotations

import itertools
from heapq import heappush

import numpy as np

from sim.engine.monitors import stay_bins
from sim.engine.people import RELEASED_DEADLINE, SCREENED_OUT, People, fate, fate_count
from sim.engine.seeds import generator
from sim.scenario import Scenario, Stream

STARTING_BRANCH = 2**32 + 1
"""The spawn key that branches the starting population off a replication's seed: above every
key derived from a name (4 bytes, seeds.py), so no generator of the arrivals can share it."""
MOST_BATCHES = 1024
"""Batches of draws (about a million people) that a group may take to find stays longer than
the time already spent; someone left without one stays until the maximum detention."""

Person = tuple[float, int, float, int]
"""(days still ahead, fate, whole stay, its stay bin), as the model's departures hold them."""


def starting_count(scenario: Scenario, stream: Stream) -> int:
    """How many people of `stream` are detained at day 0."""
    given = stream.detained_at_start
    if given is not None:
        return given if isinstance(given, int) else given.count
    people = scenario.detained_file.people if scenario.detained_file else []
    return sum(person.stream == stream.name for person in people)


class _Draws:
    """Whole stays and fates of the stream as new arrivals would have them, those screened out left out."""

    def __init__(self, scenario: Scenario, stream: Stream, seed: np.random.SeedSequence):
        branch = np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (STARTING_BRANCH,))
        self.people = People(scenario, stream, branch)
        self.max_detention = self.people.max_detention
        self.uniform = generator(branch, stream.name, "time_spent")

    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        _, fates, stays, _, _ = self.people.draw()
        fates_drawn, stays_drawn = np.asarray(fates), np.asarray(stays)
        kept = fates_drawn != SCREENED_OUT
        return fates_drawn[kept], stays_drawn[kept]

    def batches(self, origin: int | None = None, *, endless: bool = False):
        """Batches of (fates, stays), of the origin group `origin` when given; at most MOST_BATCHES
        unless `endless`."""
        for _ in itertools.count() if endless else range(MOST_BATCHES):
            fates, stays = self.batch()
            if origin is not None:
                kept = fates // fate_count(1) == origin
                fates, stays = fates[kept], stays[kept]
            yield fates, stays


def starting_people(scenario: Scenario, stream: Stream, seed: np.random.SeedSequence) -> list[Person]:
    """The people of `stream` detained at day 0 in replication `seed` (those of a file in its order)."""
    count = starting_count(scenario, stream)
    if count == 0:
        return []
    draws = _Draws(scenario, stream, seed)
    given = stream.detained_at_start
    if given is None:
        ahead, fates, stays = _from_file(scenario, stream, draws)
    else:
        fates, stays = _first(draws, count, equilibrium=isinstance(given, int) or given.since == "equilibrium")
        spent = draws.uniform.random(count) * stays if isinstance(given, int) or given.since == "equilibrium" \
            else np.zeros(count)
        ahead = stays - spent
    bins = stay_bins(stays).tolist()
    return list(zip(ahead.tolist(), fates.tolist(), stays.tolist(), bins))


def occupy_beds(replication, present: dict[str, list[Person]]) -> None:
    """Put the people `present` (by stream name) in the beds of the pool.py replication at day 0, their
    departures on its heap: not admitted (not counted as admissions), never evicted above the beds."""
    for state in replication.streams:
        for ahead, fate_code, stay, stay_bin in present[state.stream.name]:
            if state.occupancy.level >= state.reserved:
                replication.shared_used += 1
            replication.occupied += 1
            state.occupancy.change(0.0, state.occupancy.level + 1)
            heappush(replication.departures, (ahead, next(replication.sequence), state, fate_code, stay, stay_bin))
    replication.occupancy.change(0.0, replication.occupied)


def _first(draws: _Draws, count: int, *, equilibrium: bool) -> tuple[np.ndarray, np.ndarray]:
    """The fates and stays of the first `count` people drawn; in equilibrium each kept with
    probability S / M (the stays of those present are length-biased)."""
    fates: list[np.ndarray] = []
    stays: list[np.ndarray] = []
    found = 0
    for drawn, (batch_fates, batch_stays) in enumerate(draws.batches(endless=True)):
        if drawn >= MOST_BATCHES and not found:
            break
        if equilibrium:
            kept = draws.uniform.random(len(batch_stays)) * draws.max_detention < batch_stays
            batch_fates, batch_stays = batch_fates[kept], batch_stays[kept]
        fates.append(batch_fates)
        stays.append(batch_stays)
        found += len(batch_stays)
        if found >= count:
            return np.concatenate(fates)[:count], np.concatenate(stays)[:count]
    raise ValueError(f"stream {draws.people.stream.name}: everyone of {MOST_BATCHES} batches was screened out: "
                     "no one to detain at day 0")


def _from_file(scenario: Scenario, stream: Stream, draws: _Draws) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days ahead, fates and whole stays of the file's people of `stream`: per origin group (unknown
    as one group), rounds of rejection, each person trying draws in turn until one outlasts their time."""
    assert scenario.detained_file is not None  # starting_count found them
    origin_index = {origin.name: g for g, origin in enumerate(stream.origins)}
    people = [p for p in scenario.detained_file.people if p.stream == stream.name]
    spent = np.array([p.days_detained for p in people])
    groups = np.array([origin_index[p.origin] if p.origin is not None else -1 for p in people])
    limit = draws.max_detention
    fates = np.zeros(len(people), dtype=np.int64)
    stays = np.full(len(people), limit)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        pending = members[spent[members] < limit]
        batches = draws.batches(None if group < 0 else int(group))
        for batch_fates, batch_stays in batches:
            if len(pending) == 0:
                break
            trying = pending[:len(batch_stays)]
            tries = len(batch_stays) // max(len(trying), 1)
            shape = (len(trying), tries)
            outlast = batch_stays[:trying.size * tries].reshape(shape) > spent[trying, None]
            found = outlast.any(axis=1)
            first = outlast.argmax(axis=1)[found]
            fates[trying[found]] = batch_fates[:trying.size * tries].reshape(shape)[found, first]
            stays[trying[found]] = batch_stays[:trying.size * tries].reshape(shape)[found, first]
            pending = np.concatenate([trying[~found], pending[len(trying):]])
        # past the maximum, or no stay found that outlasts the time spent: at the deadline
        left = np.concatenate([members[spent[members] >= limit], pending])
        origins = groups[left] if group >= 0 else _origins(draws, len(left))
        fates[left] = fate(origins, np.full(len(left), RELEASED_DEADLINE))
    ahead = np.maximum(stays - spent, 0.0)
    return ahead, fates, np.where(spent >= limit, limit, stays)


def _origins(draws: _Draws, count: int) -> np.ndarray:
    """Origin groups of `count` people whose group is unknown, drawn as a new arrival's."""
    drawn: list[np.ndarray] = []
    while sum(map(len, drawn)) < count:
        fates, _ = draws.batch()
        drawn.append(fates // fate_count(1))
    return np.concatenate(drawn)[:count] if drawn else np.zeros(0, dtype=np.int64)
