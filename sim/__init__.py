"""capsim: a discrete-event capacity simulator for immigration detention.

The public API: ``load_scenario`` reads and validates a scenario file, ``run``
simulates its replications and returns ``Results``, ``write`` writes the
results directory.
"""

from sim.analysis.results import Results
from sim.errors import ScenarioError
from sim.execution.runner import run
from sim.output.run_folder import write
from sim.scenario import Scenario, load_scenario, parse_scenario

__all__ = ["Results", "Scenario", "ScenarioError", "load_scenario", "parse_scenario", "run", "write"]
