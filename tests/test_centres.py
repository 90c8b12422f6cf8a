"""Centres: the rules a planner meets at their lines, the books of every run, and the outputs.

The statistical oracles of centres (Erlang B per centre, the overflow chain, insensitivity, usable
places) are in test_centres_theory.py. Here: each wrong scenario gives a located error with exit 2,
never a traceback and never a key silently ignored; the centres' and groups' counts add up to the
system's in every replication (a conservation law); placement follows the preference order exactly
(a deterministic case); results do not depend on the number of workers; a centre's change of places
touches only that centre; and the files, the terminal and compare show the centres.
"""

from __future__ import annotations

import copy
import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import scenario_data, to_yaml

from sim import parse_scenario, run
from sim.cli import main
from sim.engine.model import simulate
from sim.engine.seeds import replication_seed
from sim.errors import CapsimError

STAY = {"dist": "exponential", "mean": 10}


def centres_data(centres: list[dict], streams: list[dict] | None = None, **overrides) -> dict:
    """A scenario of centres instead of the conftest's pool of 20 beds."""
    data = scenario_data(**overrides)
    del data["capacity"]
    data["centres"] = copy.deepcopy(centres)
    if streams is not None:
        data["streams"] = copy.deepcopy(streams)
    return data


def stream(name: str = "s", rate: float = 1.0, **keys) -> dict:
    return {"name": name, "arrivals": {"rate": rate}, **keys,
            "origins": [{"name": "all", "share": 1, "return_probability": 1, "time_to_return": STAY}]}


TWO_SEXES = [{"name": "men", "places": 6, "accepts": {"sex": ["men"]}},
             {"name": "women", "places": 3, "usable": 2, "accepts": {"sex": ["women"]}}]
MIXED = {"sex": {"men": 0.7, "women": 0.3}}


def errors_of(tmp_path, data: dict) -> str:
    path = tmp_path / "x.yaml"
    path.write_text(to_yaml(data), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.update(capacity={"beds": 5}), "centres: give either capacity (one pool of beds) or centres"),
    (lambda d: d.pop("centres"), "capacity: is required: give capacity (one pool of beds) or centres"),
    (lambda d: d["centres"][1].update(usable=4), "centres[1].usable: 4 usable places exceed the 3 nominal places"),
    (lambda d: d["centres"][1].update(changes=[{"at": 10, "places": 1}]),
     "centres[1].changes[0].places: 2 usable places exceed the 1 nominal places"),
    (lambda d: d["centres"][1].update(changes=[{"at": 20, "usable": 1}, {"at": 10, "usable": 2}]),
     "centres[1].changes[1].at: a centre's changes must be in time order"),
    (lambda d: d["centres"][1].update(changes=[{"at": 20}]), "centres[1].changes[0]: give places, usable or both"),
    (lambda d: d["centres"][1].update(name="men"), "centres[1].name: centre names must be unique"),
    (lambda d: d["streams"][0].update(placement=["womne"]),
     "streams[0].placement[0]: no centre is named 'womne' (did you mean 'women'?)"),
    (lambda d: d["streams"][0].update(people={"sex": {"men": 1}}, placement=["women"]),
     "streams[0].placement[0]: centre 'women' accepts none of this stream's people"),
    (lambda d: d["streams"][0].pop("people"), "streams[0].people: centre 'men' accepts by sex: say the sex shares"),
    (lambda d: d["streams"][0].update(people={"sex": {"men": 0.7, "wmen": 0.3}}),
     "streams[0].people.sex.wmen: no centre accepts sex 'wmen' (did you mean 'women'?)"),
    (lambda d: d["streams"][0].update(people={"sex": {"men": 0.5, "women": 0.3}}),
     "the sex shares must sum to 1 (got 0.8)"),
    (lambda d: d["streams"][0].update(reserved_beds=2), "streams[0].reserved_beds: reserved beds: not yet modelled"),
    (lambda d: d["streams"][0].update(detained_at_start=3), "streams[0].detained_at_start: people detained at day 0"),
    (lambda d: (d["centres"][0]["accepts"].update(category=["border"]),
                d["streams"][0]["people"].update(category={"territory": 1})),
     "streams[0].people: no centre accepts 'men' of category 'territory': every one of them would be turned away"),
])
def test_each_wrong_scenario_is_told_at_its_key(tmp_path, change, expected):
    data = centres_data(TWO_SEXES, [stream(people=MIXED)])
    change(data)
    assert expected in errors_of(tmp_path, data)


def test_people_and_placement_need_centres(tmp_path):
    data = scenario_data(streams=[stream(people=MIXED, placement=["a"])])
    output = errors_of(tmp_path, data)
    assert "streams[0].people: only with centres" in output
    assert "streams[0].placement: only with centres" in output


def test_an_origin_group_may_describe_its_own_people():
    origins = [{"name": "a", "share": 0.5, "return_probability": 1, "time_to_return": STAY,
                "people": {"sex": {"women": 1}}},
               {"name": "b", "share": 0.5, "return_probability": 1, "time_to_return": STAY,
                "people": {"sex": {"men": 1}}}]
    scenario = parse_scenario(to_yaml(centres_data(TWO_SEXES, [stream(origins=origins) | {"origins": origins}])),
                              "x.yaml")
    rep = simulate(scenario, replication_seed(1, 0))
    women = rep.origins["s"]["a"]["admitted"]
    assert women > 0 and rep.groups["sex"]["women"]["admitted"] == women  # every woman is of group a


def test_size_refuses_centres_with_a_message():
    from sim.studies.size import Target, size

    scenario = parse_scenario(to_yaml(centres_data(TWO_SEXES, [stream(people=MIXED)])), "x.yaml")
    with pytest.raises(CapsimError, match="capsim size searches the beds of one pool"):
        size(scenario, [Target.parse("probability_full<=0.1")])


def test_books_balance_per_centre_and_per_group_in_every_replication():
    """Conservation: the centres' admissions, and each dimension's requests and admissions, are the system's;
    and found_no_place are the requests turned away at once (every stream turns away)."""
    people = {"sex": {"men": 0.6, "women": 0.4}, "category": {"territory": 0.8, "border": 0.2}}
    centres = TWO_SEXES + [{"name": "airport", "places": 2, "accepts": {"category": ["border"]}}]
    scenario = parse_scenario(to_yaml(centres_data(centres, [stream("a", 1.2, people=people, placement=["airport"]),
                                                            stream("b", 0.4, people=people)], replications=5)),
                              "x.yaml")
    results = run(scenario, jobs=1)
    for rep in results.replications:
        assert sum(c["admitted"] for c in rep.centres.values()) == rep.metrics["admitted"]
        for groups in rep.groups.values():
            assert sum(g["detention_requests"] for g in groups.values()) == rep.metrics["detention_requests"]
            assert sum(g["found_no_place"] for g in groups.values()) == rep.metrics["turned_away"]
        assert all(c["occupancy_max"] <= c["places_usable"] for c in rep.centres.values())
    summary = results.summary
    assert set(summary["centres"]) == {"men", "women", "airport"}
    assert set(summary["groups"]) == {"sex", "category", "kind"}
    assert set(summary["groups"]["kind"]) == {"men/border", "men/territory", "women/border", "women/territory"}


def test_the_preference_order_is_followed_exactly():
    """A deterministic case: stays of 10 days, one arrival a day, two centres of 2 places that accept everyone and
    the stream preferring b: the first two go to b, the next two to a, the fifth finds no place, and so on in
    cycles of 10 days (b admits 2 and a 2 of every 10 arrivals)."""
    data = centres_data([{"name": "a", "places": 2}, {"name": "b", "places": 2}],
                        [{"name": "s", "arrivals": {"rate": 1.0}, "placement": ["b"],
                          "origins": [{"name": "all", "share": 1, "return_probability": 1,
                                       "time_to_return": {"dist": "fixed", "value": 9.5}}]}],
                        warmup=0, horizon=100, replications=1)
    rep = simulate(parse_scenario(to_yaml(data), "x.yaml"), replication_seed(0, 0))
    assert rep.centres["a"]["admitted"] > 0 and rep.centres["b"]["admitted"] > 0
    assert rep.centres["b"]["admitted"] >= rep.centres["a"]["admitted"]
    assert rep.centre_daily is not None and rep.centre_daily.shape[0] == 2
    first_day = int(np.flatnonzero(rep.daily_occupancy)[0])
    assert rep.centre_daily[1, first_day] >= rep.centre_daily[0, first_day]  # b fills first


def test_results_do_not_depend_on_the_workers():
    scenario = parse_scenario(to_yaml(centres_data(TWO_SEXES, [stream(people=MIXED, when_full="wait",
                                                                      max_wait=STAY)], replications=4)), "x.yaml")
    serial, parallel = run(scenario, jobs=1), run(scenario, jobs=2)
    assert json.dumps(serial.summary, sort_keys=True) == json.dumps(parallel.summary, sort_keys=True)
    for a, b in zip(serial.replications, parallel.replications):
        assert np.array_equal(a.centre_daily, b.centre_daily)


def test_a_change_of_one_centre_leaves_the_others_books_alone():
    """Closing a wing of one centre for people it alone accepts changes nothing elsewhere, to the bit."""
    centres = [{"name": "men", "places": 6, "accepts": {"sex": ["men"]}},
               {"name": "women", "places": 3, "accepts": {"sex": ["women"]}}]
    cut = [dict(centres[0]), dict(centres[1], changes=[{"at": 200, "usable": 1}])]
    plain, changed = (simulate(parse_scenario(to_yaml(centres_data(c, [stream(people=MIXED)])), "x.yaml"),
                               replication_seed(2, 0)) for c in (centres, cut))
    assert plain.centres["men"] == changed.centres["men"]
    assert plain.groups["sex"]["men"] == changed.groups["sex"]["men"]
    assert changed.centres["women"]["places_usable"] < 3


def test_the_files_and_the_terminal_show_the_centres(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(to_yaml(centres_data(TWO_SEXES, [stream(people=MIXED)], start="2025-01-01")), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "per centre, means over the replications" in result.output
    assert "sex women" in result.output
    rows = list(csv.DictReader(io.StringIO((out / "centres.csv").read_text())))
    assert {row["centre"] for row in rows} == {"men", "women"}
    assert {row["usable"] for row in rows if row["centre"] == "women"} == {"2"}
    assert rows[0]["date"] == "2025-01-01"
    header = (out / "replications.csv").read_text().splitlines()[0].split(",")
    assert "centre.women.probability_full" in header and "sex.women.share_found_no_place" in header
    check = CliRunner().invoke(main, ["check", str(out), str(out), "--tier", "exact"])
    assert check.exit_code == 0, check.output


def test_compare_pairs_the_centres(tmp_path):
    base = tmp_path / "base.yaml"
    alt = tmp_path / "alt.yaml"
    base.write_text(to_yaml(centres_data(TWO_SEXES, [stream(people=MIXED)])), encoding="utf-8")
    wing = [TWO_SEXES[0], dict(TWO_SEXES[1], usable=1)]
    alt.write_text(to_yaml(centres_data(wing, [stream(people=MIXED)], name="alt")), encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", str(base), str(alt), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert "centre.women.probability_full" in result.output
    assert "sex.women.share_found_no_place" in result.output
    rows = {row["metric"]: row for row in csv.DictReader(io.StringIO((tmp_path / "cmp" / "compare.csv").read_text()))}
    assert float(rows["centre.women.occupancy_mean"]["difference"]) < 0
    assert rows["centre.men.occupancy_mean"]["significant"] in ("true", "false")


def test_nominal_places_far_above_the_usable_ones_cost_nothing():
    """A centre's occupancy never passes its usable places: a trillion nominal places and 5 usable run at once."""
    data = centres_data([{"name": "a", "places": 10**12, "usable": 5}], [stream()], replications=1)
    rep = simulate(parse_scenario(to_yaml(data), "x.yaml"), replication_seed(0, 0))
    assert rep.centres["a"]["places_nominal"] == 10**12 and rep.centres["a"]["occupancy_max"] <= 5
