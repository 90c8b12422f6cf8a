"""`ciw`: the reference model in Ciw, a loss network of one node.

One node with `beds` servers and a queue capacity of 0 (whoever arrives to find
every server busy is rejected), exponential interarrival times, and a custom
service distribution: min(lognormal, D) with probability p, else D. Ciw draws
from Python's `random`, seeded by ``ciw.seed``. Blocking comes from the
simulation's rejection records, the occupancy from its service records.
"""

from __future__ import annotations

import random
import time

import numpy as np

from .reference import Outcome, Reference, outcome_from_arrivals

NAME = "ciw"

try:
    import ciw
except ImportError:  # reported by the harness and the test, never skipped silently
    ciw = None


def _stay_distribution(ref: Reference):
    mu, sigma = ref.lognormal
    p, deadline = ref.return_probability, float(ref.max_detention)

    class Stay(ciw.dists.Distribution):
        """min(lognormal, D) with probability p, else D (the deadline)."""

        def __repr__(self):
            return f"Stay(p={p}, lognormal({mu:.4g}, {sigma:.4g}), D={deadline})"

        def sample(self, t=None, ind=None):
            if random.random() < p:
                return min(random.lognormvariate(mu, sigma), deadline)
            return deadline

    return Stay()


def run(ref: Reference, seed: int = 1) -> Outcome:
    if ciw is None:
        raise RuntimeError("ciw is not installed: pip install -c constraints.txt '.[bench]'")
    started = time.perf_counter()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=ref.rate)],
        service_distributions=[_stay_distribution(ref)],
        number_of_servers=[ref.beds],
        queue_capacities=[0],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(ref.end)
    records = simulation.get_all_records(only=["service", "rejection"], include_incomplete=True)
    arrived = np.array([r.arrival_date for r in records], dtype=float)
    rejected = np.array([r.record_type == "rejection" for r in records])
    keep = arrived < ref.end
    # Occupancy: each stay's overlap with the measured window; a stay still going on at T ends at T.
    served = [r for r in records if r.record_type in ("service", "incomplete") and r.arrival_date < ref.end]
    starts = np.array([r.service_start_date for r in served], dtype=float)
    ends = np.array([r.service_end_date if r.service_end_date is not None else ref.end for r in served],
                    dtype=float)
    area = float(np.clip(np.minimum(ends, ref.end) - np.maximum(starts, ref.warmup), 0, None).sum())
    outcome = outcome_from_arrivals(NAME, ref, arrived[keep], rejected[keep], area, int(keep.sum()))
    outcome.seconds = time.perf_counter() - started
    return outcome
