"""What every answer of the scenario library is written with: a mean and its interval, a paired
difference, a counts' scale to a year, a Markdown table (scenarios/README.md, `make readme`)."""

from __future__ import annotations

from sim.analysis.stats import summarise
from sim.formatting import for_people, percent
from sim.studies.compare import paired_difference


def stat(values, scale: float = 1.0, as_percent: bool = False) -> str:
    """Mean and 95% interval of a metric over replications."""
    s = summarise([v * scale for v in values])
    show = percent if as_percent else for_people
    if s["ci95_low"] is None:
        return show(s["mean"])
    return f"{show(s['mean'])} ({show(s['ci95_low'])} to {show(s['ci95_high'])})"


def paired(base, alt, scale: float = 1.0, as_percent: bool = False) -> str:
    """The paired difference alt - base over replications (common random numbers) and its 95% interval."""
    mean, low, high = paired_difference([v * scale for v in base], [v * scale for v in alt])
    show = (lambda v: f"{100 * v:+.1f} points") if as_percent else (lambda v: f"{v:+,.1f}")
    return f"{show(mean)} ({show(low)} to {show(high)})"


def per_year(results) -> float:
    """The factor that turns a count of the measured window into a count a year."""
    return 365.25 / results.scenario.horizon


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
