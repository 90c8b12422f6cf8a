"""Centres against the theory of their loss networks, and one centre against the shared beds it replaces.

Oracles:

- Centres that no person can share (one accepts men, the other women) are
  independent M/G/c/c loss systems, each fed by its own thinned Poisson stream:
  Erlang B of its own offered load, insensitive to the stay distribution
  beyond its mean (exponential and lognormal stays).
- Centres that people overflow between, with exponential stays, form a
  continuous-time Markov chain whose state is the number of each kind of person
  (stream, sex, category) in each centre; `solve_loss_network` builds its
  generator and solves pi Q = 0 numerically. By PASTA a kind's blocking is the
  stationary probability that every centre it may use is full.
- Centres that accept everyone pool into one M/G/C/C system of C = the sum of
  their usable places, whatever the stays (lognormal).
- Occupancy and "full" are against the usable places, not the nominal ones.

Each statistical test fixes its seed and requires the exact value inside the
simulated 99% Student-t interval of the mean over replications
(`confidence_interval(values, 0.99)`); no tolerance is tuned by hand. Warm-ups
leave a deficit far below the half-width: e^(-200/10) of the load for
exponential stays of mean 10, 0.03% of it for the lognormal (mean 10, sd 15)
after 500 days.

The last test is not statistical: one centre that accepts everyone gives the
same results, bit for bit, as the shared beds it replaces.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest
from conftest import scenario_data, to_yaml
from scipy import sparse
from scipy.sparse import linalg

from sim import Scenario, parse_scenario, run
from sim.analysis.queueing import erlang_b
from sim.analysis.stats import confidence_interval

LEVEL = 0.99
HORIZON = 10_000  # days measured, in each of
REPLICATIONS = 20
MEAN_STAY = 10.0
DIMENSIONS = ("sex", "category")
FOUND_NO_PLACE = "share_found_no_place"
"""A group's share of requests that found no usable place of theirs free: its blocking when no one waits."""


# --- scenarios ------------------------------------------------------------------------

def exponential(mean: float) -> dict:
    return {"dist": "exponential", "mean": mean}


def lognormal(mean: float, sd: float) -> dict:
    return {"dist": "lognormal", "mean": mean, "sd": sd}


def centre(name: str, places: int, *, usable: int | None = None, **accepts: list[str]) -> dict:
    """A centre of `places` (staffed: `usable`), accepting the listed values of each dimension (sex, category)."""
    data: dict = {"name": name, "places": places}
    if usable is not None:
        data["usable"] = usable
    if accepts:
        data["accepts"] = accepts
    return data


def stream(name: str, rate: float, stay: dict, *, people: dict | None = None,
           placement: list[str] | None = None, **fields) -> dict:
    """A stream whose people are all returned after `stay`, bringing the mix `people`."""
    data = {"name": name, "arrivals": {"rate": rate},
            "origins": [{"name": "all", "share": 1, "return_probability": 1, "time_to_return": stay}], **fields}
    if people is not None:
        data["people"] = people
    if placement is not None:
        data["placement"] = placement
    return data


def centres_scenario(centres: list[dict], streams: list[dict], **overrides) -> Scenario:
    """A scenario with centres instead of shared beds, through the YAML parser."""
    data = scenario_data(centres=centres, streams=streams, **overrides)
    del data["capacity"]
    return parse_scenario(to_yaml(data), "test.yaml")


def within(values: Sequence[float], exact: float, what: str) -> str | None:
    """None when `exact` lies in the 99% interval of `values`; else the measured interval, for the message."""
    low, high = confidence_interval(values, LEVEL)
    if low <= exact <= high:
        return None
    return f"{what}: simulated [{low:.4f}, {high:.4f}], exact {exact:.4f}"


def check_all(comparisons: list[tuple[Sequence[float], float, str]]) -> None:
    """Every exact value in its interval; all misses reported at once."""
    misses = [miss for values, exact, what in comparisons if (miss := within(values, exact, what))]
    assert not misses, "\n".join(misses)


# --- the chain ------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """People of one kind: Poisson arrivals at `rate`, exponential stays of mean `mean_stay`, admitted into
    the first centre of `route` with a free place and turned away when all are full."""

    rate: float
    mean_stay: float
    route: tuple[str, ...]
    traits: Mapping[str, str | None] = field(default_factory=dict)
    """What results it counts in: its stream, sex and category."""


@dataclass(frozen=True)
class LossNetwork:
    """The stationary distribution `pi` of a loss network over its `states`, one column per
    (kind, centre) pair in `pairs`: the number of that kind in that centre."""

    places: Mapping[str, int]
    kinds: Mapping[str, Kind]
    pairs: list[tuple[str, str]]
    states: np.ndarray
    pi: np.ndarray

    def occupancy(self, centre: str) -> np.ndarray:
        """The occupancy of `centre` in each state."""
        columns = [i for i, (_, where) in enumerate(self.pairs) if where == centre]
        return self.states[:, columns].sum(axis=1)

    def full(self, centre: str) -> np.ndarray:
        return self.occupancy(centre) >= self.places[centre]

    def occupancy_mean(self, centre: str) -> float:
        return float(self.pi @ self.occupancy(centre))

    def probability_full(self, centre: str) -> float:
        return float(self.pi @ self.full(centre))

    def probability_all_full(self, centres: Sequence[str]) -> float:
        """The share of time every one of `centres` is full (1 for none)."""
        every = np.ones(len(self.pi), dtype=bool)
        for centre in centres:
            every &= self.full(centre)
        return float(self.pi @ every)

    def blocking(self, kinds: Sequence[str]) -> float:
        """The share of the requests of these kinds turned away: by PASTA, each kind's probability that
        every centre of its route is full, weighted by its rate."""
        total = sum(self.kinds[k].rate for k in kinds)
        return sum(self.kinds[k].rate * self.probability_all_full(self.kinds[k].route) for k in kinds) / total

    def kinds_with(self, **traits: str) -> list[str]:
        return [name for name, kind in self.kinds.items()
                if all(kind.traits.get(key) == value for key, value in traits.items())]


def solve_loss_network(places: Mapping[str, int], kinds: Mapping[str, Kind]) -> LossNetwork:
    """The stationary distribution of a loss network with exponential stays, solved numerically.

    The state is the number of each kind in each centre of its route; a centre holds at most its places.
    A kind arrives at its rate and goes to the first centre of its route with a free place (or is lost);
    each person leaves at rate 1 / mean stay. The generator Q is built sparse and pi Q = 0, sum(pi) = 1
    solved with one balance equation replaced by the normalisation.
    """
    pairs = [(kind, where) for kind in kinds for where in kinds[kind].route]
    # the states: in each centre, every way of sharing at most its places among the kinds that use it
    per_centre = []
    for where, capacity in places.items():
        columns = [i for i, (_, c) in enumerate(pairs) if c == where]
        fillings = [n for n in itertools.product(range(capacity + 1), repeat=len(columns)) if sum(n) <= capacity]
        per_centre.append((columns, fillings))
    states = []
    for choice in itertools.product(*(fillings for _, fillings in per_centre)):
        state = [0] * len(pairs)
        for (columns, _), filling in zip(per_centre, choice):
            for column, count in zip(columns, filling):
                state[column] = count
        states.append(tuple(state))
    index = {state: i for i, state in enumerate(states)}
    column_of = {pair: i for i, pair in enumerate(pairs)}

    def occupancy(state: tuple[int, ...], where: str) -> int:
        return sum(count for (_, c), count in zip(pairs, state) if c == where)

    rows, cols, rates = [], [], []
    for i, state in enumerate(states):
        for name, kind in kinds.items():
            free = next((where for where in kind.route if occupancy(state, where) < places[where]), None)
            if free is not None:
                column = column_of[(name, free)]
                after = state[:column] + (state[column] + 1,) + state[column + 1:]
                rows.append(i), cols.append(index[after]), rates.append(kind.rate)
            for where in kind.route:
                column = column_of[(name, where)]
                if state[column]:
                    after = state[:column] + (state[column] - 1,) + state[column + 1:]
                    rows.append(i), cols.append(index[after]), rates.append(state[column] / kind.mean_stay)
    size = len(states)
    q = sparse.coo_matrix((rates, (rows, cols)), shape=(size, size)).tocsr()
    q = q - sparse.diags(np.asarray(q.sum(axis=1)).ravel())
    balance = q.T.tolil()
    balance[size - 1, :] = np.ones(size)
    right = np.zeros(size)
    right[size - 1] = 1.0
    pi = linalg.spsolve(balance.tocsc(), right)
    return LossNetwork(places=dict(places), kinds=dict(kinds), pairs=pairs, states=np.asarray(states), pi=pi)


def accepts(centre_data: dict, person: Mapping[str, str | None]) -> bool:
    """Does the centre take this person: each dimension it lists contains the person's value."""
    rules = centre_data.get("accepts", {})
    return all(person.get(dimension) in values for dimension, values in rules.items())


def route_of(centres: list[dict], placement: Sequence[str], person: Mapping[str, str | None]) -> tuple[str, ...]:
    """The centres a person is offered, in order: the stream's placement, then every other centre that
    accepts the person in file order; those that do not accept the person skipped."""
    taking = [c["name"] for c in centres if accepts(c, person)]
    return tuple([name for name in placement if name in taking] + [name for name in taking if name not in placement])


def network_of(centres: list[dict], streams: list[dict]) -> LossNetwork:
    """The chain of a scenario's centres and streams (exponential stays, one origin returned with
    probability 1): one kind per stream and combination of sex and category, at the stream's rate times
    their shares (drawn independently)."""
    kinds = {}
    for s in streams:
        (origin,) = s["origins"]
        assert origin["time_to_return"]["dist"] == "exponential" and origin["return_probability"] == 1
        mix = [list(s.get("people", {}).get(dimension, {None: 1.0}).items()) for dimension in DIMENSIONS]
        for combination in itertools.product(*mix):
            person = {dimension: value for dimension, (value, _) in zip(DIMENSIONS, combination)}
            share = math.prod(weight for _, weight in combination)
            kinds["/".join([s["name"], *map(str, person.values())])] = Kind(
                rate=s["arrivals"]["rate"] * share, mean_stay=origin["time_to_return"]["mean"],
                route=route_of(centres, s.get("placement", []), person), traits={"stream": s["name"], **person})
    places = {c["name"]: c.get("usable", c["places"]) for c in centres}
    return solve_loss_network(places, kinds)


# --- the chain against closed forms -----------------------------------------------------

def test_the_chain_of_one_centre_is_erlang_b():
    """Oracle check: one centre of 4 places, load 3: blocking and time full are Erlang B, the mean occupancy
    a (1 - B); the generator's balance holds."""
    network = solve_loss_network({"a": 4}, {"all": Kind(rate=0.3, mean_stay=10.0, route=("a",))})
    b = erlang_b(4, 3.0)
    assert network.pi.sum() == pytest.approx(1.0, abs=1e-12)
    assert network.blocking(["all"]) == pytest.approx(b, rel=1e-10)
    assert network.probability_full("a") == pytest.approx(b, rel=1e-10)
    assert network.occupancy_mean("a") == pytest.approx(3.0 * (1 - b), rel=1e-10)
    assert network.pi == pytest.approx([3.0 ** n / math.factorial(n) for n in range(5)] / np.sum(
        [3.0 ** n / math.factorial(n) for n in range(5)]), rel=1e-10)


def test_the_chain_of_an_ordered_overflow_is_erlang_b_of_each_stage():
    """Oracle check: one kind offered a (3 places) then b (2): the first centre is an Erlang loss system of
    its own, the total one of 5 places; two kinds on separate centres are independent Erlang systems."""
    a = 2.5
    network = solve_loss_network({"a": 3, "b": 2}, {"all": Kind(rate=a / 10, mean_stay=10.0, route=("a", "b"))})
    assert network.blocking(["all"]) == pytest.approx(erlang_b(5, a), rel=1e-10)
    assert network.probability_full("a") == pytest.approx(erlang_b(3, a), rel=1e-10)
    assert network.occupancy_mean("a") == pytest.approx(a * (1 - erlang_b(3, a)), rel=1e-10)
    assert network.occupancy_mean("b") == pytest.approx(a * (erlang_b(3, a) - erlang_b(5, a)), rel=1e-10)

    apart = solve_loss_network({"m": 5, "w": 3}, {"men": Kind(rate=0.35, mean_stay=10.0, route=("m",)),
                                                  "women": Kind(rate=0.3, mean_stay=5.0, route=("w",))})
    assert apart.blocking(["men"]) == pytest.approx(erlang_b(5, 3.5), rel=1e-10)
    assert apart.blocking(["women"]) == pytest.approx(erlang_b(3, 1.5), rel=1e-10)
    assert apart.probability_all_full(["m", "w"]) == pytest.approx(erlang_b(5, 3.5) * erlang_b(3, 1.5), rel=1e-10)


def test_routes_follow_the_placement_then_the_file_order():
    """The oracle routes as the model does: placement first, then the other accepting centres in file order."""
    centres = [centre("x", 3, sex=["men"]), centre("y", 2), centre("z", 3, category=["border"])]
    assert route_of(centres, ["z"], {"sex": "men", "category": "border"}) == ("z", "x", "y")
    assert route_of(centres, ["z"], {"sex": "women", "category": "border"}) == ("z", "y")
    assert route_of(centres, ["z", "y"], {"sex": "men", "category": "territory"}) == ("y", "x")
    assert route_of(centres, [], {"sex": "women", "category": "territory"}) == ("y",)


# --- the simulator against them ---------------------------------------------------------

@pytest.mark.parametrize("stay, warmup", [(exponential(MEAN_STAY), 200), (lognormal(MEAN_STAY, 15.0), 500)],
                         ids=["exponential", "lognormal"])
def test_disjoint_centres_are_independent_erlang_b_systems(stay, warmup):
    """Oracle: Erlang B. Men only go to m (5 places, load 0.5 x 0.7 x 10 = 3.5), women only to w (3 places,
    load 1.5): each centre's time full and each sex's blocking is B(c, a) of its own, insensitive to the
    stay's shape, its mean occupancy a (1 - B). Counts add up exactly in each replication."""
    centres = [centre("m", 5, sex=["men"]), centre("w", 3, sex=["women"])]
    rate = 0.5
    scenario = centres_scenario(centres, [stream("s", rate, stay, people={"sex": {"men": 0.7, "women": 0.3}})],
                                horizon=HORIZON, warmup=warmup, replications=REPLICATIONS, seed=3101)
    results = run(scenario, jobs=1)
    comparisons = []
    for name, sex, share, places in (("m", "men", 0.7, 5), ("w", "women", 0.3, 3)):
        load = rate * share * MEAN_STAY
        b = erlang_b(places, load)
        comparisons += [
            (results.centre_values(name, "probability_full"), b, f"{name}.probability_full"),
            (results.centre_values(name, "occupancy_mean"), load * (1 - b), f"{name}.occupancy_mean"),
            (results.group_values("sex", sex, FOUND_NO_PLACE), b, f"sex {sex}.{FOUND_NO_PLACE}"),
            (results.group_values("sex", sex, "probability_full"), b, f"sex {sex}.probability_full"),
        ]
        for rep in results.replications:
            group = rep.groups["sex"][sex]
            assert group["admitted"] + group["found_no_place"] == group["detention_requests"]
            assert rep.centres[name]["admitted"] == group["admitted"]
    for rep in results.replications:  # turned away is finding no place, when no one waits
        assert sum(group["found_no_place"] for group in rep.groups["sex"].values()) == rep.metrics["turned_away"]
        assert sum(group["detention_requests"] for group in rep.groups["sex"].values()) \
            == rep.metrics["detention_requests"]
    check_all(comparisons)


OVERFLOW = {
    # men prefer a (3 places, men only) and overflow into b (2, everyone); women only have b
    "two_centres": (
        [centre("a", 3, sex=["men"]), centre("b", 2)],
        [stream("s", 0.5, exponential(MEAN_STAY), people={"sex": {"men": 0.6, "women": 0.4}}, placement=["a", "b"])],
    ),
    # x takes men, y everyone, z border cases; the police prefer y, the airport z, with shorter stays
    "three_centres_two_streams": (
        [centre("x", 3, sex=["men"]), centre("y", 2), centre("z", 3, category=["border"])],
        [stream("police", 0.4, exponential(MEAN_STAY), placement=["y", "x"],
                people={"sex": {"men": 0.8, "women": 0.2}, "category": {"territory": 1}}),
         stream("airport", 0.3, exponential(6.0), placement=["z"],
                people={"sex": {"men": 0.5, "women": 0.5}, "category": {"border": 1}})],
    ),
}


@pytest.mark.parametrize("case", OVERFLOW)
def test_overflow_between_centres_is_the_chains(case):
    """Oracle: the loss network's Markov chain, solved numerically (`network_of`). Each centre's mean
    occupancy and time full are stationary averages of the chain. A kind of person finds no place while
    every centre it may use is full: by PASTA, the share of a group's requests that find no place (a sex, a
    category, a sex of a category, a stream, everyone) is the rate-weighted probability of that, and so is its
    time with no place (the kinds' times weighted by their requests)."""
    centres, streams = OVERFLOW[case]
    network = network_of(centres, streams)
    scenario = centres_scenario(centres, streams, horizon=HORIZON, warmup=200, replications=REPLICATIONS, seed=3102)
    results = run(scenario, jobs=1)
    comparisons = []
    for c in centres:
        name = c["name"]
        comparisons += [(results.centre_values(name, "occupancy_mean"), network.occupancy_mean(name),
                         f"{name}.occupancy_mean"),
                        (results.centre_values(name, "probability_full"), network.probability_full(name),
                         f"{name}.probability_full")]
    groups = [(dimension, value, {dimension: value}) for dimension in DIMENSIONS
              for value in sorted({kind.traits[dimension] for kind in network.kinds.values()} - {None})]
    pairs = sorted({(kind.traits["sex"], kind.traits["category"]) for kind in network.kinds.values()})
    if all(sex and category for sex, category in pairs):  # each sex of each category, as `kind`
        groups += [("kind", f"{sex}/{category}", {"sex": sex, "category": category}) for sex, category in pairs]
    for dimension, value, traits in groups:
        blocking = network.blocking(network.kinds_with(**traits))
        comparisons += [(results.group_values(dimension, value, metric), blocking, f"{dimension} {value}.{metric}")
                        for metric in (FOUND_NO_PLACE, "probability_full")]
    for s in streams:
        kinds = network.kinds_with(stream=s["name"])
        comparisons += [(results.values(metric, s["name"]), network.blocking(kinds), f"{s['name']}.{metric}")
                        for metric in ("blocking_probability", "probability_full")]
    for rep in results.replications:  # turned away is finding no place, when no one waits
        for dimension, groups in rep.groups.items():
            assert sum(group["found_no_place"] for group in groups.values()) == rep.metrics["turned_away"], dimension
    everyone = network.blocking(list(network.kinds))
    comparisons += [(results.values(metric), everyone, metric)
                    for metric in ("blocking_probability", "probability_full")]
    check_all(comparisons)


def test_centres_that_accept_everyone_pool_into_one_erlang_b_system():
    """Oracle: Erlang B of the total places, insensitive to the stays (lognormal, two means). Three centres of
    2, 3 and 4 places accepting everyone hold a person whenever any place is free, so the number detained is
    an M/G/9/9 system of load 0.4 x 10 + 0.5 x 6 = 7: blocking (system and per stream) and time full
    B(9, 7), mean occupancy 7 (1 - B)."""
    centres = [centre("a", 2), centre("b", 3), centre("c", 4)]
    streams = [stream("police", 0.4, lognormal(10.0, 15.0), placement=["c", "a"]),
               stream("airport", 0.5, lognormal(6.0, 9.0))]
    scenario = centres_scenario(centres, streams, horizon=HORIZON, warmup=500, replications=REPLICATIONS, seed=3113)
    results = run(scenario, jobs=1)
    load = 0.4 * 10.0 + 0.5 * 6.0
    b = erlang_b(9, load)
    check_all([
        (results.values("blocking_probability"), b, "blocking_probability"),
        (results.values("probability_full"), b, "probability_full"),
        (results.values("occupancy_mean"), load * (1 - b), "occupancy_mean"),
        (results.values("blocking_probability", "police"), b, "police.blocking_probability"),
        (results.values("blocking_probability", "airport"), b, "airport.blocking_probability"),
    ])


def test_a_centre_is_full_at_its_usable_places():
    """Oracle: Erlang B of the usable places. A centre of 10 places of which 6 are staffed, load 4.5: blocking
    and time full B(6, 4.5), mean occupancy 4.5 (1 - B), never above 6; the places it reports are exactly
    10 nominal and 6 usable in every replication."""
    scenario = centres_scenario([centre("only", 10, usable=6)], [stream("s", 0.45, exponential(MEAN_STAY))],
                                horizon=HORIZON, warmup=200, replications=REPLICATIONS, seed=3104)
    results = run(scenario, jobs=1)
    b = erlang_b(6, 4.5)
    for rep in results.replications:
        assert rep.centres["only"]["places_nominal"] == 10
        assert rep.centres["only"]["places_usable"] == 6
        assert rep.centres["only"]["occupancy_max"] <= 6
    check_all([
        (results.values("blocking_probability"), b, "blocking_probability"),
        (results.centre_values("only", "probability_full"), b, "only.probability_full"),
        (results.centre_values("only", "occupancy_mean"), 4.5 * (1 - b), "only.occupancy_mean"),
    ])


# --- one centre is the shared beds ------------------------------------------------------

def _same(a: Mapping, b: Mapping, where: str) -> None:
    """Equal dicts of numbers (nested), NaN equal to NaN."""
    assert sorted(a) == sorted(b), f"{where}: keys differ"
    for key in a:
        if isinstance(a[key], Mapping):
            _same(a[key], b[key], f"{where}.{key}")
        else:
            assert a[key] == b[key] or (math.isnan(a[key]) and math.isnan(b[key])), \
                f"{where}.{key}: {a[key]!r} vs {b[key]!r}"


def test_one_centre_for_everyone_is_the_shared_beds():
    """Not statistical: one centre accepting everyone, 20 places cut to 15 usable at day 300, gives the same
    replications bit for bit as `capacity: {beds: 20}` cut to 15 beds, with a waiting list and two streams."""
    streams = [stream("police", 1.5, exponential(MEAN_STAY)),
               stream("airport", 0.5, lognormal(8.0, 6.0), when_full="wait", max_wait=5)]
    common = {"horizon": 600, "warmup": 50, "replications": 4, "seed": 3105}
    beds = parse_scenario(to_yaml(scenario_data(
        capacity={"beds": 20, "changes": [{"at": 300, "beds": 15}]}, streams=streams, **common)), "test.yaml")
    centres = centres_scenario([{"name": "only", "places": 20, "changes": [{"at": 300, "usable": 15}]}],
                               streams, **common)
    with_beds, with_centre = run(beds, jobs=1), run(centres, jobs=1)
    assert all(rep.streams["airport"]["waited"] > 0 and rep.streams["police"]["turned_away"] > 0
               for rep in with_beds.replications), "the case must fill the beds"
    for r, (one, other) in enumerate(zip(with_beds.replications, with_centre.replications, strict=True)):
        _same(one.metrics, other.metrics, f"replication {r} metrics")
        _same(one.streams, other.streams, f"replication {r} streams")
        assert np.array_equal(one.daily_occupancy, other.daily_occupancy), f"replication {r} daily_occupancy"
        assert np.array_equal(one.time_at_occupancy, other.time_at_occupancy), f"replication {r} time_at_occupancy"
