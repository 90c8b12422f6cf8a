"""`simpy-idiomatic`: the reference model as a careful newcomer writes it in SimPy.

The beds are a simpy.Resource; an arrival process starts one process per
detainee, who requests a bed and is turned away if the request is not granted
at once; each random number is drawn when it is needed, by a scalar call on a
numpy Generator; a small monitor integrates the occupancy at each change.
"""

from __future__ import annotations

import time

import numpy as np
import simpy

from .reference import Outcome, Reference, outcome_from_arrivals

NAME = "simpy-idiomatic"


class Monitor:
    """Arrival times, blocked flags and the time-weighted occupancy from the warm-up on."""

    def __init__(self, warmup: float):
        self.warmup = warmup
        self.arrival_times: list[float] = []
        self.blocked: list[bool] = []
        self.level = 0
        self.last = 0.0
        self.area = 0.0

    def change(self, now: float, delta: int) -> None:
        if now > self.warmup:
            self.area += self.level * (now - max(self.last, self.warmup))
        self.last = now
        self.level += delta


def detainee(env: simpy.Environment, beds: simpy.Resource, rng: np.random.Generator,
             ref: Reference, monitor: Monitor, mu: float, sigma: float):
    monitor.arrival_times.append(env.now)
    with beds.request() as request:
        if not request.triggered:  # every bed taken: turned away
            monitor.blocked.append(True)
            return
        monitor.blocked.append(False)
        yield request
        monitor.change(env.now, +1)
        if rng.random() < ref.return_probability:
            stay = min(rng.lognormal(mu, sigma), ref.max_detention)
        else:
            stay = ref.max_detention
        yield env.timeout(stay)
    monitor.change(env.now, -1)


def arrivals(env: simpy.Environment, beds: simpy.Resource, rng: np.random.Generator,
             ref: Reference, monitor: Monitor):
    mean_gap = 1 / ref.rate
    mu, sigma = ref.lognormal
    while True:
        yield env.timeout(rng.exponential(mean_gap))
        env.process(detainee(env, beds, rng, ref, monitor, mu, sigma))


def run(ref: Reference, seed: int = 1) -> Outcome:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    beds = simpy.Resource(env, capacity=ref.beds)
    monitor = Monitor(ref.warmup)
    env.process(arrivals(env, beds, rng, ref, monitor))
    env.run(until=ref.end)
    monitor.change(ref.end, 0)  # close the occupancy integral at T
    outcome = outcome_from_arrivals(NAME, ref, np.array(monitor.arrival_times), np.array(monitor.blocked),
                                    monitor.area, len(monitor.arrival_times))
    outcome.seconds = time.perf_counter() - started
    return outcome
