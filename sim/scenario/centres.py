"""The closed centres as they are: places by centre, usable (staffed) places, whom each accepts, and
the people each stream brings (by sex and category) and where it places them.

A pooled number of beds says "a quarter of the beds are free" while the women's places or the airport
centre are full. With `centres` instead of `capacity`, a scenario lists each centre's nominal places,
its usable places (places that can be staffed; occupancy and "full" are measured against them), their
dated changes and whom it accepts; a stream says the mix of the people it brings and, optionally, its
preferred centres. The engine's side is `sim/engine/centres.py`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from sim.scenario.keys import At, PartName, Strict
from sim.scenario.uncertain import Count

Shares = Annotated[dict[PartName, Annotated[float, Field(ge=0, le=1)]],
                   Field(min_length=1, max_length=50)]
"""Shares by name, summing to 1 (e.g. {men: 0.9, women: 0.1})."""

DIMENSIONS = ("sex", "category")
"""What a centre may restrict on, and what a stream's people are described by, in this order."""


class Accepts(Strict):
    """Whom a centre accepts: by sex and by category; a list left out accepts every value.

    Examples
    --------
    ``{sex: [women]}``, ``{category: [border]}``
    """

    sex: list[PartName] | None = Field(default=None, min_length=1, max_length=50,
                                       description="the sexes the centre accepts (e.g. [men]); none: all")
    category: list[PartName] | None = Field(default=None, min_length=1, max_length=50,
                                            description="the categories the centre accepts (e.g. [border] for "
                                                        "the airport centre, [territory], [families]); none: all")


class CentreChange(Strict):
    """A change of a centre's places from a given time on: a wing closed for works or for lack of staff,
    a wing reopened, a renovation. A cut never evicts anyone: the centre admits no one until its
    occupancy falls below its usable places.

    Examples
    --------
    ``{name: wing-b-closed, at: 2025-06-01, usable: 80}``
    """

    name: PartName | None = Field(default=None, description="a label (e.g. what happens)")
    at: At = Field(description="when the change takes effect: days since day 0 (a duration) or a date "
                               "(with `start`)")
    places: Count | None = Field(default=None, ge=0, description="the nominal places from then on; none: as before")
    usable: Count | None = Field(default=None, ge=0, description="the usable (staffed) places from then on; "
                                 "none: as before, or the new nominal places when the centre's usable places "
                                 "followed its nominal ones")

    @model_validator(mode="after")
    def _changes_something(self):
        if self.places is None and self.usable is None:
            raise ValueError("give places, usable or both")
        return self


class Centre(Strict):
    """One closed centre: its nominal and usable places, whom it accepts, and later changes.

    Examples
    --------
    ``{name: holsbeek, places: 50, usable: 28, accepts: {sex: [women]}}``
    """

    name: PartName = Field(description="the centre's name, unique in the scenario; results are reported under it")
    places: Count = Field(ge=0, description="the nominal places at day 0")
    usable: Count | None = Field(default=None, ge=0, description="the places that can be used at day 0 (staffed, "
                                 "not closed for works); none: all the nominal places")
    accepts: Accepts = Field(default_factory=Accepts, description="whom the centre accepts, by sex and "
                                                                  "category; none: everyone")
    changes: list[CentreChange] = Field(default_factory=list, max_length=1000,
                                        description="later changes of its places, in time order")

    def steps(self, day: Any) -> list[tuple[float, int, int]]:
        """(day, nominal places, usable places) from day 0 on, in time order; `day` turns an `at` into days."""
        places = self.places
        usable = self.usable
        found = [(0.0, places, usable if usable is not None else places)]
        for change in self.changes:
            places = change.places if change.places is not None else places
            usable = change.usable if change.usable is not None else usable
            found.append((day(change.at), places, usable if usable is not None else places))
        return found

    def takes(self, sex: str | None, category: str | None) -> bool:
        """Does the centre accept a person of `sex` and `category` (None: not described)?"""
        return all(allowed is None or value in allowed
                   for allowed, value in ((self.accepts.sex, sex), (self.accepts.category, category)))


class People(Strict):
    """The people a stream (or one of its origin groups) brings, by sex and by category: shares, drawn
    independently for each person.

    Examples
    --------
    ``{sex: {men: 0.9, women: 0.1}, category: {territory: 1}}``
    """

    sex: Shares | None = Field(default=None, description="shares by sex (e.g. {men: 0.9, women: 0.1}); "
                               "none: as the stream says, or not described")
    category: Shares | None = Field(default=None, description="shares by category (e.g. {territory: 0.8, "
                                    "border: 0.2}); none: as the stream says, or not described")

    @model_validator(mode="after")
    def _shares_sum_to_one(self):
        for dimension in DIMENSIONS:
            shares = getattr(self, dimension)
            if shares is not None and abs(sum(shares.values()) - 1) > 1e-9:
                raise ValueError(f"the {dimension} shares must sum to 1 (got {sum(shares.values()):.12g})")
        return self


PeopleKey = Annotated[People | None, Field(
    description="with centres: the people this brings, as shares by sex and by category (each drawn "
                "independently); an origin group's own shares replace its stream's")]
PlacementKey = Annotated[list[PartName] | None, Field(
    min_length=1, max_length=100, description="with centres: the centres this stream's people try first, in "
    "order; then every other centre that accepts them, in the order of `centres`")]
