"""Durations and dates in the planner's units.

Scenario files say "8 months" or "2 weeks"; the model counts days. This module
is the one place that turns the one into the other, so that the scenario
models and the distribution specs read durations the same way; and the one
place that says how a date is written, for the errors of a date written as
people write them in letters (01/07/2025, July 2025).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

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
LONGEST_DAYS = 1e6 * 365.25
"""No length of time in a scenario is longer than a million years: beyond it a slip (a
number of seconds, an exponent) is certain, and the model's arithmetic on it (stays
binned by length, a day's share of a rate) would overflow."""
DATE_FORMAT = "dates are written YYYY-MM-DD, e.g. 2025-07-01"
_DATE_LIKE = re.compile(r"\d{1,4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,4}"
                        r"|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
    if isinstance(value, dt.date):
        raise ValueError(f"expected a duration (how long: a number of days or e.g. '18 months'), not the date {value}")
    if isinstance(value, int):
        try:
            value = float(value)
        except OverflowError:
            raise ValueError("must be a finite duration, not a number beyond 1e308") from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite duration (got {value})")
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if _DATE_LIKE.search(value) and not (match and match.group(2).lower() in _UNIT_ALIASES):
            raise ValueError(f"not a duration: {value!r} (where a date is allowed, {DATE_FORMAT}; a duration is "
                             "a number of days or one with a unit, e.g. 18 months)")
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


def _not_too_long(days: float) -> float:
    if days > LONGEST_DAYS:
        raise ValueError(f"must be at most a million years (got {days:.3g} days)")
    return days


def calendar_date(value: object) -> object:
    """A date as the scenario file writes it, YYYY-MM-DD; anything else is refused with
    how a date is written (a date object from the YAML reader passes through)."""
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.match(text):
            raise ValueError(f"not a date: {value!r} ({DATE_FORMAT})")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"there is no such day: {text} ({DATE_FORMAT})") from None
    return value


Days = Annotated[float, BeforeValidator(to_days), WithJsonSchema(_DURATION_SCHEMA)]
"""A duration in days (float) that accepts units in the scenario file."""

PositiveDays = Annotated[float, Field(gt=0), BeforeValidator(to_days), AfterValidator(_not_too_long),
                         WithJsonSchema(_DURATION_SCHEMA)]
NonNegativeDays = Annotated[float, Field(ge=0), BeforeValidator(to_days), AfterValidator(_not_too_long),
                            WithJsonSchema(_DURATION_SCHEMA)]
"""Lengths of time: durations of at most LONGEST_DAYS."""
CalendarDate = Annotated[dt.date, BeforeValidator(calendar_date)]
"""A calendar date, written YYYY-MM-DD."""
