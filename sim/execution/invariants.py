"""The laws every replication must obey (conservation of people, capacity,
maximum detention, numbers that are numbers), checked on every replication a
run gathers.

They are the second line of defence behind validation: a parameter that
slips through and gives NaN stays leaves people in their beds for ever (NaN
compares false with every time, so no departure comes) and would write a
results folder of full centres that admit nobody; the maximum detention law
below stops it with the seed to reproduce it.
"""

from __future__ import annotations

import math

from sim.engine.model import RepResult
from sim.errors import InvariantViolation
from sim.scenario import Scenario
from sim.scenario.legal import longest_stay

UNDEFINED_WITHOUT: dict[str, tuple[str, ...]] = {
    "los_mean_days": ("stays_ended",), "los_p50_days": ("stays_ended",), "los_p90_days": ("stays_ended",),
    "los_max_days": ("stays_ended",), "return_rate": ("stays_ended",), "mean_wait_days": ("admitted",),
    "blocking_probability": ("waiting_at_start", "detention_requests"),
    "mean_wait_listed_days": ("admitted_after_waiting", "gave_up"),
}
"""The metrics that are NaN when nothing was counted to divide by (these counts all zero); every
other value a replication reports is a finite number."""


def _not_numbers(m: dict[str, float]) -> list[str]:
    """The metrics of `m` that are infinite, or NaN although what they divide by was counted."""
    broken = []
    for name, value in m.items():
        divisors = UNDEFINED_WITHOUT.get(name)
        if math.isinf(value) or math.isnan(value) and (divisors is None or any(m[count] for count in divisors)):
            broken.append(name)
    return broken


def _centre_books(rep: RepResult) -> list[str]:
    """With centres: the centres' admissions are the system's, and each sex's and each category's requests and
    admissions add up to the system's."""
    if not rep.centres:
        return []
    problems = []
    totals = [("centres", "admitted", sum(m["admitted"] for m in rep.centres.values()))]
    for dimension, groups in rep.groups.items():
        totals += [(dimension, name, sum(m[name] for m in groups.values()))
                   for name in ("admitted", "detention_requests")]
    for where, name, total in totals:
        if total != rep.metrics[name]:
            problems.append(f"{where}: {name} add up to {total:g}, the system's is {rep.metrics[name]:g}")
    return problems


def check_invariants(scenario: Scenario, rep: RepResult, replication: int, seed: int) -> None:
    """Conservation, capacity, maximum detention and finite numbers, checked on every replication."""
    problems = [f"{name}: {value}" for name, value in rep.checks.items() if value]
    for stream in scenario.streams:
        m = rep.streams[stream.name]
        longest = m["los_max_days"]
        # dated changes may raise it; with refusals to board the clock starts again
        limit = max(longest_stay(phase.stream, phase.max_detention) for phase in scenario.phases(stream))
        if longest > limit * (1 + 1e-12):
            problems.append(f"{stream.name}: a stay of {longest:g} days exceeds the maximum detention")
        if scenario.horizon > limit * (1 + 1e-9) and m["still_detained"] > m["admitted"]:
            problems.append(f"{stream.name}: {m['still_detained']:g} still detained at the end but only "
                            f"{m['admitted']:g} admitted in the window, which is longer than the maximum detention "
                            f"({limit:g} days): stays outlast it (are some stays not numbers?)")
    for where, m in [("system", rep.metrics), *rep.streams.items()]:
        broken = _not_numbers(m)
        if broken:
            problems.append(f"{where}: not a finite number: " + ", ".join(f"{name} = {m[name]}" for name in broken))
        inside = m["present_at_start"] + m["admitted"]
        ended = (m["returned"] + m["released_court"] + m["released_deadline"] + m.get("released_for_room", 0)
                 + m["still_detained"])
        if inside != ended:
            problems.append(f"{where}: present at start + admitted ({inside:g}) != ended + released for room + "
                            f"still detained ({ended:g})")
        if m.get("released_not_extended", 0) + m.get("released_after_refusals", 0) > m["released_deadline"]:
            problems.append(f"{where}: more stays ended by a refused extension or refusal than by the law")
        requests = m["waiting_at_start"] + m["detention_requests"]
        settled = m["admitted"] + m["turned_away"] + m["still_waiting"]
        if requests != settled:
            problems.append(f"{where}: waiting at start + requests ({requests:g}) != admitted + turned away "
                            f"+ still waiting ({settled:g})")
        if m["arrivals"] != m["screened_out"] + m["detention_requests"]:
            problems.append(f"{where}: arrivals != screened out + detention requests")
    problems += _centre_books(rep)
    if problems:
        raise InvariantViolation(
            f"replication {replication} (seed {seed}) broke the model's invariants: " + "; ".join(problems)
            + f". Reproduce it alone with: capsim run SCENARIO --seed {seed} --only-replication {replication}"
        )
