"""Bad scenario files: a clear, located error and exit code 2, never a traceback.

The contract (from the issue): every problem is printed on standard error as
``FILE:LINE:COL: key.path: message`` (1-based line and column of the key, ``[i]``
for list items), every problem in the file is listed, and `capsim validate` /
`capsim run` exit with code 2. Each case below writes a small scenario with the
error on a line marked ``# <-`` and checks the exact located prefix of that line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import scenario_data, to_yaml

from sim.cli import main

REPO = Path(__file__).resolve().parents[1]
FILE = "scenarios/x.yaml"

# A valid scenario; the line numbers matter (cases below name them).
BASE = """\
version: 1
name: demo
horizon: 365
capacity:
  beds: 50
streams:
  - name: asylum
    arrivals:
      rate: 2
    origins:
      - name: north
        share: 0.6
        return_probability: 0.8
        time_to_return: {dist: lognormal, mean: 60 days, sd: 30 days}
      - name: south
        share: 0.4
        return_probability: 0.5
        time_to_return: {dist: gamma, mean: 2 months, sd: 3 weeks}
"""

SECOND_STREAM = """\
  - name: transfers
    arrivals:
      rate: 1
    origins:
      - name: all
        share: 1
        return_probability: 1
        time_to_return: {dist: exponential, mean: 20}
"""


@dataclass
class Case:
    """A scenario with one error: `edits` turn BASE into it (old -> new, each
    old text unique in BASE), `prefix` is the exact located start of the error
    line, `phrase` a meaningful part of its message."""

    edits: dict[str, str]
    prefix: str
    phrase: str
    append: str = ""
    whole: str | None = None

    def text(self) -> str:
        if self.whole is not None:
            return self.whole
        text = BASE
        for old, new in self.edits.items():
            assert text.count(old) == 1, f"edit target {old!r} is not unique in BASE"
            text = text.replace(old, new)
        return text + self.append


CASES = {
    # the issue's own example
    "rate_not_positive": Case(
        {"      rate: 2\n": "      rate: -1  # <-\n"},
        f"{FILE}:9:7: streams[0].arrivals.rate:", "must be greater than 0 (got -1)"),
    "rate_not_finite": Case(
        {"      rate: 2\n": "      rate: .inf  # <-\n"},
        f"{FILE}:9:7: streams[0].arrivals.rate:", "finite"),
    "shares_do_not_sum_to_1": Case(
        {"share: 0.4": "share: 0.3", "    origins:\n": "    origins:  # <-\n"},
        f"{FILE}:10:5: streams[0].origins:", "must sum to 1"),
    "rate_and_schedule": Case(
        {"    arrivals:\n      rate: 2\n":
         "    arrivals:  # <-\n      rate: 2\n      schedule:\n        - {from: 0, rate: 1}\n"},
        f"{FILE}:8:5: streams[0].arrivals:", "exactly one of rate or schedule"),
    "neither_rate_nor_schedule": Case(
        {"    arrivals:\n      rate: 2\n": "    arrivals: {}  # <-\n"},
        f"{FILE}:8:5: streams[0].arrivals:", "exactly one of rate or schedule"),
    "reserved_beds_above_capacity": Case(
        {"    origins:\n": "    reserved_beds: 60  # <-\n    origins:\n"},
        f"{FILE}:10:5: streams[0].reserved_beds:", "exceed the capacity"),
    "reserved_beds_above_a_capacity_cut": Case(
        {"  beds: 50\n": "  beds: 50\n  changes:\n    - {at: 100, beds: 10}\n",
         "    origins:\n": "    reserved_beds: 20  # <-\n    origins:\n"},
        f"{FILE}:12:5: streams[0].reserved_beds:", "exceed the capacity"),
    "unknown_distribution": Case(
        {"{dist: lognormal, mean: 60 days, sd: 30 days}\n": "{dist: lognormall, mean: 60 days, sd: 30 days}  # <-\n"},
        f"{FILE}:14:9: streams[0].origins[0].time_to_return:", "unknown distribution 'lognormall'"),
    "duration_with_unknown_unit": Case(
        {"mean: 60 days, sd: 30 days}": "mean: 60 dayz, sd: 30 days}  # <-"},
        f"{FILE}:14:43: streams[0].origins[0].time_to_return.mean:", "unknown unit 'dayz'"),
    "duration_not_a_number": Case(
        {"horizon: 365\n": "horizon: one year  # <-\n"},
        f"{FILE}:3:1: horizon:", "not a duration"),
    "unknown_top_level_key": Case(
        {"horizon: 365\n": "horizon: 365\nreplicatons: 5  # <-\n"},
        f"{FILE}:4:1: replicatons:", "unknown key 'replicatons' (did you mean 'replications'?)"),
    "unknown_nested_key": Case(
        {"        return_probability: 0.8\n": "        retrun_probability: 0.8  # <-\n"},
        f"{FILE}:13:9: streams[0].origins[0].retrun_probability:",
        "unknown key 'retrun_probability' (did you mean 'return_probability'?)"),
    "capacity_date_without_start": Case(
        {"  beds: 50\n": "  beds: 50\n  changes:\n    - at: 2025-03-01  # <-\n      beds: 40\n"},
        f"{FILE}:7:7: capacity.changes[0].at:", "needs `start`"),
    "schedule_date_without_start": Case(
        {"      rate: 2\n": "      schedule:\n        - from: 2025-01-01  # <-\n          rate: 2\n"},
        f"{FILE}:10:11: streams[0].arrivals.schedule[0].from:", "needs `start`"),
    "schedule_not_starting_at_0": Case(
        {"      rate: 2\n": "      schedule:\n        - from: 5  # <-\n          rate: 2\n"},
        f"{FILE}:10:11: streams[0].arrivals.schedule[0].from:", "must start at day 0"),
    "schedule_not_increasing": Case(
        {"      rate: 2\n": "      schedule:\n        - from: 0\n          rate: 2\n"
                            "        - from: 30\n          rate: 1\n"
                            "        - from: 30  # <-\n          rate: 3\n"},
        f"{FILE}:14:11: streams[0].arrivals.schedule[2].from:", "increasing order"),
    "max_wait_without_wait": Case(
        {"    origins:\n": "    max_wait: 2 weeks  # <-\n    origins:\n"},
        f"{FILE}:10:5: streams[0].max_wait:", "only applies with when_full: wait"),
    "duplicate_stream_names": Case(
        {}, f"{FILE}:19:5: streams[1].name:", "must be unique ('asylum' is repeated)",
        append=SECOND_STREAM.replace("  - name: transfers\n", "  - name: asylum  # <-\n")),
    "not_yaml": Case(
        {"horizon: 365\n": "horizon: 365: days  # <-\n"},
        f"{FILE}:3:13: ", "not valid YAML: mapping values are not allowed here"),
    "not_a_mapping": Case(
        {}, f"{FILE}:1:1: ", "must be a mapping", whole="- version: 1  # <-\n- name: demo\n"),
}


def marked_line(text: str) -> int:
    """1-based line of the `# <-` marker (the case's error line)."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if "# <-" in line]
    return lines[0] if lines else 0


def write_case(root: Path, text: str, name: str = FILE) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class CommandHung(Exception):
    """The command ran past its deadline (e.g. `run` simulating a scenario it should have refused)."""


def _hung(signum, frame):
    raise CommandHung("the command did not finish within its deadline")


def invoke(args: list[str], deadline: float = 3.0):
    """Run the CLI in this process (cwd must hold the files named in `args`).

    A bad file must be refused at once; should the command start simulating
    instead, a timer turns the hang into an exception (result.exception) so the
    test fails rather than blocking the suite."""
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.setitimer(signal.ITIMER_REAL, deadline)
    try:
        return CliRunner().invoke(main, args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def no_traceback(result) -> None:
    """Oracle: the command ended by exiting, not by an uncaught exception."""
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_base_scenario_is_valid(tmp_path, monkeypatch):
    """The scenario the cases start from is valid: `validate` prints 'FILE: ok' and exits 0."""
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path, BASE + SECOND_STREAM)
    result = invoke(["validate", FILE])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{FILE}: ok"
    assert result.stderr == ""


def test_case_markers_agree_with_expected_lines():
    """Self-check of the table: each case's expected line is the line marked `# <-`."""
    for name, case in CASES.items():
        line = int(case.prefix.split(":")[1])
        assert marked_line(case.text()) == line, name


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_gives_located_error_and_exit_2(tmp_path, monkeypatch, name, command):
    """Contract: a bad file makes `validate` and `run` exit 2 with the error on
    stderr as FILE:LINE:COL: key.path: message, and no traceback."""
    case = CASES[name]
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path, case.text())
    args = [command, FILE] + (["--out", str(tmp_path / "out"), "-j", "1", "-q"] if command == "run" else [])
    result = invoke(args)
    assert result.exit_code == 2, result.output
    no_traceback(result)
    errors = result.stderr.splitlines()
    matching = [line for line in errors if line.startswith(case.prefix)]
    assert matching, f"no error starts with {case.prefix!r}:\n{result.stderr}"
    assert any(case.phrase in line for line in matching), f"{case.phrase!r} not in {matching}"
    assert result.stdout == ""
    assert not (tmp_path / "out").exists(), "a bad scenario must not produce results"


@pytest.mark.parametrize("command", ["validate", "run"])
def test_missing_file(tmp_path, monkeypatch, command):
    """Contract: a file that does not exist is a clear error naming it, exit 2."""
    monkeypatch.chdir(tmp_path)
    result = invoke([command, "scenarios/missing.yaml"])
    assert result.exit_code == 2
    no_traceback(result)
    assert result.stderr.strip() == "scenarios/missing.yaml: no such file"


def test_file_that_is_not_utf8(tmp_path, monkeypatch):
    """Contract: a binary file is a clear 'cannot read' error, exit 2, no traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00version: 1")
    result = invoke(["validate", "binary.yaml"])
    assert result.exit_code == 2
    no_traceback(result)
    assert result.stderr.startswith("binary.yaml: ")


def test_did_you_mean_suggests_another_key(tmp_path, monkeypatch):
    """Contract: an unknown key inside a distribution is located, and its
    'did you mean' suggestion (if any) is not the rejected key itself."""
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path, BASE.replace("{dist: gamma, mean: 2 months, sd: 3 weeks}",
                                      "{dist: exponential, mean: 2 months, sd: 3 weeks}"))
    result = invoke(["validate", FILE])
    assert result.exit_code == 2
    no_traceback(result)
    [line] = [e for e in result.stderr.splitlines() if ".time_to_return.sd:" in e]
    assert line.startswith(f"{FILE}:18:61: streams[0].origins[1].time_to_return.sd: unknown key 'sd'")
    assert "did you mean 'sd'" not in line


SEVERAL_SCHEMA_ERRORS = """\
version: 1
name: demo
horizon: 365
warmup: a while
capacity:
  beds: -5
streams:
  - name: asylum
    arrivals:
      rate: 0
    screened_out: 1.5
    when_full: queue
    origins:
      - name: north
        share: 1
        return_probability: 0.8
        time_to_return: {dist: poisson, mean: 60}
"""

SEVERAL_CROSS_CHECK_ERRORS = """\
version: 1
name: demo
horizon: 365
capacity:
  beds: 50
  changes:
    - at: 2025-06-01
      beds: 40
streams:
  - name: asylum
    arrivals:
      schedule:
        - from: 3
          rate: 2
    max_wait: 5
    origins:
      - name: north
        share: 1
        return_probability: 0.8
        time_to_return: {dist: exponential, mean: 60}
  - name: asylum
    arrivals:
      rate: 1
    origins:
      - name: all
        share: 1
        return_probability: 1
        time_to_return: {dist: exponential, mean: 20}
"""


@pytest.mark.parametrize("text, expected", [
    pytest.param(SEVERAL_SCHEMA_ERRORS, [
        (f"{FILE}:4:1: warmup:", "not a duration"),
        (f"{FILE}:6:3: capacity.beds:", "greater than or equal to 0"),
        (f"{FILE}:10:7: streams[0].arrivals.rate:", "greater than 0"),
        (f"{FILE}:11:5: streams[0].screened_out:", "less than or equal to 1"),
        (f"{FILE}:12:5: streams[0].when_full:", "turn_away"),
        (f"{FILE}:17:9: streams[0].origins[0].time_to_return:", "unknown distribution 'poisson'"),
    ], id="schema"),
    pytest.param(SEVERAL_CROSS_CHECK_ERRORS, [
        (f"{FILE}:7:7: capacity.changes[0].at:", "needs `start`"),
        (f"{FILE}:13:11: streams[0].arrivals.schedule[0].from:", "must start at day 0"),
        (f"{FILE}:15:5: streams[0].max_wait:", "when_full: wait"),
        (f"{FILE}:21:5: streams[1].name:", "must be unique"),
    ], id="cross_checks"),
    pytest.param(SEVERAL_CROSS_CHECK_ERRORS.replace("horizon: 365\n", "horizon: -365\n"), [
        (f"{FILE}:3:1: horizon:", "greater than 0"),
        (f"{FILE}:7:7: capacity.changes[0].at:", "needs `start`"),
        (f"{FILE}:13:11: streams[0].arrivals.schedule[0].from:", "must start at day 0"),
        (f"{FILE}:15:5: streams[0].max_wait:", "when_full: wait"),
        (f"{FILE}:21:5: streams[1].name:", "must be unique"),
    ], id="schema_and_cross_checks"),
])
def test_every_error_is_listed_with_its_line(tmp_path, monkeypatch, text, expected):
    """Contract: every error in the file is listed, each on its own line with its
    own location, in file order; exit 2."""
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path, text)
    result = invoke(["validate", FILE])
    assert result.exit_code == 2
    no_traceback(result)
    errors = result.stderr.splitlines()
    found = []
    for prefix, phrase in expected:
        hits = [i for i, line in enumerate(errors) if line.startswith(prefix) and phrase in line]
        assert hits, f"missing {prefix} ... {phrase!r} in:\n{result.stderr}"
        found.append(hits[0])
    assert found == sorted(found), "errors are not listed in file order"
    assert len(errors) == len(expected), f"unexpected extra errors:\n{result.stderr}"


def test_validate_several_files(tmp_path, monkeypatch):
    """Contract: `validate FILE...` prints 'FILE: ok' for good files (stdout), the
    errors of bad ones (stderr), and exits 2 if any file is bad, 0 if none is."""
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path, BASE, "good.yaml")
    write_case(tmp_path, CASES["rate_not_positive"].text(), "bad.yaml")
    result = invoke(["validate", "good.yaml", "bad.yaml", "good.yaml"])
    assert result.exit_code == 2
    no_traceback(result)
    assert result.stdout.splitlines() == ["good.yaml: ok", "good.yaml: ok"]
    assert result.stderr.startswith("bad.yaml:9:7: streams[0].arrivals.rate: must be greater than 0 (got -1)")
    assert invoke(["validate", "good.yaml"]).exit_code == 0


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def real_processes(tmp_path_factory):
    """`python -m sim validate` on every case file (plus a good and a missing one)
    and `python -m sim run` on a bad file, started together so that their start-up
    times overlap; each test below waits for its own process."""
    root = tmp_path_factory.mktemp("real")
    paths = []
    for name, case in sorted(CASES.items()):
        paths.append(f"scenarios/{name}.yaml")
        write_case(root, case.text(), paths[-1])
    write_case(root, BASE, "scenarios/good.yaml")
    write_case(root, CASES["rate_not_positive"].text(), "bad.yaml")
    options = dict(cwd=root, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    processes = {
        "validate": subprocess.Popen([sys.executable, "-m", "sim", "validate", *paths, "scenarios/good.yaml",
                                      "scenarios/missing.yaml"], **options),
        "run": subprocess.Popen([sys.executable, "-m", "sim", "run", "bad.yaml", "--out", "out", "-j", "1"],
                                **options),
    }
    yield root, processes
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


def finished(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def test_validate_in_a_real_process(real_processes):
    """Contract, end to end through `python -m sim validate FILE...`: every bad
    case file gets its located error on stderr, the good file 'ok' on stdout,
    the missing file 'no such file', exit 2, and no traceback anywhere."""
    _, processes = real_processes
    returncode, stdout, stderr = finished(processes["validate"])
    assert returncode == 2
    assert "Traceback" not in stdout + stderr
    errors = stderr.splitlines()
    for name, case in sorted(CASES.items()):
        prefix = case.prefix.replace(FILE, f"scenarios/{name}.yaml")
        assert any(line.startswith(prefix) and case.phrase in line for line in errors), \
            f"{name}: no {prefix} ... {case.phrase!r}"
    assert "scenarios/missing.yaml: no such file" in errors
    assert stdout.splitlines() == ["scenarios/good.yaml: ok"]


def test_run_in_a_real_process(real_processes):
    """Contract, end to end through `python -m sim run`: a bad file exits 2 with
    its located errors on stderr, writes nothing, and prints no traceback."""
    root, processes = real_processes
    returncode, stdout, stderr = finished(processes["run"])
    assert returncode == 2
    assert "Traceback" not in stdout + stderr
    assert stderr.splitlines() == [
        "bad.yaml:9:7: streams[0].arrivals.rate: must be greater than 0 (got -1)",
    ]
    assert not (root / "out").exists()


def test_committed_schema_is_current():
    """Contract: scenarios/scenario.schema.json is exactly what `capsim schema` prints."""
    result = invoke(["schema"])
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    committed = json.loads((REPO / "scenarios" / "scenario.schema.json").read_text(encoding="utf-8"))
    assert committed == printed


@pytest.mark.parametrize("command", ["run", "theory", "compare", "sweep", "size", "check", "warmup", "report"])
def test_help_shows_percent_signs_as_written(command):
    """click prints help text as it is: a '%%' (printf-style escaping) would show doubled."""
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "%%" not in result.output


@pytest.mark.parametrize(("content", "expected"), [
    (b"capacity.beds: [15, 20\n", "grid.yaml:2:1: not valid YAML: expected ',' or ']', but got '<stream end>'"),
    (b"\xff\xfe: [1]\n", "grid.yaml: UTF-16 (or UTF-32) text, not UTF-8: save the file as UTF-8"),
    (b"capacity.beds: 20\n", "grid.yaml:1:1: capacity.beds: expected a list of values, such as [0.1, 0.3, 0.5]"),
    (b"[15, 20]\n", "grid.yaml:1:1: a grid must be a mapping of PATH: [values, ...]"),
], ids=["not YAML", "not UTF-8", "a value that is not a list", "not a mapping"])
def test_a_bad_grid_file_is_refused_at_its_line(tmp_path, monkeypatch, content, expected):
    """Contract: `sweep --grid` reads its file as a scenario file is read (bounded, located errors, exit 2),
    where it gave a traceback from the YAML reader or the UTF-8 decoder."""
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path, BASE + SECOND_STREAM)
    (tmp_path / "grid.yaml").write_bytes(content)
    result = invoke(["sweep", FILE, "--grid", "grid.yaml", "--out", "out"])
    assert result.exit_code == 2, result.output
    no_traceback(result)
    assert result.stderr.strip() == expected
    assert not (tmp_path / "out").exists()


def test_a_device_as_the_grid_file_is_refused_at_once(tmp_path, monkeypatch):
    """Contract: a grid file that never ends (/dev/zero) is refused before it is read, exit 2."""
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path, BASE + SECOND_STREAM)
    result = invoke(["sweep", FILE, "--grid", "/dev/zero", "--out", "out"])
    assert result.exit_code == 2, result.output
    no_traceback(result)
    assert result.stderr.strip() == "/dev/zero: not a file but a device"


@pytest.mark.parametrize("overrides, expected", [
    ({"capacity": {"beds": 20, "changes": [{"at": 20, "beds": 10}, {"at": 20, "beds": 15}]}},
     "capacity.changes[1].at: capacity changes must be in time order"),
    ({"parameter_changes": [{"at": 20, "set": {"streams.s.screened_out": 0.1}},
                            {"at": 10, "set": {"streams.s.screened_out": 0.2}}]},
     "parameter_changes[1].at: parameter changes must be in time order"),
])
def test_dated_keys_out_of_time_order_are_told_at_their_line(tmp_path, monkeypatch, overrides, expected):
    """Capacity changes must come strictly in time order; parameter changes may share a day, not go back."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text(to_yaml(scenario_data(**overrides)), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "x.yaml"])
    assert result.exit_code == 2 and expected in result.output, result.output
    same_day = [{"at": 20, "set": {"streams.s.screened_out": 0.1}}, {"at": 20, "set": {"streams.s.screened_out": 0.2}}]
    (tmp_path / "y.yaml").write_text(to_yaml(scenario_data(parameter_changes=same_day)), encoding="utf-8")
    assert CliRunner().invoke(main, ["validate", "y.yaml"]).exit_code == 0
