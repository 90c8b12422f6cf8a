"""Dated changes of a stream's or an origin group's parameters: `parameter_changes`.

"What if the agreement with Morocco takes effect on 1 July 2025?" A change
sets parameters, by dotted path (`paths.set_path`), from a date on; the
changes apply cumulatively, in time order. A person's fate is drawn with the
parameters in force on their arrival day, so the engine needs, per stream,
the phases: (first day, the stream as it then is, its maximum detention).
The arrival rate and the beds already change on dates (the schedule,
capacity.changes), so they are not paths of a change.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sim.scenario.durations import Days
from sim.scenario.paths import set_path

CHANGEABLE = (
    "streams.S.screened_out", "streams.S.court_release", "streams.S.court_release.probability",
    "streams.S.court_release.time", "streams.S.max_detention", "streams.S.origins.O.return_probability",
    "streams.S.origins.O.time_to_return", "streams.S.origins.O.share", "cost_per_bed_day")
"""The paths a dated change may set (S: a stream's name, O: an origin group's name)."""
_NAME = "[A-Za-z0-9][A-Za-z0-9_-]*"
_CHANGEABLE = re.compile("^(" + "|".join(re.escape(path).replace(r"\.S\.", rf"\.{_NAME}\.")
                                         .replace(r"\.O\.", rf"\.{_NAME}\.") for path in CHANGEABLE) + ")$")
_ELSEWHERE = {"capacity.": "the beds change on dates with capacity.changes",
              ".arrivals": "the arrival rate changes on dates with the stream's arrivals.schedule"}


def path_problem(path: str) -> str | None:
    """Why `path` cannot be set by a dated change, or None when it can."""
    if _CHANGEABLE.match(path):
        return None
    hint = next((f"; {why}" for where, why in _ELSEWHERE.items() if where in path or path.startswith(where)), "")
    return f"{path!r} cannot change on a date{hint}; what can change on a date: {', '.join(CHANGEABLE)}"


def _changeable(path: str) -> str:
    problem = path_problem(path)
    if problem:
        raise ValueError(problem)
    return path


class ParameterChange(BaseModel):
    """Parameters of streams and origin groups that change from a given time on.

    The values are validated as the keys they set (the scenario with the
    change applied is validated whole, so a stream's shares still sum to 1).
    People arriving from `at` on get the new parameters; people already
    there keep theirs.

    Examples
    --------
    ``{name: morocco_agreement, at: 2025-07-01,
    set: {streams.brussels_south.origins.maghreb.return_probability: 0.45}}``
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False, defer_build=True)

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=80)] | None = Field(
        default=None, description="a label (e.g. the agreement that takes effect)")
    at: dt.date | Days = Field(description="when the change takes effect, for people arriving from then on: "
                                           "days since day 0 (a duration) or a date (with `start`)")
    set: dict[Annotated[str, AfterValidator(_changeable)], Any] = Field(
        min_length=1, description="the new values by dotted path, streams and origins by name: "
                                  + ", ".join(CHANGEABLE))


def changed_data(data: dict, changes: list[dict]) -> list[dict]:
    """The scenario data (without `parameter_changes`) after each change in turn: cumulative, on copies.

    Raises
    ------
    KeyError
        From `set_path`, for a stream or origin group that does not exist.
    """
    current = copy.deepcopy({key: value for key, value in data.items() if key != "parameter_changes"})
    phases = []
    for change in changes:
        current = copy.deepcopy(current)
        for path, value in change["set"].items():
            set_path(current, path, value)
        phases.append(current)
    return phases


class Phase(NamedTuple):
    """A stream's parameters from `day` on (until the next phase)."""

    day: float
    stream: Any
    """The `streams.Stream` in force (schema imports this module, not the other way round)."""
    max_detention: float


def phases(scenario: Any, stream: Any) -> list[Phase]:
    """The phases of the `streams.Stream` `stream` of the `schema.Scenario` `scenario`, from day 0 on:
    one without changes."""
    first = Phase(0.0, stream, scenario.stream_max_detention(stream))
    changes = scenario.parameter_changes
    if not changes:
        return [first]
    data = scenario.normalised()
    found = [first]
    for change, changed in zip(changes, changed_data(data, data["parameter_changes"])):
        later = type(scenario).model_validate(changed)
        (now,) = [s for s in later.streams if s.name == stream.name]
        found.append(Phase(scenario.day(change.at), now, later.stream_max_detention(now)))
    return found
