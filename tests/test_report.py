"""The HTML report: built from a results folder's files, self-contained, reproducible."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_scenario, scenario_data, to_yaml
from html_check import external_references, outline

import sim
import sim.report as report
from sim import errors, formatting
from sim.report import drawing

ROOT = Path(__file__).resolve().parents[1]
STRESS_ITEMS = ["1.2", "3.3", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "5.4"]
RUN_FIGURES = 4  # occupancy, distribution, outcomes, length of stay


def report_scenario():
    """Two streams (one with a rate schedule and a waiting list), a start date and capacity changes."""
    return make_scenario(
        name="report-test",
        description="A small scenario <for> the report & its tests",
        start="2024-01-01",
        horizon=120,
        warmup=30,
        replications=3,
        seed=5,
        cost_per_bed_day=150.0,
        capacity={"beds": 20, "changes": [{"at": "2024-03-01", "beds": 14}, {"at": 110, "beds": 22}]},
        streams=[
            {"name": "zone", "arrivals": {"rate": 1.6}, "screened_out": 0.1, "max_detention": "30 days",
             "court_release": {"probability": 0.2, "time": {"dist": "uniform", "low": 1, "high": 20}},
             "origins": [
                 {"name": "cooperating", "share": 0.5, "return_probability": 0.8,
                  "time_to_return": {"dist": "exponential", "mean": 10}},
                 {"name": "difficult", "share": 0.5, "return_probability": 0.3,
                  "time_to_return": {"dist": "lognormal", "mean": 15, "sd": 6}}]},
            {"name": "airport",
             "arrivals": {"schedule": [{"from": 0, "rate": 0.4}, {"from": "2024-02-15", "rate": 0.8}]},
             "when_full": "wait", "max_wait": "3 days", "priority": 1,
             "origins": [{"name": "all", "share": 1, "return_probability": 1,
                          "time_to_return": {"dist": "gamma", "mean": 5, "sd": 2}}]},
        ],
    )


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    scenario = report_scenario()
    results = sim.run(scenario, replications=3, jobs=1)
    return sim.write(results, tmp_path_factory.mktemp("report") / "run")


@pytest.fixture(scope="module")
def written(results_dir) -> tuple[Path, str]:
    path = report.write_report(results_dir)
    return path, path.read_text(encoding="utf-8")


def without_xmlns(text: str) -> str:
    return re.sub(r'\sxmlns(?::\w+)?="[^"]*"', "", text)


def test_report_is_written_into_the_folder(written, results_dir):
    path, text = written
    assert path == results_dir / "report.html"
    assert path.is_file()
    assert text.startswith("<!DOCTYPE html>")
    assert not [p for p in results_dir.iterdir() if p.name.startswith(".report.html.tmp-")]


def test_report_is_self_contained(written):
    _, text = written
    assert "<script" not in text.lower()
    assert "http" not in without_xmlns(text)
    assert "<link" not in text and "@import" not in text and "url(http" not in text
    assert external_references(text) == []
    assert re.search(r"@page\s*\{\s*size:\s*A4;\s*margin:\s*15mm;?\s*\}", text)
    assert "@media print" in text


def test_report_parses_and_embeds_every_figure(written):
    _, text = written
    parsed = outline(text)
    assert parsed.errors == []
    assert parsed.stack == []
    assert parsed.counts.get("svg") == RUN_FIGURES
    assert parsed.counts.get("figure") == RUN_FIGURES
    assert text.count("<svg") == RUN_FIGURES
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "ids of the inline SVGs clash"
    for reference in set(re.findall(r'(?:url\(#|href="#)([^)"]+)', text)):
        assert reference in ids


def test_report_content(written):
    _, text = written
    assert "report-test" in text
    assert "<title>capsim report: report-test</title>" in text
    assert "A small scenario &lt;for&gt; the report &amp; its tests" in text  # escaped
    for item in STRESS_ITEMS:
        assert f"<td>{item}</td>" in text, item
    for heading in ["Headline results", "Occupancy over time", "Occupancy distribution", "Outcomes per stream",
                    "Length of stay", "STRESS-DES"]:
        assert heading in text
    for metric in ["occupancy_mean", "occupancy_p95", "probability_full", "blocking_probability", "return_rate",
                   "los_mean_days", "bed_days", "cost"]:
        assert f"<code>{metric}</code>" in text
    # a row per stream and origin in 3.3, the seed tree in 5.2, the run length in 4.2
    for name in ["zone", "airport", "cooperating (0.5)", "difficult (0.5)", "all (1)"]:
        assert name in text
    assert "SeedSequence(5).spawn(3)[r]" in text
    assert "Measured window of 120 days" in text
    assert "14 from day 60 (2024-03-01)" in text
    assert "Analytic check: not applicable" in text  # a schedule and a waiting list: outside Erlang B
    # dates on the occupancy axis, both maximum detentions on the length of stay figure
    assert "2024-0" in text or "Feb" in text or "Mar" in text
    assert "maximum detention 30 days (zone)" in text
    assert "maximum detention 100000 days (airport): off scale" in text


def test_report_says_how_its_intervals_keep_within_bounds(written):
    """The methods state the interval's method: the Student-t interval cut at each metric's bounds."""
    _, html = written
    assert "cut at the bounds of the metric" in html and "a share at most 1" in html


def test_report_without_a_start_date(tmp_path):
    """Day numbers on the time axis; a single stream; a scenario Erlang B covers."""
    results = sim.run(make_scenario(horizon=60, warmup=10, replications=2), replications=2, jobs=1)
    folder = sim.write(results, tmp_path / "run")
    text = report.write_report(folder).read_text(encoding="utf-8")
    assert text.count("<svg") == RUN_FIGURES
    assert "day (0 = start of the warm-up)" in text
    assert "analytic (Erlang B)" in text and "Analytic check: the scenario is an M/G/c/c loss system" in text
    for item in STRESS_ITEMS:
        assert f"<td>{item}</td>" in text, item
    assert "http" not in without_xmlns(text)


@pytest.mark.slow
def test_same_folder_gives_byte_identical_report(written, results_dir, tmp_path):
    path, text = written
    first = path.read_bytes()
    assert report.write_report(results_dir).read_bytes() == first
    # a fresh interpreter with another hash seed draws the same bytes
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    code = ("import sys; from pathlib import Path; from sim.report import report_html; "
            "sys.stdout.buffer.write(report_html(Path(sys.argv[1])).encode('utf-8'))")
    other = subprocess.run([sys.executable, "-c", code, str(results_dir)], env=env, capture_output=True,
                           check=True, cwd=tmp_path).stdout
    assert other == first


@pytest.mark.slow
def test_figures_as_png(results_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(results_dir, copy)
    report.write_report(copy, figures=True)
    names = sorted(p.name for p in (copy / "figures").iterdir())
    assert names == ["distribution.png", "occupancy.png", "outcomes.png", "stays.png"]
    first = {name: (copy / "figures" / name).read_bytes() for name in names}
    assert all(data.startswith(b"\x89PNG") for data in first.values())
    report.write_report(copy, figures=True)
    assert {name: (copy / "figures" / name).read_bytes() for name in names} == first


def test_report_without_matplotlib(results_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    with pytest.raises(errors.ReportUnavailable, match=r"pip install 'capsim\[report\]'") as error:
        report.write_report(results_dir)
    assert isinstance(error.value, errors.CapsimError) and error.value.exit_code == 2
    assert str(error.value) == "the report needs the report extra: pip install 'capsim[report]'"


@pytest.mark.slow
def test_import_needs_no_matplotlib(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; import sim.report; "
            "print(sim.report.html_page('t', [('h', '<p>x</p>')]).count('<h2>'))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_not_a_results_folder(tmp_path):
    with pytest.raises(errors.NotAResultsFolder, match="no summary.json"):
        report.write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_helpers_for_compare_sweep_and_size():
    forest = report.forest_plot_svg([
        {"label": "all-brussels: occupancy_mean", "difference": 12.5, "ci95_low": 10.0, "ci95_high": 15.0,
         "significant": True},
        {"label": "ixelles: occupancy_mean", "difference": 0.4, "ci95_low": -1.0, "ci95_high": 1.8,
         "significant": False},
        {"label": "undefined", "difference": float("nan"), "ci95_low": None, "ci95_high": None,
         "significant": False},
    ])
    sweep = report.sweep_plot_svg("capacity.beds", [
        {"value": 540, "mean": 0.2, "ci95_low": 0.18, "ci95_high": 0.22},
        {"value": 751, "mean": 0.01, "ci95_low": 0.005, "ci95_high": 0.015},
        {"value": 650, "mean": 0.08, "ci95_low": 0.07, "ci95_high": 0.09},
    ], metric="probability_full")
    categorical = report.sweep_plot_svg("streams.s.when_full", [
        {"value": "turn_away", "mean": 1.0, "ci95_low": 0.9, "ci95_high": 1.1},
        {"value": "wait", "mean": 2.0, "ci95_low": 1.8, "ci95_high": 2.2},
    ], metric="occupancy_mean", name="sweep-when-full")
    size = report.size_plot_svg([
        {"beds": 20, "mean": 0.16, "ci95_low": 0.14, "ci95_high": 0.18},
        {"beds": 30, "mean": 0.008, "ci95_low": 0.006, "ci95_high": 0.011},
        {"beds": 28, "mean": 0.02, "ci95_low": 0.017, "ci95_high": 0.023},
    ], "probability_full<=0.01", 30)
    for svg in (forest, sweep, categorical, size):
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
        assert "http" not in without_xmlns(svg)
    assert "answer: 30 beds" in size and "probability_full&lt;=0.01" in size
    assert "significant (interval excludes 0)" in forest
    assert "turn_away" in categorical
    page = report.html_page("compare <a> b", [("Differences", report.figure_html(forest, "caption")),
                                               ("Sweep", sweep), ("Size", size)])
    assert page.count("<svg") == 3 and page.count("<h2>") == 3
    assert "<title>compare &lt;a&gt; b</title>" in page
    assert "<script" not in page and "http" not in without_xmlns(page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert report.size_plot_svg([], 0.05, None).startswith("<svg")


def test_external_references_are_found():
    """The check the self-containment tests rely on does catch what a page could fetch."""
    page = ('<html><head><link rel="stylesheet" href="https://cdn.example/x.css"><style>@import "a.css"; '
            'body { background: url(bg.png) }</style></head><body><img src="//cdn.example/i.png">'
            '<svg><use xlink:href="#local"/><path style="fill: url(#grad)"/></svg><a href="#top">top</a></body></html>')
    found = external_references(page)
    assert "https://cdn.example/x.css" in found and "//cdn.example/i.png" in found
    assert any(f.startswith("@import") for f in found) and "bg.png" in found
    assert not any("#" in f for f in found)  # references inside the page are fine


# --- compare, sweep and size ------------------------------------------------------------------

HEADLINE_BUT_COST = 13  # a sweep draws every metric of sim.metrics.HEADLINE but cost (no cost per bed-day)
SMALL = {"horizon": 150, "warmup": 20, "replications": 3, "seed": 7}  # c = 20, load 20 erlangs: ~16% turned away


def _scenario_file(folder: Path, name: str, beds: int) -> str:
    path = folder / f"{name}.yaml"
    path.write_text(to_yaml(scenario_data(name=name, capacity={"beds": beds}, **SMALL)), encoding="utf-8")
    return str(path)


def _capsim(*args) -> str:
    from click.testing import CliRunner

    from sim.cli import main

    result = CliRunner().invoke(main, [*map(str, args), "--jobs", "1"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.output


def _svgs(text: str) -> dict[str, str]:
    """The inline figures of a page by their aria-label (their title)."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<svg[^>]*aria-label="([^"]*)".*?</svg>', text, re.S)}


def _checked(folder: Path, figures: int) -> str:
    """report.html of the folder: parses, self-contained, `figures` inline figures, no path of the folder."""
    text = (folder / "report.html").read_text(encoding="utf-8")
    parsed = outline(text)
    assert parsed.errors == [] and parsed.stack == []
    assert parsed.counts.get("svg") == figures == parsed.counts.get("figure")
    assert external_references(text) == []
    assert str(folder) not in text and ".tmp-" not in text  # written in the staging folder, naming neither
    assert not [p for p in folder.parent.iterdir() if ".tmp-" in p.name]
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    return text


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("compare")
    out = work / "out"
    printed = _capsim("compare", _scenario_file(work, "base", 20), _scenario_file(work, "more-beds", 30),
                      "--out", out, "--report")
    assert f"report: {out / 'report.html'}" in printed
    return out


def test_compare_report(compared):
    """20 -> 30 beds: occupancy up and blocking down, both significant; what cannot change is not drawn."""
    text = _checked(compared, figures=9)
    drawn = {label.split(":")[0] for label in _svgs(text)}
    assert drawn == {"occupancy_mean", "occupancy_p95", "probability_full", "blocking_probability", "admitted",
                     "turned_away", "returned", "los_mean_days", "bed_days"}
    # the same arrivals (common random numbers), no court release, no deadline within reach, everyone
    # returned: zero differences, said in words
    assert re.search(r"Not drawn: <code>detention_requests</code>, <code>released_court</code>, "
                     r"<code>released_deadline</code>, <code>return_rate</code>", text)
    rows = {r["metric"]: r for r in csv_rows(compared / "compare.csv")}
    for metric in ("occupancy_mean", "blocking_probability"):
        assert rows[metric]["significant"] == "true"
        row = _row(text, f"<code>{metric}</code>")
        assert row.endswith('<span class="sig">yes</span></td></tr>')
        assert f"<strong>{formatting.for_people(float(rows[metric]['difference']))}</strong>" in row
        figure = _svgs(text)[f"{metric}: alternative − base (95% intervals)"]
        assert drawing.VERMILLION.lower() in figure.lower()  # highlighted
    assert float(rows["occupancy_mean"]["ci95_low"]) > 0 > float(rows["blocking_probability"]["ci95_high"])
    for heading in ["Scenarios compared", "Differences", "Forest plots", "Method and reproducibility"]:
        assert f"<h2>{heading}</h2>" in text
    assert "SeedSequence(7).spawn(3)[r]" in text


@pytest.mark.slow
def test_compare_report_again_is_byte_identical_and_has_pngs(compared):
    first = (compared / "report.html").read_bytes()
    from click.testing import CliRunner

    from sim.cli import main

    result = CliRunner().invoke(main, ["report", str(compared), "--figures"])
    assert result.exit_code == 0, result.output
    assert (compared / "report.html").read_bytes() == first  # same bytes, written from the final folder
    names = sorted(p.name for p in (compared / "figures").iterdir())
    assert len(names) == 9 and "forest-occupancy_mean.png" in names


def csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_sweep_report_two_parameters_is_a_heat_map(tmp_path):
    out = tmp_path / "grid"
    _capsim("sweep", _scenario_file(tmp_path, "grid", 20), "--set", "capacity.beds=15,25",
            "--set", "streams.s.arrivals.rate=1.5,2.5", "--out", out, "--report")
    text = _checked(out, figures=HEADLINE_BUT_COST)
    drawn = _svgs(text)
    heat = drawn["occupancy_mean over capacity.beds and streams.s.arrivals.rate"]
    rows = csv_rows(out / "sweep.csv")
    assert len(rows) == 4
    for row in rows:  # each cell holds its point's mean and interval
        assert formatting.for_people(float(row["occupancy_mean_mean"])) in heat
        assert (f"[{formatting.for_people(float(row['occupancy_mean_ci95_low']))}, "
                f"{formatting.for_people(float(row['occupancy_mean_ci95_high']))}]") in heat
    assert "A full grid of 2 × 2 points" in text and '<div class="pair">' not in text
    assert "cost over" not in " ".join(drawn)


@pytest.mark.slow
def test_sweep_report_one_parameter_and_zipped(tmp_path):
    one = tmp_path / "one"
    _capsim("sweep", _scenario_file(tmp_path, "one", 20), "--set", "capacity.beds=15,20,25", "--out", one,
            "--report")
    text = _checked(one, figures=HEADLINE_BUT_COST)
    assert "occupancy_mean against capacity.beds" in _svgs(text)
    assert '<div class="pair">' in text
    zipped = tmp_path / "zipped"
    _capsim("sweep", _scenario_file(tmp_path, "zipped", 20), "--set", "capacity.beds=15,25",
            "--set", "streams.s.arrivals.rate=1.5,2.5", "--zip", "--out", zipped, "--report")
    text = _checked(zipped, figures=HEADLINE_BUT_COST)
    assert "blocking_probability against capacity.beds" in _svgs(text)
    assert "<code>streams.s.arrivals.rate</code> taken together with it" in text


def test_size_report(tmp_path):
    out = tmp_path / "size"
    printed = _capsim("size", _scenario_file(tmp_path, "size", 20), "--target", "probability_full<=0.05",
                      "--out", out, "--report")
    answer = int(re.search(r"answer: (\d+) beds meet every target", printed).group(1))
    info = json.loads((out / "size.json").read_text(encoding="utf-8"))
    assert info["answer"] == answer
    assert info["targets"] == [{"bound": 0.05, "comparison": "<=", "metric": "probability_full"}]
    text = _checked(out, figures=1)
    [figure] = _svgs(text).values()
    assert f"answer: {answer} beds" in figure and "target probability_full&lt;=0.05" in figure
    assert f"<strong>{answer}</strong> (answer)" in text
    assert f"{answer} beds meet every target with 95% confidence; {answer - 1} do not" in text
    # the count below the answer misses the target with 95% confidence, the answer meets it
    rows = {int(r["beds"]): r for r in csv_rows(out / "size.csv")}
    assert float(rows[answer]["probability_full_ci95_high"]) <= 0.05 < float(rows[answer - 1][
        "probability_full_ci95_high"])


def test_report_of_an_older_size_folder_reads_the_targets_from_the_command(tmp_path):
    out = tmp_path / "size"
    _capsim("size", _scenario_file(tmp_path, "size", 20), "--target=blocking_probability<=0.1", "--out", out)
    assert not (out / "report.html").exists()
    (out / "size.json").unlink()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["command"] = ["capsim", "size", "size.yaml", "--target=blocking_probability<=0.1", "--target",
                           "s.probability_full<=0.2"]
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    text = report.write_report(out).read_text(encoding="utf-8")
    assert "target blocking_probability&lt;=0.1" in text
    assert "<code>s.probability_full&lt;=0.2</code>" in text  # a target of one stream, read as written


def test_report_errors_exit_2_without_a_traceback(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sim.cli import main

    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a results folder of capsim run, compare, sweep, size or project" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "figures").exists()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(main, ["sweep", _scenario_file(tmp_path, "x", 20), "--set", "capacity.beds=5,6",
                                       "--out", str(tmp_path / "sweep"), "--report", "--jobs", "1"])
    assert result.exit_code == 2
    assert "pip install 'capsim[report]'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "sweep").exists()  # refused before simulating



# --- what a planner came for (issue 16) ---------------------------------------------------------

def test_size_report_of_a_capacity_plan_shows_the_plan_at_the_answer(tmp_path):
    """Each step of the plan with its date, name and beds at the answer, and the shift they all moved by."""
    path = tmp_path / "plan.yaml"
    plan = {"beds": 20, "changes": [{"name": "wing_b", "at": "2024-03-01", "beds": 26},
                                    {"name": "wing_c", "at": 120, "beds": 30}]}
    path.write_text(to_yaml(scenario_data(name="plan", start="2024-01-01", capacity=plan, **SMALL)), encoding="utf-8")
    out = tmp_path / "size"
    _capsim("size", path, "--target", "probability_full<=0.05", "--out", out, "--report")
    info = json.loads((out / "size.json").read_text(encoding="utf-8"))
    shift = info["answer"] - 20
    text = _checked(out, figures=1)
    plan_section = re.search(r"<h3>The capacity plan at the answer</h3>(.*?)</section>", text, re.S).group(1)
    assert f"every step of the plan moved by the same {shift:+d} beds" in plan_section
    for when, name, beds in [("2024-01-01", "at the start", 20), ("2024-03-01", "wing_b", 26),
                             ("2024-04-30", "wing_c", 30)]:
        row = re.search(rf"<tr><td>{when} \(day \d+\)</td><td>{name}</td>.*?</tr>", plan_section).group(0)
        assert f"<td class=\"num\">{beds}</td><td class=\"num\"><strong>{beds + shift}</strong></td>" in row
    # every count tried is a plan: its steps' beds beside it
    tried = re.search(r"<h2>Every number of beds tried</h2>(.*?)</section>", text, re.S).group(1)
    assert f"{20 + shift} / {26 + shift} / {30 + shift}" in tried


def _row(text: str, key: str) -> str:
    """The first table row of a page whose first cell holds `key` (HTML, e.g. '<code>returned</code>')."""
    for row in re.findall(r"<tr>.*?</tr>", text, re.S):
        first = re.match(r"<tr><td[^>]*>(.*?)</td>", row, re.S)
        if first and key in first.group(1):
            return row
    raise AssertionError(f"no row for {key}")


def test_run_report_shows_counts_and_cost_a_year(written, results_dir):
    """Counts and cost of the 120-day window, and a year beside them; shares and beds have none."""
    _, text = written
    summary = json.loads((results_dir / "summary.json").read_text(encoding="utf-8"))
    assert "counts and cost are for the whole 120-day window; a year: divided by 0.329 years" in text
    headline = re.search(r"<h2>Headline results</h2>(.*?)</section>", text, re.S).group(1)
    assert "<th class=\"num\">a year</th>" in headline
    for metric in ("returned", "turned_away", "cost", "bed_days"):
        yearly = formatting.for_people(summary["metrics"][metric]["mean"] * 365.25 / 120)
        assert f'<td class="num">{yearly}</td>' in _row(headline, f"<code>{metric}</code>"), metric
    assert _row(headline, "<code>occupancy_mean</code>").endswith('<td class="num"></td></tr>')
    # per stream: a count's cell says its value a year
    zone = summary["streams"]["zone"]["returned"]["mean"]
    per_stream = headline[headline.index("<h3>Per stream</h3>"):]
    assert f"{formatting.for_people(zone * 365.25 / 120)} a year" in _row(per_stream, "<code>returned</code>")


def test_compare_report_shows_differences_a_year(compared):
    text = (compared / "report.html").read_text(encoding="utf-8")
    assert "counts and cost are for the whole 150-day window" in text
    rows = {r["metric"]: r for r in csv_rows(compared / "compare.csv")}
    yearly = formatting.for_people(float(rows["turned_away"]["difference"]) * 365.25 / 150)
    differences = re.search(r"<h2>Differences</h2>(.*?)</section>", text, re.S).group(1)
    assert "difference a year" in differences
    assert f'<td class="num">{yearly}</td>' in _row(differences, "<code>turned_away</code>")


@pytest.mark.slow
def test_sweep_report_shows_counts_a_year(tmp_path):
    out = tmp_path / "one"
    _capsim("sweep", _scenario_file(tmp_path, "one", 20), "--set", "capacity.beds=15,25", "--out", out, "--report")
    text = (out / "report.html").read_text(encoding="utf-8")
    table = re.search(r"<h2>Points of the sweep</h2>(.*?)</section>", text, re.S).group(1)
    assert "<code>turned_away</code> a year" in table and "counts and cost are for the whole 150-day window" in table
    for row in csv_rows(out / "sweep.csv"):
        yearly = formatting.for_people(float(row["turned_away_mean"]) * 365.25 / 150)
        assert yearly in _row(table, row["point"])


def test_size_report_shows_a_count_target_a_year(tmp_path):
    out = tmp_path / "size"
    _capsim("size", _scenario_file(tmp_path, "count", 20), "--target", "turned_away<=10", "--out", out, "--report")
    text = (out / "report.html").read_text(encoding="utf-8")
    tried = re.search(r"<h2>Every number of beds tried</h2>(.*?)</section>", text, re.S).group(1)
    for row in csv_rows(out / "size.csv"):
        yearly = formatting.for_people(float(row["turned_away_mean"]) * 365.25 / 150)
        beds = row["beds"]
        line = re.search(rf'<tr><td class="num">(?:<strong>{beds}</strong> \(answer\)|{beds})</td>.*?</tr>', tried)
        assert f"<small>{yearly} a year</small>" in line.group(0)


def test_compare_report_shows_each_origin_group(tmp_path):
    origins = [{"name": "easy", "share": 0.5, "return_probability": 1,
                "time_to_return": {"dist": "exponential", "mean": 10}},
               {"name": "hard", "share": 0.5, "return_probability": 0.4,
                "time_to_return": {"dist": "exponential", "mean": 20}}]
    streams = [{**scenario_data()["streams"][0], "origins": origins}]
    files = []
    for name, beds in (("base", 20), ("more", 25)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(to_yaml(scenario_data(name=name, capacity={"beds": beds}, max_detention=30, streams=streams,
                                              **SMALL)), encoding="utf-8")
        files.append(path)
    out = tmp_path / "compare"
    _capsim("compare", *files, "--out", out, "--report")
    text = (out / "report.html").read_text(encoding="utf-8")
    section = re.search(r"<h3>Per origin group</h3>(.*?)</section>", text, re.S).group(1)
    for origin in ("easy", "hard"):
        column = f"s.{origin}.returned"
        base = [float(r[column]) for r in csv_rows(out / "base" / "replications.csv")]
        alt = [float(r[column]) for r in csv_rows(out / "more" / "replications.csv")]
        difference = sum(a - b for a, b in zip(alt, base)) / len(base)
        row = _row(section, f"<code>{column}</code>")
        assert f"stays ended by return (s.{origin})" in row
        assert formatting.for_people(difference) in row
        assert f'<td class="num">{formatting.for_people(difference * 365.25 / 150)}</td>' in row


def planner_scenario():
    """Named capacity steps inside the measured window, two streams (one with a 5-month maximum), an uncertain
    return probability and a cost per bed-day."""
    return scenario_data(
        name="planner", description="The planner's question", start="2024-01-01", horizon=200, warmup=30,
        replications=3, seed=3, cost_per_bed_day=100.0,
        capacity={"beds": 16, "changes": [{"name": "wing_b", "at": "2024-03-31", "beds": 24},
                                          {"name": "wing_c", "at": "2024-06-29", "beds": 30}]},
        streams=[
            {"name": "campaign", "arrivals": {"rate": 0.6}, "max_detention": "5 months",
             "origins": [{"name": "maghreb", "share": 1, "return_probability": {"beta_from": {"successes": 30,
                                                                                           "trials": 100}},
                          "time_to_return": {"dist": "exponential", "mean": 20}}]},
            {"name": "other", "arrivals": {"rate": 1.0}, "max_detention": 60,
             "origins": [{"name": "all", "share": 1, "return_probability": 0.9,
                          "time_to_return": {"dist": "exponential", "mean": 8}}]},
        ])


@pytest.fixture(scope="module")
def planner_run(tmp_path_factory) -> tuple[Path, str, dict]:
    """A run of the planner's scenario with its report, and the figures as matplotlib objects by name."""
    work = tmp_path_factory.mktemp("planner")
    path = work / "planner.yaml"
    path.write_text(to_yaml(planner_scenario()), encoding="utf-8")
    out = work / "run"
    _capsim("run", path, "--out", out, "--report", "--quiet")
    import sim.report.run_figures as run_figures

    text, figures = _report_keeping_figures(out, run_figures)
    return out, text, figures


def _report_keeping_figures(out: Path, module) -> tuple[str, dict]:
    """The report of `out`, and the figures `module` draws for it as matplotlib objects by name."""
    figures = {}
    original = module.finish

    def keep(fig, name, label, png):
        figures[name] = fig
        return original(fig, name, label, png)

    module.finish = keep
    try:
        text = report.report_html(out)
    finally:
        module.finish = original
    return text, figures


def _section(text: str, heading: str) -> str:
    return re.search(rf"<h2>{re.escape(heading)}</h2>(.*?)</section>", text, re.S).group(1)


def test_run_report_opens_with_what_a_planner_came_for(planner_run):
    """Sentences generated from summary.json, before any table."""
    out, text, _ = planner_run
    # under the title, before any section
    brief = re.sub(r"\s+", " ", re.search(r'<p class="brief">(.*?)</p>', text, re.S).group(1))
    assert text.index('<p class="brief">') < text.index("<section")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    occupancy = summary["metrics"]["occupancy_mean"]
    f = formatting.for_people
    assert (f"On average {f(occupancy['mean'])} beds are in use (95% interval {f(occupancy['ci95_low'])}–"
            f"{f(occupancy['ci95_high'])}), while the capacity goes from 16 to 30 beds") in brief, brief
    full = summary["metrics"]["probability_full"]["mean"]
    assert f"the centres are full {formatting.percent(full)} of the time" in brief
    year = 365.25 / 200
    for stream in ("campaign", "other"):
        figures = summary["streams"][stream]
        assert (f"the {stream} stream holds {f(figures['occupancy_mean']['mean'])} beds on average and returns "
                f"{f(figures['returned']['mean'] * year)} people a year") in brief, (stream, brief)
    turned_away = summary["metrics"]["turned_away"]["mean"]
    assert f"{f(turned_away * year)} people a year are turned away" in brief
    assert f"the bed-days cost {f(summary['metrics']['cost']['mean'] * year)} a year" in brief


def test_report_tables_name_metrics_in_words_first(planner_run):
    _, text, _ = planner_run
    headline = _section(text, "Headline results")
    assert "<td>stays ended by return<br><small><code>returned</code></small></td>" in headline
    uncertain = _section(text, "Uncertain inputs")
    assert "<td>people turned away<br><small><code>turned_away</code></small></td>" in uncertain


def test_uncertain_inputs_table_fits_the_page(planner_run):
    """Four columns at most, so that the table fits the width of an A4 page."""
    _, text, _ = planner_run
    tables = re.findall(r"<table>.*?</table>", _section(text, "Uncertain inputs"), re.S)
    assert tables and all(table.split("</thead>")[0].count("<th") <= 4 for table in tables)


def test_nothing_is_drawn_over_the_bars_of_the_occupancy_distribution(planner_run):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    _, _, figures = planner_run
    fig = figures["distribution"]
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert ax.get_legend() is None and not ax.texts, "a legend or a text box inside the axes covers bars"
        for legend in fig.legends:
            assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))


def test_occupancy_distribution_is_drawn_per_capacity_period(planner_run):
    """Three capacities in the measured window: three panels, each named after its step, none pooled."""
    _, text, figures = planner_run
    fig = figures["distribution"]
    assert len(fig.axes) == 3
    for ax, (name, beds) in zip(fig.axes, [("at the start", 16), ("wing_b", 24), ("wing_c", 30)]):
        assert name in ax.get_title() and f"{beds} beds" in ax.get_title()
        [bars] = [p for p in ax.patches if p.__class__.__name__ == "StepPatch"]
        values, edges = bars.get_data()[:2]
        assert max(edge for value, edge in zip(values, edges[1:]) if value > 0) <= beds + 0.5
    assert "per capacity period" in _section(text, "Occupancy distribution")


def test_outcome_bars_show_mean_counts_rounded(planner_run):
    _, text, _ = planner_run
    figure = _svgs(text)["Outcomes per stream as stacked bars"]
    counts = re.findall(r"n = ([^<]*)</text>", figure) or re.findall(r"n = [^\n<]*", figure)
    assert counts, figure[:2000]
    assert all(re.fullmatch(r"[\d,]+ \(mean\)", count.strip()) for count in counts), counts


def test_length_of_stay_legend_says_the_maximum_as_written(planner_run):
    _, text, _ = planner_run
    figure = _svgs(text)["Length of stay per stream as empirical distribution functions"]
    assert "maximum detention 5 months (campaign)" in figure
    assert "152.188" not in figure


def test_length_of_stay_is_a_curve_through_the_percentiles_not_a_staircase(planner_run):
    _, _, figures = planner_run
    [ax] = figures["stays"].axes
    curves = [line for line in ax.get_lines() if not line.get_label().startswith(("maximum", "_"))]
    assert curves and all(line.get_drawstyle() == "default" and len(line.get_xdata()) == 99 for line in curves)


def test_capacity_steps_are_named(planner_run):
    _, text, _ = planner_run
    assert "24 from day 90 (2024-03-31): wing_b" in text
    assert "wing_c" in _svgs(text)["Occupancy over time: mean, 5-95% band, capacity and warm-up"]


def test_compare_report_says_what_a_derived_scenario_changes(tmp_path):
    """An alternative without a description of its own: not its base's description, but what it changes."""
    base = tmp_path / "base.yaml"
    base.write_text(to_yaml(scenario_data(name="base", description="Twenty beds", **SMALL)), encoding="utf-8")
    alt = tmp_path / "more.yaml"
    alt.write_text("extends: base.yaml\nname: more\ncapacity:\n  beds: 30\n", encoding="utf-8")
    out = tmp_path / "compare"
    _capsim("compare", base, alt, "--out", out, "--report")
    section = _section((out / "report.html").read_text(encoding="utf-8"), "Scenarios compared")
    row = _row(section, "more")
    assert "Twenty beds" not in row
    assert "as base, but: capacity.beds 20 → 30" in row


@pytest.mark.parametrize("own", ["", "Thirty beds"])
def test_run_report_of_a_derived_scenario_says_what_it_extends(tmp_path, own):
    """Its lead: the base's name and file and what the scenario changes; a description inherited from the
    base is said to be the base's, not shown as the scenario's own."""
    base = tmp_path / "base.yaml"
    base.write_text(to_yaml(scenario_data(name="base", description="Twenty beds", **SMALL)), encoding="utf-8")
    alt = tmp_path / "more.yaml"
    alt.write_text("extends: base.yaml\nname: more\ncapacity:\n  beds: 30\n"
                   + (f"description: {own}\n" if own else ""), encoding="utf-8")
    out = tmp_path / "run"
    _capsim("run", alt, "--out", out, "--report", "--quiet")
    lead = re.search(r'<p class="lead">(.*?)</p>', (out / "report.html").read_text(encoding="utf-8"), re.S).group(1)
    if own:
        assert lead == "Thirty beds<br><small>extends base (base.yaml); changes: capacity.beds 20 → 30</small>"
    else:
        assert lead == "As base (base.yaml), but: capacity.beds 20 → 30.<br><small>base: Twenty beds</small>"


# --- a run with centres -----------------------------------------------------------------------

def centres_scenario_data() -> dict:
    """Three centres (one with fewer usable than nominal places and a wing closed in the window, one for border
    cases, one for women) and a stream of men and women, border cases and people arrested on the territory."""
    data = scenario_data(name="centres-report", start="2024-01-01", horizon=120, warmup=30, replications=3, seed=8)
    del data["capacity"]
    data["centres"] = [
        {"name": "men_closed", "places": 8, "usable": 6, "accepts": {"sex": ["men"]},
         "changes": [{"name": "wing", "at": "2024-03-01", "usable": 4}]},
        {"name": "airport", "places": 4, "accepts": {"category": ["border"]}},
        {"name": "women", "places": 4, "usable": 3, "accepts": {"sex": ["women"]}},
    ]
    data["streams"][0].update(arrivals={"rate": 1.3}, placement=["airport"],
                              people={"sex": {"men": 0.8, "women": 0.2},
                                      "category": {"territory": 0.7, "border": 0.3}})
    return data


@pytest.fixture(scope="module")
def centres_run(tmp_path_factory) -> tuple[Path, str, dict, dict]:
    """A run with centres, its report, its summary and the figures as matplotlib objects by name."""
    import sim.report.centres as centres_module

    scenario = sim.parse_scenario(to_yaml(centres_scenario_data()), "centres-report.yaml")
    out = sim.write(sim.run(scenario, replications=3, jobs=1), tmp_path_factory.mktemp("centres") / "run")
    text, figures = _report_keeping_figures(out, centres_module)
    return out, text, json.loads((out / "summary.json").read_text(encoding="utf-8")), figures


def _cells(row: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)


def test_centres_report_has_a_section_and_a_figure(centres_run):
    """One more section (after the occupancy over time) and one more figure than a one-pool run."""
    out, text, _, _ = centres_run
    parsed = outline(text)
    assert parsed.errors == [] and parsed.stack == []
    assert parsed.headings == ["Headline results", "Occupancy over time", "Centres", "Occupancy distribution",
                               "Outcomes per stream", "Length of stay", "STRESS-DES reporting checklist"]
    assert parsed.counts.get("svg") == RUN_FIGURES + 1 == parsed.counts.get("figure")
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "ids of the inline SVGs clash"
    section = _section(text, "Centres")
    figure = _svgs(section)["Beds in use per centre over time: mean, 5-95% band, usable and nominal places, warm-up"]
    assert "<figcaption>Beds in use in each centre over time" in section
    for name in ("men_closed", "airport", "women"):
        assert name in figure


def test_centres_tables_match_the_summary(centres_run):
    """Each centre's and each group's cells are summary.json's means, intervals and counts a year, written by
    sim.formatting; the split of the nominal places adds up."""
    _, text, summary, _ = centres_run
    f, pct, places = formatting.for_people, formatting.percent, formatting.places
    year = 365.25 / summary["horizon_days"]
    section = _section(text, "Centres")
    for name, centre in summary["centres"].items():
        cells = _cells(_row(section, name))
        mean = {metric: stat["mean"] for metric, stat in centre.items()}
        assert cells == [
            name, places(mean["places_nominal"]), places(mean["places_usable"]),
            f'{f(mean["occupancy_mean"])}<br><span class="ci">{formatting.stat_interval(centre["occupancy_mean"])}'
            "</span>",
            places(mean["occupancy_p95"]), pct(mean["probability_full"]), f(mean["admitted"] * year),
            f(mean["places_usable"] - mean["occupancy_mean"]),
            places(mean["places_nominal"] - mean["places_usable"])], name
    # the closed wing: 6 usable places for the 30 days of the window before 2024-03-01, 4 for the other 90
    assert summary["centres"]["men_closed"]["places_usable"]["mean"] == pytest.approx((30 * 6 + 90 * 4) / 120)
    total = _cells(_row(section, "all centres"))
    assert total[1:3] == [places(sum(c[m]["mean"] for c in summary["centres"].values()))
                          for m in ("places_nominal", "places_usable")]
    assert total[5] == pct(summary["metrics"]["probability_full"]["mean"])
    for dimension, groups in summary["groups"].items():
        for value, group in groups.items():
            cells = _cells(_row(section, f"{dimension}: {value}"))
            share = group["share_found_no_place"]
            assert cells[1] == places(group["places_usable"]["mean"])
            assert cells[2].startswith(f(group["occupancy_mean"]["mean"]) + "<br>")
            assert cells[3] == f(group["detention_requests"]["mean"] * year)
            assert cells[4] == f(group["found_no_place"]["mean"] * year)
            assert cells[5] == (f'{pct(share["mean"])}<br><span class="ci">[{pct(share["ci95_low"])}, '
                                f'{pct(share["ci95_high"])}]</span>')
            assert cells[6] == pct(group["probability_full"]["mean"])
    assert section.index("sex: men") < section.index("category: border")  # as the scenario describes people
    assert "<code>places_usable</code>" in section and "<code>share_found_no_place</code>" in section


def test_centres_figure_has_a_panel_per_centre_against_its_places(centres_run):
    """A panel per centre in the scenario's order, on one time axis: the usable places as a solid step line and
    the nominal places as a dashed one, read from centres.csv; the warm-up shaded; nothing over the panels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out, _, summary, figures = centres_run
    fig = figures["centres"]
    axes = fig.axes
    assert [ax.get_title(loc="left").split(":")[0] for ax in axes] == ["men_closed", "airport", "women"]
    assert "men_closed: 6→4 usable of 8 places, full " in axes[0].get_title(loc="left")
    assert all(ax.get_shared_x_axes().joined(axes[0], ax) for ax in axes)
    rows = csv_rows(out / "centres.csv")
    for ax, name in zip(axes, ["men_closed", "airport", "women"]):
        lines = {line.get_label(): line for line in ax.get_lines()}
        usable, nominal = lines["usable places"], lines["nominal places"]
        assert usable.get_drawstyle() == nominal.get_drawstyle() == "steps-post"
        assert usable.get_linestyle() == "-" and nominal.get_linestyle() == "--"
        own = [row for row in rows if row["centre"] == name]
        assert list(usable.get_ydata()) == [float(row["usable"]) for row in own]
        assert list(nominal.get_ydata()) == [float(row["places"]) for row in own]
        assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= max(float(row["places"]) for row in own)
        assert [p for p in ax.patches if p.get_label() == "warm-up (not measured)"]
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    for legend in fig.legends:
        assert not any(legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer)) for ax in axes)


def test_centres_report_opens_with_the_centre_full_most_often(centres_run):
    """The opening words name the centre full most often and, by sex and by category, the people who most
    often find no place of their kind, from summary.json; the usable and nominal places instead of beds."""
    _, text, summary, _ = centres_run
    brief = re.sub(r"\s+", " ", re.search(r'<p class="brief">(.*?)</p>', text, re.S).group(1))
    full = {name: centre["probability_full"]["mean"] for name, centre in summary["centres"].items()}
    first = max(full, key=lambda name: full[name])
    assert (f"The centre full most often is {first}: every one of its "
            f"{formatting.places(summary['centres'][first]['places_usable']['mean'])} usable places is taken "
            f"{formatting.percent(full[first])} of the time") in brief, brief
    for dimension, groups in summary["groups"].items():
        value = max(groups, key=lambda v: groups[v]["share_found_no_place"]["mean"])
        assert (f"by {dimension}, {value} ({formatting.percent(groups[value]['share_found_no_place']['mean'])} "
                f"of their detention requests") in brief, brief
    assert "usable places of the 3 centres (16 nominal) are in use" in brief
    assert "the centres are full" not in brief  # said of each centre, not of the pool


def test_one_pool_report_has_no_centres(written):
    """A folder without centres (results/today, and this module's run) keeps its sections and figures."""
    today = report.report_html(ROOT / "results" / "today")
    for text in (written[1], today):
        assert "<h2>Centres</h2>" not in text
        assert "per centre" not in text.lower()
        assert outline(text).counts.get("svg") == RUN_FIGURES + ("<h2>By " in text)
    brief = re.search(r'<p class="brief">(.*?)</p>', today, re.S).group(1)
    assert "usable places" not in brief and "the centres are full" in brief


def test_compare_of_centres_runs_leaves_centres_and_groups_out_of_the_origin_groups(centres_run):
    """replications.csv of a run with centres has centre.NAME.METRIC and SEX.VALUE.METRIC columns: neither is an
    outcome of an origin group (STREAM.ORIGIN.METRIC)."""
    from sim.report.reading import origin_columns, read_csv

    out, _, _, _ = centres_run
    rows = read_csv(out / "replications.csv")
    assert any(name.startswith(("centre.", "sex.", "category.")) for name in rows[0])
    assert origin_columns(rows) and all(name.startswith("s.all.") for name in origin_columns(rows))
