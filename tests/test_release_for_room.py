"""Release to make room (issue 19): `when_full: release_least_removable`.

Oracles, all exact on fixed seeds (no tolerance: each is a law every event obeys):
the conservation law (present at start + admitted = ended + released_for_room +
still detained), the choice of whom to release (the lowest return probability
among those whose bed the newcomer may take, the longest detained first, and
only below the newcomer's own), no free bed while a newcomer who outranks
someone is turned away, equal groups giving the turn_away results byte for
byte, and a misspelt option refused at its line with exit 2.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_scenario, scenario_data, to_yaml

import sim
from sim.cli import main
from sim.engine import release
from sim.engine.model import simulate
from sim.engine.people import fate_count
from sim.engine.seeds import replication_seed

RELEASE = "release_least_removable"
EXPONENTIAL = {"dist": "exponential", "mean": 12}


def _origins(*probabilities: float) -> list[dict]:
    return [{"name": f"g{k}", "share": 1 / len(probabilities), "return_probability": p,
             "time_to_return": EXPONENTIAL} for k, p in enumerate(probabilities)]


def _scenario(streams: list[dict], beds: int = 12, **top):
    return make_scenario(**({"capacity": {"beds": beds}, "max_detention": 60, "warmup": 60, "horizon": 400,
                             "replications": 4, "streams": streams} | top))


def _two_streams(**first):
    return [{"name": "a", "arrivals": {"rate": 1.2}, "when_full": RELEASE, "origins": _origins(0.2, 0.5, 0.9)}
            | first,
            {"name": "b", "arrivals": {"rate": 0.6}, "origins": _origins(0.2, 0.7)}]  # ties with a's g0


def _probability(scenario, state, fate: int, arrived: float = 0.0) -> float:
    """A person's return probability: their origin group's in the phase of their arrival day."""
    stream = [phase.stream for phase in scenario.phases(state.stream) if phase.day <= arrived][-1]
    return stream.origins[fate // fate_count(1)].return_probability


def _recorded(monkeypatch, scenario, seed: int = 0) -> tuple[list[dict], object]:
    """Run one replication, recording at each call of make_room everyone present (the heap of stays
    under way), the newcomer and whom it released."""
    calls: list[dict] = []
    original = release.RoomMaker.make_room

    def spy(self, now, state, fate):
        before = list(self.replication.departures)
        occupied = self.replication.occupied
        levels = {other.stream.name: other.occupancy.level for other in self.replication.streams}
        shared = (self.replication.shared_used, self.replication.shared_capacity)
        made = original(self, now, state, fate)
        after = {id(entry) for entry in self.replication.departures}
        gone = [entry for entry in before if id(entry) not in after]
        calls.append({"now": now, "state": state, "fate": fate, "present": before, "released": gone,
                      "made": made, "occupied": occupied,
                      "levels": levels, "shared": shared})
        return made

    monkeypatch.setattr(release.RoomMaker, "make_room", spy)
    return calls, simulate(scenario, replication_seed(scenario.seed, seed))


@pytest.mark.parametrize(("stream", "constraints"), [(0, {}), (0, {"max_beds": 7}), (1, {"reserved_beds": 4})])
def test_the_books_balance(stream, constraints):
    """Conservation in every replication and scope, with two streams, several origin groups, and caps or
    reserved beds; nobody is put over the beds or a cap; people are released."""
    streams = _two_streams()
    streams[stream] |= constraints
    results = sim.run(_scenario(streams))
    released = 0.0
    for rep in results.replications:
        assert not any(rep.checks.values()), rep.checks
        for m in [rep.metrics, *rep.streams.values()]:
            assert m["present_at_start"] + m["admitted"] == (m["returned"] + m["released_court"] + m[
                "released_deadline"] + m["released_for_room"] + m["still_detained"])
        assert rep.metrics["released_for_room"] == sum(m["released_for_room"] for m in rep.streams.values())
        for name, origins in rep.origins.items():
            assert sum(o["released_for_room"] for o in origins.values()) == rep.streams[name]["released_for_room"]
        released += rep.metrics["released_for_room"]
    assert released > 20


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "dated"), [(0, False), (1, False), (2, True)])
def test_the_least_removable_is_released_and_only_for_someone_more_removable(monkeypatch, seed, dated):
    """Each release: the released person's return probability (in force on their arrival day) is below
    the newcomer's and the lowest of everyone present (no reserved beds or caps: every bed is one the
    newcomer may use), ties to the longest detained; each refusal: the newcomer outranks no one."""
    change = [{"at": 200, "set": {"streams.a.origins.g0.return_probability": 0.95}}]  # a's g0 from last to first
    scenario = _scenario(_two_streams(), **({"parameter_changes": change} if dated else {}))
    calls, _ = _recorded(monkeypatch, scenario, seed)
    releases = [call for call in calls if call["made"]]
    assert len(releases) > 10 and len(calls) > len(releases)
    for call in calls:
        newcomer = _probability(scenario, call["state"], call["fate"], call["now"])
        present = [(_probability(scenario, entry[2], entry[3], entry[0] - entry[4]), entry[0] - entry[4], entry[1],
                    entry) for entry in call["present"]]
        lowest = min(present)
        if call["made"]:
            (gone,) = call["released"]
            assert gone is lowest[3]  # the lowest probability, then the longest detained
            assert lowest[0] < newcomer
        else:
            assert call["released"] == [] and newcomer <= lowest[0]


@pytest.mark.parametrize("reserved", [False, True])
def test_a_release_frees_a_bed_the_newcomer_may_use(monkeypatch, reserved):
    """With a cap on a, a newcomer of a at its cap has someone of a released; with beds reserved for a thin
    b, the shared beds are never overfilled (nobody takes a bed reserved for b); nobody is over a cap."""
    streams = _two_streams()
    if reserved:
        streams[1] |= {"reserved_beds": 4, "arrivals": {"rate": 0.1}}  # b often within its reserved beds
    else:
        streams[0] |= {"max_beds": 6}
    calls, rep = _recorded(monkeypatch, _scenario(streams))
    releases = [call for call in calls if call["made"]]
    assert releases
    if reserved:
        assert any(call["levels"]["b"] <= 4 and call["state"].stream.name == "a" for call in releases)
    else:
        at_cap = [call for call in releases if call["levels"]["a"] == 6]
        assert at_cap and len(at_cap) < len(releases)
        assert all(call["released"][0][2].stream.name == "a" for call in at_cap)
    assert all(used <= capacity for used, capacity in (call["shared"] for call in calls))
    assert not any(rep.checks.values()), rep.checks


def test_no_bed_is_left_free_while_someone_who_outranks_is_turned_away(monkeypatch):
    """With the option on every stream, every person turned away came to a full centre and outranked no
    one present; and the stream's turned_away counts exactly those refusals in the window."""
    streams = _two_streams()
    streams[1]["when_full"] = RELEASE
    scenario = _scenario(streams, warmup=0)
    calls, rep = _recorded(monkeypatch, scenario)
    refused = [call for call in calls if not call["made"]]
    assert refused
    for call in refused:
        newcomer = _probability(scenario, call["state"], call["fate"])
        assert call["occupied"] == 12
        assert all(newcomer <= _probability(scenario, entry[2], entry[3]) for entry in call["present"])
    for name in ("a", "b"):
        assert rep.streams[name]["turned_away"] == sum(call["state"].stream.name == name for call in refused)
    streams_turning_away = [s.model_copy(update={"when_full": "turn_away"}) for s in scenario.streams]
    seed = replication_seed(scenario.seed, 0)  # the replication _recorded ran
    turn_away = simulate(scenario.model_copy(update={"streams": streams_turning_away}), seed)
    assert rep.metrics["turned_away"] < turn_away.metrics["turned_away"]


def test_equal_groups_release_nobody_and_give_the_turn_away_results():
    """One stream whose origin groups all have the same return probability: nobody outranks anybody, so
    the results are those of turn_away exactly (released_for_room aside, which is 0)."""
    stream = {"name": "s", "arrivals": {"rate": 1.5}, "origins": _origins(0.6, 0.6, 0.6)}
    turned = sim.run(_scenario([stream]))
    released = sim.run(_scenario([stream | {"when_full": RELEASE}]))
    assert sum(rep.metrics["turned_away"] for rep in turned.replications) > 0
    for a, b in zip(turned.replications, released.replications):
        assert b.metrics.pop("released_for_room") == 0 and b.streams["s"].pop("released_for_room") == 0
        assert a.metrics == b.metrics and a.streams == b.streams
        assert np.array_equal(a.daily_occupancy, b.daily_occupancy)
        assert np.array_equal(a.time_at_occupancy, b.time_at_occupancy)
        assert all(o.pop("released_for_room") == 0 for o in b.origins["s"].values())
        assert a.origins == b.origins


def test_a_misspelt_option_is_refused_at_its_line(tmp_path, monkeypatch):
    """Errors for people: `capsim validate` exits 2 with FILE:LINE: at the misspelt when_full."""
    text = to_yaml(scenario_data(streams=_two_streams())).replace(RELEASE, "release_least_removeable")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text(text)
    result = CliRunner().invoke(main, ["validate", "x.yaml"])
    assert result.exit_code == 2, result.output
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "release_least_removeable" in row)
    matching = [row for row in result.stderr.splitlines() if row.startswith(f"x.yaml:{line}:")]
    assert matching and "when_full" in matching[0] and RELEASE in matching[0], result.stderr


def test_with_centres_the_least_removable_in_a_centre_the_newcomer_may_use_is_released(monkeypatch):
    """Centres for men and for women, release on both streams: each release ends the stay of the least
    removable person (then the longest detained) among those whose place the newcomer may take (a centre
    that accepts them, below its usable places once freed), and only below the newcomer's own return
    probability; each refusal: nobody such outranks the newcomer; the books balance and no centre passes its
    usable places."""
    people = {"sex": {"men": 0.7, "women": 0.3}}
    streams = [stream | {"when_full": RELEASE, "people": people} for stream in _two_streams()]
    centres = [{"name": "men", "places": 8, "accepts": {"sex": ["men"]}},
               {"name": "women", "places": 4, "usable": 3, "accepts": {"sex": ["women"]}}]
    scenario = _scenario(streams, capacity=None, centres=centres)
    calls: list[dict] = []
    original = release.RoomMaker.make_room

    def spy(self, now, state, fate):
        replication = self.replication
        used, usable, kinds = list(replication.used), list(replication.usable), replication.kinds.count
        accepted = replication.order[state][fate // state.per_code]
        eligible = [entry for entry in replication.departures
                    if (c := entry[3] // entry[2].per_code // kinds) in accepted and used[c] - 1 < usable[c]]
        before = {id(entry) for entry in replication.departures}
        made = original(self, now, state, fate)
        gone = before - {id(entry) for entry in replication.departures}
        calls.append({"now": now, "state": state, "fate": fate, "eligible": eligible, "made": made, "gone": gone})
        return made

    monkeypatch.setattr(release.RoomMaker, "make_room", spy)
    rep = simulate(scenario, replication_seed(scenario.seed, 0))

    def probability(state, fate: int, arrived: float) -> float:
        group = fate % state.per_code // fate_count(1)
        return [phase.stream for phase in scenario.phases(state.stream) if phase.day <= arrived][-1] \
            .origins[group].return_probability

    releases = [call for call in calls if call["made"]]
    assert len(releases) > 10 and len(calls) > len(releases)
    for call in calls:
        newcomer = probability(call["state"], call["fate"], call["now"])
        ranked = sorted((probability(e[2], e[3], e[0] - e[4]), e[0] - e[4], e[1], id(e)) for e in call["eligible"])
        if call["made"]:
            assert call["gone"] == {ranked[0][3]} and ranked[0][0] < newcomer
        else:
            assert not call["gone"] and all(newcomer <= found[0] for found in ranked)
    assert not any(rep.checks.values()), rep.checks
    for m in [rep.metrics, *rep.streams.values()]:
        assert m["present_at_start"] + m["admitted"] == (m["returned"] + m["released_court"] + m[
            "released_deadline"] + m["released_for_room"] + m["still_detained"])
    assert all(c["occupancy_max"] <= c["places_usable"] for c in rep.centres.values())
    assert sum(c["admitted"] for c in rep.centres.values()) == rep.metrics["admitted"]
