"""capsim: a discrete-event capacity simulator for immigration detention.

The public API: ``load_scenario`` reads and validates a scenario file, ``run``
simulates its replications and returns ``Results``, ``write`` writes the
results directory.
"""

from .results import Results, write
from .runner import run
from .scenario import Scenario, ScenarioError, load_scenario, parse_scenario

__all__ = ["Results", "Scenario", "ScenarioError", "load_scenario", "parse_scenario", "run", "write"]
