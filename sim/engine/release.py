"""Release to make room: streams with `when_full: release_least_removable`.

When the centres are full, the Immigration Office has released those with the
least chance of removal to admit others (202 people in 2018). A newcomer of
such a stream who finds no bed is admitted by releasing someone whose release
frees a bed the newcomer may take (`_frees_a_bed`: the same rule as the
model's `_has_bed`, so with a cap only someone of the newcomer's stream, and
past reserved beds only someone holding a shared bed or of the newcomer's
stream): of those, the one with the lowest return probability (of their origin
group, in force on their arrival day), the longest detained first, and only
when the newcomer's own return probability is higher; else the newcomer is
turned away.

The model makes a RoomMaker only when some stream uses the option, so other
scenarios run the model's own code, untouched. It then numbers the stays and
wraps the admissions, to keep who is present per stream, origin group and
phase in admission order; departures are left alone: a released stay is taken
out of the departures heap (rare, so a linear search), and the records drop the
stays that ended (their end day passed) when they reach the front.
"""

from __future__ import annotations

import bisect
from collections import deque
from heapq import heapify
from typing import Any

import numpy as np

from sim.engine.monitors import stay_bins
from sim.engine.people import fate_count
from sim.engine.streams import StreamState

_PER_ORIGIN = fate_count(1)
"""Fate codes per origin group: a fate's group is fate // _PER_ORIGIN."""


class RoomMaker:
    """Who is present, per stream, origin group and phase in admission order; releases to admit newcomers."""

    def __init__(self, replication: Any):
        self.replication = replication
        self.warmup = replication.scenario.warmup
        self.phase_days: dict[StreamState, list[float]] = {}
        self.probability: dict[StreamState, list[list[float]]] = {}
        """Per stream, origin group and phase: the return probability."""
        self.records: dict[StreamState, list[tuple[float, deque]]] = {}
        """Per stream: (return probability, the stays under way of one origin group and phase, oldest first)."""
        self.record_of: dict[tuple[StreamState, int, int], deque] = {}
        for state in replication.streams:
            phases = replication.scenario.phases(state.stream)
            self.phase_days[state] = [phase.day for phase in phases]
            groups = range(len(state.stream.origins))
            self.probability[state] = [[phase.stream.origins[g].return_probability for phase in phases]
                                       for g in groups]
            self.records[state] = []
            for g in groups:
                for k, probability in enumerate(self.probability[state][g]):
                    self.record_of[state, g, k] = record = deque[tuple]()
                    self.records[state].append((probability, record))
            state.released = [0] * len(groups)
        for entry in sorted(replication.departures, key=lambda e: (e[0] - e[4], e[1])):  # those present at day 0
            self.record_of[entry[2], entry[3] // _PER_ORIGIN, 0].append(entry)
        self.number = len(replication.departures) - 1
        """The last sequence number given to a stay (the model's `sequence` is this object from now on)."""
        self.admit_plainly = replication._admit
        replication.sequence = self
        replication._admit = self.admit

    def __next__(self) -> int:
        self.number += 1
        return self.number

    def _phase(self, state: StreamState, day: float) -> int:
        return bisect.bisect_right(self.phase_days[state], day) - 1

    def admit(self, now: float, state: StreamState, stay: float, stay_bin: int, fate: int, waited: float) -> None:
        """The model's admission, then the stay recorded under its group and the phase of its arrival day."""
        self.admit_plainly(now, state, stay, stay_bin, fate, waited)
        record = self.record_of[state, fate // _PER_ORIGIN, self._phase(state, now - waited)]
        while record and record[0][0] <= now:
            record.popleft()
        record.append((now + stay, self.number, state, fate, stay, stay_bin))

    def make_room(self, now: float, state: StreamState, fate: int) -> bool:
        """Release the least removable person whose bed the newcomer (of `state`, arriving `now` with `fate`)
        may take, if the newcomer is more removable; True when a bed was freed so."""
        mine = self.probability[state][fate // _PER_ORIGIN][self._phase(state, now)]
        best: tuple[tuple[float, float, int], deque] | None = None
        for other, records in self.records.items():
            if not self._frees_a_bed(state, other):
                continue
            for probability, record in records:
                while record and record[0][0] <= now:  # ended (departures due by now are applied)
                    record.popleft()
                if record and probability < mine:
                    head = record[0]
                    rank = (probability, head[0] - head[4], head[1])  # then the longest detained
                    if best is None or rank < best[0]:
                        best = (rank, record)
        if best is None:
            return False
        self._release(now, best[1].popleft())
        return True

    def _frees_a_bed(self, newcomer: StreamState, other: StreamState) -> bool:
        """Would releasing someone of `other` give `newcomer` a bed (the model's `_has_bed` after it)?"""
        replication = self.replication
        used = newcomer.occupancy.level - (other is newcomer)
        shared = replication.shared_used - (other.occupancy.level > other.reserved)
        return (used < newcomer.cap and replication.occupied - 1 < replication.capacity
                and (used < newcomer.reserved or shared < replication.shared_capacity))

    def _release(self, now: float, entry: tuple) -> None:
        """End the stay `entry` now: its bed is free, counted as released_for_room (in the window)."""
        replication = self.replication
        end, _, state, fate, stay, _ = entry
        replication._track_blocking(now)
        departures = replication.departures
        where = departures.index(entry)
        last = departures.pop()
        if where < len(departures):
            departures[where] = last
            heapify(departures)
        level = state.occupancy.level
        if level > state.reserved:
            replication.shared_used -= 1
        replication.occupied -= 1
        replication.occupancy.change(now, replication.occupied)
        state.occupancy.change(now, level - 1)
        if now >= self.warmup:
            state.released[fate // _PER_ORIGIN] += 1
        spent = stay - (end - now)
        state.stays.add(spent, int(stay_bins(np.array([spent]))[0]))
