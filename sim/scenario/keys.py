"""What every model of the scenario file is built from: the strict model, names, points in time,
probabilities and rates, and the rule that keeps the bytes of scenarios that leave a newer key unused.

The models themselves are in `schema` (the scenario, its beds) and `streams` (a stream and its
origin groups); these pieces are here so that each of those modules can use them.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sim.scenario.durations import Days
from sim.scenario.uncertain import Uncertain

MOST_ARRIVALS_PER_DAY = 1e9
"""No stream brings more than a billion people a day: beyond it a slip (a rate per year or per
decade written as one per day) is certain, and a day of it would take capsim over an hour."""

At = dt.date | Days
"""A point in time: days since day 0, or a calendar date when `start` is set."""

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
"""Names become folder and column names: letters, digits, '_', '.', '-' (no path can escape)."""
PartName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=80)]
"""Names of streams, origins and capacity changes: no '.' either, since they are parts of
dotted paths (streams.<stream>.origins.<origin>.return_probability, <stream>.<metric>)."""


def left_out_unused(default: Any = None):
    """For a key added after the first committed baselines: left out of `Scenario.normalised()` (so of
    scenario.yaml and the scenario's hash) while it holds `default`, so that a scenario that does not use
    it keeps every byte. Use as ``Field(default=..., exclude_if=left_out_unused(...))``."""
    return lambda value: value == default


def _within(low: float, high: float, what: str):
    def check(value):
        if not isinstance(value, float):
            least, most = value.support()
            if least < low or most > high:
                raise ValueError(f"an uncertain {what} must stay within [{low:g}, {high:g}] "
                                 f"(this one ranges over [{least:g}, {most:g}])")
        return value
    return AfterValidator(check)


def arrivals_at_most(value):
    fixed = isinstance(value, (int, float))
    most = value if fixed else value.largest()
    if most > MOST_ARRIVALS_PER_DAY:
        raise ValueError(f"more than a billion arrivals a day{'' if fixed else f' (up to {most:.3g})'}: check the "
                         "unit (arrivals per day)")
    return value



Probability = Annotated[Annotated[float, Field(ge=0, le=1)] | Uncertain, _within(0, 1, "probability")]
"""A probability, or an uncertain one drawn once per replication."""
Rate = Annotated[Annotated[float, Field(gt=0)] | Uncertain, _within(0, math.inf, "rate"),
                 AfterValidator(arrivals_at_most)]
"""Arrivals per day, or an uncertain rate (a schedule may have pieces at 0)."""


class Strict(BaseModel):
    """A model that rejects unknown keys and infinite or NaN numbers."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False, defer_build=True)

