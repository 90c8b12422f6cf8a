"""Distribution specs of the scenario file, as samplers and survival functions.

Each spec is a pydantic model (the `dist` key picks the family) that draws
vectorised batches from a numpy Generator for the model, and gives its
survival function P(T > t) for the analytic check. Values are in days and
accept units ("35 days", "2 weeks"). Parameters that validate one by one may
still give times that cannot be computed (a gamma with mean 1e300 and sd
1e-300 has a shape of 1e1200): each spec draws a few times when it is
validated and refuses what is not finite, so that the model never meets a
NaN stay and the theory never integrates one.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario.durations import NonNegativeDays, PositiveDays

CHECK_DRAWS = 256
"""Times drawn (from a generator of its own, so no run's random numbers) to check that a spec can be sampled."""
_CLOSER = "keep the parameters within a few orders of magnitude of each other"


class _Spec(BaseModel):
    """A distribution of times (days): a sampler for the model, a survival function for the checks."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
    if TYPE_CHECKING:
        dist: str  # each family's own Literal

    @model_validator(mode="after")
    def _computable(self):
        try:
            with np.errstate(all="ignore"):
                derived = self._derived()
                draws = self.sample(np.random.default_rng(0), CHECK_DRAWS)
        except (ArithmeticError, ValueError):
            raise ValueError(f"{self._named()} cannot be computed: its numbers overflow ({_CLOSER})") from None
        for name, value in derived.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{self._named()} cannot be computed: its {name} is {value:.3g} ({_CLOSER})")
        if not np.all(np.isfinite(draws) & (draws >= 0)):
            raise ValueError(f"{self._named()} gives times that are not finite numbers of days ({_CLOSER})")
        return self

    def _named(self) -> str:
        numbers = [f"{name} {value:.3g}" for name, value in self if isinstance(value, float)]
        return f"a {self.dist} time" + (f" with {', '.join(numbers)}" if numbers else "")

    def _derived(self) -> dict[str, float]:
        """The numbers the sampler and the survival function compute from the parameters, each of which
        must be finite and positive (the parameters themselves are checked by their fields)."""
        return {}

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

    def _scipy(self, stats):
        """The frozen scipy.stats distribution, from the module `stats` (Fixed and Empirical need none)."""
        raise NotImplementedError

    def mean_days(self) -> float:
        """The mean of the distribution, in days."""
        return float(self._frozen.mean())

    def breakpoints(self) -> tuple[float, ...]:
        """Points where the survival function jumps or bends (for quadrature)."""
        return ()


class Exponential(_Spec):
    """Memoryless times: the chance to end in the next day never changes.

    Examples
    --------
    ``{dist: exponential, mean: 30 days}``
    """

    dist: Literal["exponential"] = Field(description="the family: exponential")
    mean: PositiveDays = Field(description="the mean time (a duration)")

    def sample(self, rng, n):
        return rng.exponential(self.mean, n)

    def _scipy(self, stats):
        return stats.expon(scale=self.mean)


class Gamma(_Spec):
    """Times given by their mean and spread; the chance to end rises with time
    when the spread is below the mean.

    Examples
    --------
    ``{dist: gamma, mean: 2 weeks, sd: 3 days}``
    """

    dist: Literal["gamma"] = Field(description="the family: gamma")
    mean: PositiveDays = Field(description="the mean time (a duration)")
    sd: PositiveDays = Field(description="the standard deviation of the time (a duration)")

    def sample(self, rng, n):
        return rng.gamma((self.mean / self.sd) ** 2, self.sd**2 / self.mean, n)

    def _derived(self):
        return {"shape (mean/sd)^2": (self.mean / self.sd) ** 2, "scale sd^2/mean": self.sd**2 / self.mean}

    def _scipy(self, stats):
        return stats.gamma((self.mean / self.sd) ** 2, scale=self.sd**2 / self.mean)


class LogNormal(_Spec):
    """Times given by their mean and spread, most of them short and a few very
    long (waiting for travel documents, say).

    `mean` and `sd` are those of the times themselves, not of their logarithm.

    Examples
    --------
    ``{dist: lognormal, mean: 90 days, sd: 60 days}``
    """

    dist: Literal["lognormal"] = Field(description="the family: lognormal")
    mean: PositiveDays = Field(description="the mean time, not that of its logarithm (a duration)")
    sd: PositiveDays = Field(description="the standard deviation of the time, not that of its logarithm "
                                         "(a duration)")

    @property
    def _mu_sigma(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def sample(self, rng, n):
        mu, sigma = self._mu_sigma
        return rng.lognormal(mu, sigma, n)

    def _derived(self):
        mu, sigma = self._mu_sigma
        return {"median": math.exp(mu), "sigma (of the logarithm)": sigma}

    def _scipy(self, stats):
        mu, sigma = self._mu_sigma
        return stats.lognorm(sigma, scale=math.exp(mu))


class Weibull(_Spec):
    """Times whose chance to end rises (shape above 1) or falls (below 1) with time.

    Examples
    --------
    ``{dist: weibull, shape: 1.5, scale: 40 days}``
    """

    dist: Literal["weibull"] = Field(description="the family: weibull")
    shape: float = Field(gt=0, description="1 is exponential; above 1 the chance to end rises with time, "
                                           "below 1 it falls")
    scale: PositiveDays = Field(description="the time by which about 63% have ended (a duration)")

    def sample(self, rng, n):
        return self.scale * rng.weibull(self.shape, n)

    def _derived(self):
        return {"mean scale x gamma(1 + 1/shape)": self.scale * math.gamma(1 + 1 / self.shape)}

    def _scipy(self, stats):
        return stats.weibull_min(self.shape, scale=self.scale)


class Uniform(_Spec):
    """Times anywhere between two bounds, all equally likely.

    Examples
    --------
    ``{dist: uniform, low: 7 days, high: 120 days}``
    """

    dist: Literal["uniform"] = Field(description="the family: uniform")
    low: NonNegativeDays = Field(description="the shortest time (a duration)")
    high: PositiveDays = Field(description="the longest time, above low (a duration)")

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
    """Times between two bounds with a most likely value: an expert's guess.

    Examples
    --------
    ``{dist: triangular, low: 1 day, mode: 1 week, high: 1 month}``
    """

    dist: Literal["triangular"] = Field(description="the family: triangular")
    low: NonNegativeDays = Field(description="the shortest time (a duration)")
    mode: NonNegativeDays = Field(description="the most likely time, between low and high (a duration)")
    high: PositiveDays = Field(description="the longest time (a duration)")

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
    """The same time for everyone.

    Examples
    --------
    ``{dist: fixed, value: 2 days}``
    """

    dist: Literal["fixed"] = Field(description="the family: fixed")
    value: NonNegativeDays = Field(description="the time every person takes (a duration)")

    def sample(self, rng, n):
        return np.full(n, self.value)

    def sf(self, t):
        return np.where(np.asarray(t) < self.value, 1.0, 0.0)

    def mean_days(self):
        return self.value

    def breakpoints(self):
        return (self.value,)


class Empirical(_Spec):
    """Observed times, resampled: each draw is one of them, all equally likely.

    Examples
    --------
    ``{dist: empirical, values: [12 days, 3 weeks, 40]}``
    """

    dist: Literal["empirical"] = Field(description="the family: empirical")
    values: list[NonNegativeDays] = Field(min_length=1, description="the observed times (durations), "
                                                                    "each drawn with equal chance")

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
    Exponential | Gamma | LogNormal | Weibull | Uniform | Triangular | Fixed | Empirical,
    Field(discriminator="dist"),
]
"""Any distribution spec; the `dist` key chooses the family."""

FAMILIES = ("exponential", "gamma", "lognormal", "weibull", "uniform", "triangular", "fixed", "empirical")
