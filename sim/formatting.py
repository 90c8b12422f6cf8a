"""How numbers are written: in data files (CSV, JSON), and for people (terminal and reports).

One place, so that the terminal, the CSV files and the report say the same
number the same way: data files keep SIGNIFICANT_DIGITS (they diff well and
lose nothing a regression check needs); people read `for_people` (no more
digits than a planner reads, small values in plain decimals), inputs as
written with `as_written`, shares as percentages with `percent`.
"""

from __future__ import annotations

import math

SIGNIFICANT_DIGITS = 10
MISSING = "—"
"""What a table shows where a value is undefined (nobody asked for a bed, no stay ended)."""


def rounded(value):
    """Round floats to SIGNIFICANT_DIGITS recursively; NaN becomes None (null)."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def number(value: float | None) -> str:
    """A float as it appears in the CSV files (empty when undefined)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


def finite(value) -> bool:
    """A value a table or a figure can show: neither missing, NaN nor infinite."""
    return value is not None and not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def for_people(value) -> str:
    """A result for people: 12,345 / 123.4 / 12.3 / 1.23 / 0.0235 / 0.0000235 (never 2.35e-05)."""
    if not finite(value):
        return MISSING
    if isinstance(value, bool):
        return str(value).lower()
    value = float(value)
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        text = f"{value:.2f}"
        return text[:-3] if text.endswith(".00") else text
    decimals = 2 - math.floor(math.log10(size))  # three significant digits, in plain decimals
    return f"{value:.{decimals}f}"


def places(value) -> str:
    """A number of places or beds: whole when it is whole (120, not 120.0), else as for_people."""
    if finite(value) and float(value).is_integer():
        return f"{float(value):,.0f}"
    return for_people(value)


def interval(low, high) -> str:
    """A confidence interval for people: [low, high], or the missing mark."""
    if not (finite(low) and finite(high)):
        return MISSING
    return f"[{for_people(low)}, {for_people(high)}]"


def stat_interval(stat: dict | None) -> str:
    """The 95% interval of a summary entry ({"mean", "ci95_low", "ci95_high", ...})."""
    stat = stat or {}
    return interval(stat.get("ci95_low"), stat.get("ci95_high"))


def percent_interval(stat: dict | None) -> str:
    """A share's 95% interval (a summary entry's ci95_low and ci95_high) in percent, or the missing mark."""
    stat = stat or {}
    low, high = stat.get("ci95_low"), stat.get("ci95_high")
    return f"[{percent(low)}, {percent(high)}]" if finite(low) and finite(high) else MISSING


def as_written(value) -> str:
    """An input as a planner wrote it (up to 6 significant digits, no grouping): 365.25, 0.15, 120."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.6g}"


def percent(value) -> str:
    """A share as a percentage: 12.3%, 0.012%."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{100 * value:.1f}%" if value >= 0.001 or value == 0 else f"{100 * value:.2g}%"
