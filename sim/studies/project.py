"""Project a scenario's variants, period by period: `capsim project`.

What a projection publishes (a central, a low and a high variant, month by month, against the beds):
every variant of the scenario (`variants`; the scenario alone when it declares none) run with the same
seeds, so that replication r of each variant sees the same people with the same fates (common random
numbers), each with its results by period.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.analysis.results import Results
from sim.execution.runner import run_many
from sim.scenario import Scenario

DEFAULT_PERIODS = "month"
"""The periods of a projection whose scenario names none."""


@dataclass
class Projection:
    scenario: Scenario
    variants: dict[str, Results]
    """Each variant's results (with periods), by the variant's name, in the scenario's order."""


def variant_scenarios(scenario: Scenario, periods: str | None = None) -> dict[str, Scenario]:
    """The scenario of each variant by name (the scenario itself, named 'central', when it has none), with
    results by `periods` (else the scenario's own, else DEFAULT_PERIODS)."""
    kind = periods or scenario.periods or DEFAULT_PERIODS
    found = ({name: scenario.variant(name) for name in scenario.variants} if scenario.variants
             else {"central": scenario.model_copy(update={"name": f"{scenario.name}-central"})})
    return {name: variant.model_copy(update={"periods": kind}) for name, variant in found.items()}


def project(scenario: Scenario, *, periods: str | None = None, replications: int | None = None,
            seed: int | None = None, jobs: int = 1, scheduler: str | None = None) -> Projection:
    """Run every variant of `scenario` on common random numbers, with results by period."""
    variants = variant_scenarios(scenario, periods)
    runs = run_many(list(variants.values()), replications=replications or scenario.replications,
                    seed=scenario.seed if seed is None else seed, jobs=jobs, scheduler=scheduler)
    return Projection(scenario, dict(zip(variants, runs)))
