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

ECHO_LIMIT = 60
"""The most characters of a value a message echoes (a value may be megabytes long)."""
MESSAGE_LIMIT = 1000
"""The most characters of one problem's message, whatever it quotes."""

_PYDANTIC_PHRASES = [
    (re.compile(r"^Input should be "), "must be "),
    (re.compile(r"^(String|List) should "), "must "),
    (re.compile(r"^Keys should be strings$"), "a key must be a word, not a list or a mapping"),
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
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = _mapping_expected(loc, _value_at(data, _data_path(data, loc), error.get("input")))
    elif kind == "list_type":
        message = (f"expected a list, each item on a line of its own that starts with '- ', indented below it; "
                   f"found {_kind_of(_value_at(data, _data_path(data, loc), error.get('input')))}")
    elif kind == "string_pattern_mismatch" and _name_rule(error.get("ctx", {}).get("pattern", "")):
        message = _name_rule(error["ctx"]["pattern"], _value_at(data, _data_path(data, loc), error.get("input")))
    else:
        message = error["msg"]
        for pattern, replacement in _PYDANTIC_PHRASES:
            message = pattern.sub(replacement, message)
        message = cut_long_quotes(message)
        if kind == "extra_forbidden":
            message = f"unknown key {echo(loc[-1])}"
            allowed = [key for key in _allowed_keys(loc) if key != loc[-1]]
            guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if guess:
                message += f" (did you mean {guess[0]!r}?)"
            elif allowed:
                message += f" (expected one of: {', '.join(allowed)})"
        value = _value_at(data, _data_path(data, loc), error.get("input"))
        if kind not in ("missing", "extra_forbidden") and isinstance(value, (int, float, str, bool)) \
                and echo(value) not in message:
            message += f" (got {echo(value)})"
    return located(source, data, _data_path(data, loc), message)


_QUOTED = re.compile(rf"(?<!\w)(['\"])([^'\"]{{{ECHO_LIMIT + 1},}})\1(?!\w)")
"""A long quoted value: its opening quote follows no letter and its closing quote precedes none, so that
the words between two short quoted values are not taken for one."""


def cut_long_quotes(message: str) -> str:
    """The message with each long value a validator quotes (e.g. 'x' * 10**6) cut to its start and length."""
    return _QUOTED.sub(_cut_quoted, message)


def _cut_quoted(match: re.Match) -> str:
    quote, text = match.groups()
    return f"{quote}{text[:ECHO_LIMIT]}...{quote} ({len(text):,} characters)"


def _mapping_expected(loc: tuple, value) -> str:
    """What a model's wrong value is told: keys were expected, most often lost to indentation."""
    keys = _allowed_keys(loc + ("",))
    expected = f"a mapping of keys ({', '.join(keys)})" if keys else "a mapping of keys"
    if value is None:
        return f"is empty: expected {expected} on the lines below it, indented further than it"
    return (f"expected {expected}, each on a line of its own indented below it (or {{key: value, ...}}), "
            f"not {_kind_of(value)}")


def _kind_of(value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the text {echo(value)}" if isinstance(value, str) else f"the value {echo(value)}"


_CHARACTER_CLASSES = re.compile(r"^\^\[([^\]]+)\]\[([^\]]+)\]\*\$$")


def _name_rule(pattern: str, value=None) -> str:
    """A name's pattern (^[first][rest]*$) in words, with the character of `value` that breaks it."""
    match = _CHARACTER_CLASSES.match(pattern)
    if not match:
        return ""
    first, rest = match.groups()
    rule = f"a name holds only {_characters(rest)}, and starts with {_characters(first, one=True)}"
    if not isinstance(value, str):
        return rule
    allowed = re.match(f"[{first}][{rest}]*", value)
    position = allowed.end() if allowed else 0
    if position >= min(len(value), ECHO_LIMIT):  # fine, or broken beyond what the message shows
        return rule
    where = "may not start a name" if position == 0 else "may not be part of a name"
    return f"{echo(value)}: {echo(value[position])} {where} ({rule})"


def _characters(character_class: str, one: bool = False) -> str:
    """A regular expression's character class in words: 'letters, digits, '_' and '-'' (or 'a letter or a digit')."""
    words = []
    for span, many, single in (("A-Za-z", "letters", "a letter"), ("0-9", "digits", "a digit")):
        if span in character_class:
            words.append(single if one else many)
            character_class = character_class.replace(span, "")
    words += [repr(c) for c in character_class]
    last = " or " if one else " and "
    return ", ".join(words[:-1]) + last + words[-1] if len(words) > 1 else "".join(words)


def _value_at(data, path: tuple, fallback):
    """The value as written in the file (pydantic reports it after unit conversion)."""
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return fallback
    return node


_SCALAR_BRANCH_ERRORS = ("model_type", "model_attributes_type", "dict_type", "uncertain_form", "date_type",
                         "date_from_datetime_parsing", "date_from_datetime_inexact", "date_parsing")
_NUMBER_ERRORS = ("float_type", "float_parsing", "int_type", "int_parsing", "value_error")


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
    """A union branch's name in a pydantic location: a family, a form, a validator, a type, or a model's
    class name (capitalised: no key of a scenario file is)."""
    return (part in FAMILIES or part in UNCERTAIN_FORMS or "[" in part or part[:1].isupper()
            or part in ("date", "float", "int", "str", "constrained-float", "constrained-int"))


def located(source: str, data, loc: tuple, message: str) -> str:
    """``file:line:col: key.path: message`` for the key at `loc` of `data`
    (just the file when `data` did not come from the YAML loader)."""
    where = place(source, data, loc) if hasattr(data, "lc") else source
    return f"{where}: {dotted(loc) or '(top level)'}: {shorten(message, MESSAGE_LIMIT)}"


def dotted(loc: tuple) -> str:
    """A key path as the file spells it: ``streams[0].origins[1].share``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{shorten(str(part))}" if text else shorten(str(part)))
    return text


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` as a message shows it: control characters escaped, cut at `limit` characters."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown if len(text) <= limit else f"{shown}... ({len(text):,} characters)"


def did_you_mean(name: str | None, names) -> str:
    """' (did you mean ...?)' for a name close to one of `names`, else ''."""
    guess = difflib.get_close_matches(name, list(names), n=1) if name else []
    return f" (did you mean {echo(guess[0])}?)" if guess else ""


def echo(value) -> str:
    """A value as a message quotes it: text in quotes and cut short, numbers as written, a
    mapping or list by its size (never expanded: behind aliases it may hold millions)."""
    if isinstance(value, str):
        quoted = repr(str(value)[:ECHO_LIMIT])
        return quoted if len(value) <= ECHO_LIMIT else f"{quoted[:-1]}...{quoted[-1]} ({len(value):,} characters)"
    if isinstance(value, dict):
        return f"a mapping of {len(value):,} keys"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value):,} items"
    try:
        return shorten(str(value))
    except ValueError:  # an integer of more digits than Python prints
        return "a number of thousands of digits"
