"""How long a warm-up a scenario needs, and the evidence for it.

The centres start empty; the first weeks of a run say more about that start than
about the policy. `warmup_analysis` simulates the scenario from empty over its
whole length, averages the daily occupancy across replications, and applies
MSER-5 (the recommended truncation) and Welch's moving average (the picture a
planner checks it against).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from sim.analysis.stats import mser5, welch_moving_average
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
        return (
            f"{scenario.name}: MSER-5 on the mean daily occupancy of {self.replications} replications "
            f"from empty recommends a warm-up of {self.truncation_day} days "
            f"(the scenario has {scenario.warmup:g}). Check it against Welch's moving average "
            f"(window {self.window} days) in the CSV: the curve should be flat after that day."
        )


def warmup_analysis(scenario: Scenario, *, replications: int | None = None, window: int = 30,
                    jobs: int = 1) -> WarmupRecommendation:
    """Simulate from empty over warm-up + horizon and recommend a warm-up (MSER-5)."""
    from_empty = scenario.model_copy(update={"warmup": 0.0, "horizon": scenario.end_day})
    results = run(from_empty, replications=replications, jobs=jobs)
    mean = results.daily_occupancy().mean(axis=0)
    return WarmupRecommendation(mean, welch_moving_average(mean, window), window, len(results.replications),
                                mser5(mean))
