"""The scenario layer: what a planner writes, validated once, completely.

`load_scenario` reads a file (with `extends:`), `parse_scenario` text; both
give a `Scenario` or raise `ScenarioError` with the file, line and key of every
problem. Nothing above this layer reads a scenario file.

Modules, each importing only those listed before it: `durations` (units),
`distributions` (time distributions), `uncertain` (uncertain rates and
probabilities), `paths` (dotted key paths), `rates` (seasons and trend of a
rate, as more pieces of it), `keys` (what every model is built from),
`streams` (a stream and its origin groups), `schema` (the scenario and its
JSON Schema), `places` (where each key was written), `messages` (errors in
the planner's words), `checks` (rules that span several keys), `yaml_reading`
(a file read into YAML data within bounds), `loading` (`extends:`, validation;
a sweep's grid file).
"""

from sim.scenario.loading import load_grid, load_scenario, parse_scenario, scenario_from_data, scenario_yaml
from sim.scenario.paths import set_path
from sim.scenario.schema import Scenario, json_schema
from sim.scenario.streams import Stream

__all__ = ["Scenario", "Stream", "json_schema", "load_grid", "load_scenario", "parse_scenario", "scenario_from_data",
           "scenario_yaml", "set_path"]
