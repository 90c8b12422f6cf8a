"""Distribution specs of the scenario file, as samplers and survival functions.

Each spec is a pydantic model (the `dist` key picks the family) that draws
vectorised batches from a numpy Generator for the model, and gives its
survival function P(T > t) for the analytic check. Values are in days and
accept units ("35 days", "2 weeks").
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Annotated, ClassVar, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from sim.scenario.durations import NonNegativeDays, PositiveDays


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw `n` values (days) from `rng`."""
        raise NotImplementedError

    def sf(self, t):
        """Survival function P(T > t), vectorised over `t`."""
        return self._frozen.sf(t)

    @cached_property
    def _frozen(self):
        """The scipy.stats distribution (imported here: scipy.stats takes a second to
        import, which every worker process would pay for nothing, as it only samples)."""
        from scipy import stats

        return self._scipy(stats)

    def mean_days(self) -> float:
        """The mean of the distribution, in days."""
        return float(self._frozen.mean())

    def breakpoints(self) -> tuple[float, ...]:
        """Points where the survival function jumps or bends (for quadrature)."""
        return ()


class Exponential(_Spec):
    dist: Literal["exponential"]
    mean: PositiveDays

    def sample(self, rng, n):
        return rng.exponential(self.mean, n)

    def _scipy(self, stats):
        return stats.expon(scale=self.mean)


class Gamma(_Spec):
    dist: Literal["gamma"]
    mean: PositiveDays
    sd: PositiveDays

    def sample(self, rng, n):
        return rng.gamma((self.mean / self.sd) ** 2, self.sd**2 / self.mean, n)

    def _scipy(self, stats):
        return stats.gamma((self.mean / self.sd) ** 2, scale=self.sd**2 / self.mean)


class LogNormal(_Spec):
    dist: Literal["lognormal"]
    mean: PositiveDays
    sd: PositiveDays

    @property
    def _mu_sigma(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def sample(self, rng, n):
        mu, sigma = self._mu_sigma
        return rng.lognormal(mu, sigma, n)

    def _scipy(self, stats):
        mu, sigma = self._mu_sigma
        return stats.lognorm(sigma, scale=math.exp(mu))


class Weibull(_Spec):
    dist: Literal["weibull"]
    shape: float = Field(gt=0)
    scale: PositiveDays

    def sample(self, rng, n):
        return self.scale * rng.weibull(self.shape, n)

    def _scipy(self, stats):
        return stats.weibull_min(self.shape, scale=self.scale)


class Uniform(_Spec):
    dist: Literal["uniform"]
    low: NonNegativeDays
    high: PositiveDays

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high:
            raise ValueError(f"low must be below high (got low={self.low:g}, high={self.high:g})")
        return self

    def sample(self, rng, n):
        return rng.uniform(self.low, self.high, n)

    def _scipy(self, stats):
        return stats.uniform(self.low, self.high - self.low)

    def breakpoints(self):
        return (self.low, self.high)


class Triangular(_Spec):
    dist: Literal["triangular"]
    low: NonNegativeDays
    mode: NonNegativeDays
    high: PositiveDays

    @model_validator(mode="after")
    def _ordered(self):
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(
                "need low <= mode <= high and low < high "
                f"(got low={self.low:g}, mode={self.mode:g}, high={self.high:g})"
            )
        return self

    def sample(self, rng, n):
        return rng.triangular(self.low, self.mode, self.high, n)

    def _scipy(self, stats):
        width = self.high - self.low
        return stats.triang((self.mode - self.low) / width, self.low, width)

    def breakpoints(self):
        return (self.low, self.mode, self.high)


class Fixed(_Spec):
    dist: Literal["fixed"]
    value: NonNegativeDays

    def sample(self, rng, n):
        return np.full(n, self.value)

    def sf(self, t):
        return np.where(np.asarray(t) < self.value, 1.0, 0.0)

    def mean_days(self):
        return self.value

    def breakpoints(self):
        return (self.value,)


class Empirical(_Spec):
    dist: Literal["empirical"]
    values: list[NonNegativeDays] = Field(min_length=1)

    def sample(self, rng, n):
        return rng.choice(np.asarray(self.values, dtype=float), n)

    def sf(self, t):
        ordered = np.sort(self.values)
        below_or_at = np.searchsorted(ordered, np.asarray(t, dtype=float), side="right")
        return 1.0 - below_or_at / len(ordered)

    def mean_days(self):
        return float(np.mean(self.values))

    def breakpoints(self):
        return tuple(sorted(set(self.values)))


Distribution = Annotated[
    Union[Exponential, Gamma, LogNormal, Weibull, Uniform, Triangular, Fixed, Empirical],
    Field(discriminator="dist"),
]
"""Any distribution spec; the `dist` key chooses the family."""

FAMILIES = ("exponential", "gamma", "lognormal", "weibull", "uniform", "triangular", "fixed", "empirical")


# --- uncertain inputs: a number the data do not pin down, drawn once per replication -----

class _Uncertain(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    def draw(self, rng: np.random.Generator) -> float:
        """One value of the quantity (for one replication)."""
        raise NotImplementedError

    def mean(self) -> float:
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """The smallest and largest value it can take."""
        raise NotImplementedError


class _Counts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    successes: int = Field(ge=0)
    trials: int = Field(ge=1)

    @model_validator(mode="after")
    def _at_most_trials(self):
        if self.successes > self.trials:
            raise ValueError(f"successes ({self.successes}) exceed trials ({self.trials})")
        return self


class BetaFrom(_Uncertain):
    form: ClassVar[str] = "beta_from"
    """A probability observed as successes out of trials: the posterior
    Beta(1 + successes, 1 + trials - successes) under a uniform prior."""

    beta_from: _Counts

    def draw(self, rng):
        return float(rng.beta(1 + self.beta_from.successes, 1 + self.beta_from.trials - self.beta_from.successes))

    def mean(self):
        return (1 + self.beta_from.successes) / (2 + self.beta_from.trials)

    def support(self):
        return 0.0, 1.0


class _Exposure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    events: int = Field(ge=0)
    days: PositiveDays


class GammaFrom(_Uncertain):
    form: ClassVar[str] = "gamma_from"
    """A Poisson rate observed as events over days: the posterior
    Gamma(1 + events, rate = days) under a flat prior."""

    gamma_from: _Exposure

    def draw(self, rng):
        return float(rng.gamma(1 + self.gamma_from.events, 1 / self.gamma_from.days))

    def mean(self):
        return (1 + self.gamma_from.events) / self.gamma_from.days

    def support(self):
        return 0.0, math.inf


class UniformRange(_Uncertain):
    form: ClassVar[str] = "uniform"
    """An expert's range: every value between low and high equally likely."""

    uniform: tuple[float, float]

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
    form: ClassVar[str] = "triangular"
    """An expert's range with a most likely value: [low, mode, high]."""

    triangular: tuple[float, float, float]

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


UNCERTAIN_FORMS = {"beta_from": BetaFrom, "gamma_from": GammaFrom, "uniform": UniformRange,
                   "triangular": TriangularRange}


def _uncertain_form(value) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value))
    return getattr(value, "form", None)


Uncertain = Annotated[
    Union[tuple(Annotated[model, Tag(form)] for form, model in UNCERTAIN_FORMS.items())],
    Discriminator(_uncertain_form,
                  custom_error_type="uncertain_form",
                  custom_error_message="an uncertain quantity is one of {beta_from: {successes, trials}}, "
                                       "{gamma_from: {events, days}}, {uniform: [low, high]}, "
                                       "{triangular: [low, mode, high]}"),
]
"""A quantity drawn once per replication; a scenario number may be one instead."""
