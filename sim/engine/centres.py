"""One replication with the beds split into centres: each person placed in a centre that accepts them.

A person (of a kind: sex and category, engine/kinds.py) tries the centres of
their stream's placement that accept them, then every other centre that
accepts them, in the scenario's order, and is admitted into the first with a
free usable place; else they wait or are turned away, as the stream says. A
centre's cut never evicts anyone: it admits no one until its occupancy falls
below its usable places. The stay's code carries its centre (see
engine/people.py, SCREENED_OUT), so a departure frees the right place.

Everything else (arrivals, waiting lists, the window, the system's and the
streams' metrics) is the one-pool replication's (pool.py), so that a single
centre that accepts everyone gives the same results, byte for byte.
"""

from __future__ import annotations

import math
from heapq import heappop

import numpy as np

from sim.engine.kinds import Kinds
from sim.engine.monitors import OccupancyMonitor, share_of_window
from sim.engine.pool import Replication, RepResult
from sim.engine.streams import StreamState
from sim.metrics import CENTRE_OCCUPANCY, ratio
from sim.scenario import Scenario
from sim.scenario.centres import DIMENSIONS

KIND = "kind"
"""The groups of people of one sex and one category (`men/border`), reported when people are described by both."""


class CentresReplication(Replication):
    """The one-pool replication (pool.Replication) with centres: per-centre places, occupancy and placement."""

    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence):
        self.kinds = kinds = Kinds(scenario)
        centres = scenario.centres or []
        self.centre_names = [centre.name for centre in centres]
        super().__init__(scenario, seed)
        self.capacity = math.inf  # admissions are per centre (`_free_centre`); the system is full when all are
        steps = scenario.centre_steps()
        self.changes_at = dict(steps)
        self.usable = [usable for _, usable in steps[0][1]]
        self.used = [0] * len(centres)
        most = [max(usable for _, usable in places) for places in zip(*(found for _, found in steps))]
        """Each centre's most usable places: its occupancy never passes them (nominal places may be far more)."""
        self.centre_occupancy = [OccupancyMonitor(most[c] + 1, limit=self.usable[c]) for c in range(len(centres))]
        self.centre_daily: list[list[int]] = [[] for _ in centres]
        accepting = [tuple(c for c, centre in enumerate(centres) if centre.takes(*kinds.of(kind)))
                     for kind in range(kinds.count)]
        self.order = {state: [_placement(state.stream.placement or [], self.centre_names, accepting[kind])
                              for kind in range(kinds.count)] for state in self.streams}
        """Per stream and kind: the centres a person tries, in order."""
        described = kinds.described()
        self.groups = [(dimension, str(value)) for dimension in described for value in kinds.values[dimension]]
        if len(described) == len(DIMENSIONS):  # each sex of each category too
            self.groups += [(KIND, "/".join(map(str, kinds.of(kind)))) for kind in range(kinds.count)]
        members = [[kind for kind in range(kinds.count) if self._in_group(kind, dimension, value)]
                   for dimension, value in self.groups]
        self.group_members = members
        """Per dimension (sex, category, and with both their pairs as `KIND`) and value, in this order: the
        people reported together, as their kinds."""
        self.sets = accepting
        """The centres each kind's people may use: they find no place while all are full."""
        self.time_blocked = [0.0] * len(self.sets)
        self.sets_of = [[j for j, members in enumerate(self.sets) if c in members] for c in range(len(centres))]
        """Per centre: the sets it is in."""
        self.full_in_set = [0] * len(self.sets)
        """Per set: how many of its centres are full."""
        self.blocked_since: list[float | None] = [None] * len(self.sets)
        """Per set whose centres are all full: since when (else None)."""
        self._recount(0.0)
        levels = len(self.occupancy.time_at)
        self.group_occupancy = [OccupancyMonitor(levels) for _ in self.groups]
        self.monitors_of_kind = [[self.group_occupancy[g] for g in range(len(self.groups)) if kind in members[g]]
                                 for kind in range(kinds.count)]
        self.requests = {state: [0] * kinds.count for state in self.streams}
        """Per stream and kind: the detention requests so far."""
        self.no_place = {state: [0] * kinds.count for state in self.streams}
        """Per stream and kind: the requests that found no place so far."""
        self.at_window_start = (self._counts(self.requests), self._counts(self.no_place))
        self.restricted = any(len(found) < len(centres) for found in accepting)
        """Some people may not use every centre: a stream's share of time full is then its kinds'."""
        self.chosen = 0
        """The centre found for the person about to be admitted (`_has_bed`, `_admit_waiting`, `_release_stay`)."""

    def _in_group(self, kind: int, dimension: str, value: str) -> bool:
        if dimension == KIND:
            return "/".join(map(str, self.kinds.of(kind))) == value
        return str(self.kinds.of(kind)[DIMENSIONS.index(dimension)]) == value

    def _codes(self, _stream) -> int:
        return self.kinds.count * len(self.centre_names)

    def _midnight(self) -> None:
        super()._midnight()
        for daily, used in zip(self.centre_daily, self.used):
            daily.append(used)

    # --- placement ------------------------------------------------------------------

    def _free_centre(self, state: StreamState, kind: int) -> int | None:
        """The first centre with a free usable place that a person of `kind` of `state` tries, or None."""
        used, usable = self.used, self.usable
        for c in self.order[state][kind]:
            if used[c] < usable[c]:
                return c
        return None

    def _has_bed(self, state: StreamState, fate: int) -> bool:
        """On arrival: counts the request of the person's kind, and whether they found no place."""
        kind = fate // state.per_code
        self.requests[state][kind] += 1
        found = self._free_centre(state, kind)
        if found is None:
            self.no_place[state][kind] += 1
            return False
        self.chosen = found
        return True

    def _admit(self, now: float, state: StreamState, stay: float, stay_bin: int, fate: int,
               waited: float) -> tuple:
        c = self.chosen
        used = self.used[c] + 1
        if used == self.usable[c]:
            self._becomes_full(c, now)
        self.used[c] = used
        self.centre_occupancy[c].change(now, used)
        if used > self.usable[c]:
            self.violations["over_capacity"] += 1
        for monitor in self.monitors_of_kind[fate // state.per_code]:
            monitor.change(now, monitor.level + 1)
        return super()._admit(now, state, stay, stay_bin, fate + c * self.kinds.count * state.per_code, waited)

    def _depart_until(self, now: float) -> None:
        """Apply every departure due at or before `now`, each at its own time, freeing its centre's place."""
        departures = self.departures
        system = self.occupancy
        kinds = self.kinds.count
        used, usable, centre_occupancy, monitors_of_kind = (self.used, self.usable, self.centre_occupancy,
                                                            self.monitors_of_kind)
        while departures and departures[0][0] <= now:
            day, _, state, code, stay, stay_bin = heappop(departures)
            c, kind = divmod(code // state.per_code, kinds)
            level = used[c]
            if level == usable[c]:
                self._stops_being_full(c, day)
            used[c] = level - 1
            centre_occupancy[c].change(day, level - 1)
            for monitor in monitors_of_kind[kind]:
                monitor.change(day, monitor.level - 1)
            self.shared_used -= 1
            self.occupied -= 1
            system.change(day, self.occupied)
            state.occupancy.change(day, state.occupancy.level - 1)
            state.ended[code] += 1
            state.stays.add(stay, stay_bin)
            if self.waiting:
                self._admit_waiting(day)

    def _admit_waiting(self, now: float) -> None:
        """Give free places to the waiting list: of those a free place accepts, by priority, then arrival order;
        those whose maximum wait ran out before `now` leave the list first."""
        while any(u < s for u, s in zip(self.used, self.usable)):
            chosen: tuple[StreamState, int, int] | None = None
            for state in self.waiting_streams:
                queue = state.queue
                while queue and queue[0][1] <= now:
                    arrived, gave_up = queue.popleft()[:2]
                    self._give_up(state, arrived, gave_up)
                for position, entry in enumerate(queue):
                    if chosen is not None and (state.priority, entry[0]) >= (chosen[0].priority,
                                                                             chosen[0].queue[chosen[1]][0]):
                        break
                    found = self._free_centre(state, entry[4] // state.per_code) if entry[1] > now else None
                    if found is not None:
                        chosen = (state, position, found)
                        break
            if chosen is None:
                return
            state, position, self.chosen = chosen
            arrived, _, stay, stay_bin, fate = state.queue[position]
            del state.queue[position]
            self.waiting -= 1
            state.counts.admitted_after_waiting += 1
            self._admit(now, state, stay, stay_bin, fate, now - arrived)

    def _frees_a_bed(self, newcomer: StreamState, fate: int, entry: tuple) -> bool:
        """Would ending the stay `entry` give the newcomer (of `newcomer`, with `fate`) a place: is the stay's
        centre one the newcomer may use, and would it then be below its usable places?"""
        c = entry[3] // entry[2].per_code // self.kinds.count
        return c in self.order[newcomer][fate // newcomer.per_code] and self.used[c] - 1 < self.usable[c]

    def _release_stay(self, now: float, entry: tuple) -> None:
        """End the stay `entry` now (release to make room): its place is the one the newcomer takes."""
        state, code = entry[2], entry[3]
        c, kind = divmod(code // state.per_code, self.kinds.count)
        if self.used[c] == self.usable[c]:
            self._stops_being_full(c, now)
        self.used[c] -= 1
        self.centre_occupancy[c].change(now, self.used[c])
        for monitor in self.monitors_of_kind[kind]:
            monitor.change(now, monitor.level - 1)
        super()._release_stay(now, entry)
        self.chosen = c

    def _set_capacity(self, beds: int, _event: object = None) -> None:
        now = self.env.now
        self._up_to(now)
        for c, (_, usable) in enumerate(self.changes_at[now]):  # the nominal places: `_time_averages`
            if usable != self.usable[c]:  # the others' books are left as they are (same bytes as without it)
                self.usable[c] = usable
                self.centre_occupancy[c].set_limit(now, usable)
        self._recount(now)
        self.occupancy.set_limit(now, beds)
        if self.waiting:
            self._admit_waiting(now)

    # --- the time each kind finds no place: changed only when a centre becomes full or stops being full ---

    def _becomes_full(self, c: int, now: float) -> None:
        for j in self.sets_of[c]:
            full = self.full_in_set[j] = self.full_in_set[j] + 1
            if full == len(self.sets[j]):
                self.blocked_since[j] = now

    def _stops_being_full(self, c: int, now: float) -> None:
        for j in self.sets_of[c]:
            since = self.blocked_since[j]
            if since is not None:
                self.time_blocked[j] += now - since
                self.blocked_since[j] = None
            self.full_in_set[j] -= 1

    def _recount(self, now: float) -> None:
        """The full centres of each set counted anew, after a change of usable places (`_track_blocking` first)."""
        full = [u >= s for u, s in zip(self.used, self.usable)]
        for j, members in enumerate(self.sets):
            self.full_in_set[j] = sum(full[c] for c in members)
            self.blocked_since[j] = now if self.full_in_set[j] == len(members) else None

    def _track_blocking(self, now: float) -> None:
        """Bring the time each set has had no place up to `now` (window edges, before a change of places)."""
        for j, since in enumerate(self.blocked_since):
            if since is not None:
                self.time_blocked[j] += now - since
                self.blocked_since[j] = now

    # --- the measured window -------------------------------------------------------------

    def _start_window(self) -> None:
        super()._start_window()
        now = self.env.now
        for monitor in self.centre_occupancy + self.group_occupancy:
            monitor.reset(now)
        self.time_blocked = [0.0] * len(self.sets)
        self.at_window_start = (self._counts(self.requests), self._counts(self.no_place))

    def _finish(self, end: float) -> RepResult:
        result = super()._finish(end)
        span = end - self.window_start
        for monitor in self.centre_occupancy + self.group_occupancy:
            monitor.close(end)
        kinds, centres = self.kinds.count, len(self.centre_names)
        admitted = np.zeros((centres, kinds))
        for state in self.streams:
            counts = np.subtract(state.admitted_fates, state.at_window_start.admitted_fates)
            admitted += counts.reshape(centres, kinds, state.per_code).sum(axis=2)
        places = _time_averages(self.scenario.centre_steps(), self.window_start, end)
        for c, name in enumerate(self.centre_names):
            figures = self.centre_occupancy[c].metrics()
            result.centres[name] = {metric: figures[metric] for metric in CENTRE_OCCUPANCY} | {
                "admitted": float(admitted[c].sum()), "places_nominal": places[c][0], "places_usable": places[c][1]}
        by_stream = self._counts(self.requests) - self.at_window_start[0]  # streams x kinds, in the window
        requests = by_stream.sum(axis=0)
        no_place = (self._counts(self.no_place) - self.at_window_start[1]).sum(axis=0)
        time_no_place = np.array([share_of_window(time, span) for time in self.time_blocked])
        for g, (dimension, value) in enumerate(self.groups):
            members = self.group_members[g]
            figures = self.group_occupancy[g].metrics()
            asked, none = float(requests[members].sum()), float(no_place[members].sum())
            occupancy = {metric: figures[metric] for metric in CENTRE_OCCUPANCY if metric != "probability_full"}
            result.groups.setdefault(dimension, {})[value] = occupancy | {
                "detention_requests": asked, "found_no_place": none, "share_found_no_place": ratio(none, asked),
                "admitted": float(admitted[:, members].sum()),
                "probability_full": ratio(float(requests[members] @ time_no_place[members]), asked),
                "places_usable": float(sum(places[c][1] for c in set().union(*(self.sets[k] for k in members))))}
        if self.restricted:  # the share of time a request (of the stream), of its mix of kinds, finds no place
            for state, asked in zip(self.streams, by_stream):
                result.streams[state.stream.name]["probability_full"] = ratio(float(asked @ time_no_place),
                                                                              float(asked.sum()))
            result.metrics["probability_full"] = ratio(float(requests @ time_no_place), float(requests.sum()))
        result.centre_daily = np.asarray(self.centre_daily, dtype=np.int32)
        return result

    def _counts(self, per_stream: dict[StreamState, list[int]]) -> np.ndarray:
        """Counts per stream and kind, as an array (streams x kinds)."""
        return np.array([per_stream[state] for state in self.streams], dtype=np.int64)


def _placement(preferred: list[str], names: list[str], accepting: tuple[int, ...]) -> tuple[int, ...]:
    """The centres a person tries: the preferred ones that accept them, then the others that do, in order."""
    first = tuple(c for c in (names.index(name) for name in preferred) if c in accepting)
    return first + tuple(c for c in accepting if c not in first)


def _time_averages(steps: list[tuple[float, list[tuple[int, int]]]], start: float, end: float
                   ) -> list[tuple[float, float]]:
    """Each centre's nominal and usable places, averaged over the time from `start` to `end` (after it: the
    measured window is never empty)."""
    totals = np.zeros((len(steps[0][1]), 2))
    for k, (day, places) in enumerate(steps):
        until = steps[k + 1][0] if k + 1 < len(steps) else math.inf
        overlap = min(until, end) - max(day, start)
        if overlap > 0:
            totals += overlap * np.asarray(places, dtype=float)
    return [(float(nominal), float(usable)) for nominal, usable in totals / (end - start)]
