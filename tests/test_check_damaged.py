"""capsim check on a damaged baseline or new folder: exit 2 with the file (and, for a
CSV file, the line) and a message a person reads, never a traceback; and a
baseline that cannot fail (no replication, one, or non-finite values) is refused.

A check that crashes is read by CI as a regression, one that passes on an empty
baseline as a pass: both are wrong. Every case copies one real results folder
(a small scenario run once for the module) and damages the copy.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_scenario, scenario_data

from sim import run, write
from sim.cli import main

BOTH = ("exact", "statistical")


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A small run's results folder; its second stream has no requests, so some cells are empty (undefined)."""
    data = scenario_data(horizon=60, warmup=10)
    quiet = dict(data["streams"][0], name="quiet", arrivals={"rate": 1e-6})
    data["streams"].append(quiet)
    return write(run(make_scenario(**data), replications=5, seed=1), tmp_path_factory.mktemp("results") / "run")


def check(new: Path, baseline: Path, tier: str):
    result = CliRunner().invoke(main, ["check", str(new), str(baseline), "--tier", tier])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def set_line(path: Path, number: int, text: str) -> None:
    """Replace line `number` (1-based) of `path`."""
    kept = lines(path)
    kept[number - 1] = text
    path.write_text("".join(kept), encoding="utf-8")


def set_cell(path: Path, number: int, column: int, value: str) -> None:
    cells = lines(path)[number - 1].rstrip("\n").split(",")
    cells[column] = value
    set_line(path, number, ",".join(cells) + "\n")


def cut_short(path: Path) -> None:
    """The file as a full disk or a killed copy leaves it: cut in the middle of its last line."""
    data = path.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n")
    path.write_bytes(data[: last + 1 + (len(data) - last) // 2])


def cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def without_key(path: Path, key: str) -> None:
    path.write_text("".join(line for line in lines(path) if not line.lstrip().startswith(f'"{key}"')),
                    encoding="utf-8")


def insert_bytes(path: Path, number: int, data: bytes) -> None:
    """`data` put in the middle of line `number`."""
    kept = path.read_bytes().split(b"\n")
    line = kept[number - 1]
    kept[number - 1] = line[: len(line) // 2] + data + line[len(line) // 2:]
    path.write_bytes(b"\n".join(kept))


def directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def header_only(path: Path) -> None:
    path.write_text(lines(path)[0], encoding="utf-8")


def last_line(path: Path) -> int:
    return len(path.read_bytes().rstrip(b"\n").split(b"\n"))


@dataclass
class Damage:
    name: str
    file: str
    apply: Callable[[Path], None]
    line: int | Callable[[Path], int] | None  # where the message must point (None: the file alone)
    words: str  # what the message must say (a regular expression)
    tiers: tuple[str, ...] = BOTH


DAMAGES = [
    Damage("summary cut short", "summary.json", cut_in_half, None, r":\d+:\d+: not valid JSON"),
    Damage("summary empty", "summary.json", lambda p: p.write_text(""), None, "empty"),
    Damage("summary without scenario_sha256", "summary.json", lambda p: without_key(p, "scenario_sha256"), None,
           "scenario_sha256"),
    Damage("summary not an object", "summary.json", lambda p: p.write_text("[1, 2]\n"), None, "JSON object"),
    Damage("summary binary", "summary.json", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\rIHDR"), 1,
           "not UTF-8"),
    Damage("summary a directory", "summary.json", directory, None, "directory"),
    Damage("a word for a number", "replications.csv", lambda p: set_cell(p, 3, 2, "lots"), 3, "'lots' is not a number"),
    Damage("replications cut short", "replications.csv", cut_short, last_line, "cut short"),
    Damage("a short row", "replications.csv", lambda p: set_line(p, 4, "3,1,2\n"), 4,
           r"expected \d+ columns, found 3"),
    Damage("a long row", "replications.csv", lambda p: set_line(p, 2, lines(p)[1].rstrip("\n") + ",7\n"), 2,
           r"expected \d+ columns, found \d+"),
    Damage("a blank line", "replications.csv", lambda p: set_line(p, 3, "\n"), 3, r"expected \d+ columns, found 0"),
    Damage("a cell too long for CSV", "replications.csv", lambda p: set_cell(p, 3, 1, "9" * 200_000), 3, "not CSV"),
    Damage("replications empty", "replications.csv", lambda p: p.write_text(""), None, "empty"),
    Damage("NUL bytes", "replications.csv", lambda p: insert_bytes(p, 2, b"\x00\x00"), 2, "NUL"),
    Damage("Latin-1", "replications.csv", lambda p: insert_bytes(p, 3, "é".encode("latin-1")), 3, "not UTF-8"),
    Damage("binary", "replications.csv", lambda p: p.write_bytes(bytes(range(256)) * 4), 2, "not UTF-8"),
    Damage("replications a directory", "replications.csv", directory, None, "directory"),
    Damage("a duplicated row", "replications.csv", lambda p: set_line(p, 4, lines(p)[2]), 4,
           "replication 1, expected 2"),
    Damage("no replication column", "replications.csv", lambda p: set_cell(p, 1, 0, "run"), 1, "'replication'"),
    Damage("a duplicated column", "replications.csv", lambda p: set_cell(p, 1, 2, lines(p)[0].split(",")[1]), 1,
           "twice"),
    Damage("header only: no replication", "replications.csv", header_only, None, "no replication"),
    Damage("inf", "replications.csv", lambda p: set_cell(p, 3, 1, "inf"), 3, "'inf' is not a finite number"),
    Damage("-inf", "replications.csv", lambda p: set_cell(p, 5, 4, "-inf"), 5, "'-inf' is not a finite number"),
    Damage("nan", "replications.csv", lambda p: set_cell(p, 2, 3, "nan"), 2, "'nan' is not a finite number"),
    Damage("one replication", "replications.csv", lambda p: p.write_text("".join(lines(p)[:2])), None,
           "at least 2", ("statistical",)),
    Damage("occupancy short row", "occupancy.csv", lambda p: set_line(p, 5, "4,warmup\n"), 5,
           r"expected \d+ columns, found 2", ("exact",)),
    Damage("stays cut short", "stays.csv", cut_short, last_line, "cut short", ("exact",)),
    Damage("scenario Latin-1", "scenario.yaml", lambda p: insert_bytes(p, 2, "é".encode("latin-1")), 2,
           "not UTF-8", ("exact",)),
    Damage("occupancy_distribution a directory", "occupancy_distribution.csv", directory, None, "directory",
           ("exact",)),
]
CASES = [pytest.param(damage, tier, side, id=f"{damage.name}-{tier}-{side}")
         for damage in DAMAGES for tier in damage.tiers for side in ("baseline", "new")]


@pytest.mark.parametrize(("damage", "tier", "side"), CASES)
def test_a_damaged_folder_is_exit_2_with_file_and_line(tmp_path, results, damage, tier, side):
    """Contract: exit 2 (bad input, not a regression), the file and line, what is wrong, no traceback."""
    folders = {name: Path(shutil.copytree(results, tmp_path / name)) for name in ("baseline", "new")}
    path = folders[side] / damage.file
    line = damage.line(path) if callable(damage.line) else damage.line
    damage.apply(path)
    result = check(folders["new"], folders["baseline"], tier)
    assert result.exit_code == 2, result.output
    where = re.escape(str(path)) + (f":{line}:" if line is not None else "")
    assert re.search(where + ".*" + damage.words, result.output), result.output
    assert "PASS" not in result.output and "FAIL" not in result.output


@pytest.mark.parametrize("tier", BOTH)
def test_an_undamaged_copy_passes_with_its_undefined_cells(tmp_path, results, tier):
    """The cases above fail for their damage alone: an undamaged copy passes, and its empty
    cells (metrics of a stream with no requests, undefined) are not taken for damage."""
    assert ",," in (results / "replications.csv").read_text(encoding="utf-8")
    baseline = shutil.copytree(results, tmp_path / "baseline")
    result = check(results, baseline, tier)
    assert result.exit_code == 0, result.output
    assert f"PASS ({tier} tier)" in result.output


def test_a_missing_folder_is_still_exit_2(tmp_path, results):
    result = check(results, tmp_path / "nowhere", "statistical")
    assert result.exit_code == 2
    assert "no such file" in result.output
