"""Hostile scenario files, one case per class found by generated mutations (issues 16, 17, 20):
each makes `capsim validate` exit 2 with the file, the line and a message a person reads, no
traceback, within a hang guard and, where the file would expand or is huge, under 200 MB.

Every case runs capsim in a process of its own, reaped with `os.wait4` so that its peak memory
is its own (not that of the test session's other children), under an address-space limit so
that a regression fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import measured_child

HANG_GUARD_SECONDS = 30
PEAK_MEMORY_LIMIT = 200 * 2**20
ADDRESS_SPACE_LIMIT = 3 * 2**30
"""A guard, not the bound tested: far above what capsim needs, far below a machine's memory."""

SMALL = """\
version: 1
name: demo
horizon: 1 year
capacity:
  beds: 50
streams:
  - name: police
    arrivals: {rate: 2}
    origins:
      # the two groups of origin
      - {name: maghreb, share: 0.6, return_probability: 0.3, time_to_return: {dist: exponential, mean: 60}}
      - {name: cooperating, share: 0.4, return_probability: 0.9, time_to_return: {dist: exponential, mean: 20}}
"""


@dataclass
class Ran:
    code: int
    output: str
    peak_bytes: int


def _limit_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def validate(target: str, cwd: Path) -> Ran:
    """`capsim validate TARGET` in `cwd`: exit code, stdout and stderr together, peak memory."""
    code, text, _, peak = measured_child([sys.executable, "-m", "sim", "validate", target], cwd,
                                         hang_guard=HANG_GUARD_SECONDS, merge_stderr=True,
                                         preexec_fn=_limit_address_space)
    assert code != -9, f"capsim validate {target} still ran after {HANG_GUARD_SECONDS} s"
    return Ran(code, text, peak)


@dataclass
class Hostile:
    """A file (or files) to write, what to validate, where the message must point and what it says."""

    build: Callable[[Path], tuple[str, list[str]]]  # folder -> (target, places: one must be in the output)
    phrase: str
    bounded_memory: bool = False


def write(folder: Path, name: str, content: str | bytes) -> str:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return name


def lines_with(text: str, fragment: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]


def anchors(levels: int) -> str:
    """x-laugh0 .. x-laugh{levels-1}: ten of the previous level each ("billion laughs")."""
    rows = ["x-laugh0: &laugh0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"x-laugh{i}: &laugh{i} [{', '.join([f'*laugh{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(rows) + "\n"


def alias_bomb(folder):
    text = anchors(10) + SMALL.replace("horizon: 1 year\n", "horizon: 1 year\ndescription: *laugh9\n")
    return write(folder, "bomb.yaml", text), [f"bomb.yaml:{n}:" for n in lines_with(text, "*laugh")]


def duplicate_key_with_an_alias_tree(folder):
    text = anchors(4) + SMALL.replace("name: demo\n", "name: *laugh3\nname: demo\n")
    return write(folder, "twice.yaml", text), [f"twice.yaml:{lines_with(text, 'name: demo')[0]}:1:"]


def undecodable_bytes(folder):
    line = lines_with(SMALL, "# the two groups")[0]
    raw = SMALL.encode().replace(b"# the two", b"# the \xff two")
    return write(folder, "latin.yaml", raw), [f"latin.yaml:{line}:13:"]


def control_character(folder):
    line = lines_with(SMALL, "# the two groups")[0]
    return write(folder, "control.yaml", SMALL.replace("# the two", "# the \x7f two")), [f"control.yaml:{line}:13:"]


def deep_nesting(folder):
    text = SMALL.replace("horizon: 1 year", "horizon: " + "[" * 5000 + "]" * 5000)
    return write(folder, "deep.yaml", text), ["deep.yaml:3:"]


def long_extends_chain(folder):
    write(folder, "f0.yaml", SMALL)
    for n in range(1, 1001):
        write(folder, f"f{n}.yaml", f"extends: f{n - 1}.yaml\nname: f{n}\n")
    return "f1000.yaml", [f"f{n}.yaml:1:1: extends: " for n in range(1001)]


def extends_to(base: str, make: Callable[[Path], object] = lambda folder: None):
    def build(folder):
        make(folder)
        return write(folder, "child.yaml", f"name: child\nextends: {base}\n"), ["child.yaml:2:1: extends: "]
    return build


def symlink_loop(folder):
    os.symlink("loop2.yaml", folder / "loop1.yaml")
    os.symlink("loop1.yaml", folder / "loop2.yaml")


def named_pipe(folder):
    os.mkfifo(folder / "pipe.yaml")
    return "pipe.yaml", ["pipe.yaml: "]


def eight_gigabytes(folder):
    with open(folder / "huge.yaml", "wb") as file:
        file.truncate(8 * 2**30)  # sparse: no disk is used
    return "huge.yaml", ["huge.yaml: "]


def day_that_does_not_exist(folder):
    text = SMALL.replace("horizon: 1 year\n", "horizon: 1 year\nstart: 2025-02-30\n")
    return write(folder, "date.yaml", text), ["date.yaml:4:1: start: "]


def child_of_small(text: str, place: str):
    def build(folder):
        write(folder, "base.yaml", SMALL)
        return write(folder, "child.yaml", text), [f"child.yaml:{place}"]
    return build


def zero_device(folder):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    return "/dev/zero", ["/dev/zero: "]


def a_folder(folder):
    (folder / "scenario.yaml").mkdir()
    return "scenario.yaml", ["scenario.yaml"]


HOSTILE = {
    "alias bomb": Hostile(alias_bomb, "alias", bounded_memory=True),
    "duplicate key whose value is an alias tree": Hostile(duplicate_key_with_an_alias_tree, "written twice",
                                                          bounded_memory=True),
    "bytes that are not UTF-8": Hostile(undecodable_bytes, "not UTF-8"),
    "a control character": Hostile(control_character, "U+007F"),
    "thousands of nested brackets": Hostile(deep_nesting, "nested more than"),
    "an extends chain of 1,000 files": Hostile(long_extends_chain, "chain of more than"),
    "extends a path with a NUL byte": Hostile(extends_to('"base\\0.yaml"'), "NUL"),
    "extends a file name too long": Hostile(extends_to("b" * 300 + ".yaml"), "too long"),
    "extends a loop of symbolic links": Hostile(extends_to("loop1.yaml", symlink_loop), "loop of symbolic links"),
    "extends a folder": Hostile(extends_to("folder", lambda folder: (folder / "folder").mkdir()), "a folder"),
    "extends a missing file": Hostile(extends_to("missing.yaml"), "no such file"),
    "a named pipe as the scenario": Hostile(named_pipe, "named pipe"),
    "a folder as the scenario": Hostile(a_folder, "is a directory"),
    "a device as the scenario": Hostile(zero_device, "device", bounded_memory=True),
    "an 8 GB file": Hostile(eight_gigabytes, "larger than a scenario file may be", bounded_memory=True),
    "a day that does not exist": Hostile(day_that_does_not_exist, "February 2025 has 28 days"),
    "a misspelt stream in a file that extends another": Hostile(
        child_of_small("extends: base.yaml\nname: child\nstreams:\n  - name: polise\n    arrivals: {rate: 3}\n",
                       "4:5: streams[0].name: no stream named 'polise'"), "did you mean 'police'?"),
    "a misspelt origin in a file that extends another": Hostile(
        child_of_small("extends: base.yaml\nname: child\nstreams:\n  - name: police\n    origins:\n"
                       "      - {name: maghrib, share: 0.6}\n", "6:10: streams[0].origins[0].name: no origin"),
        "did you mean 'maghreb'?"),
    "a number where a mapping of keys belongs": Hostile(
        lambda folder: (write(folder, "flat.yaml", SMALL.replace("capacity:\n  beds: 50", "capacity: 50")),
                        ["flat.yaml:4:1: capacity: "]), "expected a mapping of keys (beds, changes)"),
    "a name with a character names may not hold": Hostile(
        lambda folder: (write(folder, "named.yaml", SMALL.replace("name: demo", "name: demo/2")),
                        ["named.yaml:2:1: name: "]), "a name holds only letters, digits, '_', '.' and '-'"),
}


@pytest.mark.parametrize("case", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_file_is_refused_at_its_line_in_words_quickly_and_in_bounded_memory(tmp_path, case):
    target, places = case.build(tmp_path)
    ran = validate(target, tmp_path)
    assert ran.code == 2, ran.output[:2000]
    assert "Traceback" not in ran.output, ran.output[:2000]
    assert any(place in ran.output for place in places), f"expected one of {places[:3]}...\n{ran.output[:2000]}"
    assert case.phrase in ran.output, ran.output[:2000]
    assert len(ran.output) < 2000, f"a message of {len(ran.output):,} characters: {ran.output[:500]}"
    for jargon in ("valid dictionary", "String should match", "Errno", "recursion"):
        assert jargon not in ran.output, ran.output
    if case.bounded_memory:
        assert ran.peak_bytes < PEAK_MEMORY_LIMIT, f"peak memory {ran.peak_bytes / 2**20:.0f} MB"
