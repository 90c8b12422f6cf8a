"""The running state of one stream in a replication: its counts, monitors and waiting list.

The replication (model.py) moves people through the beds; what it records
about each stream lives here, as named fields, with the snapshot taken when
the measured window opens so that the window's counts are differences.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from sim.engine.monitors import OccupancyMonitor, StayHistogram
from sim.engine.people import BATCH, People, fate_count
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
                 "at_window_start", "batch_position", "days", "fate", "stay", "stay_bin", "patience", "person")

    def __init__(self, stream: Stream, people: People, levels: int):
        self.stream = stream
        self.people = people
        self.reserved = stream.reserved_beds
        self.cap = stream.max_beds if stream.max_beds is not None else math.inf
        self.waits = stream.when_full == "wait"
        self.priority = stream.priority
        self.occupancy = OccupancyMonitor(min(levels, stream.max_beds or levels))
        self.stays = StayHistogram(people.max_detention)
        self.queue: deque = deque()
        """The waiting list, oldest first: tuples (arrival day, give-up day, stay, stay bin, fate)."""
        self.counts = Counts()
        self.wait_days = 0.0
        self.wait_days_given_up = 0.0
        self.time_blocked = 0.0
        fates = fate_count(len(stream.origins))
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
