"""The laws every replication must obey (conservation of people, capacity,
maximum detention), checked on every replication a run gathers.
"""

from __future__ import annotations

from sim.engine.model import RepResult
from sim.errors import InvariantViolation
from sim.scenario import Scenario


def check_invariants(scenario: Scenario, rep: RepResult, replication: int, seed: int) -> None:
    """Conservation, capacity and maximum detention, checked on every replication."""
    problems = [f"{name}: {value}" for name, value in rep.checks.items() if value]
    for stream in scenario.streams:
        longest = rep.streams[stream.name]["los_max_days"]
        if longest > scenario.stream_max_detention(stream) * (1 + 1e-12):
            problems.append(f"{stream.name}: a stay of {longest:g} days exceeds the maximum detention")
    for where, m in [("system", rep.metrics), *rep.streams.items()]:
        inside = m["present_at_start"] + m["admitted"]
        ended = m["returned"] + m["released_court"] + m["released_deadline"] + m["still_detained"]
        if inside != ended:
            problems.append(f"{where}: present at start + admitted ({inside:g}) != ended + still detained ({ended:g})")
        requests = m["waiting_at_start"] + m["detention_requests"]
        settled = m["admitted"] + m["turned_away"] + m["still_waiting"]
        if requests != settled:
            problems.append(f"{where}: waiting at start + requests ({requests:g}) != admitted + turned away "
                            f"+ still waiting ({settled:g})")
        if m["arrivals"] != m["screened_out"] + m["detention_requests"]:
            problems.append(f"{where}: arrivals != screened out + detention requests")
    if problems:
        raise InvariantViolation(
            f"replication {replication} (seed {seed}) broke the model's invariants: " + "; ".join(problems)
            + f". Reproduce it alone with: capsim run SCENARIO --seed {seed} --only-replication {replication}"
        )
