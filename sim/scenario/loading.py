"""Reading a scenario: YAML with line numbers, `extends:` merged, then validated.

`load_scenario` reads a file, `parse_scenario` text (both through the bounded
reader, `yaml_reading`); both resolve `extends:` (a base scenario that this one
overrides, at most `MAX_CHAIN` in a row) and hand the merged data to
`scenario_from_data`, which reports every problem at once, each at the file
and line it was written at (base or override). An item of a merged list whose
name the base lacks is a new item only if it is complete: else it is a
misspelt name, reported with a did-you-mean.
"""

from __future__ import annotations

import io
from pathlib import Path

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from sim.errors import ScenarioError
from sim.scenario.centres import Centre, CentreChange
from sim.scenario.checks import cross_check
from sim.scenario.messages import did_you_mean, dotted, echo, line_order, located, schema_problems, shorten
from sim.scenario.paths import changes
from sim.scenario.places import copy_place, mark_source, place
from sim.scenario.present import read_detained_file
from sim.scenario.schema import CapacityChange, Scenario
from sim.scenario.streams import Origin, Stream
from sim.scenario.yaml_reading import Unreadable, parse_yaml, read_text

MAX_CHAIN = 20
"""The most scenario files in a row of `extends:` (the shipped library needs 2)."""

_MERGED_BY_NAME: dict[str, tuple[str, type[BaseModel]]] = {
    "streams": ("stream", Stream), "origins": ("origin", Origin), "changes": ("capacity change", CapacityChange),
    "centres": ("centre", Centre), "centres.changes": ("centre change", CentreChange)}
"""Lists whose items an extending scenario merges by `name` (or removes with `remove: true`):
what one item is called, and the model that says which keys a new item needs."""


GRID_EXPECTED = "a grid must be a mapping of PATH: [values, ...]"


def load_grid(path: str | Path) -> dict[str, list]:
    """A sweep's grid file (`capsim sweep --grid`), read within the same bounds as a scenario file.

    Raises
    ------
    ScenarioError
        When it cannot be read, is not YAML, or is not a mapping of dotted paths to lists of values.
    """
    try:
        text = read_text(Path(path), str(path))
    except Unreadable as err:
        raise ScenarioError([f"{shorten(str(path), 200)}: {err}"]) from None
    data = parse_yaml(text, str(path), GRID_EXPECTED)
    problems = [located(str(path), data, (key,), "expected a list of values, such as [0.1, 0.3, 0.5]")
                for key, values in data.items() if not isinstance(values, list)]
    if problems:
        raise ScenarioError(problems)
    return {str(key): list(values) for key, values in data.items()}


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and cross-check a scenario file.

    Raises
    ------
    ScenarioError
        With one line per problem: ``file:line:col: key.path: what is wrong``.
    """
    try:
        text = read_text(Path(path), str(path))
    except Unreadable as err:
        raise ScenarioError([f"{shorten(str(path), 200)}: {err}"]) from None
    return _with_parent(*_load_extended(Path(path), text, ()))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario text; `source` names it in error messages (`extends`
    is resolved relative to the current folder)."""
    data = parse_yaml(text, source)
    return _with_parent(*_extended(data, source, Path("."), (source,)))


def _with_parent(data: dict, source: str, base: tuple[str, dict] | None) -> Scenario:
    """The validated scenario, with a record of the scenario it extends (`Scenario.extends`): the file
    as written, its name and description when it is a whole scenario itself, and what this one changes.
    A `detained_file` is read here, relative to the file that names it."""
    scenario = scenario_from_data(read_detained_file(data, source), source)
    if base is not None:
        written, base_data = base
        try:
            parent = scenario_from_data(base_data, written)
        except ScenarioError:  # a base that is only a part of a scenario: its file is all there is to say
            scenario.record_parent({"file": written})
        else:
            scenario.record_parent({"file": written, "name": parent.name, "description": parent.description,
                                    "changes": changes(parent.normalised(), scenario.normalised())})
    return scenario


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
        problems |= schema_problems(source, data, err) or {f"{source}: {err}"}  # never a problem lost
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


def _load_extended(path: Path, text: str, chain: tuple[str, ...]) -> tuple[dict, str, tuple[str, dict] | None]:
    """A scenario file's data (its `text`) with its `extends` chain merged in, its name for messages, and
    the base it extends (as written, and its data)."""
    source = str(path)
    return _extended(parse_yaml(text, source), source, path.parent, chain + (_resolved(path),))


def _resolved(path: Path) -> str:
    """The path's real location, to recognise a loop of `extends:` (a path that cannot be
    resolved is kept as written: reading it says what is wrong)."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError, ValueError):  # a loop of links, a NUL character, a name too long
        return str(path)


def _extended(data: dict, source: str, folder: Path, chain: tuple[str, ...]
              ) -> tuple[dict, str, tuple[str, dict] | None]:
    """Resolve `extends: BASE.yaml` (relative to `folder`): the base's data,
    recursively extended, with `data` merged over it; the base as written and its data."""
    mark_source(data, source)
    if "extends" not in data:
        return data, source, None
    base_name = data["extends"]
    if not isinstance(base_name, str) or not base_name.strip():
        raise ScenarioError([located(source, data, ("extends",), "expected the path of a scenario file")])
    base_path = folder / base_name
    if _resolved(base_path) in chain:
        loop = " -> ".join([*(Path(c).name for c in chain), base_path.name])
        raise ScenarioError([located(source, data, ("extends",), f"extends itself in a loop ({shorten(loop, 200)})")])
    if len(chain) >= MAX_CHAIN:
        names = [Path(c).name for c in chain]
        raise ScenarioError([located(source, data, ("extends",), (
            f"{echo(base_name)} would make a chain of more than {MAX_CHAIN} scenarios, each extending the next "
            f"({' -> '.join(names[:2])} -> ... -> {' -> '.join(names[-2:])} -> {shorten(base_path.name)}); "
            f"capsim follows at most {MAX_CHAIN}"))])
    try:
        text = read_text(base_path, str(base_path))
    except Unreadable as err:
        raise ScenarioError([located(source, data, ("extends",), f"{err}: {shorten(str(base_path), 200)}")]) \
            from None
    base, _, _ = _load_extended(base_path, text, chain)
    problems: list[str] = []
    merged = _merge(base, data, (), source, problems)
    del merged["extends"]
    if problems:
        raise ScenarioError(problems)
    return merged, source, (base_name, base)


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
    if _merged_list(loc) and isinstance(base, list) and isinstance(override, list):
        return _merge_named(base, override, loc, source, problems)
    return override


def _merge_named(base: list, override: list, loc: tuple, source: str, problems: list[str]) -> list:
    merged = CommentedSeq()
    places = []
    for i, item in enumerate(base):
        merged.append(item)
        places.append((base, i))
    named = {name: k for k, item in enumerate(merged) if (name := _name(item))}
    removed = []
    for i, item in enumerate(override):
        name = _name(item)
        if name is not None and name in named:
            k = named[name]
            if item.get("remove") is True:
                removed.append(k)
            else:
                merged[k] = _merge(merged[k], item, loc + (i,), source, problems)
                places[k] = (override, i)
        elif isinstance(item, dict) and item.get("remove") is True:
            problems.append(f"{place(source, override, (i, 'remove'))}: {dotted(loc + (i, 'remove'))}: "
                            f"nothing named {echo(name)} in the base's {loc[-1]} to remove{did_you_mean(name, named)}")
        elif name is not None and (lacking := _lacking(_merged_list(loc), item)):
            word, _ = _MERGED_BY_NAME[_merged_list(loc)]
            known = did_you_mean(name, named) or (f" (it has {shorten(', '.join(named), 200)})" if named else "")
            problems.append(f"{place(source, override, (i, 'name'))}: {dotted(loc + (i, 'name'))}: no {word} "
                            f"named {echo(name)} in the base{known}; a new {word} needs {' and '.join(lacking)} too")
        else:
            merged.append(item)
            places.append((override, i))
    kept = CommentedSeq()
    for k, item in enumerate(merged):
        if k not in removed:
            kept.append(item)
            copy_place(kept, len(kept) - 1, *places[k])
    return kept


def _merged_list(loc: tuple) -> str:
    """Which list of _MERGED_BY_NAME is at `loc` ('' for none): a centre's changes are not the capacity's."""
    if len(loc) >= 3 and loc[-1] == "changes" and loc[-3] == "centres":
        return "centres.changes"
    return str(loc[-1]) if loc and loc[-1] in _MERGED_BY_NAME else ""


def _lacking(list_name: str, item: dict) -> list[str]:
    """The keys a new item of the list needs and `item` lacks."""
    _, model = _MERGED_BY_NAME[list_name]
    return [field.alias or key for key, field in model.model_fields.items()
            if field.is_required() and (field.alias or key) not in item]


def _name(item) -> str | None:
    """The name an item of a merged list is matched by (a name that is not text matches nothing)."""
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) and name else None


