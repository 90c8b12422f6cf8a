"""`capsim`: the reference model as a capsim scenario, through the public API.

The scenario is YAML text parsed by ``sim.parse_scenario`` (so every check of a
real file applies) and run by ``sim.run`` in this process, one replication,
every statistic collected. One stream with the whole offered load, one origin
returned with probability p after a lognormal time, the maximum detention D,
`beds` beds, and turned away when full.

capsim reports one blocking per replication, so its batch means are
replications: `interval` runs k independent replications whose measured
windows add up to the window of the timed run (each after a warm-up of two
maximum stays), and the spread of their blocking gives the half-width that
the timed run's blocking is checked with.
"""

from __future__ import annotations

import time

import numpy as np

import sim

from .reference import Outcome, Reference, interval_from_samples

NAME = "capsim"


def scenario_text(ref: Reference, *, horizon: float, warmup: float, replications: int = 1, seed: int = 1,
                  beds: int | None = None, rate: float | None = None) -> str:
    return f"""\
version: 1
name: bench-reference
description: the benchmark's reference loss system
horizon: {horizon!r}
warmup: {warmup!r}
replications: {replications}
seed: {seed}
max_detention: {float(ref.max_detention)!r}
capacity:
  beds: {ref.beds if beds is None else beds}
streams:
  - name: all
    arrivals:
      rate: {ref.rate if rate is None else rate!r}
    when_full: turn_away
    origins:
      - name: all
        share: 1
        return_probability: {ref.return_probability!r}
        time_to_return:
          dist: lognormal
          mean: {ref.return_mean!r}
          sd: {ref.return_sd!r}
"""


CENTRES = (("127bis", 120, "{sex: [men]}"), ("caricole", 114, "{category: [border]}"),
           ("brugge_men", 80, "{sex: [men]}"), ("brugge_women", 32, "{sex: [women]}"),
           ("merksplas", 180, "{sex: [men]}"), ("holsbeek", 50, "{sex: [women]}"), ("vottem", 175, "{sex: [men]}"))
"""Belgium's six closed centres (Brugge as its two wings): their nominal places (751 in all) and whom each
accepts, which the centres row scales to the reference's beds."""


def centres_text(ref: Reference, *, seed: int = 1) -> str:
    """The reference load in Belgium's six centres instead of one pool: each centre's share of the 751 places
    of the reference's beds, people 90% men and 15% border cases, border cases trying the airport first."""
    text = long_run_text(ref, seed=seed)
    centres = "".join(f"  - {{name: {name}, places: {max(1, round(ref.beds * places / 751))}, accepts: {accepts}}}\n"
                      for name, places, accepts in CENTRES)
    text = text.replace(f"capacity:\n  beds: {ref.beds}\n", f"centres:\n{centres}")
    return text.replace("    when_full: turn_away\n", "    when_full: turn_away\n    placement: [caricole]\n"
                        "    people: {sex: {men: 0.9, women: 0.1}, category: {territory: 0.85, border: 0.15}}\n")


def long_run_text(ref: Reference, *, replications: int = 1, seed: int = 1) -> str:
    """The scenario of one long replication of T = arrivals / rate days, the first 10% a warm-up."""
    return scenario_text(ref, horizon=ref.end - ref.warmup, warmup=ref.warmup, replications=replications, seed=seed)


def scenario(ref: Reference, *, replications: int = 1, seed: int = 1, centres: bool = False) -> sim.Scenario:
    """`long_run_text` (or, with `centres`, `centres_text`), parsed."""
    text = centres_text(ref, seed=seed) if centres else long_run_text(ref, replications=replications, seed=seed)
    return sim.parse_scenario(text, "<bench>")


def simulated_arrivals(ref: Reference, metrics: dict) -> int:
    """Arrivals in the measured window (counted) plus those of the warm-up
    (expected: capsim counts only the window)."""
    return int(round(metrics["arrivals"] + ref.rate * ref.warmup))


def run(ref: Reference, seed: int = 1, *, prepared: sim.Scenario | None = None) -> Outcome:
    """The timed run: one replication through ``sim.run`` (the scenario is built before the clock starts)."""
    model = prepared if prepared is not None else scenario(ref, seed=seed)
    started = time.perf_counter()
    results = sim.run(model, replications=1, seed=seed, jobs=1)
    seconds = time.perf_counter() - started
    metrics = results.replications[0].metrics
    return Outcome(NAME, simulated_arrivals(ref, metrics), seconds, metrics["blocking_probability"],
                   float("nan"), float(metrics["occupancy_mean"]), 1)


def interval(ref: Reference, seed: int = 1) -> Outcome:
    """k replications, each measuring 1/k of the timed run's window after a warm-up
    of two maximum stays: pooled blocking and the 99% half-width of their mean."""
    k = ref.batch_count
    warmup = min(ref.warmup, 2 * ref.max_detention)
    model = sim.parse_scenario(scenario_text(ref, horizon=(ref.end - ref.warmup) / k, warmup=warmup,
                                             replications=k, seed=seed), "<bench>")
    started = time.perf_counter()
    results = sim.run(model, replications=k, seed=seed, jobs=1)
    seconds = time.perf_counter() - started
    metrics = [rep.metrics for rep in results.replications]
    turned_away = np.array([m["turned_away"] for m in metrics])
    requests = np.array([m["detention_requests"] for m in metrics])
    blocking = float(turned_away.sum() / requests.sum())
    half_width = interval_from_samples(turned_away / np.maximum(requests, 1))
    occupancy = float(np.mean([m["occupancy_mean"] for m in metrics]))
    arrivals = int(round(sum(m["arrivals"] for m in metrics) + k * ref.rate * warmup))
    return Outcome(NAME, arrivals, seconds, blocking, half_width, occupancy, k)
