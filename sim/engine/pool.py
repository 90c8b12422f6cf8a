"""One replication of one pool of beds: arrival streams, screening, the beds and each stay.

`Replication` runs on a SimPy environment. SimPy schedules the arrivals, the
capacity and rate changes, the warm-up reset and the period edges. Departures
are known at admission (a stay ends at the first of return, court release and
the maximum detention), so they wait in a heap and are applied, in time order
and at their own times, before anything else happens: one heap push and pop
per stay instead of a SimPy event. Centres (engine/centres.py) are this
replication with the beds split into centres.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from heapq import heapify, heappop, heappush

import numpy as np
import simpy

from sim.engine.calendar import Rearmable
from sim.engine.monitors import OccupancyMonitor, StayHistogram, stay_bins
from sim.engine.people import SCREENED_OUT, People
from sim.engine.periods import PeriodBook, periods
from sim.engine.present import occupy_beds, starting_people
from sim.engine.release import RoomMaker
from sim.engine.streams import StreamState
from sim.metrics import SUMMED, derive
from sim.scenario import Scenario

REPLICATION_FORMAT = 3
"""The version of what a RepResult holds; checkpoints (pickled RepResults) record it
and are resumed only by the same. 2: stay histograms as (bin, count) rows; 3: centres, groups and
centre_daily."""


@dataclass
class RepResult:
    """One replication: metrics for the system and each stream, the daily
    occupancy (day 0 to the end, warm-up included), the time spent at each
    occupancy level in the window, the stays that ended in the window per
    stream (rows (bin, count) of stats.StayHistogram.occupied_bins) and the
    internal checks."""

    metrics: dict[str, float]
    streams: dict[str, dict[str, float]]
    daily_occupancy: np.ndarray
    time_at_occupancy: np.ndarray
    stay_bins: dict[str, np.ndarray]
    checks: dict[str, float] = field(default_factory=dict)
    origins: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    inputs: dict[str, float] = field(default_factory=dict)
    periods: np.ndarray | None = None
    """With `scenario.periods`: scopes (the system, then each stream) x periods x periods.PERIOD_METRICS."""
    centres: dict[str, dict[str, float]] = field(default_factory=dict)
    """With centres: each centre's metrics (metrics.CENTRE_METRICS)."""
    groups: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    """With centres: per dimension (sex, category, kind) and value, the metrics of its people (GROUP_METRICS)."""
    centre_daily: np.ndarray | None = None
    """With centres: the beds in use in each centre at each midnight (centres x days)."""


class Replication:
    """One replication under way: the bed pool, the streams' states, the stays under way and the monitors."""

    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence):
        self.scenario = scenario
        self.env = simpy.Environment()
        steps = scenario.capacity_steps()
        levels = max(beds for _, beds in steps)
        for stream in scenario.streams:
            levels = max(levels, stream.reserved_beds)
        present = {stream.name: starting_people(scenario, stream, seed) for stream in scenario.streams}
        levels = max(levels, sum(map(len, present.values())))  # those present may be more than the beds
        self.capacity: float = steps[0][1]
        self.reserved_total = sum(s.reserved_beds for s in scenario.streams)
        self.shared_capacity = self.capacity - self.reserved_total
        self.shared_used = 0
        self.occupied = 0
        self.constrained = any(s.reserved_beds or s.max_beds for s in scenario.streams)
        self.occupancy = OccupancyMonitor(levels + 1, limit=self.capacity)
        self.streams = [StreamState(stream, People(scenario, stream, seed), levels + 1, self._codes(stream))
                        for stream in scenario.streams]
        self.waiting_streams = sorted((s for s in self.streams if s.waits), key=lambda s: s.priority)
        self.waiting = 0
        self.departures: list = []
        """The stays under way, a heap of (end day, sequence number, stream state, fate, stay, stay bin) (with
        centres the fate's code carries the kind and the centre, engine/people.py); the sequence number breaks
        ties between stays that end at the same time."""
        self.sequence = itertools.count()
        self.daily: list[int] = []
        """The beds in use at each midnight, day 0 to the last day: taken as time passes them (`_count_days`)."""
        self.next_midnight = 0.0
        self.last_midnight = math.floor(scenario.end_day)
        self.violations = {"over_capacity": 0, "over_max_beds": 0}
        self.window_start = 0.0
        self.blocking_since = 0.0
        occupy_beds(self, present)
        self.room = RoomMaker(self) if any(s.releases for s in self.streams) else None
        """With a stream that releases to make room: it numbers the stays and wraps `_admit` (engine/release.py)."""
        costs = scenario.cost_steps()
        self.book = (PeriodBook((scenario.warmup, scenario.end_day),
                                periods(scenario, scenario.periods) if scenario.periods else [], costs)
                     if scenario.periods or costs[1:] else None)
        """Snapshots at the edges of periods and of dated costs, when the scenario has either."""

    # --- the run ------------------------------------------------------------------

    def run(self) -> RepResult:
        env, scenario = self.env, self.scenario
        for day, beds in scenario.capacity_steps()[1:]:
            env.timeout(day).callbacks.append(functools.partial(self._set_capacity, beds))
        for edge in self.book.edges if self.book else []:
            env.timeout(edge).callbacks.append(self._edge)
        for state in self.streams:
            self._schedule_arrival(Rearmable(env, self._arrive, state))
        if scenario.warmup > 0:
            env.timeout(scenario.warmup).callbacks.append(lambda _event: self._start_window())
        else:
            self._start_window()
        env.run(until=scenario.end_day)
        return self._finish(scenario.end_day)

    def _count_days(self, until: float, before: bool = False) -> None:
        """The beds in use at each midnight up to `until` (before it, with `before`), each
        with the stays due by then ended: an event of the calendar per day would cost
        more than the rest of a thin scenario. A midnight counts after anything else
        that happens at it (a capacity change admitting from the waiting list), except
        an arrival exactly at it: that has probability zero."""
        while self.next_midnight < until or (self.next_midnight == until and not before):
            self._depart_until(self.next_midnight)
            self._midnight()
            self.next_midnight = self.next_midnight + 1 if self.next_midnight < self.last_midnight else math.inf

    # --- arrivals -----------------------------------------------------------------

    def _schedule_arrival(self, event: Rearmable) -> None:
        """Schedule the first arrival of the stream `event.subject`."""
        state: StreamState = event.subject
        state.person = state.next_person()
        if state.days[state.person] != math.inf:
            event.arm(state.days[state.person])

    def _arrive(self, event: Rearmable) -> None:
        """The next people of the stream `event.subject` arrive.

        One stream has one pending arrival at a time, so its one event (a
        calendar.Rearmable) is re-armed after it fires (what env.timeout does, without an event per person). And
        when the stream's next arrival comes before anything else on SimPy's
        calendar, nothing can happen in between: it is handled at once, at its own
        time, without a trip through the calendar.
        """
        state: StreamState = event.subject
        now = self.env.now
        i = state.person
        departures = self.departures
        counts = state.counts
        peek = event.peek
        while True:
            if now >= self.next_midnight:
                self._count_days(now)
            if departures and departures[0][0] <= now:
                self._depart_until(now)
            counts.arrivals += 1
            fate = state.fate[i]
            if fate == SCREENED_OUT:
                counts.screened_out += 1
            elif self._has_bed(state, fate):
                self._admit(now, state, state.stay[i], state.stay_bin[i], fate, 0.0)
            elif state.waits:
                give_up = now + state.patience[i] if state.patience is not None else math.inf
                state.queue.append((now, give_up, state.stay[i], state.stay_bin[i], fate))
                counts.waited += 1
                self.waiting += 1
            elif state.releases and self.room.make_room(now, state, fate):  # type: ignore[union-attr]
                self._admit(now, state, state.stay[i], state.stay_bin[i], fate, 0.0)
            else:
                counts.turned_away += 1
            i = state.next_person()
            day = state.days[i]
            if day >= peek():
                break
            now = day
        if day != math.inf:  # else the rate stays at zero from here on
            state.person = i
            event.arm(day)

    # --- beds -----------------------------------------------------------------------

    def _codes(self, _stream) -> int:
        """How many codes a stay of `_stream` has per fate (engine/centres.py: one per kind and centre)."""
        return 1

    def _midnight(self) -> None:
        """Count the beds in use at a midnight (`_count_days`)."""
        self.daily.append(self.occupied)

    def _has_bed(self, state: StreamState, _fate: int) -> bool:
        """Is there a bed for the person of `state` with `_fate` (the same for every person of a stream here)?"""
        used = state.occupancy.level
        if used >= state.cap or self.occupied >= self.capacity:
            return False  # a capacity cut stops admissions, reserved beds included
        return used < state.reserved or self.shared_used < self.shared_capacity

    def _admit(self, now: float, state: StreamState, stay: float, stay_bin: int, fate: int,
               waited: float) -> tuple:
        """Admit a person now, after `waited` days on the waiting list; the stay under way (the departures
        heap's entry) is returned."""
        monitor = state.occupancy
        used = monitor.level + 1
        if self.constrained:  # the interval that ends now, judged with the beds as they were
            self._track_blocking(now)
        if used > state.reserved:
            self.shared_used += 1
        occupied = self.occupied = self.occupied + 1
        self.occupancy.change(now, occupied)
        monitor.change(now, used)
        if occupied > self.capacity or used > state.cap:
            self.violations["over_capacity" if occupied > self.capacity else "over_max_beds"] += 1
        state.counts.admitted += 1
        state.admitted_fates[fate] += 1
        state.wait_days += waited
        entry = (now + stay, next(self.sequence), state, fate, stay, stay_bin)
        heappush(self.departures, entry)
        return entry

    def _depart_until(self, now: float) -> None:
        """Apply every departure due at or before `now`, each at its own time."""
        departures = self.departures
        system = self.occupancy
        while departures and departures[0][0] <= now:
            day, _, state, fate, stay, stay_bin = heappop(departures)
            monitor = state.occupancy
            if self.constrained:  # the interval that ends now, judged with the beds as they were
                self._track_blocking(day)
            if monitor.level > state.reserved:
                self.shared_used -= 1
            self.occupied -= 1
            system.change(day, self.occupied)
            monitor.change(day, monitor.level - 1)
            state.ended[fate] += 1
            state.stays.add(stay, stay_bin)
            if self.waiting:
                self._admit_waiting(day)

    def _frees_a_bed(self, newcomer: StreamState, _fate: int, entry: tuple) -> bool:
        """Would ending the stay `entry` give `newcomer`'s newcomer a bed (`_has_bed` after it)? Here by the
        stay's stream only: with a cap, the newcomer's; past reserved beds, a shared bed's or the newcomer's."""
        other = entry[2]
        used = newcomer.occupancy.level - (other is newcomer)
        shared = self.shared_used - (other.occupancy.level > other.reserved)
        return (used < newcomer.cap and self.occupied - 1 < self.capacity
                and (used < newcomer.reserved or shared < self.shared_capacity))

    def _release_stay(self, now: float, entry: tuple) -> None:
        """End the stay `entry` now, before its time (release to make room): its bed is free; its time counts."""
        end, _, state, _, stay, _ = entry
        self._track_blocking(now)
        departures = self.departures
        where = departures.index(entry)
        last = departures.pop()
        if where < len(departures):
            departures[where] = last
            heapify(departures)
        level = state.occupancy.level
        if level > state.reserved:
            self.shared_used -= 1
        self.occupied -= 1
        self.occupancy.change(now, self.occupied)
        state.occupancy.change(now, level - 1)
        spent = stay - (end - now)
        state.stays.add(spent, int(stay_bins(np.array([spent]))[0]))

    def _admit_waiting(self, now: float) -> None:
        """Give free beds to the waiting list: by priority, then arrival order;
        those whose maximum wait ran out before `now` leave the list first."""
        while True:
            chosen = None
            for state in self.waiting_streams:
                queue = state.queue
                while queue and queue[0][1] <= now:
                    arrived, gave_up = queue.popleft()[:2]
                    self._give_up(state, arrived, gave_up)
                if queue and self._has_bed(state, queue[0][4]) and (
                    chosen is None
                    or (state.priority, queue[0][0]) < (chosen.priority, chosen.queue[0][0])
                ):
                    chosen = state
            if chosen is None:
                return
            arrived, _, stay, stay_bin, fate = chosen.queue.popleft()
            self.waiting -= 1
            chosen.counts.admitted_after_waiting += 1
            self._admit(now, chosen, stay, stay_bin, fate, now - arrived)

    def _give_up(self, state: StreamState, arrived: float, gave_up: float) -> None:
        self.waiting -= 1
        counts = state.counts
        counts.gave_up += 1
        counts.turned_away += 1
        state.wait_days_given_up += gave_up - arrived

    def _purge_waiting(self, now: float) -> None:
        """Remove everyone whose maximum wait ran out by `now` (at window edges)."""
        for state in self.waiting_streams:
            kept: deque = deque()
            for entry in state.queue:
                if entry[1] <= now:
                    self._give_up(state, entry[0], entry[1])
                else:
                    kept.append(entry)
            state.queue = kept

    def _set_capacity(self, beds: int, _event: object = None) -> None:
        now = self.env.now
        self._up_to(now)
        self.capacity = beds
        self.shared_capacity = beds - self.reserved_total
        self.occupancy.set_limit(now, beds)
        if self.waiting:
            self._admit_waiting(now)

    def _up_to(self, now: float) -> None:
        """Bring the books up to `now`, before something changes at it: the midnights before it, the
        departures due by it, the time each stream was blocked."""
        self._count_days(now, before=True)
        self._depart_until(now)
        self._track_blocking(now)

    def _edge(self, _event: object = None) -> None:
        now = self.env.now
        self._up_to(now)
        self.book.take(now, self.occupancy, self.streams, self.constrained)  # type: ignore[union-attr]

    def _track_blocking(self, now: float) -> None:
        """With reserved beds or caps, streams can be full while the system is not:
        accumulate the time each stream cannot be admitted."""
        if not self.constrained:
            return
        elapsed = now - self.blocking_since
        self.blocking_since = now
        if elapsed > 0:
            for state in self.streams:
                if not self._has_bed(state, 0):
                    state.time_blocked += elapsed

    # --- the measured window -------------------------------------------------------------

    def _start_window(self) -> None:
        """End of warm-up: reset the monitors and remember what is already there."""
        now = self.env.now
        self._depart_until(now)
        self._purge_waiting(now)
        self._track_blocking(now)
        self.window_start = now
        self.occupancy.reset(now)
        for state in self.streams:
            state.open_window(now)
        if self.book:
            self.book.take(now, self.occupancy, self.streams, self.constrained)

    def _finish(self, end: float) -> RepResult:
        self._count_days(end)
        self._depart_until(end)
        self._purge_waiting(end)
        self._track_blocking(end)
        self.occupancy.close(end)
        span = end - self.window_start
        per_stream = {}
        for state in self.streams:
            state.occupancy.close(end)
            per_stream[state.stream.name] = state.window_metrics(span, self.scenario.cost_per_bed_day)
        metrics = _system_metrics(per_stream, self.occupancy, [s.stays for s in self.streams],
                                  self.scenario.cost_per_bed_day)
        if not self.constrained:
            for name in per_stream:
                per_stream[name]["probability_full"] = metrics["probability_full"]
        if self.book:
            self.book.take(end, self.occupancy, self.streams, self.constrained)
            if self.book.costs[1:]:  # the cost of the bed-days at the cost in force, piece by piece
                for scope, figures in enumerate([metrics, *per_stream.values()]):
                    figures["cost"] = self.book.cost(scope, *self.book.window)
        return RepResult(metrics, per_stream, np.asarray(self.daily, dtype=np.int32),
                         np.asarray(self.occupancy.time_at),
                         {s.stream.name: s.stays.occupied_bins() for s in self.streams},
                         dict(self.violations), {s.stream.name: s.origin_outcomes() for s in self.streams},
                         periods=self.book.figures() if self.book and self.book.periods else None)


def _system_metrics(per_stream, occupancy: OccupancyMonitor, stays: list[StayHistogram], cost) -> dict[str, float]:
    reported = next(iter(per_stream.values()))  # the same metrics for every stream (the legal clock's or not)
    metrics = {name: sum(m[name] for m in per_stream.values()) for name in SUMMED if name in reported}
    metrics |= occupancy.metrics()
    metrics |= stays[0].merged(stays[1:]).metrics()
    derive(metrics, cost)
    return metrics
