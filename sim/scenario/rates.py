"""Seasons and trend of an arrival rate, as more pieces of a piecewise-constant rate.

A summer plan that triples arrests from June to September every year, or a
rate that grows 5% a year, would take one schedule entry per year or month.
Here they are written once and expanded into (day, rate) pieces up to the end
of the run, so the engine keeps inverting one piecewise-constant rate (exact,
and each arrival keeps its random number: common random numbers).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

from sim.scenario.durations import DAYS_PER_UNIT, DURATION_PATTERN, to_days

YEAR = DAYS_PER_UNIT["year"]
MONTH = DAYS_PER_UNIT["month"]
MOST_FACTOR = 1e6
"""No season multiplies a rate by more than a million: beyond it a slip is certain."""
MOST_TREND = 10.0
"""No rate grows by more than 1000% a year: beyond it a slip is certain (and 200 years of it overflow)."""
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_REFERENCE_YEAR = 2001
"""A year without 29 February, to order days of the year (29 February is refused)."""


def _day_of_year(value: object) -> object:
    """A day of the year as MM-DD (kept as written), or days within each year (a number or a duration)."""
    if isinstance(value, dt.date):
        raise ValueError(f"a day of the year is written MM-DD (e.g. 06-01), the same every year, not the date {value}")
    if isinstance(value, str) and _MONTH_DAY.match(value.strip()):
        text = value.strip()
        if text == "02-29":
            raise ValueError("02-29 is not in every year: use 02-28 or 03-01")
        try:
            dt.date.fromisoformat(f"{_REFERENCE_YEAR}-{text}")
        except ValueError:
            raise ValueError(f"there is no such day: {text} (a day of the year is written MM-DD, e.g. 06-01)") from None
        return text
    try:
        days = to_days(value)
    except ValueError:
        raise ValueError(f"expected a day of the year, MM-DD (e.g. 06-01), or days within each year (0 to "
                         f"365.25), not {value!r}") from None
    if isinstance(days, float) and not 0 <= days <= YEAR:
        raise ValueError(f"days within each year must be between 0 and 365.25 (got {days:g})")
    return days


DayOfYear = Annotated[str | float, BeforeValidator(_day_of_year), WithJsonSchema({
    "anyOf": [{"type": "string", "pattern": _MONTH_DAY.pattern}, {"type": "number", "minimum": 0, "maximum": YEAR},
              {"type": "string", "pattern": DURATION_PATTERN}],
    "description": "a day of the year, MM-DD (with `start`), or days within each year counted from day 0 "
                   "(0 to 365.25, a number or a duration)"})]
"""When a season starts or ends, every year."""


class Season(BaseModel):
    """A part of every year in which the rate is multiplied by `factor`.

    From `from` (inclusive) to `until` (exclusive), every calendar year; a
    season may wrap the year end (from 12-01 until 02-01).

    Examples
    --------
    ``{name: summer, from: 06-01, until: 10-01, factor: 3}``
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False, defer_build=True)

    name: Annotated[str, Field(max_length=80)] | None = Field(default=None, description="a label (e.g. summer)")
    from_: DayOfYear = Field(alias="from", description="the first day of the season: MM-DD (with `start`) or "
                                                       "days within each year counted from day 0")
    until: DayOfYear = Field(description="the day after the season (excluded), written as `from`")
    factor: float = Field(ge=0, le=MOST_FACTOR, description="what the rate is multiplied by during the season")

    @property
    def dated(self) -> bool:
        """Written as days of the year (MM-DD), which needs the scenario's `start`."""
        return isinstance(self.from_, str)

    def _parts_of_year(self) -> list[tuple[float, float]]:
        """The season's part of a year as intervals, MM-DD as days of a year without 29 February."""
        if not self.dated:
            return [(float(self.from_), float(self.until))]
        low, high = (dt.date.fromisoformat(f"{_REFERENCE_YEAR}-{d}").timetuple().tm_yday
                     for d in (self.from_, self.until))
        return [(low, high)] if low < high else [(low, 366), (1, high)]

    def intervals(self, start: dt.date | None, end: float) -> list[tuple[float, float]]:
        """The days [from, until) of the season in every year that meets day 0 to `end`."""
        if not self.dated:
            return [(year * YEAR + self.from_, year * YEAR + self.until)  # type: ignore[operator]  # numbers
                    for year in range(math.ceil(end / YEAR) + 1)]
        assert start is not None  # a dated season needs start (season_problems)
        found = []
        wraps = self.until <= self.from_  # type: ignore[operator]  # two MM-DD texts here
        last_year = min(dt.MAXYEAR - wraps, start.year + math.ceil(end / YEAR))
        for year in range(max(dt.MINYEAR, start.year - 1), last_year + 1):
            first = dt.date.fromisoformat(f"{year:04d}-{self.from_}")
            last = dt.date.fromisoformat(f"{year + wraps:04d}-{self.until}")
            found.append((float((first - start).days), float((last - start).days)))
        return found


Trend = Annotated[Annotated[float, Field(gt=-1, le=MOST_TREND)] | None, Field(description=(
    "the relative change of the rate per year (0.05 = +5% a year, compounding; > -1), applied in monthly "
    "steps: the piece that starts at day t has factor (1 + trend) ** (floor(12 t / 365.25) / 12)"))]
"""A yearly growth (or fall) of a rate, in monthly steps."""


def season_problems(arrivals: dict, start: dt.date | None) -> list[tuple[tuple, str]]:
    """Rules across seasons and the scenario, on the data as written (a season the schema refuses is
    skipped: the schema reports it): from and until written one way, until after from (in days), MM-DD
    with `start`; the seasons of a stream written one way, without overlap."""
    problems: list[tuple[tuple, str]] = []
    seasons = arrivals.get("seasons") if isinstance(arrivals, dict) else None
    earlier: list[tuple[int, Season]] = []
    for i, data in enumerate(seasons if isinstance(seasons, list) else []):
        try:
            season = Season.model_validate(data)
        except ValidationError:
            continue
        if season.dated != isinstance(season.until, str):
            problems.append((("seasons", i, "until"), "write from and until the same way: both MM-DD or both "
                             "days within each year"))
            continue
        if season.dated and season.from_ == season.until:
            problems.append((("seasons", i, "until"), f"is the same day as from ({season.from_}): a season ends "
                             "on another day"))
            continue
        if not season.dated and not season.from_ < season.until:  # type: ignore[operator]  # two numbers
            problems.append((("seasons", i, "until"), f"must come after from ({season.from_:g}) in days within "
                             "each year (a season across the year end is written MM-DD)"))
            continue
        if season.dated and start is None:
            problems.append((("seasons", i, "from"), f"a day of the year ({season.from_}) needs `start` to be "
                             "set (or give days within each year as numbers, from 0 to 365.25)"))
        if earlier and earlier[0][1].dated != season.dated:
            ways = {True: "MM-DD", False: "in days within each year"}
            problems.append((("seasons", i), f"write all seasons one way: season {_label(*earlier[0])} is written "
                             f"{ways[not season.dated]}, this one {ways[season.dated]}"))
            continue
        problems += [(("seasons", i), f"overlaps season {_label(k, other)} ({other.from_} until {other.until}): "
                      "seasons must not overlap") for k, other in earlier if _overlap(other, season)]
        earlier.append((i, season))
    return problems


def _label(index: int, season: Season) -> str:
    return repr(season.name) if season.name else f"[{index}]"


def _overlap(one: Season, other: Season) -> bool:
    return any(low < b and a < high for low, high in one._parts_of_year() for a, b in other._parts_of_year())


def seasonal_steps(steps: list[tuple[float, Any]], seasons: list[Season] | None, trend: float | None,
                   start: dt.date | None, end: float) -> list[tuple[float, Any]]:
    """`steps` (day, rate) times the season and the trend in force at each piece's start, up to `end`.

    A season's factor applies from its `from` (inclusive) to its `until` (exclusive) every year;
    the trend's in monthly steps: the piece that starts at day t has factor
    (1 + trend) ** (floor(12 t / 365.25) / 12). Without seasons and trend, `steps` come back
    unchanged. With them, an uncertain rate is at its mean (a replication draws its own first,
    `Scenario.with_inputs`), and a new piece is kept only where the rate changes, so that
    factors of 1 and a trend of 0 change no number (common random numbers).
    """
    if not seasons and not trend:
        return steps
    growth = 1 + (trend or 0.0)
    intervals = sorted((low, high, season.factor) for season in seasons or [] for low, high in
                       season.intervals(start, end))
    months = [m * MONTH for m in range(math.ceil(end / MONTH) + 1)] if trend else [0.0]
    step_days = [d for d, _ in steps]
    written = set(step_days)
    bounds = {d for low, high, _ in intervals for d in (low, high)} | set(months)
    days = sorted(written | {d for d in bounds if 0 <= d < end})
    starts = [low for low, _, _ in intervals]
    pieces: list[tuple[float, Any]] = []
    for day in days:
        k = bisect.bisect_right(step_days, day) - 1
        if k < 0:
            continue
        rate = steps[k][1]
        rate = rate if isinstance(rate, (int, float)) else rate.mean()
        s = bisect.bisect_right(starts, day) - 1
        if s >= 0 and day < intervals[s][1]:
            rate *= intervals[s][2]
        if trend:
            rate *= growth ** ((bisect.bisect_right(months, day) - 1) / 12)
        if day in written or not pieces or rate != pieces[-1][1]:
            pieces.append((day, rate))
    return pieces
