"""Projections (issue 18): results by period against theory, variants on common random numbers, `capsim project`
from the command line and the API, its errors, and the periods section of a run's report.

Oracles: the transient of N people admitted at day 0 in M/M/inf, E[N(t)] = N e^(-t/m) + lambda m (1 - e^(-t/m)),
averaged over each month analytically; a seasonal M_t/G/inf, E[N(t)] = integral of lambda(u) P(S > t - u) du,
averaged over each quarter by scipy quadrature; common random numbers by identity (a variant that changes
nothing gives the bytes of a plain run; beds never reached change no period's figure). Seeds are fixed; each
statistical tolerance is a number of half-widths of the simulated 95% interval, said where it is used.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import lognormal_survival, make_scenario, mtginf_occupancy, scenario_data, to_yaml

import sim
from sim.analysis.stats import half_width
from sim.cli import main
from sim.engine.periods import PERIOD_METRICS, periods

START = dt.date(2025, 1, 1)
HUGE = 100_000  # days: a maximum detention no exponential stay reaches
MEAN = PERIOD_METRICS.index("occupancy_mean")
REQUESTS = PERIOD_METRICS.index("detention_requests")
TURNED_AWAY = PERIOD_METRICS.index("turned_away")


def day(date: dt.date) -> float:
    return float((date - START).days)


def stream(rate, stay, **fields) -> dict:
    return {"name": "s", "arrivals": {"rate": rate},
            "origins": [{"name": "all", "share": 1, "return_probability": 1, "time_to_return": stay}]} | fields


def period_means(results) -> np.ndarray:
    """Replications x periods: the system's mean beds in use of each period."""
    return np.stack([rep.periods[0, :, MEAN] for rep in results.replications])


# --- oracles by period ------------------------------------------------------------------

@pytest.mark.slow
def test_month_means_follow_the_transient_of_people_admitted_at_day_zero():
    """Oracle: M/M/inf from N people admitted at day 0, E[N(t)] = lambda m + (N - lambda m) e^(-t/m); its mean
    over a month [a, b) is lambda m + (N - lambda m) m (e^(-a/m) - e^(-b/m)) / (b - a).

    Tolerance: 2 half-widths of the 95% interval (z = 3.92, a chance of 9e-5 per month of failing when the engine
    is right, Bonferroni: 5e-4 for the six months). The months' bounds are checked exactly against the calendar;
    the means then tell an average over the month from a value inside it: E[N(t)] at mid-January misses by 24
    half-widths, months of 365.25/12 days instead of the calendar's by 4 in January."""
    present, mean, rate = 400, 20.0, 1.0
    scenario = make_scenario(start="2025-01-01", warmup=0, horizon=181, periods="month", replications=400, seed=18,
                             capacity={"beds": 1000}, max_detention=HUGE,
                             streams=[stream(rate, {"dist": "exponential", "mean": mean},
                                             detained_at_start={"count": present, "since": "day 0"})])
    results = sim.run(scenario, jobs=1)
    assert sum(results.values("turned_away")) == 0
    edges = [day(dt.date(2025, month, 1)) for month in range(1, 8)]
    found = periods(scenario, "month")
    assert [(p.from_day, p.until_day) for p in found] == list(zip(edges, edges[1:]))
    values = period_means(results)
    steady = rate * mean
    for k, (a, b) in enumerate(zip(edges, edges[1:])):
        theory = steady + (present - steady) * mean * (math.exp(-a / mean) - math.exp(-b / mean)) / (b - a)
        simulated, half = float(values[:, k].mean()), half_width(values[:, k])
        print(f"{found[k].label}: theory {theory:.2f}, simulated {simulated:.2f} +- {half:.2f}")
        assert abs(simulated - theory) <= 2 * half, (found[k].label, theory, simulated, half)


@pytest.mark.slow
def test_quarter_means_follow_a_spring_that_triples_the_arrivals():
    """Oracle: M_t/G/inf, E[N(t)] = integral_0^t lambda(u) P(S > t - u) du with lambda 2/day tripled from 1 April to
    1 July every year, S = min(lognormal(30, 20), 90 days); a quarter's mean is (1/L) integral of E[N(t)] over it,
    both integrals by scipy quad, piece by piece.

    Tolerance: 2 half-widths of the 95% interval at each of 8 quarters (z = 3.92: 9e-5 per quarter, 7e-4 for the
    eight, of failing when the engine is right). A spring in the wrong quarter moves two quarters by about 100 beds
    (about 70 half-widths); one that ends a week late raises Q3 by 9 beds (8 half-widths)."""
    from scipy import integrate

    spring = {"name": "spring", "from": "04-01", "until": "07-01", "factor": 3}
    scenario = make_scenario(start="2025-01-01", warmup=0, horizon="2 years", periods="quarter", replications=100,
                             seed=19, capacity={"beds": 1000}, max_detention=90, streams=[{
                                 "name": "s", "arrivals": {"rate": 2, "seasons": [spring]},
                                 "origins": [{"name": "all", "share": 1, "return_probability": 1,
                                              "time_to_return": {"dist": "lognormal", "mean": 30, "sd": 20}}]}])
    results = sim.run(scenario, jobs=1)
    assert sum(results.values("turned_away")) == 0
    survival = lognormal_survival(30, 20)
    seasons = [0.0]
    for year in (2025, 2026):
        seasons += [day(dt.date(year, 4, 1)), day(dt.date(year, 7, 1))]
    seasons.append(math.inf)

    def expected(t: float) -> float:
        return mtginf_occupancy(t, seasons, (2, 6), survival, 90)

    quarters = [day(dt.date(year, month, 1)) for year in (2025, 2026) for month in (1, 4, 7, 10)] + [scenario.end_day]
    found = periods(scenario, "quarter")
    assert [(p.from_day, p.until_day) for p in found] == list(zip(quarters, quarters[1:]))
    kinks = sorted({edge + lag for edge in seasons[1:-1] for lag in (0, 90)})
    values = period_means(results)
    for k, (a, b) in enumerate(zip(quarters, quarters[1:])):
        inside = [x for x in kinks if a < x < b]
        theory = integrate.quad(expected, a, b, points=inside or None, limit=200)[0] / (b - a)
        simulated, half = float(values[:, k].mean()), half_width(values[:, k])
        print(f"{found[k].label}: theory {theory:.2f}, simulated {simulated:.2f} +- {half:.2f}")
        assert abs(simulated - theory) <= 2 * half, (found[k].label, theory, simulated, half)


# --- variants and common random numbers -------------------------------------------------

SCENARIO = scenario_data(start="2025-01-01", warmup=0, horizon="1 year", replications=3, seed=4,
                         capacity={"beds": 30})


def write(tmp_path, **overrides) -> str:
    """SCENARIO with `overrides` as the file s.yaml."""
    path = tmp_path / "s.yaml"
    path.write_text(to_yaml(SCENARIO | overrides), encoding="utf-8")
    return str(path)


def invoke(*args: str):
    return CliRunner().invoke(main, [*args, "--jobs", "1"])


def without_names(summary_json: str) -> dict:
    """summary.json without the scenario's name and the hash that covers it."""
    data = json.loads(summary_json)
    for key in ("scenario", "scenario_sha256"):
        del data[key]
    return data


def test_an_empty_variant_gives_the_bytes_of_a_plain_run(tmp_path):
    """CRN by identity: the variant `central: {}` of `capsim project` is `capsim run --periods month` of the same
    scenario, seed and replications, but for its name."""
    path = write(tmp_path, variants={"central": {}, "roomy": {"capacity.beds": 60}})
    assert invoke("project", path, "--out", str(tmp_path / "p")).exit_code == 0
    assert invoke("run", path, "--periods", "month", "--out", str(tmp_path / "r"), "-q").exit_code == 0
    central, plain = tmp_path / "p" / "central", tmp_path / "r"
    for name in ("replications.csv", "periods.csv", "occupancy.csv", "stays.csv"):
        assert (central / name).read_bytes() == (plain / name).read_bytes(), name
    assert without_names((central / "summary.json").read_text()) == without_names((plain / "summary.json").read_text())


def test_beds_change_no_request_and_unreached_beds_change_nothing():
    """CRN: replication r of each variant sees the same people. Beds never reached (5,000 or 6,000 for about 20 in
    use) give identical figures in every period; beds that are reached (15) turn people away but leave the
    detention requests of every period as they are."""
    scenario = make_scenario(start="2025-01-01", warmup=0, horizon="1 year", replications=4, seed=7, periods="month",
                             capacity={"beds": 5000},
                             variants={"central": {}, "roomy": {"capacity.beds": 6000}, "tight": {"capacity.beds": 15}})
    projection = sim.project(scenario, jobs=1)
    central, roomy, tight = (projection.variants[name].replications for name in ("central", "roomy", "tight"))
    for one, other, short in zip(central, roomy, tight):
        assert np.array_equal(one.periods, other.periods, equal_nan=True)
        assert np.array_equal(one.periods[..., REQUESTS], short.periods[..., REQUESTS])
        assert one.periods[0, :, TURNED_AWAY].sum() == 0 < short.periods[0, :, TURNED_AWAY].sum()


# --- capsim project ---------------------------------------------------------------------

VARIANTS = {"low": {"streams.s.arrivals.rate": 1.0}, "central": {}, "high": {"streams.s.arrivals.rate": 3.0}}


def test_project_writes_the_variants_their_periods_and_a_report(tmp_path):
    out = tmp_path / "p"
    result = invoke("project", write(tmp_path, variants=VARIANTS), "--periods", "quarter", "--out", str(out),
                    "--report")
    assert result.exit_code == 0, result.output
    assert (out / "projection.csv").is_file()
    for name in VARIANTS:
        assert (out / name / "periods.csv").is_file()
    rows = list(csv.DictReader(io.StringIO((out / "projection.csv").read_text(encoding="utf-8"))))
    quarters = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert len(rows) == len(VARIANTS) * len(quarters) * 7
    assert list(dict.fromkeys(row["variant"] for row in rows)) == list(VARIANTS)
    assert list(dict.fromkeys(row["period"] for row in rows)) == quarters
    table = result.output.split("\nevery period")[0]
    assert all(name in table for name in VARIANTS) and all(quarter in table for quarter in quarters)
    page = (out / "report.html").read_text(encoding="utf-8")
    fans = [svg for svg in re.findall(r"<svg.*?</svg>", page, re.S) if "Beds in use by period" in svg]
    assert len(fans) == 1 and all(name in fans[0] for name in VARIANTS)
    (out / "report.html").unlink()
    again = CliRunner().invoke(main, ["report", str(out)])
    assert again.exit_code == 0, again.output
    assert (out / "report.html").read_text(encoding="utf-8") == page


def test_a_scenario_without_variants_is_projected_as_central(tmp_path):
    out = tmp_path / "p"
    result = invoke("project", write(tmp_path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["central"]
    rows = list(csv.DictReader(io.StringIO((out / "projection.csv").read_text(encoding="utf-8"))))
    assert {row["variant"] for row in rows} == {"central"} and len(rows) == 12 * 7  # by month, the default
    assert "central" in result.output and "2025-12" in result.output


TAIL = "variants:\n  high:\n"


@pytest.mark.parametrize(("tail", "key", "says"), [
    (TAIL + "    streams.t.arrivals.rate: 3\n", "variants.high.streams.t.arrivals.rate", "there are: s"),
    (TAIL + "    streams.s.screened_out: 2\n", "variants.high.streams.s.screened_out", "less than or equal to 1"),
    ("variants:\n  high: 3\n", "variants.high", "expected a mapping"),
    ("periods: weekly\n", "periods", "'month', 'quarter' or 'year'"),
])
def test_mistakes_are_told_at_their_line(tmp_path, monkeypatch, tail, key, says):
    """Each mistake: `capsim project` exits 2 with FILE:LINE:COL: key: message at the last line of the file (where
    the mistake is written), and no traceback."""
    monkeypatch.chdir(tmp_path)
    text = to_yaml(SCENARIO) + tail
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    result = invoke("project", "x.yaml", "--out", str(tmp_path / "p"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not (tmp_path / "p").exists()
    located = [row for row in result.stderr.splitlines() if row.startswith(f"x.yaml:{text.count(chr(10))}:")]
    assert any(f": {key}: " in row and says in row for row in located), result.stderr


def test_an_unknown_kind_of_period_on_the_command_line(tmp_path):
    result = invoke("project", write(tmp_path), "--periods", "fortnight", "--out", str(tmp_path / "p"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "fortnight" in result.output and "month" in result.output and not (tmp_path / "p").exists()


# --- the periods of a run's report ------------------------------------------------------

@pytest.mark.parametrize(("schedule", "says"), [
    ([{"from": 0, "rate": 0.5}, {"from": "2025-05-01", "rate": 10}],
     "The centres are first full more than 5.0% of the time in 2025-05"),
    ([{"from": 0, "rate": 0.5}], "In no month are the centres full more than 5.0% of the time."),
])
def test_the_report_names_the_first_month_often_full(tmp_path, schedule, says):
    """Oracle by construction: 5 erlangs on 20 beds until May (Erlang B: full 3e-7 of the time), then 100 erlangs,
    full within about two days of 1 May; without May's rise, never full. A period shifted by a month, or the
    alarm read from the wrong month, names April or June."""
    flow = stream(0, {"dist": "exponential", "mean": 10}) | {"arrivals": {"schedule": schedule}}
    out = tmp_path / "r"
    result = invoke("run", write(tmp_path, capacity={"beds": 20}, streams=[flow]), "--periods", "month", "--out",
                    str(out), "-q", "--report")
    assert result.exit_code == 0, result.output
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (out / "report.html").read_text(encoding="utf-8")))
    assert says in words and words.count("more than 5.0% of the time") == 1


# --- the API ----------------------------------------------------------------------------

def test_project_and_project_to_folder_from_python(tmp_path):
    scenario = make_scenario(start="2025-01-01", warmup=0, horizon="1 year", replications=3, variants=VARIANTS)
    projection = sim.project(scenario, periods="quarter", jobs=1)
    assert list(projection.variants) == list(VARIANTS) and projection.scenario is scenario
    occupancy = {name: period_means(results).mean(axis=0) for name, results in projection.variants.items()}
    assert all(values.shape == (4,) for values in occupancy.values())
    assert (occupancy["low"] < occupancy["central"]).all() and (occupancy["central"] < occupancy["high"]).all()
    assert projection.variants["high"].scenario.streams[0].arrivals.rate == 3.0
    written = sim.project_to_folder(scenario, tmp_path / "p", periods="quarter", jobs=1)
    assert list(written.variants) == list(VARIANTS)
    for name, results in written.variants.items():
        assert np.array_equal(period_means(results), period_means(projection.variants[name]))
        assert (tmp_path / "p" / name / "periods.csv").is_file()
