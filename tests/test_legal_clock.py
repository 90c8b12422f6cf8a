"""The legal clock: extensions granted with a probability, and refusal to board (issue 19).

Oracles: exact expectations, computed by quadrature (extensions) or in closed
form (refusals), against the people the engine draws (a large fixed-seed
sample: tolerance four standard errors, a false alarm about once in 16,000
checks) and against runs (a fixed seed: tolerance two half-widths of the 95%
interval over replications, about four standard errors, for the same reason);
the books balance; bad inputs are refused at their line with exit 2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_scenario, scenario_data, to_yaml
from scipy import integrate, stats

import sim
from sim.analysis.stats import half_width
from sim.cli import main
from sim.engine.model import simulate
from sim.engine.people import People, fate_count, per_origin
from sim.engine.seeds import replication_seed
from sim.metrics import OUTCOMES

FIRST, EXTENSIONS = 60.0, [(60.0, 0.9), (30.0, 0.7)]
Q = 0.8
MEAN, SD = 70.0, 50.0  # lognormal time to return
REFUSES, ATTEMPTS, TITLE = 0.3, 3, 60.0
LOW, HIGH = 5.0, 35.0  # uniform time to return: always within the title of 60 days
LEGAL = ("released_not_extended", "refused_boarding", "released_after_refusals", "stays_beyond_nominal_maximum")


def _stream(**keys) -> dict:
    origin = {"name": "all", "share": 1, "return_probability": Q}
    origin |= keys.pop("origin", {})
    return {"name": "s", "arrivals": {"rate": 2.0}, "origins": [origin]} | keys


def _extensions_stream() -> dict:
    clock = {"first": FIRST, "extensions": [{"length": length, "granted": p} for length, p in EXTENSIONS]}
    return _stream(legal_clock=clock, origin={"time_to_return": {"dist": "lognormal", "mean": MEAN, "sd": SD}})


def _refusals_stream() -> dict:
    return _stream(max_detention=TITLE, attempts=ATTEMPTS,
                   origin={"refuses_boarding": REFUSES, "time_to_return": {"dist": "uniform", "low": LOW,
                                                                           "high": HIGH}})


def _scenario(stream: dict, **top):
    return make_scenario(**({"capacity": {"beds": 100_000}, "warmup": 600, "horizon": 2000, "replications": 8,
                             "streams": [stream]} | top))


def _people(scenario, batches: int = 100):
    """Fates and stays of `batches` batches of the first stream's people (nobody is screened out)."""
    people = People(scenario, scenario.streams[0], replication_seed(scenario.seed, 0))
    fates, stays = [], []
    for _ in range(batches):
        _, batch_fates, batch_stays, _, _ = people.draw()
        fates += batch_fates
        stays += batch_stays
    return np.array(fates), np.array(stays)


def _counts(fates: np.ndarray, reported) -> dict[str, int]:
    (counts,) = per_origin(np.bincount(fates, minlength=fate_count(1)).tolist(), reported)
    return counts


def _close(simulated: float, theory: float, se: float, what: str) -> None:
    assert abs(simulated - theory) <= 4 * se, f"{what}: simulated {simulated:.5f}, theory {theory:.5f} (se {se:.2g})"


def _lognormal():
    sigma2 = math.log(1 + (SD / MEAN) ** 2)
    return stats.lognorm(s=math.sqrt(sigma2), scale=math.exp(math.log(MEAN) - sigma2 / 2))


def _extensions_theory() -> dict[str, float]:
    """Oracle (quadrature). The stay's clock ends at c_0 = first (first extension refused), c_1 = first + L_1
    (second refused), c_2 = first + L_1 + L_2 (the last title ran out), with probabilities (1 - p_1),
    p_1 (1 - p_2), p_1 p_2. A person is returned if the return succeeds (q) at T <= c, else released at c:
    P(released at c) = P(c) (1 - q F(c)); E[stay] = sum_c P(c) (q int_0^c (1 - F(t)) dt + (1 - q) c)."""
    time = _lognormal()
    ends = np.cumsum([FIRST] + [length for length, _ in EXTENSIONS])
    granted = [p for _, p in EXTENSIONS]
    chance = [(1 - granted[0]), granted[0] * (1 - granted[1]), granted[0] * granted[1]]
    released = [p * (1 - Q * time.cdf(c)) for p, c in zip(chance, ends)]
    survival = [integrate.quad(time.sf, 0, c)[0] for c in ends]
    mean = sum(p * (Q * s + (1 - Q) * c) for p, s, c in zip(chance, survival, ends))
    return {"at_first": released[0], "at_second": released[1], "last_ran_out": released[2],
            "not_extended": released[0] + released[1], "deadline": sum(released), "mean_stay": mean}


def _refusals_theory() -> dict[str, float]:
    """Oracle (closed form). Each attempt comes after a new time to return T (uniform on [5, 35] days,
    always within the title of 60 days, which starts again after each refusal); a person whose return can
    succeed (q) refuses each attempt with r, up to k attempts, and is released after the k-th refusal.
    Attempt a (0-based) is reached with r^a, so: returned = q (1 - r^k); released after refusals = q r^k;
    refusals per stay = q (r + ... + r^k); E[stay] = q E[T] (1 - r^k) / (1 - r) + (1 - q) 60.
    Stays beyond the nominal 60 days: m attempts (m = 1, 2, 3 with 1 - r, r (1 - r), r^2) last a sum of m
    uniforms, above 60 with 0, 1/18 (a triangle's corner) and 1/2 (symmetry of the sum of three)."""
    r, k, mean_time = REFUSES, ATTEMPTS, (LOW + HIGH) / 2
    return {"returned": Q * (1 - r**k), "released_after_refusals": Q * r**k,
            "refused_boarding": Q * sum(r**a for a in range(1, k + 1)),
            "mean_stay": Q * mean_time * (1 - r**k) / (1 - r) + (1 - Q) * TITLE,
            "stays_beyond_nominal_maximum": Q * (r * (1 - r) / 18 + r**2 / 2)}


def test_extensions_per_person_against_quadrature():
    """Oracle: the share released at each refused extension, at the last title and the mean stay of the
    people drawn, against `_extensions_theory` (four standard errors)."""
    theory = _extensions_theory()
    fates, stays = _people(_scenario(_extensions_stream()))
    n = len(stays)
    counts = _counts(fates, OUTCOMES + LEGAL)
    ended_by_law = counts["released_deadline"]
    not_extended = counts["released_not_extended"]
    simulated = {"at_first": np.mean(np.isclose(stays, FIRST)), "at_second": np.mean(np.isclose(stays, 120.0)),
                 "not_extended": not_extended / n, "deadline": ended_by_law / n,
                 "last_ran_out": (ended_by_law - not_extended) / n}
    for name, share in simulated.items():
        _close(float(share), theory[name], math.sqrt(theory[name] * (1 - theory[name]) / n), name)
    _close(float(stays.mean()), theory["mean_stay"], float(stays.std(ddof=1)) / math.sqrt(n), "mean stay")
    assert counts["refused_boarding"] == 0 and counts["stays_beyond_nominal_maximum"] == 0


def _per_replication(results, numerator: str, denominator: str | None = "stays_ended") -> list[float]:
    return [rep.metrics[numerator] / (rep.metrics[denominator] if denominator else 1)
            for rep in results.replications]


def _agrees(values: list[float], theory: float, what: str) -> None:
    mean, width = float(np.mean(values)), half_width(values)
    assert abs(mean - theory) <= 2 * width, f"{what}: simulated {mean:.5f} +- {width:.2g}, theory {theory:.5f}"


def test_extensions_in_a_run_against_quadrature():
    """Oracle: in a run (no bed ever short), the shares of stays ended by a refused extension and by the
    law, and the mean stay, against `_extensions_theory` (two half-widths)."""
    theory = _extensions_theory()
    results = sim.run(_scenario(_extensions_stream()))
    _agrees(_per_replication(results, "released_not_extended"), theory["not_extended"], "released_not_extended")
    _agrees(_per_replication(results, "released_deadline"), theory["deadline"], "released_deadline")
    _agrees(_per_replication(results, "los_mean_days", None), theory["mean_stay"], "mean stay")


def test_refusals_per_person_against_closed_form():
    """Oracle: returned = q (1 - r^k), refusals, releases after refusals, stays beyond the nominal maximum
    and the mean stay of the people drawn, against `_refusals_theory` (four standard errors)."""
    theory = _refusals_theory()
    fates, stays = _people(_scenario(_refusals_stream()))
    n = len(stays)
    counts = _counts(fates, OUTCOMES + LEGAL)
    for name in ("returned", "released_after_refusals", "stays_beyond_nominal_maximum"):
        _close(counts[name] / n, theory[name], math.sqrt(theory[name] * (1 - theory[name]) / n), name)
    refusals_sd = math.sqrt(ATTEMPTS**2 / 4)  # a count within [0, k]: sd at most k / 2
    _close(counts["refused_boarding"] / n, theory["refused_boarding"], refusals_sd / math.sqrt(n), "refusals")
    _close(float(stays.mean()), theory["mean_stay"], float(stays.std(ddof=1)) / math.sqrt(n), "mean stay")
    assert counts["released_not_extended"] == 0
    assert stays.max() <= ATTEMPTS * TITLE


def test_refusals_in_a_run_against_closed_form():
    """Oracle: in a run, returned / stays ended = q (1 - r^k), refusals per stay and the mean stay against
    `_refusals_theory` (two half-widths)."""
    theory = _refusals_theory()
    results = sim.run(_scenario(_refusals_stream()))
    for name in ("returned", "refused_boarding", "released_after_refusals", "stays_beyond_nominal_maximum"):
        _agrees(_per_replication(results, name), theory[name], name)
    _agrees(_per_replication(results, "los_mean_days", None), theory["mean_stay"], "mean stay")


def test_books_balance_with_the_clock_refusals_courts_and_a_waiting_list():
    """Oracle: conservation (present at start + admitted = ended + still detained, with every legal count
    inside the three outcomes), checked by the runner's invariants on every replication and here."""
    clock = _extensions_stream() | {"when_full": "wait", "max_wait": 20, "attempts": 2,
                                    "court_release": {"probability": 0.3, "time": {"dist": "exponential",
                                                                                   "mean": 40}}}
    clock["origins"][0]["refuses_boarding"] = 0.4
    plain = _stream(name="plain", origin={"time_to_return": {"dist": "exponential", "mean": 30}})
    results = sim.run(make_scenario(capacity={"beds": 150}, warmup=300, horizon=1000, replications=4,
                                    streams=[clock, plain | {"name": "plain"}]))
    for rep in results.replications:
        for m in [rep.metrics, *rep.streams.values()]:
            assert m["present_at_start"] + m["admitted"] == (m["returned"] + m["released_court"]
                                                             + m["released_deadline"] + m["still_detained"])
            assert m["released_not_extended"] + m["released_after_refusals"] <= m["released_deadline"]
            assert m["stays_beyond_nominal_maximum"] <= m["stays_ended"]
        assert rep.streams["plain"]["refused_boarding"] == 0
        assert rep.streams["s"]["refused_boarding"] > 0 and rep.streams["s"]["turned_away"] > 0
        assert sum(rep.origins["s"]["all"][name] for name in OUTCOMES) == rep.streams["s"]["stays_ended"]


def test_unused_keys_change_nothing():
    """Without the new keys (or with them at their defaults) the scenario, its metrics and its per-origin
    outcomes are those of before: no key in `normalised()`, no new metric, the same numbers."""
    plain = make_scenario()
    written = make_scenario(streams=[scenario_data()["streams"][0] | {"attempts": 1}])
    assert plain.normalised() == written.normalised()
    assert not {"legal_clock", "attempts", "refuses_boarding"} & set(str(plain.normalised()).split("'"))
    rep = simulate(plain, replication_seed(plain.seed, 0))
    assert not set(LEGAL) & set(rep.metrics)
    assert set(rep.origins["s"]["all"]) == {"admitted", *OUTCOMES}


def test_a_clock_on_one_stream_leaves_the_others_people_alone():
    """Common random numbers: a legal clock on one stream changes no number of another stream."""
    other = _stream(name="other", origin={"time_to_return": {"dist": "exponential", "mean": 30}})
    plain_first = _stream(origin={"time_to_return": {"dist": "lognormal", "mean": MEAN, "sd": SD}},
                          max_detention=150)
    before = simulate(_scenario(plain_first, streams=[plain_first, other]), replication_seed(1, 0))
    after = simulate(_scenario(plain_first, streams=[_extensions_stream(), other]), replication_seed(1, 0))
    assert {k: v for k, v in after.streams["other"].items() if k not in LEGAL} == before.streams["other"]


BASE = to_yaml(scenario_data(streams=[_extensions_stream() | {"attempts": 2}]))


@pytest.mark.parametrize(("old", "new", "where", "phrase"), [
    ("granted: 0.9", "granted: 1.5", "streams[0].legal_clock.extensions[0].granted", "less than or equal to 1"),
    ("length: 30.0", "length: 0", "streams[0].legal_clock.extensions[1].length", "greater than 0"),
    ("first: 60.0", "first: -5", "streams[0].legal_clock.first", "greater than 0"),
    ("attempts: 2", "attempts: 0", "streams[0].attempts", "greater than or equal to 1"),
    ("return_probability: 0.8", "return_probability: 0.8\n    refuses_boarding: -0.1",
     "streams[0].origins[0].refuses_boarding", "greater than or equal to 0"),
    ("attempts: 2", "attempts: 2\n  max_detention: 5 months", "streams[0].max_detention", "legal_clock"),
])
def test_bad_inputs_are_refused_at_their_line(tmp_path, monkeypatch, old, new, where, phrase):
    """Errors for people: `capsim validate` exits 2 with FILE:LINE:COL: key: message at the bad key."""
    assert BASE.count(old) == 1
    text = BASE.replace(old, new)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text(text)
    result = CliRunner().invoke(main, ["validate", "x.yaml"])
    assert result.exit_code == 2, result.output
    bad = new.splitlines()[-1].strip()
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.strip().lstrip("- ") == bad)
    prefix = f"x.yaml:{line}:"
    matching = [row for row in result.stderr.splitlines() if row.startswith(prefix) and f" {where}:" in row]
    assert matching and phrase in matching[0], result.stderr


def test_a_dated_change_cannot_set_the_maximum_of_a_clocked_stream(tmp_path, monkeypatch):
    """Errors for people: the clock sets the maximum, so a dated change of max_detention is refused at it."""
    text = BASE + "parameter_changes:\n- at: 100\n  set:\n    streams.s.max_detention: 3 months\n"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text(text)
    result = CliRunner().invoke(main, ["validate", "x.yaml"])
    assert result.exit_code == 2, result.output
    line = len(text.splitlines())
    assert any(row.startswith(f"x.yaml:{line}:") and "legal_clock" in row for row in result.stderr.splitlines()), \
        result.stderr
