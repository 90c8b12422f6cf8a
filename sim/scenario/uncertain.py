"""Uncertain inputs: a number the data do not pin down, drawn once per replication.

A rate or a probability of the scenario file may be written as what is known
about it instead of a number: counts observed (a posterior under a flat prior)
or an expert's range. Each replication draws its own value; `--fix-inputs`
uses the mean. The key of the one-key mapping picks the form.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Union

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from sim.scenario.durations import PositiveDays

MOST_COUNT = 2**53
"""The largest count capsim takes: the largest integer a float (the model's numbers) holds exactly."""


def _exact(count: int) -> int:
    if count > MOST_COUNT:
        raise ValueError(f"must be at most 2^53 = {MOST_COUNT:,}, the largest count a float holds exactly")
    return count


Count = Annotated[int, AfterValidator(_exact)]
"""A number of people, beds or events: an integer of at most MOST_COUNT."""


class _Uncertain(BaseModel):
    """A number the data do not pin down, given as what is known about it."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    def draw(self, rng: np.random.Generator) -> float:
        """One value of the quantity (for one replication)."""
        raise NotImplementedError

    def mean(self) -> float:
        """The mean of the quantity (what `--fix-inputs` uses)."""
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """The smallest and largest value it can take."""
        raise NotImplementedError

    def largest(self) -> float:
        """A value its draws do not exceed: the top of its support, where it has one."""
        return self.support()[1]


class _Counts(BaseModel):
    """What was observed: so many successes out of so many trials."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    successes: Count = Field(ge=0, description="how many succeeded (e.g. people returned)")
    trials: Count = Field(ge=1, description="how many were tried (e.g. people detained)")

    @model_validator(mode="after")
    def _at_most_trials(self):
        if self.successes > self.trials:
            raise ValueError(f"successes ({self.successes}) exceed trials ({self.trials})")
        return self


class BetaFrom(_Uncertain):
    """A probability observed as successes out of trials: the posterior
    Beta(1 + successes, 1 + trials - successes) under a uniform prior.

    Examples
    --------
    ``{beta_from: {successes: 67, trials: 109}}``
    """

    form: ClassVar[str] = "beta_from"
    beta_from: _Counts = Field(description="the counts observed: successes out of trials")

    def draw(self, rng):
        return float(rng.beta(1 + self.beta_from.successes, 1 + self.beta_from.trials - self.beta_from.successes))

    def mean(self):
        return (1 + self.beta_from.successes) / (2 + self.beta_from.trials)

    def support(self):
        return 0.0, 1.0


class _Exposure(BaseModel):
    """What was observed: so many events over so long a period."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    events: Count = Field(ge=0, description="how many events were counted (e.g. arrests)")
    days: PositiveDays = Field(description="the period they were counted over (a duration)")


class GammaFrom(_Uncertain):
    """A Poisson rate observed as events over days: the posterior
    Gamma(1 + events, rate = days) under a flat prior.

    Examples
    --------
    ``{gamma_from: {events: 109, days: 1461}}``
    """

    form: ClassVar[str] = "gamma_from"
    gamma_from: _Exposure = Field(description="the counts observed: events over a period")

    def draw(self, rng):
        return float(rng.gamma(1 + self.gamma_from.events, 1 / self.gamma_from.days))

    def mean(self):
        return (1 + self.gamma_from.events) / self.gamma_from.days

    def support(self):
        return 0.0, math.inf

    def largest(self):
        """The mean plus 40 standard deviations: a gamma draw exceeds it with a chance below 1e-17."""
        shape = 1 + self.gamma_from.events
        return (shape + 40 * math.sqrt(shape)) / self.gamma_from.days


class UniformRange(_Uncertain):
    """An expert's range: every value between low and high equally likely.

    Examples
    --------
    ``{uniform: [0.1, 0.3]}``
    """

    form: ClassVar[str] = "uniform"
    uniform: tuple[float, float] = Field(description="[low, high]: the range, low below high")

    @model_validator(mode="after")
    def _ordered(self):
        if not self.uniform[0] < self.uniform[1]:
            raise ValueError(f"need low < high (got {list(self.uniform)})")
        return self

    def draw(self, rng):
        return float(rng.uniform(*self.uniform))

    def mean(self):
        return sum(self.uniform) / 2

    def support(self):
        return self.uniform


class TriangularRange(_Uncertain):
    """An expert's range with a most likely value: [low, mode, high].

    Examples
    --------
    ``{triangular: [0.1, 0.25, 0.3]}``
    """

    form: ClassVar[str] = "triangular"
    triangular: tuple[float, float, float] = Field(description="[low, mode, high]: the range and its most "
                                                               "likely value")

    @model_validator(mode="after")
    def _ordered(self):
        low, mode, high = self.triangular
        if not (low <= mode <= high and low < high):
            raise ValueError(f"need low <= mode <= high and low < high (got {list(self.triangular)})")
        return self

    def draw(self, rng):
        return float(rng.triangular(*self.triangular))

    def mean(self):
        return sum(self.triangular) / 3

    def support(self):
        return self.triangular[0], self.triangular[2]


UNCERTAIN_FORMS: dict[str, type[BaseModel]] = {"beta_from": BetaFrom, "gamma_from": GammaFrom, "uniform": UniformRange,
                   "triangular": TriangularRange}


def _uncertain_form(value) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value))
    return getattr(value, "form", None)


if TYPE_CHECKING:  # a union built at run time is no type to mypy
    Uncertain = Any
else:
    Uncertain = Annotated[
        Union[tuple(Annotated[model, Tag(form)] for form, model in UNCERTAIN_FORMS.items())],  # noqa: UP007
        Discriminator(_uncertain_form,
                      custom_error_type="uncertain_form",
                      custom_error_message="an uncertain quantity is one of {beta_from: {successes, trials}}, "
                                           "{gamma_from: {events, days}}, {uniform: [low, high]}, "
                                           "{triangular: [low, mode, high]}"),
    ]
"""A quantity drawn once per replication; a scenario number may be one instead."""
