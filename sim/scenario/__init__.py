"""The scenario layer: what a planner writes, validated once, completely.

`load_scenario` reads a file (with `extends:`), `parse_scenario` text; both
give a `Scenario` or raise `ScenarioError` with the file, line and key of every
problem. Nothing above this layer reads a scenario file.
"""

from sim.scenario.schema import (
                                 Scenario,
                                 Stream,
                                 json_schema,
                                 load_scenario,
                                 parse_scenario,
                                 scenario_from_data,
                                 scenario_yaml,
                                 set_path,
)

__all__ = ["Scenario", "Stream", "json_schema", "load_scenario", "parse_scenario", "scenario_from_data",
           "scenario_yaml", "set_path"]
