"""`extends:` — a scenario built on another: keys overridden, streams, origins
and capacity changes merged by name or removed, errors located in the file
(base or override) where the value was written, loops refused."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario import load_scenario

BASE = textwrap.dedent("""\
    version: 1
    name: base
    horizon: 1 year
    seed: 7
    capacity:
      beds: 100
      changes:
        - {name: extension, at: 100, beds: 120}
    streams:
      - name: police
        arrivals: {rate: 1}
        origins:
          - {name: near, share: 0.5, return_probability: 0.9, time_to_return: {dist: exponential, mean: 20}}
          - {name: far, share: 0.5, return_probability: 0.2, time_to_return: {dist: exponential, mean: 60}}
      - name: prison
        arrivals: {rate: 0.5}
        origins:
          - {name: near, share: 1, return_probability: 0.8, time_to_return: {dist: exponential, mean: 10}}
    """)


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_overrides_merge_by_name_and_remove(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    alt = write(tmp_path, "alt.yaml", """\
        extends: base.yaml
        name: alt
        capacity:
          beds: 90
          changes:
            - {name: extension, remove: true}
            - {name: new_centre, at: 200, beds: 150}
        streams:
          - name: police
            origins:
              - {name: far, remove: true}
              - {name: near, share: 1}
          - name: prison
            remove: true
          - name: campaign
            arrivals: {rate: 0.2}
            origins:
              - {name: near, share: 1, return_probability: 0.5, time_to_return: {dist: exponential, mean: 30}}
        """)
    scenario = load_scenario(alt)
    assert scenario.name == "alt" and scenario.seed == 7 and scenario.horizon == pytest.approx(365.25)
    assert scenario.capacity.beds == 90
    assert [(c.name, c.at, c.beds) for c in scenario.capacity.changes] == [("new_centre", 200.0, 150)]
    assert [s.name for s in scenario.streams] == ["police", "campaign"]
    police = scenario.streams[0]
    assert police.arrivals.rate == 1.0  # kept from the base
    assert [(o.name, o.share, o.return_probability) for o in police.origins] == [("near", 1.0, 0.9)]


def test_chain_of_three_and_path_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "sub/middle.yaml", "extends: ../base.yaml\nname: middle\ncapacity: {beds: 200}\n")
    top = write(tmp_path, "sub/top.yaml", "extends: middle.yaml\nname: top\nseed: 9\n")
    scenario = load_scenario(top)
    assert (scenario.name, scenario.seed, scenario.capacity.beds) == ("top", 9, 200)
    assert [c.name for c in scenario.capacity.changes] == ["extension"]  # from the base, through middle


def test_error_in_the_base_is_reported_at_the_base(tmp_path):
    write(tmp_path, "base.yaml", BASE.replace("return_probability: 0.2", "return_probability: 1.2"))
    alt = write(tmp_path, "alt.yaml", "extends: base.yaml\nname: alt\ncapacity: {beds: -5}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(alt)
    problems = caught.value.problems
    base_line = BASE.splitlines().index(next(line for line in BASE.splitlines() if "name: far" in line)) + 1
    assert any(p.startswith(f"{tmp_path / 'base.yaml'}:{base_line}:") and "origins[1].return_probability" in p
               for p in problems), problems
    assert any(p.startswith(f"{alt}:3:") and "capacity.beds" in p for p in problems), problems


def test_removing_what_the_base_lacks_is_an_error(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    alt = write(tmp_path, "alt.yaml", "extends: base.yaml\nstreams:\n  - {name: nobody, remove: true}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(alt)
    assert caught.value.problems == [f"{alt}:3:20: streams[0].remove: nothing named 'nobody' in the base's "
                                     "streams to remove"]


@pytest.mark.parametrize("files", [
    {"a.yaml": "extends: a.yaml\n"},
    {"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: c.yaml\n", "c.yaml": "extends: a.yaml\n"},
])
def test_extends_loop_is_an_error_not_a_hang(tmp_path, files):
    for name, text in files.items():
        write(tmp_path, name, text)
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "a.yaml")])
    assert result.exit_code == 2
    assert "extends itself in a loop" in result.output and "Traceback" not in result.output


def test_missing_base_is_located(tmp_path):
    alt = write(tmp_path, "alt.yaml", "name: alt\nextends: nowhere.yaml\n")
    result = CliRunner().invoke(main, ["validate", str(alt)])
    assert result.exit_code == 2
    assert f"{alt}:2:1: extends: no such file" in result.output


def test_results_show_the_merged_whole(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    alt = write(tmp_path, "alt.yaml", "extends: base.yaml\nname: alt\nreplications: 2\nhorizon: 30\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(alt), "--out", str(out), "--jobs", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    written = load_scenario(out / "scenario.yaml")
    assert written == load_scenario(alt)
    assert "extends" not in (out / "scenario.yaml").read_text()
    assert [s.name for s in written.streams] == ["police", "prison"]


@pytest.mark.parametrize("override, message", [
    ("streams:\n  - name: polise\n    arrivals: {rate: 2}\n",
     "3:5: streams[0].name: no stream named 'polise' in the base (did you mean 'police'?); "
     "a new stream needs origins too"),
    ("streams:\n  - name: police\n    origins:\n      - {name: nera, share: 1}\n",
     "5:10: streams[0].origins[0].name: no origin named 'nera' in the base (did you mean 'near'?); "
     "a new origin needs return_probability and time_to_return too"),
    ("capacity:\n  changes:\n    - {name: extensoin, beds: 130}\n",
     "4:8: capacity.changes[0].name: no capacity change named 'extensoin' in the base (did you mean "
     "'extension'?); a new capacity change needs at too"),
    ("streams:\n  - name: airport\n    screened_out: 0.1\n",
     "3:5: streams[0].name: no stream named 'airport' in the base (it has police, prison); "
     "a new stream needs arrivals and origins too"),
], ids=["stream", "origin", "capacity change", "no close name"])
def test_an_incomplete_item_whose_name_the_base_lacks_is_a_misspelt_name(tmp_path, override, message):
    """A new stream, origin or capacity change must be complete; an incomplete one that matches
    nothing in the base is a misspelling, reported at its name in the user's file (not as
    'streams[2].arrivals: is required' at an index of the merged list)."""
    write(tmp_path, "base.yaml", BASE)
    alt = write(tmp_path, "alt.yaml", "extends: base.yaml\n" + override)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(alt)
    assert caught.value.problems == [f"{alt}:{message}"]


def test_removing_a_misspelt_name_suggests_the_base_name(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    alt = write(tmp_path, "alt.yaml", "extends: base.yaml\nstreams:\n  - {name: prisn, remove: true}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(alt)
    assert caught.value.problems == [f"{alt}:3:19: streams[0].remove: nothing named 'prisn' in the base's "
                                     "streams to remove (did you mean 'prison'?)"]


def test_a_chain_of_extends_is_followed_up_to_its_limit_and_refused_beyond(tmp_path):
    from sim.scenario.loading import MAX_CHAIN

    write(tmp_path, "f1.yaml", BASE)
    for n in range(2, MAX_CHAIN + 2):
        write(tmp_path, f"f{n}.yaml", f"name: f{n}\nextends: f{n - 1}.yaml\n")
    assert load_scenario(tmp_path / f"f{MAX_CHAIN}.yaml").name == f"f{MAX_CHAIN}"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / f"f{MAX_CHAIN + 1}.yaml")
    [problem] = caught.value.problems
    assert problem.startswith(f"{tmp_path / 'f2.yaml'}:2:1: extends: 'f1.yaml' would make a chain of more than "
                              f"{MAX_CHAIN} scenarios"), problem


def test_a_scenario_records_what_it_extends_and_what_it_changes(tmp_path):
    """`Scenario.extends`: the base as written, its name and description, and the changes by dotted path
    (a whole item added or removed said once, not key by key)."""
    write(tmp_path, "base.yaml", BASE)
    alt = write(tmp_path, "alt.yaml", """\
        extends: base.yaml
        name: alt
        capacity:
          beds: 90
          changes:
            - {name: extension, remove: true}
        streams:
          - name: police
            origins:
              - {name: near, return_probability: 0.7}
          - name: campaign
            arrivals: {rate: 0.2}
            origins:
              - {name: near, share: 1, return_probability: 0.5, time_to_return: {dist: exponential, mean: 30}}
        """)
    parent = load_scenario(alt).extends
    assert parent == {"file": "base.yaml", "name": "base", "description": "", "changes": [
        "capacity.beds 100 → 90", "capacity.changes.extension removed",
        "streams.police.origins.near.return_probability 0.9 → 0.7", "streams.campaign added"]}
    assert load_scenario(write(tmp_path, "whole.yaml", BASE)).extends is None


def test_a_base_that_is_not_a_whole_scenario_is_recorded_by_its_file(tmp_path):
    whole = load_scenario(write(tmp_path, "whole.yaml", BASE))
    write(tmp_path, "part.yaml", "seed: 11\n")
    data = BASE.replace("seed: 7\n", "")
    scenario = load_scenario(write(tmp_path, "top.yaml", "extends: part.yaml\n" + data))
    assert scenario.seed == 11 and scenario.extends == {"file": "part.yaml"}
    assert scenario.normalised() == {**whole.normalised(), "seed": 11}
