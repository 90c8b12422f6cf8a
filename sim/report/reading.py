"""Reading a results folder: the report is drawn from the files a command wrote, never from its objects.

So that any folder can be reported on, also one written by an older capsim or
copied from another machine: JSON, YAML and CSV files read as they are, a
run's files gathered once in `RunFolder`, and the kind of a folder told by the
file that marks it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from sim.errors import NotAResultsFolder
from sim.formatting import as_written, finite
from sim.scenario.centres import Centre
from sim.scenario.durations import DAYS_PER_UNIT

MARKERS = [  # (the file that marks a folder, the command that wrote it)
    ("summary.json", "run"),
    ("compare.csv", "compare"),
    ("sweep.csv", "sweep"),
    ("size.csv", "size"),
    ("projection.csv", "project"),
]


YEAR = DAYS_PER_UNIT["year"]
A_YEAR_COLUMNS = ("turned_away", "returned", "cost")
"""The counts and cost the sweep tables (terminal and report) show a year."""


def a_year(value, window_days) -> float | None:
    """A count of the measured window of `window_days` days as a number a year (None when undefined).

    The one place where capsim turns a window's count into a yearly one: the
    window's length is summary.json's `horizon_days`, so that any results folder
    can be shown a year, also one written before capsim did."""
    if not (finite(value) and finite(window_days)) or not window_days:
        return None
    return float(value) * YEAR / float(window_days)


def window_words(window_days: float) -> str:
    """The measured window in words: '3-year window', '150-day window'."""
    years = window_days / YEAR
    if years >= 1 and abs(years - round(years)) < 1e-9:
        return f"{round(years)}-year window"
    return f"{as_written(window_days)}-day window"


def a_year_note(window_days: float) -> str:
    """What the tables' counts are, and what their 'a year' is."""
    years = window_days / YEAR
    return (f"counts and cost are for the whole {window_words(window_days)}; "
            f"a year: divided by {as_written(round(years, 3))} years")


def windows_note(windows: Mapping[str, float | None]) -> str:
    """`a_year_note` for several runs (scenarios compared, points of a sweep) by name: one sentence when
    their windows agree, else each window named (an older folder may not say its window: left out)."""
    known = {name: float(days) for name, days in windows.items() if days is not None and finite(days)}
    if not known:
        return "counts and cost are for the whole measured window"
    if len(set(known.values())) == 1:
        return a_year_note(next(iter(known.values())))
    return ("counts and cost are for each one's whole window ("
            + ", ".join(f"{name}: {window_words(days)}" for name, days in known.items())
            + "); a year: each divided by its own window's years")


def origin_columns(rows: list[dict[str, str]]) -> dict[str, list[float]]:
    """The outcomes per origin group in replications.csv, by STREAM.ORIGIN.METRIC, each over replications.

    Only the columns of a stream (one with STREAM.METRIC columns): a run with centres also has
    centre.CENTRE.METRIC and SEX.VALUE.METRIC columns (`sim.metrics.CENTRE_METRICS`, `GROUP_METRICS`)."""
    header = list(rows[0]) if rows else []
    streams = {c.partition(".")[0] for c in header if c.count(".") == 1 and not c.startswith("input.")}
    names = [c for c in header if c.count(".") == 2 and c.partition(".")[0] in streams]
    return {name: [to_float(row[name]) for row in rows] for name in names}


def origin_differences(scenario: str, base: Mapping[str, Sequence[float]], alt: Mapping[str, Sequence[float]]):
    """ALT - BASE of every outcome per origin group (STREAM.ORIGIN.METRIC) both runs have, paired replication by
    replication, as `sim.studies.compare.Difference`s in the base's order; outcomes that are zero in every
    replication of both are left out (a court release that never happens)."""
    from sim.studies.compare import Difference, defined_mean, paired_difference

    differences = []
    for name, base_values in base.items():
        alt_values = alt.get(name)
        if alt_values is None or all(v == 0 for v in [*base_values, *alt_values]):
            continue
        difference, low, high = paired_difference(base_values, alt_values)
        differences.append(Difference(scenario, name, defined_mean(base_values), defined_mean(alt_values),
                                      difference, low, high))
    return differences


CHANGES_SHOWN = 8
"""The most changes of one scenario from another that a report lists in a row."""


def changes_said(changes: Sequence[str]) -> str:
    """Changes of a scenario (`sim.scenario.paths.changes`) in a line, at most CHANGES_SHOWN of them; none
    said as such (a scenario that differs only by its name)."""
    shown = list(changes[:CHANGES_SHOWN]) + ([f"and {len(changes) - CHANGES_SHOWN} more"]
                                             if len(changes) > CHANGES_SHOWN else [])
    return "; ".join(shown) or "no change to the model (only its name)"


def folder_kind(results_dir: str | Path) -> str:
    """'run', 'compare', 'sweep', 'size' or 'project': the command that wrote the folder, by the file it holds."""
    folder = Path(results_dir)
    for marker, kind in MARKERS:
        if (folder / marker).is_file():
            return kind
    kinds = [kind for _, kind in MARKERS]
    raise NotAResultsFolder(f"{folder}: not a results folder of capsim {', '.join(kinds[:-1])} or {kinds[-1]} "
                            f"(no {', '.join(marker for marker, _ in MARKERS[:-1])} or {MARKERS[-1][0]})")


def read_json(path: Path) -> dict:
    """A JSON file's object; {} when the file is not there."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def read_yaml(path: Path) -> dict:
    """A YAML file's mapping; {} when the file is not there (or empty)."""
    if not path.is_file():
        return {}
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}


def read_csv(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows by column (in the order of its header); none when the file is not there."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def to_float(text: str | None) -> float:
    """A CSV cell as a float (NaN when empty)."""
    return float(text) if text not in (None, "") else math.nan


def _date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _day(at, start: dt.date | None) -> float:
    """Days since day 0 of a time in scenario.yaml (a number, or a date when `start` is set)."""
    if isinstance(at, (int, float)):
        return float(at)
    date = _date(at)
    if start is None or date is None:
        return math.nan
    return float((date - start).days)


class CapacityStep(NamedTuple):
    """A step of the capacity in scenario.yaml: from `day` on, `beds` beds."""

    day: float
    beds: int
    at: Any
    """The time as scenario.yaml writes it (a day number or a date)."""
    name: str | None

    @property
    def label(self) -> str:
        from sim.studies.size import step_label

        return step_label(self.name, self.day)


class CentreDays(NamedTuple):
    """One centre's days in centres.csv, in order: the places in force and the beds in use across replications."""

    x: list
    """Each day's date (a scenario with a start), else its day number."""
    warmup: list[bool]
    places: list[float]
    """The nominal places in force."""
    usable: list[float]
    mean: list[float]
    low: list[float]
    """The 5th percentile across replications."""
    high: list[float]
    """The 95th percentile across replications."""


def centre_days(rows: Sequence[Mapping[str, str]]) -> dict[str, CentreDays]:
    """centres.csv's rows by centre, in the order the file first names them."""
    found: dict[str, CentreDays] = {}
    for row in rows:
        days = found.setdefault(row["centre"], CentreDays([], [], [], [], [], [], []))
        days.x.append(dt.date.fromisoformat(row["date"]) if row.get("date") else float(row["day"]))
        days.warmup.append(row.get("window") == "warmup")
        for values, column in ((days.places, "places"), (days.usable, "usable"), (days.mean, "occupancy_mean"),
                               (days.low, "occupancy_p05"), (days.high, "occupancy_p95")):
            values.append(to_float(row.get(column)))
    return found


def as_duration(days) -> str:
    """A duration of scenario.yaml (days) in the unit a planner wrote it in: '5 months', '2 weeks', '30 days'.

    scenario.yaml keeps days (152.1875); a whole number of years, months or
    weeks is what '5 months' became, so it is said so again."""
    if not finite(days):
        return as_written(days)
    for unit in ("year", "month", "week"):
        count = float(days) / DAYS_PER_UNIT[unit]
        if count >= 1 and abs(count - round(count)) < 1e-9:
            return f"{round(count)} {unit}{'s' if round(count) != 1 else ''}"
    return f"{as_written(days)} day{'s' if days != 1 else ''}"


class RunFolder:
    """The files of one results folder of `capsim run`, read once."""

    def __init__(self, folder: Path):
        self.path = folder
        if not (folder / "summary.json").is_file():
            raise NotAResultsFolder(f"{folder}: not a results folder of capsim run (no summary.json)")
        self.summary = read_json(folder / "summary.json")
        self.scenario = read_yaml(folder / "scenario.yaml")
        self.manifest = read_json(folder / "manifest.json")
        self.occupancy = read_csv(folder / "occupancy.csv")
        self.distribution = read_csv(folder / "occupancy_distribution.csv")
        self.stays = read_csv(folder / "stays.csv")
        self.replications = read_csv(folder / "replications.csv")
        self.periods = read_csv(folder / "periods.csv")
        """Each period's figures (a run with periods), else none."""
        self.centres = read_csv(folder / "centres.csv")
        """Each day's places and beds in use of each centre (a run with centres), else none."""
        self.start = _date(self.scenario.get("start"))

    @property
    def name(self) -> str:
        return str(self.summary.get("scenario") or self.scenario.get("name") or self.path.name)

    @property
    def streams(self) -> list[str]:
        names = [s.get("name") for s in self.scenario.get("streams") or []]
        return [n for n in names if n in self.summary.get("streams", {})] or sorted(self.summary.get("streams", {}))

    @property
    def centre_names(self) -> list[str]:
        """A run with centres: their names in the scenario's order (summary.json keeps them sorted), else none."""
        found = self.summary.get("centres") or {}
        names = [c.get("name") for c in self.scenario.get("centres") or [] if c.get("name") in found]
        return names + sorted(set(found) - set(names))

    def column(self, metric: str) -> list[float]:
        """A metric's value in each replication (replications.csv), NaN where it is undefined."""
        return [to_float(row.get(metric)) for row in self.replications]

    def max_detention(self, name: str) -> float | None:
        spec: dict = next((s for s in self.scenario.get("streams") or [] if s.get("name") == name), {})
        value = spec.get("max_detention")
        return value if value is not None else self.scenario.get("max_detention")

    def capacity_steps(self) -> list[CapacityStep]:
        """The capacity from day 0 on, each step with its day, beds, time as written and name."""
        if self.scenario.get("centres"):
            return _usable_steps(self.scenario["centres"], self.start)
        capacity = self.scenario.get("capacity") or {}
        if "beds" not in capacity:
            return []
        steps = [CapacityStep(0.0, int(capacity["beds"]), 0, None)]
        for change in capacity.get("changes") or []:
            steps.append(CapacityStep(_day(change.get("at"), self.start), int(change["beds"]), change.get("at"),
                                      change.get("name")))
        return sorted(steps, key=lambda step: step.day)

    def when(self, at) -> str:
        """A time of scenario.yaml as text: 'day 60 (2024-03-01)'."""
        day = _day(at, self.start)
        if math.isnan(day):
            return str(at)
        text = f"day {as_written(day)}"
        if self.start is not None:
            text += f" ({(self.start + dt.timedelta(days=day)).isoformat()})"
        return text


def _usable_steps(centres: list[dict], start) -> list[CapacityStep]:
    """With centres: their usable places together, at day 0 and at each centre's change (named by the centre
    and the change), as the run counted them (`Centre.steps`: a centre's usable places follow its nominal
    ones until set)."""
    models = [Centre.model_validate(centre) for centre in centres]
    steps = [centre.steps(lambda at: _day(at, start)) for centre in models]
    usable = [found[0][2] for found in steps]
    changes = sorted(((day, k, places_usable, change) for k, found in enumerate(steps)
                      for (day, _, places_usable), change in zip(found[1:], centres[k]["changes"])),
                     key=lambda found: found[:2])
    found = [CapacityStep(0.0, sum(usable), 0, None)]
    for day, k, places_usable, change in changes:
        usable[k] = places_usable
        name = models[k].name + (f" {change['name']}" if change.get("name") else "")
        found.append(CapacityStep(day, sum(usable), change.get("at"), name))  # the time as written
    return found
