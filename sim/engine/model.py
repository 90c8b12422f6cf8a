"""The detention model: arrival streams, screening, the bed pool and each stay.

`simulate(scenario, seed)` runs one replication on a SimPy environment and
returns its metrics; it touches no file, clock or global. SimPy schedules the
arrivals, the capacity and rate changes, the warm-up reset and the daily
occupancy samples. Departures are known at admission (a stay ends at the first
of return, court release and the maximum detention), so they wait in a heap
and are applied, in time order and at their own times, before anything else
happens: one heap push and pop per stay instead of a SimPy event.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from heapq import heappop, heappush

import numpy as np
import simpy
from simpy.events import NORMAL

from sim.engine.monitors import OccupancyMonitor, StayHistogram, stay_bins
from sim.engine.seeds import generator
from sim.metrics import OUTCOMES, SUMMED, derive
from sim.scenario import Scenario, Stream

RETURNED, RELEASED_COURT, RELEASED_DEADLINE = range(3)
SCREENED_OUT = -1
"""A person's fate is origin x 3 + outcome (so one counter per origin and outcome), or SCREENED_OUT."""
BATCH = 1024
"""People drawn at once per stream: the numpy cost is paid per batch, not per person."""


REPLICATION_FORMAT = 2
"""The version of what a RepResult holds; checkpoints (pickled RepResults) record it
and are resumed only by the same. 2: stay histograms as (bin, count) rows."""


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


class _People:
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
        if stream.court_release:
            ordered = self.court.random(n) < stream.court_release.probability
            times = stream.court_release.time.sample(self.court_time, n)
            court_day = np.where(ordered, times, math.inf)
        stay = np.minimum(np.minimum(return_day, court_day), self.max_detention)
        outcome = np.where(
            return_day <= stay, RETURNED, np.where(court_day <= stay, RELEASED_COURT, RELEASED_DEADLINE)
        )
        fate = group * 3 + outcome
        fate[screened] = SCREENED_OUT
        patience = None
        if self.patience is not None:
            max_wait = stream.max_wait
            patience = (np.full(n, max_wait) if isinstance(max_wait, float)
                        else max_wait.sample(self.patience, n)).tolist()
        return days.tolist(), fate.tolist(), stay.tolist(), stay_bins(stay).tolist(), patience

    def _invert_cumulative_rate(self, unit_times: np.ndarray) -> np.ndarray:
        """Arrival days of a unit-rate Poisson process mapped through the inverse
        of the cumulative rate Lambda(t): exact for piecewise-constant rates, and
        the i-th arrival keeps its random number when a rate changes (CRN)."""
        piece = np.searchsorted(self.unit_at_step, unit_times, side="right") - 1
        rate = self.step_rate[piece]
        with np.errstate(divide="ignore", invalid="ignore"):
            days = self.step_day[piece] + (unit_times - self.unit_at_step[piece]) / rate
        return np.where(rate > 0, days, math.inf)


class _StreamState:
    """Counters and monitors of one stream during a replication."""

    COUNTERS = ("arrivals", "screened_out", "admitted", "turned_away", "gave_up", "waited")

    def __init__(self, index: int, scenario: Scenario, stream: Stream, people: _People, levels: int):
        self.index = index
        self.stream = stream
        self.people = people
        self.reserved = stream.reserved_beds
        self.cap = stream.max_beds if stream.max_beds is not None else math.inf
        self.waits = stream.when_full == "wait"
        self.priority = stream.priority
        self.rate_steps = scenario.rate_steps(stream)
        self.occupancy = OccupancyMonitor(min(levels, stream.max_beds or levels))
        self.stays = StayHistogram(people.max_detention)
        self.queue: deque = deque()  # (arrival day, give-up day, stay, stay bin, fate)
        self.wait_days = 0.0
        self.time_blocked = 0.0
        self.ended = [0] * (3 * len(stream.origins))  # stays ended, per fate
        self.admitted_fates = [0] * (3 * len(stream.origins))
        for name in self.COUNTERS:
            setattr(self, name, 0)
        self.batch_position = BATCH
        self.days = self.fate = self.stay = self.stay_bin = self.patience = None
        self.wait_days_given_up = 0.0
        self.person = 0  # index in the batch of the next person to arrive

    def next_person(self) -> int:
        """Move to the next person of the stream, drawing a new batch when needed."""
        i = self.batch_position
        if i == BATCH:
            self.days, self.fate, self.stay, self.stay_bin, self.patience = self.people.draw()
            i = 0
        self.batch_position = i + 1
        return i

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTERS}


class _Arrival(simpy.Event):
    """The pending arrival of one stream: a triggered event, re-armed after each arrival."""

    def __init__(self, env: simpy.Environment, stream: _StreamState, handlers: list):
        super().__init__(env)
        self._ok, self._value = True, None
        self.stream = stream
        self.handlers = handlers


class _Replication:
    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence):
        self.scenario = scenario
        self.env = simpy.Environment()
        steps = scenario.capacity_steps()
        levels = max(beds for _, beds in steps)
        for stream in scenario.streams:
            levels = max(levels, stream.reserved_beds)
        self.capacity = steps[0][1]
        self.reserved_total = sum(s.reserved_beds for s in scenario.streams)
        self.shared_capacity = self.capacity - self.reserved_total
        self.shared_used = 0
        self.occupied = 0
        self.constrained = any(s.reserved_beds or s.max_beds for s in scenario.streams)
        self.occupancy = OccupancyMonitor(levels + 1, limit=self.capacity)
        self.streams = [
            _StreamState(i, scenario, stream, _People(scenario, stream, seed), levels + 1)
            for i, stream in enumerate(scenario.streams)
        ]
        self.waiting_streams = sorted((s for s in self.streams if s.waits), key=lambda s: s.priority)
        self.waiting = 0
        self.departures: list = []
        self.sequence = itertools.count()  # breaks ties between departures at the same time
        self.daily: list[int] = []
        self.violations = {"over_capacity": 0, "over_max_beds": 0}
        self.at_window_start: dict = {}
        self.window_start = 0.0
        self.blocking_since = 0.0

    # --- the run ------------------------------------------------------------------

    def run(self) -> RepResult:
        env, scenario = self.env, self.scenario
        for day, beds in scenario.capacity_steps()[1:]:
            env.timeout(day).callbacks.append(lambda _, beds=beds: self._set_capacity(beds))
        for state in self.streams:
            self._schedule_arrival(_Arrival(env, state, [self._arrive]))
        if scenario.warmup > 0:
            env.timeout(scenario.warmup).callbacks.append(lambda _: self._start_window())
        else:
            self._start_window()
        days = int(math.floor(scenario.end_day))
        env.process(self._sample_daily(days))
        env.run(until=scenario.end_day)
        return self._finish(scenario.end_day, days)

    def _sample_daily(self, days: int):
        timeout = self.env.timeout
        for day in range(days + 1):
            if day > 0:
                yield timeout(1)
            self._depart_until(float(day))
            self.daily.append(self.occupied)

    # --- arrivals -----------------------------------------------------------------

    def _schedule_arrival(self, event: "_Arrival") -> None:
        """Schedule the stream's first arrival."""
        state = event.stream
        state.person = state.next_person()
        if state.days[state.person] != math.inf:
            event.callbacks = event.handlers
            self.env.schedule(event, NORMAL, state.days[state.person])

    def _arrive(self, event: "_Arrival") -> None:
        """The stream's next people arrive.

        One stream has one pending arrival at a time, so its one event is re-armed
        after it fires (what env.timeout does, without an event per person). And
        when the stream's next arrival comes before anything else on SimPy's
        calendar, nothing can happen in between: it is handled at once, at its own
        time, without a trip through the calendar.
        """
        state = event.stream
        env = self.env
        now = env.now
        i = state.person
        departures = self.departures
        while True:
            if departures and departures[0][0] <= now:
                self._depart_until(now)
            state.arrivals += 1
            fate = state.fate[i]
            if fate == SCREENED_OUT:
                state.screened_out += 1
            elif self._has_bed(state):
                self._admit(now, state, state.stay[i], state.stay_bin[i], fate, 0.0)
            elif state.waits:
                give_up = now + state.patience[i] if state.patience is not None else math.inf
                state.queue.append((now, give_up, state.stay[i], state.stay_bin[i], fate))
                state.waited += 1
                self.waiting += 1
            else:
                state.turned_away += 1
            i = state.next_person()
            day = state.days[i]
            if day >= env.peek():
                break
            now = day
        if day != math.inf:  # else the rate stays at zero from here on
            state.person = i
            event.callbacks = event.handlers
            env.schedule(event, NORMAL, day - env.now)

    # --- beds -----------------------------------------------------------------------

    def _has_bed(self, state: _StreamState) -> bool:
        used = state.occupancy.level
        if used >= state.cap or self.occupied >= self.capacity:
            return False  # a capacity cut stops admissions, reserved beds included
        return used < state.reserved or self.shared_used < self.shared_capacity

    def _admit(self, now: float, state: _StreamState, stay: float, stay_bin: int, fate: int,
               waited: float) -> None:
        monitor = state.occupancy
        used = monitor.level + 1
        if used > state.reserved:
            self.shared_used += 1
        if self.constrained:
            self._track_blocking(now)
        occupied = self.occupied = self.occupied + 1
        self.occupancy.change(now, occupied)
        monitor.change(now, used)
        if occupied > self.capacity or used > state.cap:
            self.violations["over_capacity" if occupied > self.capacity else "over_max_beds"] += 1
        state.admitted += 1
        state.admitted_fates[fate] += 1
        state.wait_days += waited
        heappush(self.departures, (now + stay, next(self.sequence), state, fate, stay, stay_bin))

    def _depart_until(self, now: float) -> None:
        """Apply every departure due at or before `now`, each at its own time."""
        departures = self.departures
        system = self.occupancy
        while departures and departures[0][0] <= now:
            day, _, state, fate, stay, stay_bin = heappop(departures)
            monitor = state.occupancy
            if monitor.level > state.reserved:
                self.shared_used -= 1
            if self.constrained:
                self._track_blocking(day)
            self.occupied -= 1
            system.change(day, self.occupied)
            monitor.change(day, monitor.level - 1)
            state.ended[fate] += 1
            state.stays.add(stay, stay_bin)
            if self.waiting:
                self._admit_waiting(day)

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
                if queue and self._has_bed(state) and (
                    chosen is None
                    or (state.priority, queue[0][0]) < (chosen.priority, chosen.queue[0][0])
                ):
                    chosen = state
            if chosen is None:
                return
            arrived, _, stay, stay_bin, fate = chosen.queue.popleft()
            self.waiting -= 1
            self._admit(now, chosen, stay, stay_bin, fate, now - arrived)

    def _give_up(self, state: _StreamState, arrived: float, gave_up: float) -> None:
        self.waiting -= 1
        state.gave_up += 1
        state.turned_away += 1
        state.wait_days_given_up += gave_up - arrived

    def _purge_waiting(self, now: float) -> None:
        """Remove everyone whose maximum wait ran out by `now` (at window edges)."""
        for state in self.waiting_streams:
            kept = deque()
            for entry in state.queue:
                if entry[1] <= now:
                    self._give_up(state, entry[0], entry[1])
                else:
                    kept.append(entry)
            state.queue = kept

    def _set_capacity(self, beds: int) -> None:
        now = self.env.now
        self._depart_until(now)
        self._track_blocking(now)
        self.capacity = beds
        self.shared_capacity = beds - self.reserved_total
        self.occupancy.set_limit(now, beds)
        if self.waiting:
            self._admit_waiting(now)

    def _track_blocking(self, now: float) -> None:
        """With reserved beds or caps, streams can be full while the system is not:
        accumulate the time each stream cannot be admitted."""
        if not self.constrained:
            return
        elapsed = now - self.blocking_since
        self.blocking_since = now
        if elapsed > 0:
            for state in self.streams:
                if not self._has_bed(state):
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
            state.occupancy.reset(now)
            state.stays.reset()
            state.time_blocked = 0.0
            state.wait_days_given_up = 0.0
            self.at_window_start[state.index] = (
                state.counters(), list(state.ended), list(state.admitted_fates), state.wait_days,
                state.occupancy.level, len(state.queue),
            )

    def _finish(self, end: float, days: int) -> RepResult:
        self._depart_until(end)
        if len(self.daily) == days:  # SimPy stops before events at the end time itself
            self.daily.append(self.occupied)
        self._purge_waiting(end)
        self._track_blocking(end)
        self.occupancy.close(end)
        span = end - self.window_start
        per_stream = {}
        for state in self.streams:
            state.occupancy.close(end)
            per_stream[state.stream.name] = self._stream_metrics(state, span)
        metrics = _system_metrics(per_stream, self.occupancy, [s.stays for s in self.streams],
                                  self.scenario.cost_per_bed_day)
        if not self.constrained:
            for name in per_stream:
                per_stream[name]["probability_full"] = metrics["probability_full"]
        return RepResult(metrics, per_stream, np.asarray(self.daily[: days + 1], dtype=np.int32),
                         np.asarray(self.occupancy.time_at), {s.stream.name: s.stays.occupied_bins() for s in self.streams},
                         dict(self.violations), {s.stream.name: self._origin_outcomes(s) for s in self.streams})

    def _origin_outcomes(self, state: _StreamState) -> dict[str, dict[str, float]]:
        """Admissions and ended stays in the window per origin group (the cooperation question)."""
        _, ended_before, admitted_before = self.at_window_start[state.index][:3]
        outcomes = {}
        for g, origin in enumerate(state.stream.origins):
            fates = range(3 * g, 3 * g + 3)
            counts = {"admitted": sum(state.admitted_fates[f] - admitted_before[f] for f in fates)}
            counts |= {name: state.ended[f] - ended_before[f] for name, f in zip(OUTCOMES, fates)}
            outcomes[origin.name] = {name: float(value) for name, value in counts.items()}
        return outcomes

    def _stream_metrics(self, state: _StreamState, span: float) -> dict[str, float]:
        counters_before, ended_before, _, wait_before, present, waiting_before = self.at_window_start[state.index]
        counts = {name: value - counters_before[name] for name, value in state.counters().items()}
        ended = [now - before for now, before in zip(state.ended, ended_before)]
        for k, name in enumerate(OUTCOMES):
            counts[name] = sum(ended[k::3])
        counts["detention_requests"] = counts["arrivals"] - counts["screened_out"]
        counts["present_at_start"] = present
        counts["still_detained"] = state.occupancy.level
        counts["waiting_at_start"] = waiting_before
        counts["still_waiting"] = len(state.queue)
        metrics = {name: float(value) for name, value in counts.items()}
        metrics["wait_days_total"] = state.wait_days - wait_before
        metrics["wait_days_given_up"] = state.wait_days_given_up
        metrics |= state.occupancy.metrics()
        # a sum of intervals within the span: only rounding can take it past the span
        metrics["probability_full"] = min(state.time_blocked, span) / span if span > 0 else math.nan
        metrics |= state.stays.metrics()
        metrics["stays_ended"] = float(state.stays.n)
        derive(metrics, self.scenario.cost_per_bed_day)
        return metrics


def _system_metrics(per_stream, occupancy: OccupancyMonitor, stays: list[StayHistogram], cost) -> dict[str, float]:
    metrics = {name: sum(m[name] for m in per_stream.values()) for name in SUMMED}
    metrics |= occupancy.metrics()
    metrics |= stays[0].merged(stays[1:]).metrics()
    derive(metrics, cost)
    return metrics


def simulate(scenario: Scenario, seed: np.random.SeedSequence) -> RepResult:
    """Run one replication of `scenario` with the replication seed `seed`.

    Uncertain inputs are drawn first, each from a generator of its own named by
    its path, so that two scenarios sharing a seed share their input draws too.
    """
    inputs = {path: quantity.draw(generator(seed, "inputs", path))
              for path, quantity in scenario.uncertain_inputs().items()}
    result = _Replication(scenario.with_inputs(inputs), seed).run()
    result.inputs = inputs
    return result
