"""The report layer: a single-file HTML report of any results folder, read from its files.

`write_report(folder)` writes report.html; matplotlib (the `report` extra) is
imported only when a figure is drawn.
"""

from sim.report.figures import forest_plot_svg, heatmap_svg, require_matplotlib, size_plot_svg, sweep_plot_svg
from sim.report.pages import (
                                                            compare_report_html,
                              figure_html,
                              folder_kind,
                              html_page,
                              html_table,
                              report_html,
                              run_report_html,
                              size_report_html,
                              sweep_report_html,
                              write_report,
)

__all__ = ["compare_report_html", "figure_html", "folder_kind", "forest_plot_svg", "heatmap_svg",
           "html_page", "html_table", "report_html", "require_matplotlib", "run_report_html", "size_plot_svg",
           "size_report_html", "sweep_plot_svg", "sweep_report_html", "write_report"]
