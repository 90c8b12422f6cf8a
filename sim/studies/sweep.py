"""Sweep parameters: a grid of scenario variants.

Run with the same seeds as every other variant, so that replication r of every
variant sees the same people with the same fates (common random numbers):
differences between variants are measured on paired replications.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ruamel.yaml import YAML

from sim.analysis.results import Results
from sim.errors import ScenarioError
from sim.execution.runner import run_many
from sim.scenario import Scenario, scenario_from_data, set_path

_yaml_scalar = YAML(typ="safe")


def parse_values(text: str) -> list:
    """'0.1,0.2,8 months' -> [0.1, 0.2, '8 months'] (each value read as YAML)."""
    return [_yaml_scalar.load(part.strip()) for part in text.split(",") if part.strip()]


@dataclass
class SweepPoint:
    label: str  # point-000
    settings: dict[str, object]
    scenario: Scenario


def sweep_points(base: Scenario, settings: dict[str, list], zipped: bool = False) -> list[SweepPoint]:
    """Every point of the grid (the product of the values, or taken together with
    `zipped`), each validated before anything runs.

    Raises
    ------
    ScenarioError
        Naming the point and the key of every bad value.
    """
    paths = list(settings)
    if zipped:
        lengths = {len(values) for values in settings.values()}
        if len(lengths) > 1:
            raise ScenarioError([f"--zip needs the same number of values for every --set (got {sorted(lengths)})"])
        combinations = list(zip(*settings.values()))
    else:
        combinations = list(itertools.product(*settings.values()))
    points, problems = [], []
    for i, values in enumerate(combinations):
        label = f"point-{i:03d}"
        chosen = dict(zip(paths, values))
        data = base.normalised()
        data["name"] = f"{base.name}-{label}"
        described = ", ".join(f"{path}={value}" for path, value in chosen.items())
        try:
            for path, value in chosen.items():
                set_path(data, path, value)
            points.append(SweepPoint(label, chosen, scenario_from_data(data, f"{label} ({described})")))
        except KeyError as err:
            problems.append(f"{label} ({described}): {err.args[0]}")
        except ScenarioError as err:
            problems += err.problems
    if problems:
        raise ScenarioError(problems)
    return points


def sweep(points: Sequence[SweepPoint], *, replications: int | None = None, seed: int | None = None,
          jobs: int = 1, scheduler: str | None = None, checkpoint=None) -> list[Results]:
    """Run every point with the same seeds, all replications spread over the workers at once
    (`checkpoint`: finished replications kept and skipped, see runner.run)."""
    return run_many([p.scenario for p in points], replications=replications, seed=seed, jobs=jobs,
                    scheduler=scheduler, checkpoint=checkpoint)
