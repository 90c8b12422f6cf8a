"""Who is detained at day 0: a count per stream, or a file of the people present.

Planners start from today's stock ("from the 585 people detained today"), not
from empty. A stream's `detained_at_start` is a count, with elapsed times
drawn from the stream's equilibrium or all admitted at day 0; the scenario's
`detained_file` names a CSV file of the people present (stream, origin group
where known, admission date or days detained so far). The loader reads the
file once (`read_detained_file`) and the scenario keeps its rows, so that a
results folder's scenario.yaml and hash hold who was there, and workers need
no file. The engine (engine/present.py) draws what is still ahead of each.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import stat
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from sim.errors import ScenarioError
from sim.scenario.durations import to_days
from sim.scenario.places import place

MAX_CSV_BYTES = 10_000_000
"""The largest file of people present read (10 MB, some 300,000 rows; today's stock is a few hundred)."""
MOST_PEOPLE = 1_000_000
"""The most people detained at day 0 in a stream, or in a file (a national estate holds tens of thousands;
a million take a replication some 20 s and 400 MB, and the loader some 25 s to read)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)


class StartingPopulation(_Strict):
    """People of a stream detained at day 0.

    Examples
    --------
    ``{count: 585, since: equilibrium}``, ``{count: 40, since: day 0}``
    """

    count: int = Field(ge=0, le=MOST_PEOPLE, description="how many people of the stream are detained at day 0")
    since: Literal["equilibrium", "day 0"] = Field(
        default="equilibrium", description="equilibrium: the time each has already spent is drawn from the "
        "stream's steady state (a stream started so shows no warm-up); day 0: all admitted at day 0")


DetainedAtStart = Annotated[int, Field(ge=0, le=MOST_PEOPLE)] | StartingPopulation
"""A count (elapsed times from the equilibrium), or the count and since when."""


class DetainedPerson(_Strict):
    """One person present at day 0, as read from the file (an admission date as days detained)."""

    stream: str
    origin: str | None = None
    days_detained: float = Field(ge=0)


class DetainedFile(_Strict):
    """The file of the people present, as the loader read it."""

    file: str
    people: list[DetainedPerson]


DetainedFileField = Annotated[DetainedFile, WithJsonSchema({"type": "string"})]
"""A path in the scenario file; the rows of the file once loaded."""


def read_detained_file(data: dict, source: str) -> dict:
    """`data` with its `detained_file` path replaced by the people the file lists; the path is
    relative to the scenario file that names it (a base one, with `extends:`).

    Raises
    ------
    ScenarioError
        One line per bad row: ``file:line: column: what was expected``.
    """
    written = data.get("detained_file")
    if written is None or isinstance(written, dict):
        return data
    where = place(source, data, ("detained_file",))
    if not isinstance(written, str) or not written.strip():
        raise ScenarioError([f"{where}: detained_file: expected the path of a CSV file"])
    path = Path(where.rsplit(":", 2)[0]).parent / written
    try:
        text = _read_csv_text(path)
    except _Unreadable as err:
        raise ScenarioError([f"{where}: detained_file: {err}: {_echo(str(path))}"]) from None
    people, problems = _rows(text, str(path), data)
    if problems:
        raise ScenarioError(problems)
    data["detained_file"] = {"file": written, "people": people}
    return data


class _Unreadable(Exception):
    pass


def _read_csv_text(path: Path) -> str:
    try:  # O_NONBLOCK: opening a named pipe must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError) as err:
        raise _Unreadable(getattr(err, "strerror", None) or str(err)) from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Unreadable("not a regular file")
        raw = file.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise _Unreadable(f"larger than a file of people present may be ({MAX_CSV_BYTES / 1e6:g} MB)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Unreadable("not UTF-8 text: save the file as UTF-8") from None


def _rows(text: str, file: str, data: dict) -> tuple[list[dict], list[str]]:
    """The people of the CSV `text` as rows of DetainedPerson, and the problems, each at its line."""
    if text.count("\n") > MOST_PEOPLE + 1:  # before any row is read
        return [], [f"{file}:{MOST_PEOPLE + 2}: more than {MOST_PEOPLE:,} people, the most a file of people "
                    "present may list"]
    streams = {s.get("name"): s for s in data.get("streams") or [] if isinstance(s, dict)}
    start = _date(data.get("start"))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = set(reader.fieldnames or [])
    when = [c for c in ("admitted", "days_detained") if c in columns]
    if "stream" not in columns or len(when) != 1:
        return [], [f"{file}:1: expected the columns stream, origin (optional) and one of admitted or "
                    f"days_detained (got {_echo(', '.join(reader.fieldnames or []))})"]
    people, problems = [], []
    counts: dict[str, int] = {}
    for row in reader:
        line = f"{file}:{reader.line_num}"
        name, origin = (row.get("stream") or "").strip(), (row.get("origin") or "").strip() or None
        stream = streams.get(name)
        if stream is None:
            problems.append(f"{line}: stream: no stream named {_echo(name)} in the scenario")
            continue
        if stream.get("detained_at_start") is not None:
            problems.append(f"{line}: stream: stream {_echo(name)} has detained_at_start already: give its "
                            "people in one place")
        origins = [o.get("name") for o in stream.get("origins") or [] if isinstance(o, dict)]
        if origin is not None and origin not in origins:
            problems.append(f"{line}: origin: stream {_echo(name)} has no origin named {_echo(origin)}")
        days = _days_detained(row[when[0]].strip() if row[when[0]] else "", when[0], start, line, problems)
        if days is not None:
            people.append({"stream": name, "origin": origin, "days_detained": days})
            counts[name] = counts.get(name, 0) + 1
    for name, count in counts.items():
        cap = streams[name].get("max_beds")
        if isinstance(cap, int) and count > cap:
            problems.append(f"{file}: {count} people of stream {_echo(name)}, more than its max_beds ({cap})")
    return people, problems


def _days_detained(value: str, column: str, start: dt.date | None, line: str, problems: list[str]) -> float | None:
    if column == "days_detained":
        try:
            days = to_days(value)
        except ValueError:
            days = None
        if not isinstance(days, float) or not days >= 0:
            problems.append(f"{line}: days_detained: expected a number of days >= 0 (got {_echo(value)})")
            return None
        return days
    admitted = _date(value)
    if admitted is None:
        problems.append(f"{line}: admitted: expected a date YYYY-MM-DD (got {_echo(value)})")
    elif start is None:
        problems.append(f"{line}: admitted: a date needs `start` to be set in the scenario")
    elif admitted > start:
        problems.append(f"{line}: admitted: expected a date on or before the start ({start}), got {admitted}")
    else:
        return float((start - admitted).days)
    return None


def _date(value) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(value.strip()) if isinstance(value, str) and len(value.strip()) == 10 else None
    except ValueError:
        return None


def _echo(text: str) -> str:
    """Text as a message quotes it: in quotes, cut at 80 characters."""
    return repr(text[:80]) if len(text) <= 80 else f"{text[:80]!r}... ({len(text):,} characters)"
