"""Reports in a real browser, and the report of every scenario in scenarios/.

The browser tests render report.html in headless Chromium (Debian's `chromium`,
which `make test` installs when it is missing: tools/install-browser) and check the rendered DOM and a
screenshot. They are not skipped when the browser is missing: they fail and say
how to install it. CAPSIM_NO_BROWSER=1 skips them on a machine where no browser
can be installed; CI never sets it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from html_check import external_references, outline

import sim
import sim.report as report
from sim.cli import main
from sim.report import run_page

pytestmark = pytest.mark.slow  # renders every report in a headless browser

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
STRESS_ITEMS = ["1.2", "3.3", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "5.4"]
SECTIONS = {
    "run": ["Headline results", "Occupancy over time", "Occupancy distribution", "Outcomes per stream",
            "Length of stay", "STRESS-DES reporting checklist"],
    "compare": ["Scenarios compared", "Differences", "Forest plots", "Method and reproducibility"],
    "sweep": ["Points of the sweep", "Headline metrics against the parameters", "Method and reproducibility"],
    "size": ["Answer", "Target metrics against beds", "Every number of beds tried", "Method and reproducibility"],
    "project": ["Beds in use by period", "Period by period", "Method and reproducibility"],
}


def expected_sections(kind: str, folder: Path) -> list[str]:
    """A run's report has an 'Uncertain inputs' section when its scenario has any, a section of its
    periods ('By month') after the occupancy over time when it has periods, and a 'Centres' section before
    the occupancy distribution when it has centres."""
    if kind != "run":
        return SECTIONS[kind]
    scenario = sim.load_scenario(folder / "scenario.yaml")
    sections = list(SECTIONS["run"])
    if scenario.periods:
        sections.insert(2, f"By {scenario.periods}")
    if scenario.centres is not None:
        sections.insert(sections.index("Occupancy distribution"), "Centres")
    if scenario.uncertain_inputs():
        sections.insert(-1, "Uncertain inputs")
    return sections


PAGE = (1240, 1754)  # A4 at 150 dpi
INSTALL = ("chromium is not installed, and the browser test needs it: on Debian or Ubuntu "
           "`sudo apt-get update && sudo apt-get install -y chromium` (`make test` does this: tools/install-browser). "
           "On a machine where no browser can be installed, CAPSIM_NO_BROWSER=1 skips this test.")


# --- the report of every scenario -------------------------------------------------------------

def test_the_scenarios_are_there():
    """The parametrised tests below would pass vacuously on an empty folder."""
    assert ROOT / "scenarios" / "brussels-south.yaml" in SCENARIOS


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda path: path.stem)
def scenario_report(request, tmp_path_factory) -> tuple[Path, str]:
    scenario = sim.load_scenario(request.param)
    folder = sim.write(sim.run(scenario, replications=3, jobs=1), tmp_path_factory.mktemp(scenario.name) / "run")
    return folder, report.write_report(folder).read_text(encoding="utf-8")


def test_report_of_every_scenario(scenario_report):
    folder, text = scenario_report
    parsed = outline(text)
    assert parsed.errors == [] and parsed.stack == []
    # the periods' figure, the centres' figure
    figures = len(run_page.FIGURES) + (folder / "periods.csv").is_file() + (folder / "centres.csv").is_file()
    assert parsed.counts.get("svg") == figures == parsed.counts.get("figure")
    assert parsed.headings == expected_sections("run", folder)
    assert external_references(text) == []
    for item in STRESS_ITEMS:
        assert f"<td>{item}</td>" in text, item
    name = (folder / "scenario.yaml").read_text(encoding="utf-8").split("name: ", 1)[1].split("\n", 1)[0].strip()
    assert f"<title>capsim report: {name}</title>" in text
    # the same folder twice: the same bytes
    assert report.write_report(folder).read_text(encoding="utf-8") == text


# --- in a browser ----------------------------------------------------------------------------

def chromium() -> str:
    if os.environ.get("CAPSIM_NO_BROWSER") == "1":
        pytest.skip("CAPSIM_NO_BROWSER=1: no browser on this machine")
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail(INSTALL)


def headless(page: Path, scratch: Path, *args: str) -> subprocess.CompletedProcess:
    browser = chromium()
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--hide-scrollbars", f"--user-data-dir={scratch / 'profile'}", *args, page.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=scratch)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def screenshot(page: Path, scratch: Path):
    """The first A4 page of the rendered report as an array of grey levels in [0, 1]."""
    from matplotlib.image import imread

    shot = scratch / f"{page.stem}.png"
    headless(page, scratch, f"--screenshot={shot}", f"--window-size={PAGE[0]},{PAGE[1]}")
    pixels = imread(shot)
    assert pixels.shape[:2] == (PAGE[1], PAGE[0])
    return pixels[..., :3].mean(axis=2)


def blank(grey) -> bool:
    """Too uniform to hold a report: a blank, white or single-colour page."""
    return grey.std() < 0.05 or (grey < 0.9).mean() < 0.02


def _cli(*args) -> None:
    result = CliRunner().invoke(main, [*map(str, args), "--jobs", "1", "--report"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output  # size exits 1 when no count meets the targets


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """A report of each kind, from the scenarios of this repository with 3 replications."""
    work = tmp_path_factory.mktemp("browser")
    south, today = ROOT / "scenarios" / "brussels-south.yaml", ROOT / "scenarios" / "today.yaml"
    _cli("run", south, "-n", "3", "--out", work / "run", "--quiet")
    _cli("run", ROOT / "scenarios" / "centres.yaml", "-n", "3", "--out", work / "centres", "--quiet")
    _cli("compare", south, today, "-n", "3", "--out", work / "compare")
    _cli("sweep", south, "--set", "capacity.beds=540,751", "--set", "warmup=300,365", "-n", "3",
         "--out", work / "sweep")
    _cli("size", south, "--target", "probability_full<=0.05", "-n", "3", "--out", work / "size")
    _cli("project", ROOT / "scenarios" / "projection.yaml", "--periods", "quarter", "-n", "3",
         "--out", work / "project")
    return {kind: work / kind / "report.html" for kind in [*SECTIONS, "centres"]}


@pytest.mark.parametrize("kind", [*SECTIONS, "centres"])  # centres: a run's report with its centres
def test_report_in_a_browser(kind, reports, tmp_path):
    page = reports[kind]
    sections = expected_sections("run" if kind == "centres" else kind, page.parent)
    text = page.read_text(encoding="utf-8")
    written = outline(text)
    assert written.counts.get("svg", 0) >= 1
    dom = headless(page, tmp_path, "--dump-dom").stdout
    rendered = outline(dom)
    assert rendered.headings == sections
    assert rendered.counts.get("section") == len(sections)
    assert rendered.counts.get("svg") == written.counts["svg"]  # every figure survived the browser's parser
    assert rendered.counts.get("figure") == written.counts["figure"]
    assert "parsererror" not in dom
    assert not blank(screenshot(page, tmp_path))


def test_a_blank_page_is_seen_as_blank(tmp_path):
    """The screenshot check can fail: an empty page and a page of one colour are blank."""
    empty = tmp_path / "empty.html"
    empty.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    grey = tmp_path / "grey.html"
    grey.write_text('<!DOCTYPE html><html><body style="background:#777"><p style="color:#777">x</p></body></html>',
                    encoding="utf-8")
    assert blank(screenshot(empty, tmp_path))
    assert blank(screenshot(grey, tmp_path))
