"""The running state of one stream in a replication: its counts, monitors and waiting list.

The replication (pool.py, centres.py) moves people through the beds; what it records
about each stream lives here, as named fields, with the snapshot taken when
the measured window opens so that the window's counts are differences.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from sim.engine.monitors import OccupancyMonitor, StayHistogram, share_of_window
from sim.engine.people import BATCH, People, fate_count, per_origin
from sim.metrics import derive
from sim.scenario import Stream


@dataclass(slots=True)
class Counts:
    """A stream's running counts of people, each named as its metric in sim.metrics."""

    arrivals: int = 0
    screened_out: int = 0
    admitted: int = 0
    turned_away: int = 0
    gave_up: int = 0
    waited: int = 0
    admitted_after_waiting: int = 0


class WindowStart(NamedTuple):
    """A stream's state when the measured window opens (the end of the warm-up)."""

    counts: Counts
    ended: list[int]
    """Stays ended so far, per fate."""
    admitted_fates: list[int]
    """People admitted so far, per fate."""
    wait_days: float
    present: int
    """People detained."""
    waiting: int
    """People on the waiting list."""


class StreamState:
    """Counts, monitors, waiting list and batch of people of one stream during a replication."""

    __slots__ = ("stream", "people", "reserved", "cap", "waits", "priority", "occupancy", "stays", "queue",
                 "counts", "wait_days", "wait_days_given_up", "time_blocked", "ended", "admitted_fates",
                 "at_window_start", "batch_position", "days", "fate", "stay", "stay_bin", "patience", "person",
                 "releases", "released", "per_code")

    def __init__(self, stream: Stream, people: People, levels: int, codes: int = 1):
        self.stream = stream
        self.people = people
        self.reserved = stream.reserved_beds
        self.cap = stream.max_beds if stream.max_beds is not None else math.inf
        self.waits = stream.when_full == "wait"
        self.releases = stream.when_full == "release_least_removable"
        self.released: list[int] | None = None
        """People released to make room in the window, per origin group: a list when some stream releases."""
        self.priority = stream.priority
        self.occupancy = OccupancyMonitor(min(levels, stream.max_beds or levels))
        self.stays = StayHistogram(people.max_detention)
        self.queue: deque = deque()
        """The waiting list, oldest first: tuples (arrival day, give-up day, stay, stay bin, fate)."""
        self.counts = Counts()
        self.wait_days = 0.0
        self.wait_days_given_up = 0.0
        self.time_blocked = 0.0
        self.per_code = fate_count(len(stream.origins))
        """Fates of one code: a stay's fate is `code * per_code + fate` (one code per kind and centre, with centres)."""
        fates = self.per_code * codes
        self.ended = [0] * fates  # stays ended, per fate
        self.admitted_fates = [0] * fates
        self.at_window_start = WindowStart(Counts(), [0] * fates, [0] * fates, 0.0, 0, 0)
        """The state when the measured window opened (`open_window`); until then, at the start."""
        # the current batch of people (People.draw), the position in it of the
        # next to draw, and the index of the one whose arrival is pending
        self.batch_position = BATCH
        self.days: list[float] = []
        self.fate: list[int] = []
        self.stay: list[float] = []
        self.stay_bin: list[int] = []
        self.patience: list[float] | None = None
        self.person = 0

    def next_person(self) -> int:
        """Move to the next person of the stream, drawing a new batch when needed."""
        i = self.batch_position
        if i == BATCH:
            self.days, self.fate, self.stay, self.stay_bin, self.patience = self.people.draw()
            i = 0
        self.batch_position = i + 1
        return i

    def open_window(self, now: float) -> None:
        """Start the measured window: reset the monitors and remember the rest."""
        self.occupancy.reset(now)
        self.stays.reset()
        self.time_blocked = 0.0
        self.wait_days_given_up = 0.0
        self.at_window_start = WindowStart(dataclasses.replace(self.counts), list(self.ended),
                                           list(self.admitted_fates), self.wait_days, self.occupancy.level,
                                           len(self.queue))

    def origin_outcomes(self) -> dict[str, dict[str, float]]:
        """Admissions and ended stays in the window per origin group (the cooperation question)."""
        start = self.at_window_start
        admitted = per_origin(_since(self.admitted_fates, start.admitted_fates, self.per_code))
        ended = per_origin(_since(self.ended, start.ended, self.per_code), self.people.reported)
        outcomes = {}
        for g, (origin, admitted_by_outcome, ended_by_outcome) in enumerate(zip(self.stream.origins, admitted, ended)):
            counts = {"admitted": sum(admitted_by_outcome.values())} | ended_by_outcome
            if self.released is not None:
                counts["released_for_room"] = self.released[g]
            outcomes[origin.name] = {name: float(value) for name, value in counts.items()}
        return outcomes

    def window_metrics(self, span: float, cost_per_bed_day: float | None) -> dict[str, float]:
        """The stream's metrics over the measured window, `span` days long (named as in sim.metrics)."""
        start = self.at_window_start
        before = dataclasses.asdict(start.counts)
        counts = {name: value - before[name] for name, value in dataclasses.asdict(self.counts).items()}
        ended = per_origin(_since(self.ended, start.ended, self.per_code), self.people.reported)
        for name in self.people.reported:
            counts[name] = sum(by_outcome[name] for by_outcome in ended)
        counts["detention_requests"] = counts["arrivals"] - counts["screened_out"]
        if self.released is not None:
            counts["released_for_room"] = sum(self.released)
        counts["present_at_start"] = start.present
        counts["still_detained"] = self.occupancy.level
        counts["waiting_at_start"] = start.waiting
        counts["still_waiting"] = len(self.queue)
        metrics = {name: float(value) for name, value in counts.items()}
        metrics["wait_days_total"] = self.wait_days - start.wait_days
        metrics["wait_days_given_up"] = self.wait_days_given_up
        metrics |= self.occupancy.metrics()
        metrics["probability_full"] = share_of_window(self.time_blocked, span)
        metrics |= self.stays.metrics()
        metrics["stays_ended"] = float(self.stays.n)
        derive(metrics, cost_per_bed_day)
        return metrics


def _since(now: list[int], before: list[int], per_code: int) -> list[int]:
    """Per-fate counts in the measured window: what was counted by now minus what was counted before it,
    the codes of a fate (kinds and centres, `StreamState.per_code`) together."""
    counts = [n - b for n, b in zip(now, before)]
    if len(counts) == per_code:
        return counts
    return [sum(counts[fate::per_code]) for fate in range(per_code)]
