"""The report layer: a single-file HTML report of any results folder, read from its files.

`write_report(folder)` writes report.html (figures as inline SVG, CSS inline,
no script and no external URL: it opens offline and prints on A4); matplotlib
(the `report` extra) is imported only when a figure is drawn, so that
`import sim.report` works without it.

Modules, each one job: `reading` (the folder's files), `html` (tables, figure
blocks, the page shell and its CSS), `drawing` (matplotlib, style, SVG/PNG),
`run_figures` and `study_figures` (the figures), `stress` (the STRESS-DES
checklist), `run_page`, `compare_page` and `study_pages` (the four kinds of page), `writing`
(which page a folder gets, written into it).
"""

from sim.report.compare_page import compare_report_html
from sim.report.drawing import require_matplotlib
from sim.report.html import figure_html, html_page, html_table
from sim.report.reading import folder_kind
from sim.report.run_page import run_report_html
from sim.report.study_figures import forest_plot_svg, heatmap_svg, size_plot_svg, sweep_plot_svg
from sim.report.study_pages import size_report_html, sweep_report_html
from sim.report.writing import report_html, write_report

__all__ = ["compare_report_html", "figure_html", "folder_kind", "forest_plot_svg", "heatmap_svg",
           "html_page", "html_table", "report_html", "require_matplotlib", "run_report_html", "size_plot_svg",
           "size_report_html", "sweep_plot_svg", "sweep_report_html", "write_report"]
