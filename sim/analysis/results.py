"""A finished run: the scenario, its seed, every replication, and their summary.

`Results` is what `sim.run` returns; `summary` is the content of summary.json
before rounding (every metric over replications, system-wide, per stream and
per origin group, and the analytic check).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata

import numpy as np

from sim import metrics
from sim.analysis.precision import Stopping
from sim.analysis.stats import summarise
from sim.engine.model import RepResult
from sim.scenario import Scenario

SCHEMA_VERSION = 1


def capsim_version() -> str:
    try:
        return metadata.version("capsim")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass
class Results:
    """A finished run: `replications[r]` is replication r's RepResult."""

    scenario: Scenario
    seed: int
    replications: list[RepResult]
    stopping: Stopping | None = None
    """Why a run with a precision target stopped where it did."""

    @property
    def stream_names(self) -> list[str]:
        return [stream.name for stream in self.scenario.streams]

    @cached_property
    def metric_names(self) -> list[str]:
        return sorted(self.replications[0].metrics)

    def most_beds(self, stream: str | None = None, centre: str | None = None) -> float:
        """The most beds the system, a stream or a centre (its most nominal places) may hold at any time."""
        if centre is not None:
            c = self.centre_names.index(centre)
            return max(places[c][0] for _, places in self.scenario.centre_steps())  # nominal >= usable
        beds = max(beds for _, beds in self.scenario.capacity_steps())
        cap = next(s.max_beds for s in self.scenario.streams if s.name == stream) if stream else None
        return min(beds, cap) if cap else beds

    def _summarise(self, metric: str, values: list[float], stream: str | None = None,
                   centre: str | None = None) -> dict[str, float | None]:
        return summarise(values, metrics.bounds(metric, self.most_beds(stream, centre)))

    def values(self, metric: str, stream: str | None = None) -> list[float]:
        """One metric over replications, system-wide or for one stream."""
        if stream is None:
            return [rep.metrics[metric] for rep in self.replications]
        return [rep.streams[stream][metric] for rep in self.replications]

    @cached_property
    def summary(self) -> dict:
        """The content of summary.json (before rounding)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "capsim_version": capsim_version(),
            "scenario": self.scenario.name,
            "scenario_sha256": self.scenario.sha256(),
            "seed": self.seed,
            "replications": len(self.replications),
            **({"precision": dataclasses.asdict(self.stopping)} if self.stopping else {}),
            "warmup_days": self.scenario.warmup,
            "horizon_days": self.scenario.horizon,
            "analytic": self.analytic.as_json(),
            "metrics": {name: self._summarise(name, self.values(name)) for name in self.metric_names},
            "streams": {
                stream: {name: self._summarise(name, self.values(name, stream), stream) for name in self.metric_names}
                | {"origins": {origin: {name: self._summarise(name, values, stream) for name, values in metrics.items()}
                               for origin, metrics in self.origin_values(stream).items()}}
                for stream in self.stream_names
            },
            **({"inputs": {path: summarise(values) for path, values in self.input_values().items()}}
               if self.replications[0].inputs else {}),
            **({"centres": {centre: {name: self._summarise(name, self.centre_values(centre, name), centre=centre)
                                     for name in metrics.CENTRE_METRICS} for centre in self.centre_names},
                "groups": {dimension: {value: {name: summarise(self.group_values(dimension, value, name),
                                                               metrics.bounds(name))
                                               for name in metrics.GROUP_METRICS} for value in values}
                           for dimension, values in self.group_names.items()}}
               if self.scenario.centres is not None else {}),
        }

    @property
    def centre_names(self) -> list[str]:
        """With centres, their names in the scenario's order (else none)."""
        return [centre.name for centre in self.scenario.centres or []]

    @property
    def group_names(self) -> dict[str, list[str]]:
        """With centres, the sexes and the categories people are described by (dimension -> values)."""
        return {dimension: list(values) for dimension, values in self.replications[0].groups.items()}

    def centre_values(self, centre: str, metric: str) -> list[float]:
        """One metric of a centre over replications."""
        return [rep.centres[centre][metric] for rep in self.replications]

    def group_values(self, dimension: str, value: str, metric: str) -> list[float]:
        """One metric of the people of one sex or category (`dimension`, `value`) over replications."""
        return [rep.groups[dimension][value][metric] for rep in self.replications]

    def origin_values(self, stream: str) -> dict[str, dict[str, list[float]]]:
        """Outcomes per origin group of a stream, each over replications."""
        first = self.replications[0].origins[stream]
        return {origin: {name: [rep.origins[stream][origin][name] for rep in self.replications]
                         for name in metrics}
                for origin, metrics in first.items()}

    def input_values(self) -> dict[str, list[float]]:
        """The uncertain inputs' values drawn in each replication, by path."""
        return {path: [rep.inputs[path] for rep in self.replications] for path in self.replications[0].inputs}

    @cached_property
    def analytic(self):
        """theory.AnalyticCheck of the scenario (theory, and scipy with it, is
        imported here, not in every worker process that imports this module)."""
        from sim.analysis.theory import analytic_check

        return analytic_check(self.scenario)

    def daily_occupancy(self) -> np.ndarray:
        """Replications x days array of occupancy at each day's start (day 0 = warm-up start)."""
        return np.vstack([rep.daily_occupancy for rep in self.replications])
