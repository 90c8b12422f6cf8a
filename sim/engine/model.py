"""The engine's entry: `simulate(scenario, seed)` runs one replication and returns its metrics.

It touches no file, clock or global. A scenario of one pool of beds runs `pool.Replication`; one
with centres runs `centres.CentresReplication`, the same replication with its beds split into
centres, so that the one-pool hot path pays nothing for them.
"""

from __future__ import annotations

import numpy as np

from sim.engine.centres import CentresReplication
from sim.engine.pool import REPLICATION_FORMAT, Replication, RepResult
from sim.engine.seeds import generator
from sim.scenario import Scenario

__all__ = ["REPLICATION_FORMAT", "RepResult", "simulate"]


def simulate(scenario: Scenario, seed: np.random.SeedSequence) -> RepResult:
    """Run one replication of `scenario` with the replication seed `seed`.

    Uncertain inputs are drawn first, each from a generator of its own named by
    its path, so that two scenarios sharing a seed share their input draws too.
    """
    inputs = {path: quantity.draw(generator(seed, "inputs", path))
              for path, quantity in scenario.uncertain_inputs().items()}
    scenario = scenario.with_inputs(inputs)
    replication = CentresReplication if scenario.centres is not None else Replication
    result = replication(scenario, seed).run()
    result.inputs = inputs
    return result
