"""How big a run is, estimated from the scenario before anything runs.

A slip in a scenario file (a rate per year written as a rate per day, a
horizon in days written as weeks, a million beds for a thousand) can turn a
minute's run into days of work or exhaust the machine's memory halfway.
`workload` estimates the events and the memory of a run from the rates
integrated over the simulated days, the beds and the largest waiting list;
`check` stops a run above a limit with a message that says how big it is and
what to change. `check_theory` does the same for `capsim theory`, whose
Erlang B is computed bed by bed. Cheap: no model is built and nothing is
imported beyond the scenario (the theory's offered load only when a rough
bound is already too big, its expected stays only for people detained at day
0 in equilibrium, whose draws grow as the maximum detention over them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.engine.monitors import stay_bins
from sim.engine.periods import PERIOD_METRICS, periods
from sim.engine.present import MOST_BATCHES, starting_count
from sim.errors import TooBig
from sim.scenario import Scenario, Stream

EVENTS_PER_ARRIVAL = 3
"""An arrival, its admission (or turning away) and its departure."""
ARRIVALS_PER_SECOND = 300_000
"""capsim's measured speed on one core, arrivals per second: 0.2 million when
nearly every arrival is admitted, 0.6 million when most are turned away."""
DRAWS_PER_SECOND = 2_500_000
"""People drawn a second on one core for those detained at day 0 (stays and fates in batches), as
measured: in equilibrium a stay S is kept with probability S / M, so about M / E[S] draws a person."""
STARTING_PER_SECOND = 60_000
"""People detained at day 0 simulated a second on one core, as measured (a million in 19 s): each is put
in a bed and departs off a heap of them all."""
DEFAULT_MAX_EVENTS = 1e10
"""About 3.3e9 arrivals: some 3 hours on one core at ARRIVALS_PER_SECOND, under
an hour on a 4-core laptop; a few thousand times a committed scenario's run
(2-4 million events), so only a slip or a deliberately huge study reaches it."""
DEFAULT_MAX_MEMORY = 8e9
"""8 GB, the memory of an ordinary laptop. A committed scenario needs a few MB
(1,000 replications of today.yaml about 90 MB, as measured); a detention
estate of 100,000 beds about 60 MB for 30 replications. Fixed, not an option:
what passes it is a slip (a billion beds, a waiting list of every arrival of
a rate per year written per day, 100,000 replications), and what it refuses
would end in MemoryError on most machines. The estimate is an upper bound:
every bed full and every occupancy level reached."""
MOST_CORE_HOURS = 24 * 365.25 * 1000
"""A thousand years of one core: no limit raised reaches it, so a run beyond it is a slip (a trend or a
rate that overflows), not a size to allow."""
THEORY_MOST_BEDS = 1e7
"""`capsim theory` computes Erlang B one bed at a time, up to the beds and up to
the beds each target needs (about the offered load): some 0.4 s per million
beds and target, so 1e7 is under 20 s."""

BYTES_PER_STAY = 150
"""One person in detention during a replication: a heap entry and its fate."""
BYTES_PER_WAITING = 200
"""One person on a waiting list: a tuple of five and its numbers."""
BYTES_PER_LEVEL = 32
"""One occupancy level of a monitor (the system's, and each stream's): a list slot and its time."""
BYTES_PER_LEVEL_HELD = 48
"""The same level in the arrays of a replication's metrics (time at each level and its sums); the
run then keeps 8 bytes of it for every finished replication."""
BYTES_PER_BIN = 16
"""One bin of a stream's stay histogram (the running list and its new copy at the end of the warm-up)."""
BYTES_PER_PRESENT = 150
"""One person detained at day 0 beside their stay's heap entry: their tuple, and the arrays drawn for them."""
BYTES_PER_REPLICATION = 70_000
"""What every finished replication holds beside its daily occupancy and levels: its metrics by
system, stream and origin."""


@dataclass(frozen=True)
class Workload:
    """The estimated size of a run: every scenario x replication it simulates."""

    arrivals: float
    replications: int
    days: float  # the longest replication, warm-up included
    memory: dict[str, float] = field(default_factory=dict)
    """Bytes by what they grow with (BEDS, WAITING, STAYS, RESULTS)."""
    beds: int = 0  # the most beds of any scenario
    drawn: float = 0.0
    """People drawn to find those detained at day 0, over every replication."""

    @property
    def memory_bytes(self) -> float:
        return math.fsum(self.memory.values())

    @property
    def events(self) -> float:
        """Events, the draws at day 0 counted as the events of the same time on one core."""
        return (self.arrivals + self.drawn * ARRIVALS_PER_SECOND / DRAWS_PER_SECOND) * EVENTS_PER_ARRIVAL

    @property
    def core_hours(self) -> float:
        return self.events / EVENTS_PER_ARRIVAL / ARRIVALS_PER_SECOND / 3600


def _number(count: int) -> float:
    """A count as a float, infinite beyond floats (a replication count of 400 digits is a slip too)."""
    return float(count) if count < 1e300 else math.inf


def _rate(rate) -> float:
    return rate if isinstance(rate, (int, float)) else rate.mean()


def stream_arrivals(scenario: Scenario, stream: Stream) -> float:
    """Expected arrivals of one stream in a replication, its rate (an uncertain rate at its mean)
    integrated over its schedule from day 0 to the end."""
    end = scenario.end_day
    steps = scenario.rate_steps(stream)
    total = 0.0
    for k, (day, rate) in enumerate(steps):
        following = steps[k + 1][0] if k + 1 < len(steps) else end
        total += _rate(rate) * max(0.0, min(following, end) - max(day, 0.0))
    return total


def expected_arrivals(scenario: Scenario) -> float:
    """Expected arrivals of one replication, every stream from day 0 to the end, and the people
    detained at day 0 as the arrivals of the same time (STARTING_PER_SECOND)."""
    return math.fsum(stream_arrivals(scenario, stream) + starting_count(scenario, stream)
                     * ARRIVALS_PER_SECOND / STARTING_PER_SECOND for stream in scenario.streams)


def starting_draws(scenario: Scenario) -> float:
    """People one replication draws to find those detained at day 0 (engine/present.py): the screened
    out among them; in equilibrium M / E[S] a person (E[S] exact, from the theory); at most
    MOST_BATCHES batches of 1,024 when everyone is screened out."""
    total = 0.0
    for stream in scenario.streams:
        count = starting_count(scenario, stream)
        if not count:
            continue
        given = stream.detained_at_start
        per_person = 1.0
        if given is not None and (isinstance(given, int) or given.since == "equilibrium"):
            from sim.analysis.theory import stream_expected_stay

            at_means = scenario.at_means()
            (fixed,) = [s for s in at_means.streams if s.name == stream.name]
            per_person = scenario.stream_max_detention(stream) / stream_expected_stay(at_means, fixed)
        kept = 1 - _rate(stream.screened_out)
        total += count * per_person / kept if kept > 0 else MOST_BATCHES * 1024.0
    return total


def _peak_rate(scenario: Scenario, stream: Stream) -> float:
    return max(_rate(rate) for _, rate in scenario.rate_steps(stream))


def _most_waiting(scenario: Scenario, stream: Stream) -> float:
    """The longest waiting list a stream can have: every arrival of the run, or, with a fixed
    max_wait, those of the busiest max_wait."""
    if stream.when_full != "wait":
        return 0.0
    if isinstance(stream.max_wait, float) and stream.max_wait < scenario.end_day:
        return _peak_rate(scenario, stream) * stream.max_wait
    return stream_arrivals(scenario, stream)


def levels(scenario: Scenario, added_beds: int = 0) -> int:
    """The occupancy levels a replication's monitors count: the most beds there ever are (or people
    detained at day 0, who may be more)."""
    return max(max([beds for _, beds in scenario.capacity_steps()] + [s.reserved_beds for s in scenario.streams])
               + added_beds, sum(starting_count(scenario, s) for s in scenario.streams))


BEDS, WAITING, STAYS, RESULTS = "the beds", "the waiting lists", "the stay histograms", "the results kept"
PERIODS, PRESENT = "the results by period", "the people detained at day 0"
"""What a run's memory grows with (the keys of Workload.memory)."""
PARTS = (BEDS, WAITING, STAYS, RESULTS, PERIODS, PRESENT)


def _memory(scenario: Scenario, runs: float, added_beds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Bytes of running `scenario` `runs` times, by what they grow with: of the replication under
    way in a worker (its occupancy levels, the people in detention, the waiting lists, the stay
    histograms, the people detained at day 0, the time at each level of every scope at every
    period's edge), and of what the run keeps of every finished replication (its time at each
    level, its daily occupancy and its figures by period, each held twice while the results are
    written, and its metrics)."""
    beds = _number(levels(scenario, added_beds))
    monitored = beds + math.fsum(min(beds, _number(s.max_beds)) if s.max_beds else beds for s in scenario.streams)
    bins = sum(int(stay_bins(np.array([scenario.stream_max_detention(s)]))[0]) + 2 for s in scenario.streams)
    under_way = {BEDS: monitored * BYTES_PER_LEVEL + beds * (BYTES_PER_LEVEL_HELD + BYTES_PER_STAY),
                 WAITING: math.fsum(_most_waiting(scenario, s) for s in scenario.streams) * BYTES_PER_WAITING,
                 STAYS: bins * BYTES_PER_BIN,
                 PRESENT: sum(starting_count(scenario, s) for s in scenario.streams) * BYTES_PER_PRESENT}
    kept = {BEDS: beds * 8 * runs, RESULTS: ((math.floor(scenario.end_day) + 1) * 4 * 2 + BYTES_PER_REPLICATION) * runs}
    if scenario.periods:
        scopes, count = 1 + len(scenario.streams), len(periods(scenario, scenario.periods))
        under_way[PERIODS] = (count + 1) * scopes * (beds + 1) * 8
        kept[PERIODS] = scopes * count * len(PERIOD_METRICS) * 8 * 2 * runs
    return under_way, kept


def workload(scenarios: Sequence[Scenario], replications: int, repeats: int = 1, *, added_beds: int = 0) -> Workload:
    """The size of running each of `scenarios` `replications` times, all of it `repeats` times,
    with every capacity step raised by `added_beds` (the largest count `capsim size` tries).

    Memory: in each worker, the replication under way (the largest of the
    scenarios'); in the main process, every finished replication's results.
    """
    runs = _number(replications) * repeats
    parts = [_memory(s, runs, added_beds) for s in scenarios]
    memory = {what: max((under_way.get(what, 0.0) for under_way, _ in parts))
              + math.fsum(kept.get(what, 0.0) for _, kept in parts) for what in PARTS}
    return Workload(math.fsum(expected_arrivals(s) for s in scenarios) * runs, len(scenarios) * replications * repeats,
                    max(s.end_day for s in scenarios), memory, max(levels(s, added_beds) for s in scenarios),
                    math.fsum(starting_draws(s) for s in scenarios) * runs)


def bed_counts_tried(min_beds: int, max_beds: int) -> int:
    """About how many bed counts `capsim size` runs at most between `min_beds` and
    `max_beds`: a bracket of doubling steps, then a bisection inside it."""
    return 2 * math.ceil(math.log2(max(2, max_beds - min_beds + 1))) + 2


def size_workload(scenario: Scenario, min_beds: int, max_beds: int | None, replications: int) -> Workload:
    """The size of `capsim size`: every bed count it may try, with the largest (`max_beds`, by
    default 4x the beds) in memory."""
    most = max_beds or 4 * max(scenario.beds, min_beds + 1)
    return workload([scenario], replications, bed_counts_tried(min_beds, most),
                    added_beds=max(0, most - scenario.beds))


def check(load: Workload, max_events: float | None, max_memory: float = DEFAULT_MAX_MEMORY) -> None:
    """Stop (TooBig, exit 2) if `load` is beyond `max_events` (None means no limit) or beyond `max_memory`."""
    if not load.memory_bytes <= max_memory:
        # the largest part; when several are beyond floats, the replications (which multiply the rest)
        what, most = max(load.memory.items(), key=lambda item: (item[1], item[0] == RESULTS))
        raise TooBig(
            f"this run needs more memory than capsim allows: {_size(load.memory_bytes)}, of it "
            f"{_size(most)} for {what} ({_what_sizes(what, load)}); the limit is {max_memory / 1e9:g} GB. "
            f"{_ADVICE[what]}")
    if max_events is None or load.events <= max_events:
        return
    drawing = load.drawn * ARRIVALS_PER_SECOND > load.arrivals * DRAWS_PER_SECOND  # most of the time
    drawn = (f" and {load.drawn:.2g} people drawn to find those detained at day 0 in equilibrium (about "
             "max_detention / the mean stay each)") if drawing else ""
    size = (f"about {load.events:.2g} events ({load.arrivals:.2g} arrivals{drawn} over {_many(load.replications)} "
            f"replications of up to {load.days:,.0f} days), {_size(load.memory_bytes)} of memory, "
            f"{_duration(load.core_hours)} of one core")
    check_also = ("; check the max_detention of the streams detained at day 0 (the equilibrium keeps a stay S "
                  "with probability S / max_detention), or start them since: day 0") if drawn else ""
    if not load.core_hours < MOST_CORE_HOURS:
        raise TooBig(f"this run is beyond any limit: {size}. Check the rates (arrivals per day), their trend, the "
                     f"horizon and the replications{check_also}.")
    exponent = math.floor(math.log10(load.events))
    raised = f"{math.ceil(load.events / 10 ** exponent)}e{exponent}"
    raise TooBig(
        f"this run is bigger than the limit: {size}; the limit is {max_events:.2g} events (--max-events). Check the "
        f"rates (arrivals per day), the horizon and the replications{check_also}; if the size is meant, raise the "
        f"limit: "
        f"--max-events {raised} (or CAPSIM_MAX_EVENTS={raised})")


def _what_sizes(what: str, load: Workload) -> str:
    if what == BEDS:
        return f"up to {load.beds:,}, their occupancy levels counted in every replication"
    if what == WAITING:
        return f"up to {load.memory[WAITING] / BYTES_PER_WAITING:.3g} people waiting at once"
    if what == STAYS:
        return "one bin per 0.1% of the maximum detention"
    if what == PERIODS:
        return "the time at each occupancy level of every stream at every period's edge, and the figures of every " \
               "period of every replication"
    if what == PRESENT:
        return "their stays drawn and their departures"
    return f"{_many(load.replications)} replications of up to {load.days:,.0f} days"


_ADVICE = {
    BEDS: "Check the beds (capacity.beds and its changes, a centre's usable places, or --max-beds), or run fewer "
          "replications.",
    WAITING: "Check the rates of the streams that wait for a bed (when_full: wait): every arrival may be "
             "waiting at once, unless a max_wait bounds the list.",
    STAYS: "Check max_detention.",
    RESULTS: "Run fewer replications (--replications, --max-replications) or a shorter horizon.",
    PERIODS: "Ask for longer periods (periods: quarter or year), or run fewer replications or a shorter horizon.",
    PRESENT: "Check detained_at_start and detained_file.",
}


def check_theory(scenario: Scenario) -> None:
    """Stop (TooBig, exit 2) before `capsim theory` computes Erlang B over more than THEORY_MOST_BEDS beds:
    the beds, or the beds a target needs, which is about the offered load (below the peak rates times the
    maximum detention; the load itself is integrated only when that bound is too big)."""
    beds = scenario.beds
    bound = math.fsum(_peak_rate(scenario, s) * scenario.stream_max_detention(s) for s in scenario.streams)
    if beds <= THEORY_MOST_BEDS and bound <= THEORY_MOST_BEDS:
        return
    from sim.analysis.theory import analytic_check

    load = analytic_check(scenario).offered_load
    if beds <= THEORY_MOST_BEDS and (load is None or load <= THEORY_MOST_BEDS):
        return
    raise TooBig(
        f"queueing theory would compute Erlang B bed by bed over more than {THEORY_MOST_BEDS:,.0f} beds ({beds:,} "
        f"beds, an offered load of {load or 0:.3g} erlangs), which takes capsim minutes or more. Check the rates "
        "(arrivals per day) and the beds.")


def _duration(hours: float) -> str:
    if hours >= 24 * 365.25 * 10:
        return f"about {hours / 24 / 365.25:.2g} years"
    if hours >= 48:
        return f"about {hours / 24:,.0f} days"
    if hours >= 1:
        return f"about {hours:.1f} hours"
    return "under an hour" if hours > 1 / 60 else "under a minute"


def _many(count: int) -> str:
    """A count for people: with thousands separators, or in powers of ten when it has more than 15 digits."""
    return f"{count:,}" if count < 10**15 else f"about 1e{len(str(count)) - 1}"


def _size(count: float) -> str:
    """About so many bytes, in words."""
    if not math.isfinite(count):
        return "more than any machine has"
    for unit in ("bytes", "kB", "MB", "GB"):
        if count < 1000:
            return f"about {count:.0f} {unit}"
        count /= 1000
    return f"about {count:,.0f} TB"
