"""Errors that point at the line: pydantic's errors in the planner's words.

Each problem becomes one line, ``file:line:col: key.path: what is wrong``:
the place where the key was written (`places`), the path as the file spells
it (``streams[0].origins[1].share``), and a message without pydantic's
jargon, with a did-you-mean for a misspelt key.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from sim.scenario.distributions import FAMILIES, Distribution
from sim.scenario.places import place
from sim.scenario.schema import Scenario
from sim.scenario.uncertain import UNCERTAIN_FORMS

_PYDANTIC_PHRASES = [
    (re.compile(r"^Input should be "), "must be "),
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"^Field required$"), "is required"),
    (re.compile(r"^Extra inputs are not permitted$"), "unknown key"),
    (re.compile(r"^List should have at least (\d+) items? after validation, not (\d+)$"),
     r"must list at least \1 (got \2)"),
]


def schema_problems(source: str, data, error: ValidationError) -> set[str]:
    """The located messages of a failed `Scenario.model_validate(data)`."""
    return {_describe(source, data, e) for e in _without_union_noise(error.errors())}


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
    return located(source, data, _data_path(data, loc), message)


def _value_at(data, path: tuple, fallback):
    """The value as written in the file (pydantic reports it after unit conversion)."""
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return fallback
    return node


_SCALAR_BRANCH_ERRORS = ("model_attributes_type", "dict_type", "uncertain_form", "date_type",
                         "date_from_datetime_parsing", "date_from_datetime_inexact", "date_parsing")
_NUMBER_ERRORS = ("float_type", "float_parsing", "value_error")


def _without_union_noise(errors: list[Any]) -> list[Any]:
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


def line_order(problem: str) -> tuple[int, int]:
    """The (line, column) of a located message, to list the problems in file order."""
    match = re.match(r"^.*?:(\d+):(\d+): ", problem)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _data_path(data, loc: tuple) -> tuple:
    """Drop the parts of a pydantic location that are not keys of the file
    (union branch names such as 'lognormal' or 'function-after[...]')."""
    path: list[Any] = []
    node = data
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


def located(source: str, data, loc: tuple, message: str) -> str:
    """``file:line:col: key.path: message`` for the key at `loc` of `data`
    (just the file when `data` did not come from the YAML loader)."""
    where = place(source, data, loc) if hasattr(data, "lc") else source
    return f"{where}: {dotted(loc) or '(top level)'}: {message}"


def dotted(loc: tuple) -> str:
    """A key path as the file spells it: ``streams[0].origins[1].share``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
