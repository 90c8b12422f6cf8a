"""How long a warm-up a scenario needs, and the evidence for it.

The centres start empty; the first weeks of a run say more about that start than
about the policy. A scenario that starts from the people detained at day 0
needs none: the run starts from the population. `warmup_analysis` simulates the scenario from empty over its
whole length, averages the daily occupancy across replications, and applies
MSER-5 (the recommended truncation) and Welch's moving average (the picture a
planner checks it against).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from sim.analysis.stats import mser5, welch_moving_average
from sim.engine.present import starting_count
from sim.execution.runner import run
from sim.scenario import Scenario


@dataclass
class WarmupRecommendation:
    mean_occupancy: np.ndarray  # per day from day 0, across replications
    smoothed: np.ndarray  # Welch's moving average of it
    window: int
    replications: int
    truncation_day: int  # MSER-5

    def csv(self) -> str:
        buffer = io.StringIO()
        buffer.write("day,occupancy_mean,welch_moving_average\n")
        for day, value in enumerate(self.mean_occupancy):
            smoothed = f"{self.smoothed[day]:.6g}" if day < len(self.smoothed) else ""
            buffer.write(f"{day},{value:.6g},{smoothed}\n")
        return buffer.getvalue()

    def describe(self, scenario: Scenario) -> str:
        present = sum(starting_count(scenario, stream) for stream in scenario.streams)
        if present:
            return (
                f"{scenario.name}: the run starts from the {present:,} people detained at day 0, not from empty: "
                f"no warm-up is needed (the scenario has {scenario.warmup:g}). Check it in the CSV: the mean "
                f"daily occupancy of {self.replications} replications and Welch's moving average (window "
                f"{self.window} days) should show no transient from day 0 (MSER-5 would cut "
                f"{self.truncation_day} days)."
            )
        return (
            f"{scenario.name}: MSER-5 on the mean daily occupancy of {self.replications} replications "
            f"from empty recommends a warm-up of {self.truncation_day} days "
            f"(the scenario has {scenario.warmup:g}). Check it against Welch's moving average "
            f"(window {self.window} days) in the CSV: the curve should be flat after that day."
        )


def warmup_analysis(scenario: Scenario, *, replications: int | None = None, window: int = 30,
                    jobs: int = 1) -> WarmupRecommendation:
    """Simulate from empty (or from the starting population) over warm-up + horizon and recommend a
    warm-up (MSER-5)."""
    from_empty = scenario.model_copy(update={"warmup": 0.0, "horizon": scenario.end_day})
    results = run(from_empty, replications=replications, jobs=jobs)
    mean = results.daily_occupancy().mean(axis=0)
    return WarmupRecommendation(mean, welch_moving_average(mean, window), window, len(results.replications),
                                mser5(mean))
