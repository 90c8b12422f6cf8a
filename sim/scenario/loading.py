"""Reading a scenario: YAML with line numbers, `extends:` merged, then validated.

`load_scenario` reads a file, `parse_scenario` text; both resolve `extends:`
(a base scenario that this one overrides) and hand the merged data to
`scenario_from_data`, which reports every problem at once, each at the file
and line it was written at (base or override).
"""

from __future__ import annotations

import io
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from sim.errors import ScenarioError
from sim.scenario.checks import cross_check
from sim.scenario.messages import dotted, line_order, located, schema_problems
from sim.scenario.places import copy_place, mark_source, place
from sim.scenario.schema import Scenario

EXTENSION_PREFIX = "x-"
"""Top-level keys starting with it are ignored: a place for YAML anchors (&name) that streams share."""

_MERGED_BY_NAME = ("streams", "origins", "changes")
"""Lists whose items an extending scenario merges by `name` (or removes with `remove: true`)."""


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and cross-check a scenario file.

    Raises
    ------
    ScenarioError
        With one line per problem: ``file:line:col: key.path: what is wrong``.
    """
    return scenario_from_data(*_load_extended(Path(path), ()))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario text; `source` names it in error messages (`extends`
    is resolved relative to the current folder)."""
    data = _parse_yaml(text, source)
    return scenario_from_data(*_extended(data, source, Path("."), (source,)))


def scenario_from_data(data: dict, source: str = "<scenario>") -> Scenario:
    """Validate and cross-check scenario data (from YAML, or built by sweep/size).

    Every problem is reported at once: the schema's and the cross-checks', the
    latter read from the data as written so that they run even when some
    values are invalid. Errors carry line numbers when `data` came from the
    YAML loader.
    """
    problems = {located(source, data, loc, message) for loc, message in cross_check(data)}
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        problems |= schema_problems(source, data, err)
    if problems:
        raise ScenarioError(sorted(problems, key=line_order))
    return scenario


def scenario_yaml(scenario: Scenario) -> str:
    """The normalised scenario as YAML text (what `scenario.yaml` holds)."""
    yaml = YAML()
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(scenario.normalised(), buffer)
    return buffer.getvalue()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{path}: no such file"]) from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as err:
        raise ScenarioError([f"{path}: cannot read the scenario ({err.__class__.__name__}: {err})"]) from None


def _parse_yaml(text: str, source: str) -> dict:
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as err:
        opened = str(err.context or "").startswith("while scanning a quoted scalar")
        mark = (err.context_mark if opened else None) or err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ScenarioError([f"{where}: not valid YAML: {err.problem or err.context}"]) from None
    except Exception as err:  # ruamel raises a few unmarked errors (e.g. bad characters)
        raise ScenarioError([f"{source}: not valid YAML: {err}"]) from None
    if not isinstance(data, dict):
        raise ScenarioError([f"{source}:1:1: a scenario must be a mapping of keys (version, name, ...)"])
    for key in [k for k in data if isinstance(k, str) and k.startswith(EXTENSION_PREFIX)]:
        del data[key]
    return data


def _load_extended(path: Path, chain: tuple[str, ...]) -> tuple[dict, str]:
    """A scenario file's data with its `extends` chain merged in, and its name for messages."""
    source = str(path)
    return _extended(_parse_yaml(_read(path), source), source, path.parent, chain + (str(path.resolve()),))


def _extended(data: dict, source: str, folder: Path, chain: tuple[str, ...]) -> tuple[dict, str]:
    """Resolve `extends: BASE.yaml` (relative to `folder`): the base's data,
    recursively extended, with `data` merged over it."""
    mark_source(data, source)
    if "extends" not in data:
        return data, source
    base_name = data["extends"]
    if not isinstance(base_name, str) or not base_name.strip():
        raise ScenarioError([located(source, data, ("extends",), "expected the path of a scenario file")])
    base_path = folder / base_name
    if str(base_path.resolve()) in chain:
        loop = " -> ".join([*(Path(c).name for c in chain), base_path.name])
        raise ScenarioError([located(source, data, ("extends",), f"extends itself in a loop ({loop})")])
    if not base_path.is_file():
        raise ScenarioError([located(source, data, ("extends",), f"no such file: {base_path}")])
    base, _ = _load_extended(base_path, chain)
    problems: list[str] = []
    merged = _merge(base, data, (), source, problems)
    del merged["extends"]
    if problems:
        raise ScenarioError(problems)
    return merged, source


def _merge(base, override, loc: tuple, source: str, problems: list[str]):
    """`override` over `base`: mappings key by key, the lists of _MERGED_BY_NAME
    item by name, anything else replaced. Every key keeps the file and line
    it was written at (for error messages)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = CommentedMap()
        for node in (base, override):
            for key, value in node.items():
                if key in merged and node is override:
                    value = _merge(merged[key], value, loc + (key,), source, problems)
                merged[key] = value
                copy_place(merged, key, node, key)
        return merged
    if loc and loc[-1] in _MERGED_BY_NAME and isinstance(base, list) and isinstance(override, list):
        return _merge_named(base, override, loc, source, problems)
    return override


def _merge_named(base: list, override: list, loc: tuple, source: str, problems: list[str]) -> list:
    merged = CommentedSeq()
    places = []
    for i, item in enumerate(base):
        merged.append(item)
        places.append((base, i))
    named = {item.get("name"): k for k, item in enumerate(merged) if isinstance(item, dict) and item.get("name")}
    removed = []
    for i, item in enumerate(override):
        name = item.get("name") if isinstance(item, dict) else None
        if name is not None and name in named:
            k = named[name]
            if item.get("remove") is True:
                removed.append(k)
            else:
                merged[k] = _merge(merged[k], item, loc + (i,), source, problems)
                places[k] = (override, i)
        elif isinstance(item, dict) and item.get("remove") is True:
            problems.append(f"{place(source, override, (i, 'remove'))}: {dotted(loc + (i, 'remove'))}: "
                            f"nothing named {name!r} in the base's {loc[-1]} to remove")
        else:
            merged.append(item)
            places.append((override, i))
    kept = CommentedSeq()
    for k, item in enumerate(merged):
        if k not in removed:
            kept.append(item)
            copy_place(kept, len(kept) - 1, *places[k])
    return kept
