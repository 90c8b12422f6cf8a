"""The scenario file read by `sim.scenario`: durations in the planner's units,
defaults, dates, the normalised round trip, the scenario hash, and the
distribution specs' survival functions and means against their own samplers."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from sim.errors import ScenarioError
from sim.scenario import Scenario, json_schema, load_scenario, parse_scenario, scenario_yaml
from sim.scenario.distributions import FAMILIES, Distribution
from sim.scenario.durations import Days, to_days

REPO = Path(__file__).resolve().parents[1]
DAYS = TypeAdapter(Days)
DISTRIBUTION = TypeAdapter(Distribution)
MONTH = 365.25 / 12
YEAR = 365.25

MINIMAL = """\
version: 1
name: minimal
horizon: 365
capacity:
  beds: 10
streams:
  - name: s
    arrivals: {rate: 1.5}
    origins:
      - {name: all, share: 1, return_probability: 1, time_to_return: {dist: exponential, mean: 10}}
"""

# Every optional feature at once, with dates and durations in units.
RICH = """\
version: 1
name: rich
description: every feature
start: 2024-01-01
horizon: 2 years
warmup: 6 months
replications: 7
seed: 42
max_detention: 8 months
cost_per_bed_day: 210.5
capacity:
  beds: 100
  changes:
    - {at: 2024-03-01, beds: 80}
    - {at: 100, beds: 120}
streams:
  - name: campaign
    arrivals:
      schedule:
        - {from: 2024-01-01, rate: 0.5}
        - {from: 2024-07-01, rate: 2}
        - {from: 400, rate: 0}
    screened_out: 0.15
    when_full: wait
    max_wait: {dist: gamma, mean: 2 weeks, sd: 3 days}
    priority: 1
    reserved_beds: 5
    max_beds: 30
    max_detention: 36 hours
    court_release:
      probability: 0.25
      time: {dist: triangular, low: 1, mode: 1 week, high: 1 month}
    origins:
      - {name: a, share: 0.7, return_probability: 0.4, time_to_return: {dist: lognormal, mean: 60, sd: 25}}
      - {name: b, share: 0.3, return_probability: 0.9, time_to_return: {dist: empirical, values: [1, 2 days, 3.5]}}
  - name: other
    arrivals: {rate: 3}
    max_wait: 2 days
    when_full: wait
    origins:
      - {name: all, share: 1, return_probability: 1, time_to_return: {dist: weibull, shape: 1.5, scale: 40}}
"""


# --- durations ---------------------------------------------------------------------


@pytest.mark.parametrize("text, days", [
    ("243 days", 243.0),
    ("2 weeks", 14.0),
    ("8 months", 8 * 365.25 / 12),
    ("3 years", 3 * 365.25),
    ("36 hours", 1.5),
    ("1 day", 1.0),
    ("2.5", 2.5),
    (12, 12.0),
    (0.25, 0.25),
])
def test_duration_units(text, days):
    """Contract: durations accept days or a number with a unit (hours, days,
    weeks, months of 365.25/12 days, years of 365.25 days); a plain number is days."""
    assert DAYS.validate_python(text) == pytest.approx(days, rel=1e-15)
    assert isinstance(DAYS.validate_python(text), float)


@pytest.mark.parametrize("text, phrase", [
    ("8 moons", "unknown unit 'moons'"),
    ("soon", "not a duration"),
    ("-3 days", "not a duration"),
    ("3 days 4 hours", "not a duration"),
])
def test_unparseable_duration_is_refused(text, phrase):
    """Contract: a duration that cannot be parsed is an error that quotes it."""
    with pytest.raises(ValueError, match=phrase):
        to_days(text)


@given(
    x=st.floats(min_value=0, exclude_min=True, allow_nan=False, allow_infinity=False),
    unit=st.sampled_from([("days", 1.0), ("weeks", 7.0), ("months", 365.25 / 12), ("years", 365.25)]),
)
def test_duration_is_number_times_unit(x, unit):
    """Property: for any positive float x, "x unit" parses to x times the unit's days
    when that is a finite number of days, and is refused when it overflows."""
    name, days_per_unit = unit
    if math.isinf(x * days_per_unit):
        with pytest.raises(ValueError, match="finite"):
            to_days(f"{x} {name}")
        return
    parsed = DAYS.validate_python(f"{x} {name}")
    assert math.isclose(parsed, x * days_per_unit, rel_tol=1e-12)


# --- defaults, dates ---------------------------------------------------------------


def test_minimal_scenario_gets_defaults():
    """Contract: a minimal scenario parses, with the defaults filled in
    (max_detention 8 months, when_full turn_away, screened_out 0, 30 replications)."""
    scenario = parse_scenario(MINIMAL, "minimal.yaml")
    assert scenario.max_detention == pytest.approx(8 * 365.25 / 12)
    assert scenario.replications == 30
    assert scenario.seed == 0
    assert scenario.warmup == 0
    assert scenario.start is None
    assert scenario.capacity.changes == []
    [stream] = scenario.streams
    assert stream.when_full == "turn_away"
    assert stream.screened_out == 0
    assert stream.max_wait is None
    assert stream.reserved_beds == 0
    assert stream.max_beds is None
    assert stream.court_release is None
    assert scenario.stream_max_detention(stream) == pytest.approx(8 * 365.25 / 12)
    normalised = scenario.normalised()
    assert normalised["max_detention"] == pytest.approx(243.5)
    assert normalised["streams"][0]["when_full"] == "turn_away"
    assert normalised["streams"][0]["screened_out"] == 0
    assert normalised["replications"] == 30


def test_dates_resolve_to_days_since_start():
    """Contract: with `start` set, capacity change `at` and schedule `from` dates
    become days since start (and numbers stay days)."""
    scenario = parse_scenario(RICH, "rich.yaml")
    assert scenario.start == dt.date(2024, 1, 1)
    # 2024 is a leap year: 31 + 29 days to 1 March, 182 days to 1 July
    assert scenario.capacity_steps() == [(0.0, 100), (60.0, 80), (100.0, 120)]
    assert scenario.rate_steps(scenario.streams[0]) == [(0.0, 0.5), (182.0, 2.0), (400.0, 0.0)]
    assert scenario.rate_steps(scenario.streams[1]) == [(0.0, 3.0)]
    assert scenario.horizon == pytest.approx(2 * YEAR)
    assert scenario.warmup == pytest.approx(6 * MONTH)
    assert scenario.stream_max_detention(scenario.streams[0]) == pytest.approx(1.5)
    assert scenario.streams[0].max_wait.mean == pytest.approx(14)


def test_date_before_start_is_refused():
    """Contract: a date before `start` is an error located at its key."""
    text = MINIMAL.replace("horizon: 365\n", "start: 2024-01-01\nhorizon: 365\n").replace(
        "  beds: 10\n", "  beds: 10\n  changes:\n    - {at: 2023-12-01, beds: 5}\n")
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "x.yaml")
    assert err.value.problems == ["x.yaml:8:8: capacity.changes[0].at: must not be before day 0 (got -31 days)"]


# --- normalised form and hash ------------------------------------------------------


@pytest.mark.parametrize("text", [MINIMAL, RICH], ids=["minimal", "rich"])
def test_normalised_yaml_round_trip(text):
    """Contract: the normalised scenario (scenario_yaml) parses back to an equal
    Scenario, with the same hash, and normalising again changes nothing."""
    scenario = parse_scenario(text, "x.yaml")
    normalised = scenario_yaml(scenario)
    again = parse_scenario(normalised, "scenario.yaml")
    assert again == scenario
    assert again.sha256() == scenario.sha256()
    assert scenario_yaml(again) == normalised


def test_hash_ignores_seed_and_replications():
    """Contract: sha256 is unchanged by seed and replications, changed by beds,
    and depends on the model, not on how a duration is written."""
    base = parse_scenario(RICH, "x.yaml").sha256()
    assert len(base) == 64
    reseeded = RICH.replace("replications: 7\nseed: 42\n", "replications: 300\nseed: 1\n")
    assert parse_scenario(reseeded, "x.yaml").sha256() == base
    no_run_control = RICH.replace("replications: 7\nseed: 42\n", "")
    assert parse_scenario(no_run_control, "x.yaml").sha256() == base
    more_beds = RICH.replace("  beds: 100\n", "  beds: 101\n")
    assert parse_scenario(more_beds, "x.yaml").sha256() != base
    in_days = RICH.replace("max_detention: 8 months\n", "max_detention: 243.5\n")
    assert parse_scenario(in_days, "x.yaml").sha256() == base


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_committed_scenarios_are_valid(path):
    """Contract: every scenario committed under scenarios/ validates."""
    assert isinstance(load_scenario(path), Scenario)


def _properties(node, where: str):
    """(path, schema) of every property declared anywhere below `node`."""
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            yield f"{where}.{name}", prop
        for key, child in node.items():
            yield from _properties(child, f"{where}.{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _properties(child, f"{where}[{i}]")


def test_every_schema_property_is_described():
    """Contract: every property of the JSON Schema (the top level and every model
    in $defs) has a non-empty description, which an editor shows on hover."""
    schema = json_schema()
    properties = list(_properties(schema, "#"))
    assert len(properties) >= 68
    assert any(path.startswith("#.$defs.") for path, _ in properties)
    undescribed = [path for path, prop in properties
                   if not (isinstance(prop.get("description"), str) and prop["description"].strip())]
    assert undescribed == []


# --- distributions -----------------------------------------------------------------

SPECS = {
    "exponential": {"dist": "exponential", "mean": 10},
    "gamma": {"dist": "gamma", "mean": "1 month", "sd": 20},
    "lognormal": {"dist": "lognormal", "mean": "60 days", "sd": "30 days"},
    "weibull": {"dist": "weibull", "shape": 1.5, "scale": 40},
    "uniform": {"dist": "uniform", "low": 2, "high": 20},
    "triangular": {"dist": "triangular", "low": 0, "mode": 5, "high": "30 days"},
    "fixed": {"dist": "fixed", "value": "2 weeks"},
    "empirical": {"dist": "empirical", "values": [1, "2 days", 3.5, 3.5, "1 week"]},
}
N = 200_000


def test_every_family_is_covered():
    """Self-check: the distribution tests cover every family the schema offers."""
    assert sorted(SPECS) == sorted(FAMILIES)


@pytest.fixture(scope="module")
def samples():
    """200k draws of each family from its own `sample(rng, n)`, seeded."""
    rng = np.random.default_rng(20240101)
    return {name: DISTRIBUTION.validate_python(spec).sample(rng, N) for name, spec in SPECS.items()}


@pytest.mark.parametrize("family", sorted(SPECS))
def test_survival_function_matches_samples(family, samples):
    """Contract: sf(t) = P(T > t) agrees with the empirical survival of 200k
    samples within 5 binomial standard errors, at quantiles and at the breakpoints."""
    spec = DISTRIBUTION.validate_python(SPECS[family])
    x = samples[family]
    assert x.shape == (N,)
    assert np.all(x >= 0)
    points = list(np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])) + list(spec.breakpoints()) + [0.0, 3.0, 25.0]
    for t in points:
        exact = float(spec.sf(t))
        empirical = float(np.mean(x > t))
        se = math.sqrt(exact * (1 - exact) / N)
        assert abs(empirical - exact) <= 5 * se + 1e-12, f"{family}: sf({t:g}) = {exact}, sampled {empirical}"
    assert np.allclose(spec.sf(np.asarray(points)), [spec.sf(t) for t in points])


@pytest.mark.parametrize("family", sorted(SPECS))
def test_mean_days_matches_samples(family, samples):
    """Contract: mean_days() is the sample mean of 200k draws within 5 standard errors."""
    spec = DISTRIBUTION.validate_python(SPECS[family])
    x = samples[family]
    se = x.std(ddof=1) / math.sqrt(N)
    assert abs(x.mean() - spec.mean_days()) <= 5 * se + 1e-9


@pytest.mark.parametrize("family, mean", [
    ("exponential", 10), ("gamma", MONTH), ("lognormal", 60), ("fixed", 14), ("empirical", 3.4),
    ("uniform", 11), ("triangular", 35 / 3),
])
def test_mean_days_is_the_specified_mean(family, mean):
    """Contract: families given by their mean (and the others by their formula)
    have exactly that mean, in days, with units converted."""
    assert DISTRIBUTION.validate_python(SPECS[family]).mean_days() == pytest.approx(mean, rel=1e-12)
