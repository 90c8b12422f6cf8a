"""`heapq`: the reference model as a minimal pure-Python event loop.

Every interarrival gap and stay is drawn up front with numpy; the loop keeps a
heap of departure times (its length is the occupancy) and a counter of the
people turned away. This is the lower bound for an engine written in Python:
nothing but the events themselves.
"""

from __future__ import annotations

import math
import time
from heapq import heappop, heappush

import numpy as np

from .reference import Outcome, Reference, outcome_from_arrivals

NAME = "heapq"


def arrival_times(ref: Reference, rng: np.random.Generator) -> np.ndarray:
    """Poisson arrival times over [0, T), all drawn at once."""
    n = int(ref.arrivals + 10 * math.sqrt(ref.arrivals) + 100)
    times = np.cumsum(rng.exponential(1 / ref.rate, n))
    while times[-1] < ref.end:  # (practically never)
        times = np.concatenate([times, times[-1] + np.cumsum(rng.exponential(1 / ref.rate, n))])
    return times[: np.searchsorted(times, ref.end)]


def run(ref: Reference, seed: int = 1) -> Outcome:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    times = arrival_times(ref, rng)
    n = len(times)
    stays = ref.stays(rng, n)
    arrivals = times.tolist()
    departures_at = (times + stays).tolist()
    beds = ref.beds
    warmup, end = ref.warmup, ref.end
    blocked = bytearray(n)
    heap: list[float] = []
    busy = 0
    area = 0.0  # integral of the occupancy from 0
    last = 0.0
    area_at_warmup = None
    first_measured = int(np.searchsorted(times, warmup))
    for lo, hi, stop in ((0, first_measured, warmup), (first_measured, n, end)):
        for i in range(lo, hi):
            t = arrivals[i]
            while heap and heap[0] <= t:
                d = heappop(heap)
                area += busy * (d - last)
                last = d
                busy -= 1
            if busy < beds:
                area += busy * (t - last)
                last = t
                busy += 1
                heappush(heap, departures_at[i])
            else:
                blocked[i] = 1
        while heap and heap[0] <= stop:  # the boundary of the window
            d = heappop(heap)
            area += busy * (d - last)
            last = d
            busy -= 1
        area += busy * (stop - last)
        last = stop
        if area_at_warmup is None:
            area_at_warmup = area
    outcome = outcome_from_arrivals(NAME, ref, times, np.frombuffer(blocked, dtype=np.uint8),
                                    area - area_at_warmup, n)
    outcome.seconds = time.perf_counter() - started
    return outcome
