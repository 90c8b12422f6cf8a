"""The HTML of every report page: escaping, tables, figure blocks, the page shell and its CSS.

One place, so that the four kinds of page look alike and stay self-contained:
CSS inline, no script, no external URL, so that a report opens offline in
any browser and prints on A4.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

from sim import metrics
from sim.formatting import for_people, stat_interval
from sim.report.reading import a_year

CSS = """
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 14px; line-height: 1.45;
       color: #1a1a1a; background: #fff; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
h4 { font-size: .92rem; margin: 1rem 0 .3rem; }
p.brief { font-size: 1.05rem; margin: .8rem 0 1rem; }
p.lead { margin: .2rem 0 .6rem; }
p.meta, p.note, figcaption { color: #444; font-size: .85rem; }
figure { margin: 1rem 0; }
figure svg { width: 100%; max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .82rem; width: 100%; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td small, td .ci { color: #555; font-size: .9em; }
code { font-size: .9em; }
.bad { color: #b00020; font-weight: bold; }
.sig { color: #b03a00; font-weight: bold; }
div.pair { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0 1.2rem; }
@page { size: A4; margin: 15mm; }
@media print {
  body { font-size: 10pt; max-width: none; margin: 0; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, table, tr, img, svg { break-inside: avoid; page-break-inside: avoid; }
  figure svg, img { max-width: 100%; }
  table { font-size: 8pt; }
}
""".strip()


def esc(text) -> str:
    """Text as HTML (quotes escaped too, so that it is safe in an attribute)."""
    return escape(str(text), quote=True)


def mean_cell(stat: dict | None, metric: str = "", window: float | None = None) -> str:
    """A mean and its 95% interval (in brackets, under it) in one table cell; with the `window` (days) of a
    `metric` counted through it, also its value a year."""
    cell = f'{for_people((stat or {}).get("mean"))}<br><span class="ci">{stat_interval(stat)}</span>'
    if window is not None and metrics.counted_in_window(metric):
        cell += f"<br><small>{for_people(a_year((stat or {}).get('mean'), window))} a year</small>"
    return cell


def metric_cell(name: str) -> str:
    """A metric (or STREAM.METRIC) as a table names it: in the planner's words, its code name under them."""
    return f'{esc(metrics.label(name))}<br><small><code>{esc(name)}</code></small>'


def html_id(text: str) -> str:
    """A name safe in an id and a file name: brussels_south.probability_full -> brussels_south-probability_full."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (),
               caption: str | None = None) -> str:
    """A table; cells are HTML (escape text first); columns in `numeric` right-aligned."""
    right = set(numeric)

    def cls(i: int) -> str:
        return ' class="num"' if i in right else ""

    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{caption}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th{cls(i)}>{cell}</th>" for i, cell in enumerate(header))
                 + "</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td{cls(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def figure_html(svg: str, caption: str) -> str:
    """An inline SVG in a <figure> with its caption (HTML)."""
    return f"<figure>\n{svg}<figcaption>{caption}</figcaption>\n</figure>"


def figure_block(draw, png_dir: Path | None, name: str, caption: str, **kwargs) -> str:
    """A figure drawn by `draw` (one of the study figures) with its caption; also <png_dir>/<name>.png."""
    svg = draw(**kwargs, name=name, png=png_dir / f"{name}.png" if png_dir is not None else None)
    return figure_html(svg, caption)


def html_page(title: str, sections: Sequence[tuple[str, str]], *, lead: str = "") -> str:
    """A self-contained page: `title` (text), then each (heading text, HTML body) section.

    `lead` is HTML put under the title. CSS is inline, nothing is fetched, no script.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="capsim">',
        f"<title>{esc(title)}</title>",
        f"<style>\n{CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{esc(title)}</h1>",
    ]
    if lead:
        parts.append(lead)
    for number, (heading, body) in enumerate(sections, 1):
        parts.append(f'<section id="section-{number}">')
        parts.append(f"<h2>{esc(heading)}</h2>")
        parts.append(body)
        parts.append("</section>")
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def page_lead(description: str, facts: Sequence[str]) -> str:
    """What goes under a page's title: its description (HTML) and a line of facts (HTML)."""
    lead = f'<p class="lead">{description}</p>\n' if description else ""
    return lead + f'<p class="meta">{" · ".join(facts)}</p>'
