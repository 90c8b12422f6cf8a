"""Results by period (`periods: month|quarter|year`, `capsim run --periods`).

Oracles: conservation laws. The periods of the measured window add up to it, in every replication: the
counts of the periods sum to the window's counts, the period means of the beds in use weighted by the
periods' lengths give the window's time-weighted mean, and so do the shares of time full and the
bed-days. And results by period change nothing else: every other data file keeps its bytes.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_scenario, scenario_data, to_yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import emit, valid_scenarios

import sim
from sim.cli import main
from sim.engine.periods import PERIOD_METRICS, periods
from sim.scenario import parse_scenario

COUNTS = ("detention_requests", "admitted", "turned_away", "returned", "released_court", "released_deadline")
TIME_WEIGHTED = ("occupancy_mean", "probability_full")


def _window_laws(scenario, results) -> None:
    """Every replication's periods add up to its window, system-wide and per stream."""
    kind = scenario.periods
    lengths = np.array([p.until_day - p.from_day for p in periods(scenario, kind)])
    assert math.isclose(lengths.sum(), scenario.horizon, rel_tol=1e-12)
    column = {name: k for k, name in enumerate(PERIOD_METRICS)}
    for rep in results.replications:
        scopes = [rep.metrics] + [rep.streams[name] for name in results.stream_names]
        for values, window in zip(rep.periods, scopes):
            for name in COUNTS:
                assert values[:, column[name]].sum() == window[name], name
            assert values[:, column["bed_days"]].sum() == pytest.approx(window["bed_days"], rel=1e-9, abs=1e-9)
            for name in TIME_WEIGHTED:
                per_period = values[:, column[name]]
                defined = ~np.isnan(per_period)
                if defined.all():
                    weighted = float((per_period * lengths).sum() / lengths.sum())
                    assert weighted == pytest.approx(window[name], rel=1e-9, abs=1e-9), name
            assert (values[:, column["occupancy_max"]] <= window["occupancy_max"]).all()


@settings(max_examples=60, deadline=None)
@given(data=valid_scenarios(), kind=st.sampled_from(["month", "quarter"]), start=st.booleans())
def test_periods_add_up_to_the_window_in_any_scenario(data, kind, start):
    """Property over generated scenarios (reserved beds, caps, waiting lists, capacity changes): the
    conservation laws of the module docstring, with calendar periods (a start) and without."""
    data = dict(data, periods=kind, horizon=data["horizon"] * 6, **({"start": "2025-01-20"} if start else {}))
    scenario = parse_scenario(emit(data)[0], "generated.yaml")
    _window_laws(scenario, sim.run(scenario, jobs=1))


def test_periods_add_up_with_changes_of_beds_inside_periods():
    """A capacity cut and a rise in the middle of months, a waiting list and reserved beds."""
    scenario = make_scenario(
        start="2025-01-01", warmup=0, horizon="1 year", periods="month", replications=3,
        capacity={"beds": 20, "changes": [{"at": "2025-03-17", "beds": 12}, {"at": "2025-08-09", "beds": 25}]},
        streams=[{"name": "police", "arrivals": {"rate": 1.6}, "when_full": "wait", "max_wait": 5,
                  "reserved_beds": 4,
                  "origins": [{"name": "all", "share": 1, "return_probability": 1,
                               "time_to_return": {"dist": "exponential", "mean": 10}}]},
                 {"name": "campaign", "arrivals": {"rate": 0.5}, "max_beds": 6,
                  "origins": [{"name": "all", "share": 1, "return_probability": 1,
                               "time_to_return": {"dist": "exponential", "mean": 10}}]}])
    results = sim.run(scenario, jobs=1)
    _window_laws(scenario, results)
    assert results.replications[0].periods.shape == (3, 12, len(PERIOD_METRICS))


def test_calendar_periods_follow_the_calendar():
    scenario = make_scenario(start="2025-01-01", warmup="45 days", horizon=400, periods="quarter")
    found = periods(scenario, "quarter")
    assert [p.label for p in found] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    assert found[0].from_date == dt.date(2025, 2, 15) and found[0].until_date == dt.date(2025, 4, 1)
    assert found[-1].from_date == dt.date(2026, 1, 1) and found[-1].until_day == 445
    months = periods(scenario, "month")
    assert [p.label for p in months[:3]] == ["2025-02", "2025-03", "2025-04"]
    assert [p.until_day - p.from_day for p in months[1:4]] == [31, 30, 31]


def test_a_window_of_a_year_is_four_quarters_and_a_warmup_of_a_year_adds_no_stub():
    """'1 year' is 365.25 days: the quarter of a day left at an end is counted with its neighbour."""
    for warmup in (0, "1 year"):
        scenario = make_scenario(start="2025-01-01", warmup=warmup, horizon="1 year", periods="quarter")
        found = periods(scenario, "quarter")
        assert len(found) == 4 and found[0].from_day == scenario.warmup and found[-1].until_day == scenario.end_day
    assert [p.label for p in found] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]


def test_periods_without_a_start_are_twelfths_of_a_year_from_the_window_start():
    scenario = make_scenario(warmup=50, horizon=400, periods="month")
    found = periods(scenario, "month")
    assert found[0].from_day == 50 and found[0].label == "month 1"
    assert found[1].from_day == pytest.approx(50 + 365.25 / 12)
    assert len(found) == math.ceil(400 / (365.25 / 12)) and found[-1].until_day == 450


def test_results_by_period_change_no_other_byte(tmp_path):
    """Only periods.csv is added; scenario.yaml says the run had periods, and nothing else differs."""
    path = tmp_path / "s.yaml"
    path.write_text(to_yaml(scenario_data(start="2025-01-01", replications=3)), encoding="utf-8")
    runner = CliRunner()
    for name, extra in [("plain", []), ("monthly", ["--periods", "month"])]:
        result = runner.invoke(main, ["run", str(path), "--out", str(tmp_path / name), "--jobs", "1", *extra])
        assert result.exit_code == 0, result.output
    plain, monthly = tmp_path / "plain", tmp_path / "monthly"
    assert not (plain / "periods.csv").exists() and (monthly / "periods.csv").is_file()
    for name in ("summary.json", "replications.csv", "occupancy.csv", "occupancy_distribution.csv", "stays.csv"):
        assert (plain / name).read_bytes() == (monthly / name).read_bytes(), name
    assert "periods" not in (plain / "scenario.yaml").read_text(encoding="utf-8")
    assert "periods: month\n" in (monthly / "scenario.yaml").read_text(encoding="utf-8")
    assert "by month, all streams" in result.output and "2025-03" in result.output


def test_periods_csv_holds_every_period_scope_and_metric(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(to_yaml(scenario_data(start="2025-01-01", warmup=0, horizon="1 year", replications=3,
                                          periods="quarter", cost_per_bed_day=100)), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "r"), "--jobs", "1", "-q"])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "r" / "periods.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ("period,from_day,until_day,from_date,until_date,capacity,stream,metric,mean,ci95_low,"
                        "ci95_high")
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == 4 * 2 * (len(PERIOD_METRICS) + 1)  # quarters x (all, s) x metrics (cost too), near_full
    assert {r[6] for r in rows} == {"(all)", "s"}
    assert rows[0][:6] == ["2025-Q1", "0", "90", "2025-01-01", "2025-04-01", "20"]
    cost = {r[0]: float(r[8]) for r in rows if r[6] == "(all)" and r[7] == "cost"}
    bed_days = {r[0]: float(r[8]) for r in rows if r[6] == "(all)" and r[7] == "bed_days"}
    assert all(cost[q] == pytest.approx(100 * bed_days[q], rel=1e-6) for q in cost)
    for row in rows:
        if row[9]:
            assert float(row[9]) <= float(row[8]) <= float(row[10]) and float(row[9]) >= 0


def test_an_unknown_kind_of_period_is_refused_at_its_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(to_yaml(scenario_data(periods="fortnight")), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "periods" in result.output and "month" in result.output
