"""What a planner reads in the terminal and in the study folders: in the planner's units, nothing that misleads.

Small scenarios with few replications, through the command line as a planner runs them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import scenario_data, to_yaml

from sim import metrics
from sim.analysis.queueing import erlang_a, erlang_c, mmc_mean_wait
from sim.formatting import for_people, percent

PLAN = {"beds": 20, "changes": [{"name": "wing_b", "at": "2024-03-01", "beds": 26},
                                {"name": "wing_c", "at": 120, "beds": 30}]}
"""A capacity plan with named steps, one written as a date and one as a day."""
SMALL = {"horizon": 150, "warmup": 20, "replications": 3, "seed": 7}


def _file(folder: Path, name: str, **overrides) -> str:
    path = folder / f"{name}.yaml"
    path.write_text(to_yaml(scenario_data(name=name, **{**SMALL, **overrides})), encoding="utf-8")
    return str(path)


def capsim(*args, code: tuple[int, ...] = (0, 1)) -> str:
    from click.testing import CliRunner

    from sim.cli import main

    result = CliRunner().invoke(main, [*map(str, args)], catch_exceptions=False)
    assert result.exit_code in code, result.output
    return result.output


# --- size on a capacity plan ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def sized_plan(tmp_path_factory) -> tuple[str, Path]:
    work = tmp_path_factory.mktemp("size-plan")
    out = work / "out"
    printed = capsim("size", _file(work, "plan", start="2024-01-01", capacity=PLAN),
                     "--target", "probability_full<=0.05", "--out", out, "--jobs", "1", "--report")
    return printed, out


def test_size_of_a_plan_prints_every_step_at_the_answer(sized_plan):
    """Not one number that reads as the total: each step with its date, name and beds, and the shift."""
    printed, out = sized_plan
    answer = json.loads((out / "size.json").read_text(encoding="utf-8"))["answer"]
    shift = answer - 20
    assert f"every step of the plan moved by the same {shift:+d} beds" in printed, printed
    for when, name, beds in [("2024-01-01", "at the start", 20), ("2024-03-01", "wing_b", 26),
                             ("2024-04-30", "wing_c", 30)]:  # day 120 after 2024-01-01
        assert re.search(rf"{when} \(day \d+\)\s+{name}\s+{beds + shift} beds \(written {beds}\)", printed), (
            when, printed)


def test_size_folder_holds_the_plan_at_the_answer(sized_plan):
    _, out = sized_plan
    info = json.loads((out / "size.json").read_text(encoding="utf-8"))
    shift = info["answer"] - 20
    assert info["shift"] == shift
    assert info["plan"] == [
        {"day": 0, "date": "2024-01-01", "name": None, "beds_written": 20, "beds": 20 + shift},
        {"day": 60, "date": "2024-03-01", "name": "wing_b", "beds_written": 26, "beds": 26 + shift},
        {"day": 120, "date": "2024-04-30", "name": "wing_c", "beds_written": 30, "beds": 30 + shift},
    ]


def test_size_without_a_plan_prints_no_plan(tmp_path):
    printed = capsim("size", _file(tmp_path, "flat"), "--target", "probability_full<=0.05", "--out",
                     tmp_path / "out", "--jobs", "1")
    assert "answer:" in printed and "capacity plan" not in printed


# --- theory on a waiting list --------------------------------------------------------------------

def _waiting_stream(**overrides) -> dict:
    """Exponential stays of mean 10 days, 0.8 requests a day: a = 8 erlangs."""
    return {"name": "s", "arrivals": {"rate": 0.8}, "when_full": "wait",
            "origins": [{"name": "all", "share": 1, "return_probability": 1,
                         "time_to_return": {"dist": "exponential", "mean": 10}}], **overrides}


def test_theory_of_a_waiting_list_is_erlang_c(tmp_path):
    """M/M/c: the probability of waiting and the mean wait of Erlang C, nobody gives up, beds per waiting target."""
    printed = capsim("theory", _file(tmp_path, "mmc", capacity={"beds": 10}, streams=[_waiting_stream()]))
    assert "Erlang C" in printed and "turned away" not in printed and "Erlang B with" not in printed
    assert f"probability of waiting for a bed: {percent(erlang_c(10, 8.0))}" in printed
    assert f"mean wait, over all requests: {for_people(mmc_mean_wait(10, 0.8, 10.0))} days" in printed
    assert "share who give up: 0 (nobody gives up: no max_wait)" in printed
    # the smallest c with C(c, 8) under each target
    needed = {target: next(c for c in range(9, 100) if erlang_c(c, 8.0) <= target) for target in (0.01, 0.05, 0.10)}
    assert ("beds needed to keep the probability of waiting under: "
            + ", ".join(f"{t:.0%}: {c}" for t, c in needed.items())) in printed


def test_theory_of_a_waiting_list_with_exponential_patience_is_erlang_a(tmp_path):
    stream = _waiting_stream(max_wait={"dist": "exponential", "mean": 5})
    printed = capsim("theory", _file(tmp_path, "mmcm", capacity={"beds": 10}, streams=[stream]))
    theory = erlang_a(10, 0.8, 10.0, 5.0)
    assert "Erlang A" in printed and "turned away" not in printed
    assert f"probability of waiting for a bed: {percent(theory.probability_wait)}" in printed
    assert f"mean wait, over all requests: {for_people(theory.mean_wait)} days" in printed
    assert f"share who give up: {percent(theory.probability_abandon)}" in printed
    needed = next(c for c in range(1, 100) if erlang_a(c, 0.8, 10.0, 5.0).probability_abandon <= 0.01)
    assert re.search(rf"beds needed to keep the share who give up under: 1%: {needed}\b", printed), printed


@pytest.mark.parametrize("stream, why", [
    (_waiting_stream(max_wait="3 days"), "a fixed maximum wait"),
    (_waiting_stream(origins=[{"name": "all", "share": 1, "return_probability": 1,
                               "time_to_return": {"dist": "lognormal", "mean": 10, "sd": 5}}]),
     "stays are not exponential"),
])
def test_theory_says_when_it_does_not_cover_a_waiting_list(tmp_path, stream, why):
    printed = capsim("theory", _file(tmp_path, "outside", capacity={"beds": 10}, streams=[stream]))
    assert "waiting list: queueing theory does not cover this scenario" in printed and why in printed, printed
    assert "turned away under" not in printed


# --- counts and cost a year, beside the window's total ---------------------------------------------

TWO_YEARS = {"horizon": "2 years", "cost_per_bed_day": 100.0}
"""A 730.5-day window: a year is half the window's count."""


def _line(printed: str, start: str) -> str:
    """The line of a table that starts (after spaces) with `start`."""
    found = [line for line in printed.splitlines() if line.strip().startswith(start)]
    assert found, (start, printed)
    return found[0]


def test_run_table_shows_counts_and_cost_a_year(tmp_path):
    out = tmp_path / "run"
    printed = capsim("run", _file(tmp_path, "two-years", **TWO_YEARS), "--out", out, "--jobs", "1")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "counts and cost are for the whole 2-year window; a year: divided by 2 years" in printed
    header = _line(printed, "metric")
    assert "in the window" in header and header.rstrip().endswith("a year")
    for metric in ("returned", "admitted", "turned_away", "cost", "bed_days"):
        mean = summary["metrics"][metric]["mean"]
        line = _line(printed, metrics.label(metric))
        assert line.split()[-1] == for_people(mean / 2), (metric, line)
    # shares and beds have no "a year"
    assert _line(printed, metrics.label("occupancy_mean")).rstrip().endswith("]")
    # per stream: the counts a year too
    assert "per stream, a year:" not in printed  # one stream: nothing per stream


def test_run_table_per_stream_a_year(tmp_path):
    second = {**scenario_data()["streams"][0], "name": "t", "arrivals": {"rate": 0.5}}
    out = tmp_path / "run"
    printed = capsim("run", _file(tmp_path, "streams", streams=[scenario_data()["streams"][0], second],
                                  **TWO_YEARS), "--out", out, "--jobs", "1")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    block = printed[printed.index("per stream, a year:"):]
    returned = summary["streams"]["t"]["returned"]["mean"]
    assert for_people(returned / 2) in _line(block, "t ").split()


def test_compare_table_shows_differences_a_year(tmp_path):
    out = tmp_path / "compare"
    printed = capsim("compare", _file(tmp_path, "base", **TWO_YEARS),
                     _file(tmp_path, "more", capacity={"beds": 25}, **TWO_YEARS), "--out", out, "--jobs", "1")
    assert "counts and cost are for the whole 2-year window; a year: divided by 2 years" in printed
    assert _line(printed, "scenario").rstrip().endswith("a year")
    rows = {(r["scenario"], r["metric"]): r for r in _csv(out / "compare.csv")}
    difference = float(rows[("more", "returned")]["difference"])
    line = next(line for line in printed.splitlines() if line.split()[:2] == ["more", "returned"])
    assert line.split()[-1] == for_people(difference / 2), line


def test_sweep_table_shows_counts_a_year(tmp_path):
    out = tmp_path / "sweep"
    printed = capsim("sweep", _file(tmp_path, "sw", **TWO_YEARS), "--set", "capacity.beds=18,22", "--out", out,
                     "--jobs", "1")
    assert "counts and cost are for the whole 2-year window; a year: divided by 2 years" in printed
    rows = _csv(out / "sweep.csv")
    for row in rows:
        line = _line(printed, row["point"])
        for metric in ("turned_away", "returned"):
            assert for_people(float(row[f"{metric}_mean"]) / 2) in line.split(), (metric, line)


def test_size_shows_a_count_target_a_year(tmp_path):
    printed = capsim("size", _file(tmp_path, "count", **TWO_YEARS), "--target", "turned_away<=200",
                     "--out", tmp_path / "out", "--jobs", "1")
    info = json.loads((tmp_path / "out" / "size.json").read_text(encoding="utf-8"))
    at = _line(printed, f"at {info['answer']} beds:")
    mean = float(re.search(r"turned_away ([0-9.,]+) ", at).group(1).replace(",", ""))
    assert f"in the 2-year window ({for_people(mean / 2)} a year)" in at, at


def _csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- compare per origin group ---------------------------------------------------------------------

TWO_ORIGINS = {"max_detention": 30, "streams": [{
    "name": "s", "arrivals": {"rate": 2.0},
    "origins": [{"name": "easy", "share": 0.5, "return_probability": 1,
                 "time_to_return": {"dist": "exponential", "mean": 10}},
                {"name": "hard", "share": 0.5, "return_probability": 0.4,
                 "time_to_return": {"dist": "exponential", "mean": 20}}]}]}


def paired(base: list[float], alt: list[float]) -> float:
    return sum(a - b for a, b in zip(alt, base)) / len(base)


def test_compare_table_shows_each_origin_group(tmp_path):
    """The returns of each origin group, paired alt - base, with the difference a year."""
    out = tmp_path / "compare"
    printed = capsim("compare", _file(tmp_path, "base", **TWO_ORIGINS, **TWO_YEARS),
                     _file(tmp_path, "more", capacity={"beds": 25}, **TWO_ORIGINS, **TWO_YEARS),
                     "--out", out, "--jobs", "1")
    assert "per origin group" in printed
    for origin in ("easy", "hard"):
        column = f"s.{origin}.returned"
        base = [float(r[column]) for r in _csv(out / "base" / "replications.csv")]
        alt = [float(r[column]) for r in _csv(out / "more" / "replications.csv")]
        line = next(line for line in printed.splitlines() if line.split()[:2] == ["more", column])
        cells = line.split()
        assert cells[2] == for_people(sum(base) / len(base)) and cells[3] == for_people(sum(alt) / len(alt))
        assert cells[4].rstrip("*") == for_people(paired(base, alt)), line
        assert cells[-1] == for_people(paired(base, alt) / 2), line


def test_a_difference_without_an_interval_is_not_called_significant():
    """A single replication has no interval (NaN bounds): its difference is not marked significant,
    however large; an interval on either side of zero is."""
    from sim.studies.compare import Difference

    def difference(low, high):
        return Difference("alt", "admitted", 10.0, 20.0, 10.0, low, high)

    assert not difference(float("nan"), float("nan")).significant
    assert not difference(-1.0, 1.0).significant
    assert difference(0.5, 1.0).significant and difference(-1.0, -0.5).significant
