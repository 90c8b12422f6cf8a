"""Release to make room: streams with `when_full: release_least_removable`.

When the centres are full, the Immigration Office has released those with the
least chance of removal to admit others (202 people in 2018). A newcomer of
such a stream who finds no bed is admitted by releasing someone whose release
frees a bed the newcomer may take (the replication's `_frees_a_bed`: in one
pool the same rule as its `_has_bed`, so with a cap only someone of the
newcomer's stream, and past reserved beds only someone holding a shared bed or
of the newcomer's stream; with centres, someone in a centre that accepts the
newcomer): of those, the one with the lowest return probability (of their
origin group, in force on their arrival day), the longest detained first, and
only when the newcomer's own return probability is higher; else the newcomer is
turned away.

The model makes a RoomMaker only when some stream uses the option, so other
scenarios run the model's own code, untouched. It then numbers the stays and
wraps the admissions, to keep who is present per stream, origin group and
phase in admission order; departures are left alone: the replication ends a
released stay (`_release_stay`: out of the departures heap, rare, so a linear
search; with centres, its place freed for the newcomer), and the records skip
the stays that ended (their end day passed) and drop them at the front.
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import Any

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
            self.record_of[entry[2], _group(entry[2], entry[3]), 0].append(entry)
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

    def admit(self, now: float, state: StreamState, stay: float, stay_bin: int, fate: int, waited: float) -> tuple:
        """The model's admission, then the stay recorded under its group and the phase of its arrival day."""
        entry = self.admit_plainly(now, state, stay, stay_bin, fate, waited)
        record = self.record_of[state, _group(state, fate), self._phase(state, now - waited)]
        while record and record[0][0] <= now:
            record.popleft()
        record.append(entry)
        return entry

    def make_room(self, now: float, state: StreamState, fate: int) -> bool:
        """Release the least removable person whose bed the newcomer (of `state`, arriving `now` with `fate`)
        may take, if the newcomer is more removable; True when a bed was freed so."""
        mine = self.probability[state][_group(state, fate)][self._phase(state, now)]
        frees = self.replication._frees_a_bed
        best: tuple[tuple[float, float, int], deque, tuple] | None = None
        for records in self.records.values():
            for probability, record in records:
                while record and record[0][0] <= now:  # ended (departures due by now are applied)
                    record.popleft()
                if not record or probability >= mine or (best is not None and probability > best[0][0]):
                    continue
                # the longest detained of the record whose release gives the newcomer a bed
                found = next((entry for entry in record if entry[0] > now and frees(state, fate, entry)), None)
                if found is not None:
                    rank = (probability, found[0] - found[4], found[1])
                    if best is None or rank < best[0]:
                        best = (rank, record, found)
        if best is None:
            return False
        _, record, entry = best
        record.remove(entry)
        end, _, other, code, stay, _ = entry
        self.replication._release_stay(now, entry)
        if now >= self.warmup:
            other.released[_group(other, code)] += 1
        return True


def _group(state: StreamState, fate: int) -> int:
    """The origin group of a stay's fate (with centres, its code carries the kind and the centre too)."""
    return fate % state.per_code // _PER_ORIGIN
