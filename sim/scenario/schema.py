"""The scenario file: its schema, its loading, and errors that point at a line.

A scenario is validated here once, completely, before the model sees it: the
pydantic models below reject unknown keys and out-of-range values, and the
cross-checks catch what no single key can (shares that do not sum to 1, dates
without a start, reserved beds above capacity). Every problem in a file is
reported with its file, line, column and key path.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import io
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from sim.errors import ScenarioError
from sim.scenario.distributions import FAMILIES, UNCERTAIN_FORMS, Distribution, Uncertain
from sim.scenario.durations import Days, NonNegativeDays, PositiveDays, to_days

SCHEMA_VERSION = 1
EIGHT_MONTHS = 8 * 365.25 / 12

At = Union[dt.date, Days]
"""A point in time: days since day 0, or a calendar date when `start` is set."""

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
"""Names become folder and column names: letters, digits, '_', '.', '-' (no path can escape)."""
PartName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=80)]
"""Names of streams, origins and capacity changes: no '.' either, since they are parts of
dotted paths (streams.<stream>.origins.<origin>.return_probability, <stream>.<metric>)."""


def _within(low: float, high: float, what: str):
    def check(value):
        if not isinstance(value, float):
            least, most = value.support()
            if least < low or most > high:
                raise ValueError(f"an uncertain {what} must stay within [{low:g}, {high:g}] "
                                 f"(this one ranges over [{least:g}, {most:g}])")
        return value
    return AfterValidator(check)


Probability = Annotated[Union[Annotated[float, Field(ge=0, le=1)], Uncertain], _within(0, 1, "probability")]
"""A probability, or an uncertain one drawn once per replication."""
Rate = Annotated[Union[Annotated[float, Field(gt=0)], Uncertain], _within(0, math.inf, "rate")]
"""Arrivals per day, or an uncertain rate (a schedule may have pieces at 0)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False, defer_build=True)


class CapacityChange(_Strict):
    name: Optional[PartName] = Field(default=None, description="a label (e.g. the centre that opens); "
                                 "a scenario that extends this one can override or remove it by name")
    at: At
    beds: int = Field(ge=0)


class Capacity(_Strict):
    beds: int = Field(ge=0, description="beds in force at day 0")
    changes: list[CapacityChange] = Field(default_factory=list)


class RateChange(_Strict):
    from_: At = Field(alias="from")
    rate: float = Field(ge=0, description="arrivals per day from this time on")


class Arrivals(_Strict):
    rate: Optional[Rate] = Field(default=None, description="arrivals per day (Poisson)")
    schedule: Optional[list[RateChange]] = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.rate is None) == (self.schedule is None):
            raise ValueError("give exactly one of rate or schedule")
        return self


class CourtRelease(_Strict):
    probability: Probability
    time: Distribution


class Origin(_Strict):
    name: PartName
    share: float = Field(gt=0, le=1)
    return_probability: Probability
    time_to_return: Distribution


class Stream(_Strict):
    name: PartName
    arrivals: Arrivals
    screened_out: Probability = 0.0
    when_full: Literal["turn_away", "wait"] = "turn_away"
    max_wait: Optional[Union[PositiveDays, Distribution]] = None
    priority: int = 0
    reserved_beds: int = Field(default=0, ge=0)
    max_beds: Optional[int] = Field(default=None, ge=1)
    max_detention: Optional[PositiveDays] = None
    court_release: Optional[CourtRelease] = None
    origins: list[Origin] = Field(min_length=1)

    @field_validator("origins")
    @classmethod
    def _shares_sum_to_one(cls, origins):
        total = sum(origin.share for origin in origins)
        if abs(total - 1) > 1e-9:
            raise ValueError(f"origin shares must sum to 1 (got {total:.12g})")
        return origins


class Scenario(_Strict):
    version: Literal[1]
    name: Name
    description: str = ""
    start: Optional[dt.date] = None
    horizon: PositiveDays
    warmup: NonNegativeDays = 0.0
    replications: int = Field(default=30, ge=1)
    seed: int = Field(default=0, ge=0)
    max_detention: PositiveDays = EIGHT_MONTHS
    cost_per_bed_day: Optional[float] = Field(default=None, ge=0)
    capacity: Capacity
    streams: list[Stream] = Field(min_length=1)

    @property
    def end_day(self) -> float:
        """The last simulated day: warm-up plus measured window."""
        return self.warmup + self.horizon

    def day(self, at: dt.date | float) -> float:
        """Days since day 0 for a duration or a calendar date."""
        if isinstance(at, dt.date):
            return float((at - self.start).days)
        return float(at)

    def stream_max_detention(self, stream: Stream) -> float:
        return stream.max_detention if stream.max_detention is not None else self.max_detention

    def capacity_steps(self) -> list[tuple[float, int]]:
        """(day, beds) from day 0 on, in time order."""
        return [(0.0, self.capacity.beds)] + [(self.day(c.at), c.beds) for c in self.capacity.changes]

    def rate_steps(self, stream: Stream) -> list[tuple[float, float]]:
        """(day, rate) pieces of a stream's arrival rate, in time order."""
        if stream.arrivals.rate is not None:
            return [(0.0, stream.arrivals.rate)]
        return [(self.day(piece.from_), piece.rate) for piece in stream.arrivals.schedule]

    def uncertain_inputs(self) -> dict[str, Any]:
        """The uncertain quantities, by their path (as `capsim sweep --set` writes it)."""
        found = {}
        for stream in self.streams:
            where = f"streams.{stream.name}"
            candidates = {f"{where}.arrivals.rate": stream.arrivals.rate, f"{where}.screened_out": stream.screened_out}
            if stream.court_release:
                candidates[f"{where}.court_release.probability"] = stream.court_release.probability
            for origin in stream.origins:
                candidates[f"{where}.origins.{origin.name}.return_probability"] = origin.return_probability
            found |= {path: value for path, value in candidates.items()
                      if value is not None and not isinstance(value, float)}
        return found

    def with_inputs(self, values: dict[str, float]) -> "Scenario":
        """The scenario with the uncertain quantities at `values` (path -> number)."""
        if not values:
            return self
        data = self.normalised()
        for path, value in values.items():
            set_path(data, path, value)
        return Scenario.model_validate(data)

    def at_means(self) -> "Scenario":
        """Every uncertain quantity at its mean (`--fix-inputs`)."""
        return self.with_inputs({path: spec.mean() for path, spec in self.uncertain_inputs().items()})

    def normalised(self) -> dict[str, Any]:
        """The scenario with every default filled in, as plain data (days as numbers)."""
        return self.model_dump(mode="json", by_alias=True)

    def sha256(self) -> str:
        """Hash of the model the scenario describes: seed and replications excluded,
        so that a new seed is not mistaken for a new scenario."""
        data = self.normalised()
        for run_control in ("seed", "replications"):
            data.pop(run_control)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()




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


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{path}: no such file"]) from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as err:
        raise ScenarioError([f"{path}: cannot read the scenario ({err.__class__.__name__}: {err})"]) from None


def _load_extended(path: Path, chain: tuple[str, ...]) -> tuple[dict, str]:
    """A scenario file's data with its `extends` chain merged in, and its name for messages."""
    source = str(path)
    return _extended(_parse_yaml(_read(path), source), source, path.parent, chain + (str(path.resolve()),))


def _extended(data: dict, source: str, folder: Path, chain: tuple[str, ...]) -> tuple[dict, str]:
    """Resolve `extends: BASE.yaml` (relative to `folder`): the base's data,
    recursively extended, with `data` merged over it."""
    _mark_source(data, source)
    if "extends" not in data:
        return data, source
    base_name = data["extends"]
    if not isinstance(base_name, str) or not base_name.strip():
        raise ScenarioError([_at(source, data, ("extends",), "expected the path of a scenario file")])
    base_path = folder / base_name
    if str(base_path.resolve()) in chain:
        loop = " -> ".join([*(Path(c).name for c in chain), base_path.name])
        raise ScenarioError([_at(source, data, ("extends",), f"extends itself in a loop ({loop})")])
    if not base_path.is_file():
        raise ScenarioError([_at(source, data, ("extends",), f"no such file: {base_path}")])
    base, _ = _load_extended(base_path, chain)
    problems: list[str] = []
    merged = _merge(base, data, (), source, problems)
    del merged["extends"]
    if problems:
        raise ScenarioError(problems)
    return merged, source


EXTENSION_PREFIX = "x-"
"""Top-level keys starting with it are ignored: a place for YAML anchors (&name) that streams share."""

_MERGED_BY_NAME = ("streams", "origins", "changes")
"""Lists whose items an extending scenario merges by `name` (or removes with `remove: true`)."""


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
                _copy_place(merged, key, node, key)
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
            problems.append(f"{_place(source, override, (i, 'remove'))}: {_dotted(loc + (i, 'remove'))}: "
                            f"nothing named {name!r} in the base's {loc[-1]} to remove")
        else:
            merged.append(item)
            places.append((override, i))
    kept = CommentedSeq()
    for k, item in enumerate(merged):
        if k not in removed:
            kept.append(item)
            _copy_place(kept, len(kept) - 1, *places[k])
    return kept


def _mark_source(node, source: str) -> None:
    """Remember the file every mapping and list of `node` was read from."""
    if isinstance(node, (dict, list)):
        node.capsim_source = source
        for child in (node.values() if isinstance(node, dict) else node):
            _mark_source(child, source)


def _copy_place(target, key, node, node_key) -> None:
    """Give target[key] the file, line and column of node[node_key]."""
    if not hasattr(target, "capsim_places"):
        target.capsim_places = {}
    target.capsim_places[key] = getattr(node, "capsim_places", {}).get(
        node_key, (getattr(node, "capsim_source", None), _line_col(node, node_key)))


def _line_col(node, key) -> tuple[int, int] | None:
    lc = getattr(node, "lc", None)
    try:
        return tuple(lc.item(key) if isinstance(node, list) else lc.key(key))
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


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


def scenario_from_data(data: dict, source: str = "<scenario>") -> Scenario:
    """Validate and cross-check scenario data (from YAML, or built by sweep/size).

    Every problem is reported at once: the schema's and the cross-checks', the
    latter read from the data as written so that they run even when some
    values are invalid. Errors carry line numbers when `data` came from the
    YAML loader.
    """
    problems = {_at(source, data, loc, message) for loc, message in _cross_check(data)}
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        problems |= {_describe(source, data, e) for e in _without_union_noise(err.errors())}
    if problems:
        raise ScenarioError(sorted(problems, key=_line_order))
    return scenario


def set_path(data: dict, path: str, value) -> None:
    """Set a dotted PATH in scenario data; streams and origins are addressed by name
    (``streams.brussels_south.origins.maghreb.return_probability``).

    Raises
    ------
    KeyError
        With a message naming what does not exist.
    """
    parts = path.split(".")
    node = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            matches = [item for item in node if isinstance(item, dict) and item.get("name") == part]
            if not matches:
                names = ", ".join(str(item.get("name")) for item in node if isinstance(item, dict))
                raise KeyError(f"{'.'.join(parts[:depth])}: no item named {part!r} (there are: {names})")
            node = matches[0]
        elif isinstance(node, dict):
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            raise KeyError(f"{'.'.join(parts[:depth])} is a value, not a mapping")
    if isinstance(node, list):
        raise KeyError(f"{path}: address an item of a list by its name")
    node[parts[-1]] = value


def scenario_yaml(scenario: Scenario) -> str:
    """The normalised scenario as YAML text (what `scenario.yaml` holds)."""
    yaml = YAML()
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(scenario.normalised(), buffer)
    return buffer.getvalue()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario file."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "capsim scenario (schema version 1)"
    return schema


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _items(value) -> list:
    return list(value) if isinstance(value, list) else []


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _booleans(node, loc: tuple):
    """No key of a scenario takes true or false, and pydantic would read them as 1 and 0."""
    if isinstance(node, bool):
        yield loc, f"expected a number or text, not {str(node).lower()}"
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _booleans(value, loc + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _booleans(value, loc + (i,))


def _cross_check(data: dict) -> list[tuple[tuple, str]]:
    """Rules that span several keys, read from the data as written (values the
    schema rejects are skipped here: the schema reports them); each problem
    as (location, message)."""
    problems: list[tuple[tuple, str]] = list(_booleans(data, ()))
    start = _as_date(data.get("start"))

    def day_of(loc: tuple, value) -> float | None:
        date = _as_date(value)
        if date is not None:
            if start is None:
                problems.append((loc, f"a date ({date}) needs `start` to be set"))
                return None
            day = float((date - start).days)
        else:
            try:
                day = to_days(value)
            except ValueError:
                return None
            if not isinstance(day, float):
                return None
        if day < 0:
            problems.append((loc, f"must not be before day 0 (got {day:g} days)"))
        return day

    capacity = _mapping(data.get("capacity"))
    changes = [_mapping(change) for change in _items(capacity.get("changes"))]
    previous = None
    for i, change in enumerate(changes):
        day = day_of(("capacity", "changes", i, "at"), change.get("at"))
        if day is not None and previous is not None and day <= previous:
            problems.append((("capacity", "changes", i, "at"), "capacity changes must be in time order"))
        previous = day if day is not None else previous
    capacities = [c for c in [_count(capacity.get("beds"))] + [_count(c.get("beds")) for c in changes]
                  if c is not None]

    streams = [_mapping(stream) for stream in _items(data.get("streams"))]
    reserved_total = sum(_count(stream.get("reserved_beds")) or 0 for stream in streams)
    seen: set = set()
    for s, stream in enumerate(streams):
        loc = ("streams", s)
        name = stream.get("name")
        if isinstance(name, str) and name in seen:
            problems.append((loc + ("name",), f"stream names must be unique ({name!r} is repeated)"))
        if isinstance(name, str):
            seen.add(name)
        origin_names = [n for n in (_mapping(o).get("name") for o in _items(stream.get("origins")))
                        if isinstance(n, str)]
        if len(set(origin_names)) < len(origin_names):
            problems.append((loc + ("origins",), "origin names must be unique within a stream"))
        last = None
        for p, piece in enumerate(_items(_mapping(stream.get("arrivals")).get("schedule"))):
            where = loc + ("arrivals", "schedule", p, "from")
            day = day_of(where, _mapping(piece).get("from"))
            if day is None:
                continue
            if p == 0 and day != 0:
                problems.append((where, f"the schedule must start at day 0 (got {day:g})"))
            if last is not None and day <= last:
                problems.append((where, "schedule times must be in increasing order"))
            last = day
        if stream.get("max_wait") is not None and stream.get("when_full", "turn_away") != "wait":
            problems.append((loc + ("max_wait",), "max_wait only applies with when_full: wait"))
        reserved, cap = _count(stream.get("reserved_beds")), _count(stream.get("max_beds"))
        if reserved and cap is not None and reserved > cap:
            problems.append((loc + ("reserved_beds",),
                             f"reserved beds ({reserved}) exceed the stream's max_beds ({cap})"))
        if reserved and capacities and reserved_total > min(capacities):
            problems.append((loc + ("reserved_beds",),
                             f"reserved beds of all streams ({reserved_total}) exceed the capacity "
                             f"({min(capacities)} beds)"))
    try:
        length = to_days(data.get("warmup", 0)) + to_days(data.get("horizon"))
        if isinstance(length, float) and length > 200 * 365.25:
            problems.append((("horizon",), "warm-up plus horizon must stay below 200 years"))
    except (TypeError, ValueError):
        pass
    return problems


# --- errors that point at the line ------------------------------------------------

_PYDANTIC_PHRASES = [
    (re.compile(r"^Input should be "), "must be "),
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"^Field required$"), "is required"),
    (re.compile(r"^Extra inputs are not permitted$"), "unknown key"),
    (re.compile(r"^List should have at least (\d+) items? after validation, not (\d+)$"),
     r"must list at least \1 (got \2)"),
]


def _describe(source: str, data, error: dict) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        message = f"unknown distribution {tag!r} (expected one of: {', '.join(FAMILIES)})"
    elif kind == "union_tag_not_found":
        message = f"a distribution needs `dist` (one of: {', '.join(FAMILIES)})"
    else:
        message = error["msg"]
        for pattern, replacement in _PYDANTIC_PHRASES:
            message = pattern.sub(replacement, message)
        if kind == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
            allowed = [key for key in _allowed_keys(loc) if key != loc[-1]]
            guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if guess:
                message += f" (did you mean {guess[0]!r}?)"
            elif allowed:
                message += f" (expected one of: {', '.join(allowed)})"
        value = _value_at(data, _data_path(data, loc), error.get("input"))
        if kind not in ("missing", "extra_forbidden") and isinstance(value, (int, float, str, bool)) \
                and repr(value) not in message:
            message += f" (got {value!r})" if isinstance(value, str) else f" (got {value})"
    return _at(source, data, _data_path(data, loc), message)


def _value_at(data, path: tuple, fallback):
    """The value as written in the file (pydantic reports it after unit conversion)."""
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return fallback
    return node


_SCALAR_BRANCH_ERRORS = ("model_attributes_type", "dict_type", "uncertain_form", "date_type", "date_from_datetime_parsing",
                         "date_from_datetime_inexact", "date_parsing")
_NUMBER_ERRORS = ("float_type", "float_parsing", "value_error")


def _without_union_noise(errors: list[dict]) -> list[dict]:
    """Where a value may be a number or a mapping (max_wait) or a date (at), each
    union branch reports its own failure: keep the branch the user meant, a
    mapping for a mapping and a number or a duration for anything else."""
    def meant(error: dict) -> bool:
        branch_errors = [e for e in errors if e["loc"][:-1] == error["loc"][:-1]]
        if error["type"] in _NUMBER_ERRORS and isinstance(error.get("input"), dict) and any(
                e is not error and e["loc"][:len(error["loc"]) - 1] == error["loc"][:-1] for e in errors):
            return False  # a mapping meant as an uncertain quantity: its own errors say what is wrong
        if len(branch_errors) < 2:
            return True
        if isinstance(error.get("input"), dict):
            return error["type"] not in _NUMBER_ERRORS
        return error["type"] not in _SCALAR_BRANCH_ERRORS
    return [e for e in errors if meant(e)]


def _allowed_keys(loc: tuple) -> tuple[str, ...]:
    """The keys the schema accepts where `loc` (a pydantic location) points."""
    node: object = Scenario
    for part in loc[:-1]:
        node = _unwrap(node)
        if isinstance(part, str) and part in _FAMILY_MODELS:
            node = _FAMILY_MODELS[part]
        elif isinstance(part, str) and isinstance(node, type) and issubclass(node, BaseModel):
            fields = {f.alias or name: f for name, f in node.model_fields.items()}
            node = fields[part].annotation if part in fields else None
    node = _unwrap(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return tuple(f.alias or name for name, f in node.model_fields.items())
    return ()


def _unwrap(annotation):
    """Optional[X], list[X], Annotated[X, ...] -> X; a union of one model and scalars -> the model."""
    while True:
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated or origin is list:
            annotation = args[0]
            continue
        if origin in (Union, types.UnionType):
            models = [a for a in map(_unwrap, args) if isinstance(a, type) and issubclass(a, BaseModel)]
            return models[0] if len(models) == 1 else annotation
        return annotation


_FAMILY_MODELS = {model.model_fields["dist"].annotation.__args__[0]: model
                  for model in typing.get_args(typing.get_args(Distribution)[0])}


def _line_order(problem: str) -> tuple[int, int]:
    match = re.match(r"^.*?:(\d+):(\d+): ", problem)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _data_path(data, loc: tuple) -> tuple:
    """Drop the parts of a pydantic location that are not keys of the file
    (union branch names such as 'lognormal' or 'function-after[...]')."""
    path, node = [], data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not _is_branch_name(part):
            path.append(part)  # a missing or unknown key: name it, point at its parent
            node = None
    return tuple(path)


def _is_branch_name(part: str) -> bool:
    return (part in FAMILIES or part in UNCERTAIN_FORMS or "[" in part
            or part in ("date", "float", "int", "str", "constrained-float"))


def _at(source: str, data, loc: tuple, message: str) -> str:
    where = _place(source, data, loc) if hasattr(data, "lc") else source
    return f"{where}: {_dotted(loc) or '(top level)'}: {message}"


def _place(source: str, data, loc: tuple) -> str:
    """file:line:col of the key at `loc`, or of its nearest parent written in a
    file; with `extends`, the file is the one (base or override) it came from."""
    file, line, column, node = getattr(data, "capsim_source", source), 0, 0, data
    for part in loc:
        places = getattr(node, "capsim_places", None)
        if places is not None:  # a mapping or list merged from several files
            if part not in places or places[part][1] is None:
                break
            (written_in, (line, column)) = places[part]
            file = written_in or file
        else:
            here = _line_col(node, part) if isinstance(node, list) or (isinstance(node, dict) and part in node) \
                else None
            if here is None:
                break
            line, column = here
            file = getattr(node, "capsim_source", file)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    return f"{file}:{line + 1}:{column + 1}"


def _dotted(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
