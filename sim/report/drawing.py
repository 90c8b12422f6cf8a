"""How capsim draws a figure: matplotlib imported lazily, one style, reproducible SVG and PNG.

matplotlib is in the `report` extra and imported only when a figure is drawn:
importing the report works without it, drawing raises `ReportUnavailable`.
No pyplot, so no global state. The same data give byte-identical SVG and PNG
(no date, a fixed hash salt per figure, text kept as text), and the ids of
the figures of one page never clash.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from html import escape
from pathlib import Path
from typing import Any

from sim.errors import ReportUnavailable

# Okabe-Ito: distinguishable by colour-blind readers and in greyscale print.
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, GREY = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999")
STREAM_COLOURS = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, "#000000", YELLOW]


def require_matplotlib():
    """matplotlib, on the Agg backend, or ReportUnavailable."""
    try:
        import matplotlib
    except ImportError:
        raise ReportUnavailable() from None
    if "matplotlib.pyplot" not in sys.modules:
        # Figures are built as matplotlib.figure.Figure, never through pyplot, so they
        # need no GUI; Agg keeps a later pyplot import in this process headless too.
        matplotlib.use("Agg")
    return matplotlib


def _style() -> dict[str, Any]:
    return {
        "svg.fonttype": "none",  # text stays text: smaller, searchable, no glyph ids
        "svg.hashsalt": "capsim",
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Helvetica Neue", "Arial", "sans-serif"],
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "legend.frameon": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#d9d9d9",
        "grid.linewidth": 0.6,
        "axes.axisbelow": True,
        "path.simplify": True,
        "svg.image_inline": True,
    }


@contextlib.contextmanager
def figure(width: float = 8.0, height: float = 3.6):
    """A Figure drawn in capsim's style (no pyplot, so no global figure registry)."""
    matplotlib = require_matplotlib()
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_style()):
        yield Figure(figsize=(width, height), layout="constrained")


def _svg(fig, name: str, label: str) -> str:
    """The figure as an <svg> element to inline in HTML.

    Deterministic: no date, a salt of its own (so that the ids of two figures in
    one page never clash), the XML header and the RDF metadata dropped (which
    also drops their URLs), every id prefixed with the figure's name.
    """
    matplotlib = require_matplotlib()
    buffer = io.BytesIO()
    with matplotlib.rc_context({**_style(), "svg.hashsalt": f"capsim-{name}"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue().decode("utf-8")
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', text)
    text = text.replace("url(#", f"url(#{name}-").replace('href="#', f'href="#{name}-')
    end = text.index(">")
    root = re.sub(r'\s(?:width|height)="[^"]*"', "", text[:end])
    root += f' role="img" aria-label="{escape(label, quote=True)}"'
    return root + text[end:].rstrip() + "\n"


def finish(fig, name: str, label: str, png: Path | None) -> str:
    """The figure's <svg>, `label` its accessible name; also a 150 dpi PNG at `png` when it is a path."""
    svg = _svg(fig, name, label)  # first, so that the SVG is the same with or without the PNG
    if png is not None:
        fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
    return svg
