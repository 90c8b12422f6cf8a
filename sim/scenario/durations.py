"""Durations in the planner's units.

Scenario files say "8 months" or "2 weeks"; the model counts days. This module
is the one place that turns the one into the other, so that the scenario
models and the distribution specs read durations the same way.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

DAYS_PER_UNIT = {
    "hour": 1 / 24,
    "day": 1.0,
    "week": 7.0,
    "month": 365.25 / 12,
    "year": 365.25,
}
_UNIT_ALIASES = {
    "h": "hour", "hour": "hour", "hours": "hour",
    "d": "day", "day": "day", "days": "day",
    "w": "week", "week": "week", "weeks": "week",
    "month": "month", "months": "month",
    "y": "year", "year": "year", "years": "year",
}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


DURATION_PATTERN = (
    r"^\s*[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?\s*("
    + "|".join(_any_case(unit) for unit in sorted(_UNIT_ALIASES, key=len, reverse=True))
    + r")?\s*$"
)
"""The JSON Schema form of what `to_days` accepts (units in any case, as the parser)."""


def to_days(value: object) -> object:
    """Turn a number of days or a string such as "8 months" into days.

    Anything else is passed through unchanged, so that pydantic reports the
    type error with the value the user wrote.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, not {str(value).lower()}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite duration (got {value})")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"not a duration: {value!r} (expected a number of days or e.g. '8 months')")
        number, unit = match.groups()
        if unit and unit.lower() not in _UNIT_ALIASES:
            raise ValueError(
                f"unknown unit {unit!r} in {value!r} (expected hours, days, weeks, months or years)"
            )
        days = float(number) * DAYS_PER_UNIT[_UNIT_ALIASES[unit.lower()] if unit else "day"]
        if not math.isfinite(days):
            raise ValueError(f"must be a finite duration (got {value!r})")
        return days
    return value


_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": DURATION_PATTERN},
    ],
    "description": "days, or a number with a unit: hours, days, weeks, months (365.25/12 days), years",
}

Days = Annotated[float, BeforeValidator(to_days), WithJsonSchema(_DURATION_SCHEMA)]
"""A duration in days (float) that accepts units in the scenario file."""

PositiveDays = Annotated[float, Field(gt=0), BeforeValidator(to_days), WithJsonSchema(_DURATION_SCHEMA)]
NonNegativeDays = Annotated[float, Field(ge=0), BeforeValidator(to_days), WithJsonSchema(_DURATION_SCHEMA)]
