"""capsim: a discrete-event capacity simulator for immigration detention.

The public API, what the command line does as library calls:

- ``load_scenario`` / ``parse_scenario`` read and validate a scenario;
- ``run`` simulates its replications and returns ``Results``; ``write`` writes
  the results folder; ``run_to_folder`` does both as ``capsim run`` does (limits,
  checkpoint, ``resume``);
- ``compare``, ``sweep`` (with ``sweep_points``), ``size`` (with ``Target``) and
  ``project`` (a scenario's variants period by period) answer the planner's
  studies; ``compare_to_folder``, ``sweep_to_folder``, ``size_to_folder`` and
  ``project_to_folder`` also write their folders as the commands do.
"""

from sim.analysis.results import Results
from sim.errors import CapsimError, ScenarioError
from sim.execution.runner import run
from sim.output.run_folder import write
from sim.output.workflows import (
    compare_to_folder,
    project_to_folder,
    run_to_folder,
    size_to_folder,
    sweep_to_folder,
)
from sim.scenario import Scenario, load_scenario, parse_scenario
from sim.studies.compare import compare
from sim.studies.project import project
from sim.studies.size import Target, size
from sim.studies.sweep import sweep, sweep_points

__all__ = ["CapsimError", "Results", "Scenario", "ScenarioError", "Target", "compare", "compare_to_folder",
           "load_scenario", "parse_scenario", "project", "project_to_folder", "run", "run_to_folder", "size",
           "size_to_folder", "sweep", "sweep_points", "sweep_to_folder", "write"]
