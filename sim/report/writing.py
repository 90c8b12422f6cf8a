"""Which page a results folder gets, and writing it into the folder as report.html.

`write_report(folder)` reads the files the command wrote (a run's summary.json,
occupancy.csv, occupancy_distribution.csv, stays.csv, scenario.yaml and
manifest.json; compare.csv and compare.json; sweep.csv; size.csv and
size.json; projection.csv and each variant's periods.csv), never the Python
objects, and writes `report.html` into it, through a temporary file renamed
into place. The same folder gives a byte-identical report: no time stamp and
no path of the folder is written.
"""

from __future__ import annotations

from pathlib import Path

from sim.files import write_atomically
from sim.report.compare_page import compare_report_html
from sim.report.drawing import require_matplotlib
from sim.report.projection_page import projection_report_html
from sim.report.reading import folder_kind
from sim.report.run_page import run_report_html
from sim.report.study_pages import size_report_html, sweep_report_html

REPORT_NAME = "report.html"
PAGES = {"run": run_report_html, "compare": compare_report_html, "sweep": sweep_report_html,
         "size": size_report_html, "project": projection_report_html}
"""The page of each kind of folder (`folder_kind`)."""


def report_html(results_dir: str | Path, *, png_dir: Path | None = None) -> str:
    """The report of a results folder of capsim run, compare, sweep, size or project as HTML text.

    With `png_dir`, each figure is also written there as <name>.png.
    """
    return PAGES[folder_kind(results_dir)](results_dir, png_dir=png_dir)


def write_report(results_dir: Path, *, figures: bool = False) -> Path:
    """Write report.html into a results folder of capsim run, compare, sweep, size or project and return its path.

    Reads only the folder's files. With `figures`, also writes each figure as
    figures/<name>.png (150 dpi) for slides. Raises ReportUnavailable without
    matplotlib, NotAResultsFolder when the folder holds none of summary.json,
    compare.csv, sweep.csv, size.csv and projection.csv.
    """
    require_matplotlib()
    results_dir = Path(results_dir)
    folder_kind(results_dir)  # before creating figures/ in a folder that is not one
    png_dir = None
    if figures:
        png_dir = results_dir / "figures"
        png_dir.mkdir(exist_ok=True)
    text = report_html(results_dir, png_dir=png_dir)
    path = results_dir / REPORT_NAME
    write_atomically(path, text.encode("utf-8"))
    return path
