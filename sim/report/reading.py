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
from pathlib import Path
from typing import Any

from sim.errors import NotAResultsFolder
from sim.formatting import as_written

MARKERS = [  # (the file that marks a folder, the command that wrote it)
    ("summary.json", "run"),
    ("compare.csv", "compare"),
    ("sweep.csv", "sweep"),
    ("size.csv", "size"),
]


def folder_kind(results_dir: str | Path) -> str:
    """'run', 'compare', 'sweep' or 'size': the command that wrote the folder, by the file it holds."""
    folder = Path(results_dir)
    for marker, kind in MARKERS:
        if (folder / marker).is_file():
            return kind
    raise NotAResultsFolder(f"{folder}: not a results folder of capsim run, compare, sweep or size "
                            f"(no summary.json, compare.csv, sweep.csv or size.csv)")


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
        self.start = _date(self.scenario.get("start"))

    @property
    def name(self) -> str:
        return str(self.summary.get("scenario") or self.scenario.get("name") or self.path.name)

    @property
    def streams(self) -> list[str]:
        names = [s.get("name") for s in self.scenario.get("streams") or []]
        return [n for n in names if n in self.summary.get("streams", {})] or sorted(self.summary.get("streams", {}))

    def column(self, metric: str) -> list[float]:
        """A metric's value in each replication (replications.csv), NaN where it is undefined."""
        return [to_float(row.get(metric)) for row in self.replications]

    def max_detention(self, name: str) -> float | None:
        spec: dict = next((s for s in self.scenario.get("streams") or [] if s.get("name") == name), {})
        value = spec.get("max_detention")
        return value if value is not None else self.scenario.get("max_detention")

    def capacity_steps(self) -> list[tuple[float, int, Any]]:
        """(day, beds, as written) of the capacity from day 0 on."""
        capacity = self.scenario.get("capacity") or {}
        if "beds" not in capacity:
            return []
        steps = [(0.0, int(capacity["beds"]), 0)]
        for change in capacity.get("changes") or []:
            steps.append((_day(change.get("at"), self.start), int(change["beds"]), change.get("at")))
        return sorted(steps, key=lambda step: step[0])

    def when(self, at) -> str:
        """A time of scenario.yaml as text: 'day 60 (2024-03-01)'."""
        day = _day(at, self.start)
        if math.isnan(day):
            return str(at)
        text = f"day {as_written(day)}"
        if self.start is not None:
            text += f" ({(self.start + dt.timedelta(days=day)).isoformat()})"
        return text
