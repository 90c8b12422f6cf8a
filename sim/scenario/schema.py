"""The scenario file's schema: the pydantic models of what a planner writes.

The models reject unknown keys and out-of-range values; every key and every
model carries a description, which `json_schema` passes on to editors (shown
on hover). A stream and its origin groups are in `streams`, the pieces every model is built from
in `keys`; the rules that span several keys are in `checks`, the reading of the file in `loading`,
the wording of the errors in `messages`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PrivateAttr

from sim.scenario.centres import Centre
from sim.scenario.dated import ParameterChange, Phase, phases
from sim.scenario.durations import CalendarDate, NonNegativeDays, PositiveDays
from sim.scenario.keys import At, Name, PartName, Strict, left_out_unused
from sim.scenario.paths import set_path
from sim.scenario.present import DetainedFileField
from sim.scenario.rates import seasonal_steps
from sim.scenario.streams import Stream
from sim.scenario.uncertain import Count

EIGHT_MONTHS = 8 * 365.25 / 12

MOST_COST_PER_BED_DAY = 1e9
"""No bed costs more than a billion a day: beyond it a slip is certain, and the cost of the
bed-days (up to 1e21 of them) could overflow."""


def _cost_at_most(value: float) -> float:
    if value > MOST_COST_PER_BED_DAY:
        raise ValueError("more than a billion a bed-day: check the unit (the cost of one bed for one day)")
    return value


class CapacityChange(Strict):
    """A change in the number of beds from a given time on.

    A centre opens, a wing closes for lack of staff: `beds` is the new total
    for all streams together, not the difference. A cut never evicts anyone;
    admissions stop until occupancy falls below the new number.

    Examples
    --------
    ``{name: jumet, at: 2029-01-01, beds: 1145}``
    """

    name: PartName | None = Field(default=None, description="a label (e.g. the centre that opens); "
                                 "a scenario that extends this one can override or remove it by name")
    at: At = Field(description="when the change takes effect: days since day 0 (a duration such as "
                               "'18 months') or a date (with `start`)")
    beds: Count = Field(ge=0, description="the number of beds from then on, all streams together")


class Capacity(Strict):
    """The beds that all streams share: how many at day 0, and later changes.

    Reserved beds (`reserved_beds` of a stream) are taken from this number;
    the other streams share the rest.
    """

    beds: Count = Field(ge=0, description="beds in force at day 0")
    changes: list[CapacityChange] = Field(default_factory=list,
                                          description="later changes of the number of beds, in time order")


class Scenario(Strict):
    """A capacity question: beds, the streams that fill them, and how long to simulate.

    The run simulates a warm-up from empty (not measured, so that the centres
    fill up) and then the horizon (the measured window), `replications` times
    with random numbers from `seed`. Times are days since day 0; with `start`
    they may also be calendar dates. Every duration is a number of days or a
    number with a unit ('2 weeks', '8 months', '3 years').
    """

    version: Literal[1] = Field(description="the version of the scenario format: 1")
    name: Name = Field(description="the scenario's name, which names its results folder (letters, digits, "
                                   "'_', '.', '-')")
    description: str = Field(default="", description="what the scenario stands for, in a sentence or two "
                                                     "(shown in the results)")
    start: CalendarDate | None = Field(default=None, description="the calendar date of day 0, the first day of the "
                                     "warm-up; with it, times may be written as dates")
    horizon: PositiveDays = Field(description="the measured window, after the warm-up (a duration such as "
                                              "'3 years')")
    warmup: NonNegativeDays = Field(default=0.0, description="the time simulated first, from empty, and not "
                                    "measured, so that the centres fill up (a duration)")
    replications: Count = Field(default=30, ge=1, description="how many independent runs the results are "
                                                            "drawn from")
    seed: int = Field(default=0, ge=0, description="the random seed: the same seed gives the same results")
    max_detention: PositiveDays = Field(default=EIGHT_MONTHS, description="the legal maximum stay, for every "
                                        "stream that does not set its own (a duration; default 8 months)")
    cost_per_bed_day: Annotated[float, Field(ge=0), AfterValidator(_cost_at_most)] | None = Field(
        default=None, description="the cost of one bed occupied for one day, for the cost of the bed-days; "
                                  "none: no cost")
    periods: Literal["month", "quarter", "year"] | None = Field(
        default=None, exclude_if=left_out_unused(),
        description="also give the results by period of the measured window (periods.csv): month, quarter or "
                    "year; calendar ones with `start`; none: the window as a whole only")
    capacity: Capacity | None = Field(default=None, exclude_if=left_out_unused(),
                                      description="the beds, one pool that every stream shares: how many at day 0, "
                                                  "and later changes (or `centres` instead)")
    centres: list[Centre] | None = Field(
        default=None, min_length=1, max_length=100, exclude_if=left_out_unused(),
        description="instead of `capacity`: the closed centres, each with its nominal and usable places, whom it "
                    "accepts and its later changes")
    streams: list[Stream] = Field(min_length=1, description="the flows of people into the beds")
    detained_file: DetainedFileField | None = Field(
        default=None, exclude_if=left_out_unused(), description="a CSV file of the people detained at "
        "day 0 (relative to this file): columns stream, origin (empty: unknown), admitted (a date) or days_detained")
    parameter_changes: list[ParameterChange] = Field(
        default_factory=list, max_length=1000, exclude_if=left_out_unused([]),
        description="later changes of streams' and origin groups' parameters, for people arriving from then on")
    variants: dict[PartName, dict[str, Any]] | None = Field(
        default=None, max_length=100, exclude_if=left_out_unused(),
        description="named variants of the scenario (e.g. low, central, high), each a set of values by dotted "
                    "path as `capsim sweep --set` writes them; `capsim project` runs them all on common random "
                    "numbers")

    def variant(self, name: str) -> Scenario:
        """The scenario of one of its `variants`: the values set, named NAME-VARIANT, without variants."""
        data = self.normalised()
        data.pop("variants")
        for path, value in (self.variants or {})[name].items():
            set_path(data, path, value)
        data["name"] = f"{self.name}-{name}"
        return Scenario.model_validate(data)

    @property
    def end_day(self) -> float:
        """The last simulated day: warm-up plus measured window."""
        return self.warmup + self.horizon

    def day(self, at: dt.date | float) -> float:
        """Days since day 0 for a duration or a calendar date."""
        if isinstance(at, dt.date):
            return float((at - self.start).days)  # type: ignore[operator]  # a date needs start (checks)
        return float(at)

    def stream_max_detention(self, stream: Stream) -> float:
        """The legal maximum stay of `stream`: its own, or else the scenario's."""
        return stream.max_detention if stream.max_detention is not None else self.max_detention

    def capacity_steps(self) -> list[tuple[float, int]]:
        """(day, beds) from day 0 on, in time order; with centres, the beds are their usable places together
        (`centre_steps`)."""
        if self.centres is not None:
            return [(day, sum(usable for _, usable in centres)) for day, centres in self.centre_steps()]
        assert self.capacity is not None  # one of the two (checks)
        return [(0.0, self.capacity.beds)] + [(self.day(c.at), c.beds) for c in self.capacity.changes]

    @property
    def beds(self) -> int:
        """The beds at day 0: the capacity's, or the centres' usable places together."""
        return self.capacity_steps()[0][1]

    def centre_steps(self) -> list[tuple[float, list[tuple[int, int]]]]:
        """With centres: (day, [(nominal places, usable places) of each centre]) at day 0 and at each day on
        which some centre changes, in time order (the changes of one day together)."""
        steps = [centre.steps(self.day) for centre in self.centres or []]
        days = sorted({day for centre in steps for day, _, _ in centre})
        return [(day, [next((places, usable) for at, places, usable in reversed(centre) if at <= day)
                       for centre in steps]) for day in days]

    def cost_steps(self) -> list[tuple[float, float]]:
        """(day, cost per bed-day) from day 0 on, with its dated changes (`parameter_changes`); none without
        a cost per bed-day."""
        if self.cost_per_bed_day is None:
            return []
        return [(0.0, self.cost_per_bed_day)] + [(self.day(change.at), float(change.set["cost_per_bed_day"]))
                                                  for change in self.parameter_changes
                                                  if "cost_per_bed_day" in change.set]

    def rate_steps(self, stream: Stream) -> list[tuple[float, float]]:
        """(day, rate) pieces of a stream's arrival rate, in time order: its rate or schedule, times its
        seasons and trend up to the end of the run (`rates.seasonal_steps`)."""
        arrivals = stream.arrivals
        steps = [(0.0, arrivals.rate)] if arrivals.rate is not None else [
            (self.day(piece.from_), piece.rate) for piece in arrivals.schedule]  # type: ignore[union-attr]  # a schedule
        return seasonal_steps(steps, arrivals.seasons, arrivals.trend, self.start, self.end_day)

    def phases(self, stream: Stream) -> list[Phase]:
        """`stream`'s parameters from each dated change on (`dated.phases`)."""
        return phases(self, stream)

    def uncertain_inputs(self) -> dict[str, Any]:
        """The uncertain quantities, by their path (as `capsim sweep --set` writes it)."""
        found: dict[str, Any] = {}
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

    def with_inputs(self, values: dict[str, float]) -> Scenario:
        """The scenario with the uncertain quantities at `values` (path -> number)."""
        if not values:
            return self
        data = self.normalised()
        for path, value in values.items():
            set_path(data, path, value)
        changed = Scenario.model_validate(data)
        changed._extends = self._extends
        return changed

    def at_means(self) -> Scenario:
        """Every uncertain quantity at its mean (`--fix-inputs`)."""
        return self.with_inputs({path: spec.mean() for path, spec in self.uncertain_inputs().items()})

    _extends: dict[str, Any] | None = PrivateAttr(default=None)

    @property
    def extends(self) -> dict[str, Any] | None:
        """The scenario this one extends, as the loader found it: `file` (as written in `extends:`) and,
        when that file is a whole scenario, its `name`, `description` and the `changes` made to it
        (`paths.changes`); None for a scenario written whole. Not part of the model: it is what a
        report says about where the scenario comes from."""
        return self._extends

    def record_parent(self, parent: dict[str, Any]) -> None:
        """Record the scenario this one extends (see `extends`)."""
        self._extends = parent

    def __eq__(self, other: object) -> bool:
        """Equal models are equal scenarios, however they were written (whole, or extending another)."""
        return isinstance(other, Scenario) and self.__dict__ == other.__dict__

    def normalised(self) -> dict[str, Any]:
        """The scenario with every default filled in, as plain data (days as numbers)."""
        return self.model_dump(mode="json", by_alias=True)

    def sha256(self) -> str:
        """Hash of the model the scenario describes: seed, replications and periods (how it is run and
        reported) excluded, so that a new seed is not mistaken for a new scenario."""
        data = self.normalised()
        for run_control in ("seed", "replications", "periods"):
            data.pop(run_control, None)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario file."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "capsim scenario (schema version 1)"
    return schema
