"""Cross-checks: the rules of a scenario that span several keys.

Shares aside (a stream's own model checks them), no single key can say that
times are in order, that a date needs `start`, that names are unique or that
reserved beds fit in the capacity. These rules read the data as written, so
they run even when some values are invalid (the schema reports those).
`late_steps` reads a valid scenario for what it says without effect (a
change after the end of the run), which the command line warns of.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from pydantic import ValidationError

from sim.scenario.centre_checks import centre_problems
from sim.scenario.dated import changed_data, path_problem
from sim.scenario.durations import to_days
from sim.scenario.legal import legal_problems
from sim.scenario.messages import dotted, schema_problems
from sim.scenario.rates import season_problems
from sim.scenario.schema import Scenario

LAST_DAY = dt.date.max
"""The calendar's last day (9999-12-31): with `start`, no time of the run may fall after it."""


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _items(value) -> list:
    return list(value) if isinstance(value, list) else []


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _booleans(node, loc: tuple):
    """No key of a scenario takes true or false, and pydantic would read them as 1 and 0."""
    if isinstance(node, bool):
        yield loc, f"expected a number or text, not {str(node).lower()}"
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _booleans(value, loc + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _booleans(value, loc + (i,))


def cross_check(data: dict) -> list[tuple[tuple, str]]:
    """Rules that span several keys, read from the data as written (values the
    schema rejects are skipped here: the schema reports them); each problem
    as (location, message)."""
    problems: list[tuple[tuple, str]] = list(_booleans(data, ()))
    start = _as_date(data.get("start"))
    days_left = (LAST_DAY - start).days if start is not None else math.inf

    def day_of(loc: tuple, value) -> float | None:
        date = _as_date(value)
        if date is not None:
            if start is None:
                problems.append((loc, f"a date ({date}) needs `start` to be set"))
                return None
            day = float((date - start).days)
        else:
            try:
                days = to_days(value)
            except ValueError:
                return None
            if not isinstance(days, float):
                return None
            day = days
        if day < 0:
            problems.append((loc, f"must not be before day 0 (got {day:g} days)"))
        if day > days_left:
            problems.append((loc, f"falls after {LAST_DAY}, the calendar's last day ({day:,.0f} days after "
                                  f"the start, {start})"))
        return day

    def in_time_order(loc: tuple, items: list, what: str, same_day: bool = False) -> None:
        """The `at` of each of `items` (at `loc`), each after the one before (or on its day, with `same_day`)."""
        previous = None
        for i, item in enumerate(items):
            day = day_of(loc + (i, "at"), _mapping(item).get("at"))
            if day is not None and previous is not None and (day < previous or day == previous and not same_day):
                problems.append((loc + (i, "at"), f"{what} must be in time order"))
            previous = day if day is not None else previous

    capacity = _mapping(data.get("capacity"))
    changes = [_mapping(change) for change in _items(capacity.get("changes"))]
    in_time_order(("capacity", "changes"), changes, "capacity changes")
    for k, centre in enumerate(_items(data.get("centres"))):
        in_time_order(("centres", k, "changes"), _items(_mapping(centre).get("changes")), "a centre's changes")
    problems += centre_problems(data)
    capacities = [c for c in [_count(capacity.get("beds"))] + [_count(c.get("beds")) for c in changes]
                  if c is not None]
    in_time_order(("parameter_changes",), _items(data.get("parameter_changes")), "parameter changes", same_day=True)
    problems += _dated_problems(data) + _variant_problems(data) + legal_problems(data)

    streams = [_mapping(stream) for stream in _items(data.get("streams"))]
    reserved_total = sum(_count(stream.get("reserved_beds")) or 0 for stream in streams)
    seen: set = set()
    for s, stream in enumerate(streams):
        loc = ("streams", s)
        name = stream.get("name")
        if isinstance(name, str) and name in seen:
            problems.append((loc + ("name",), f"stream names must be unique ({name!r} is repeated)"))
        if isinstance(name, str):
            seen.add(name)
        origin_names = [n for n in (_mapping(o).get("name") for o in _items(stream.get("origins")))
                        if isinstance(n, str)]
        if len(set(origin_names)) < len(origin_names):
            problems.append((loc + ("origins",), "origin names must be unique within a stream"))
        last = None
        for p, piece in enumerate(_items(_mapping(stream.get("arrivals")).get("schedule"))):
            where = loc + ("arrivals", "schedule", p, "from")
            day = day_of(where, _mapping(piece).get("from"))
            if day is None:
                continue
            if p == 0 and day != 0:
                problems.append((where, f"the schedule must start at day 0 (got {day:g})"))
            if last is not None and day <= last:
                problems.append((where, "schedule times must be in increasing order"))
            last = day
        problems += [(loc + ("arrivals",) + where, message)
                     for where, message in season_problems(_mapping(stream.get("arrivals")), start)]
        if stream.get("max_wait") is not None and stream.get("when_full", "turn_away") != "wait":
            problems.append((loc + ("max_wait",), "max_wait only applies with when_full: wait"))
        reserved, cap = _count(stream.get("reserved_beds")), _count(stream.get("max_beds"))
        if reserved and cap is not None and reserved > cap:
            problems.append((loc + ("reserved_beds",),
                             f"reserved beds ({reserved}) exceed the stream's max_beds ({cap})"))
        present = _count(_mapping(stream.get("detained_at_start")).get("count", stream.get("detained_at_start")))
        if cap is not None and present is not None and present > cap:
            problems.append((loc + ("detained_at_start",),
                             f"{present} people detained at the start exceed the stream's max_beds ({cap})"))
        if present and stream.get("screened_out") == 1:  # the draws at day 0 would find no one (engine/present.py)
            problems.append((loc + ("detained_at_start",), "the stream screens out everyone (screened_out: 1), so "
                             "no one of it can be detained at day 0"))
        if reserved and capacities and reserved_total > min(capacities):
            problems.append((loc + ("reserved_beds",),
                             f"reserved beds of all streams ({reserved_total}) exceed the capacity "
                             f"({min(capacities)} beds)"))
    try:
        warmup, horizon = to_days(data.get("warmup", 0)), to_days(data.get("horizon"))
        if isinstance(warmup, float) and isinstance(horizon, float) and warmup + horizon > 200 * 365.25:
            problems.append((("horizon",), "warm-up plus horizon must stay below 200 years"))
        elif isinstance(warmup, float) and isinstance(horizon, float) and 0 < horizon and warmup + horizon == warmup:
            problems.append((("horizon",), f"too short to measure after a warm-up of {warmup:g} days: "
                                           f"{horizon:g} days are lost in the rounding of the clock"))
        elif isinstance(warmup, float) and isinstance(horizon, float) and warmup + horizon >= days_left + 1:
            problems.append((("start",), f"the run would end after {LAST_DAY}, the calendar's last day: "
                                         f"{warmup + horizon:,.0f} days of warm-up and horizon from {start}"))
    except ValueError:
        pass
    return problems


def _plain(node):
    """YAML data as plain dicts and lists, so that messages about a copy name no line of the file."""
    if isinstance(node, dict):
        return {key: _plain(value) for key, value in node.items()}
    return [_plain(item) for item in node] if isinstance(node, list) else node


def _dated_problems(data: dict) -> list[tuple[tuple, str]]:
    """The values of dated changes, validated as the keys they set: the scenario with the changes so
    far applied is validated whole, and each problem is told at the key of `set` it comes from."""
    problems: list[tuple[tuple, str]] = []
    current = _plain({key: value for key, value in data.items() if key != "variants"})
    for i, change in enumerate(_items(data.get("parameter_changes"))):
        paths = {path: value for path, value in _mapping(_mapping(change).get("set")).items()
                 if isinstance(path, str) and not path_problem(path)}
        if "cost_per_bed_day" in paths and data.get("cost_per_bed_day") is None:
            problems.append((("parameter_changes", i, "set", "cost_per_bed_day"), "the scenario has no "
                             "cost_per_bed_day to change: give the cost in force from day 0 first"))
        after, scenario, found = _set_problems(current, paths, ("parameter_changes", i, "set"))
        problems += found
        if scenario is not None:
            current = after
            problems += [(("parameter_changes", i, "set", path), "a dated change takes a number, not an "
                          "uncertain quantity") for path in paths for uncertain in scenario.uncertain_inputs()
                         if (uncertain + ".").startswith(path + ".")]
    return problems


def _variant_problems(data: dict) -> list[tuple[tuple, str]]:
    """Each variant's values, validated as the keys they set: the scenario with the variant applied is
    validated whole, and each problem is told at the variant's key it comes from."""
    variants = data.get("variants")
    if not isinstance(variants, dict):
        return []
    base = _plain({key: value for key, value in data.items() if key != "variants"})
    return [problem for name, paths in variants.items() if isinstance(paths, dict)
            for problem in _set_problems(base, {p: v for p, v in paths.items() if isinstance(p, str)},
                                         ("variants", name))[2]]


def _set_problems(current: dict, paths: dict, at: tuple
                  ) -> tuple[dict, Scenario | None, list[tuple[tuple, str]]]:
    """`paths` (dotted path -> value) set on a copy of `current` and the result validated whole: the data
    after, its Scenario (None when it is not valid), and each problem of a value of `paths` at
    `at + (path,)` (a problem elsewhere is the scenario's own, told where it is written)."""
    problems: list[tuple[tuple, str]] = []
    applied = {}
    for path, value in paths.items():
        try:
            (current,) = changed_data(current, [{"set": {path: value}}])
            applied[path] = value
        except KeyError as err:
            problems.append((at + (path,), str(err.args[0])))
    try:
        scenario = Scenario.model_validate(current)
    except ValidationError as err:
        found = [problem.partition(": ")[2] for problem in schema_problems("", current, err)]
        for path in applied:
            where = dotted(_loc(current, path))
            for problem in found:
                loc, _, message = problem.partition(": ")
                if _within(loc, where) or _within(where, loc) or where.rpartition(".")[0] == \
                        loc.rpartition(".")[0] and message == "is required":
                    rest = loc[len(where):].lstrip(".") if _within(loc, where) else ""
                    problems.append((at + (path,), f"{rest}: {message}" if rest else message))
        return current, None, problems
    return current, scenario, problems


def _within(inner: str, outer: str) -> bool:
    """Is the key path `inner` (as `dotted` writes it) `outer` or inside it?"""
    return inner == outer or inner.startswith((outer + ".", outer + "["))


def _loc(data: dict, path: str) -> tuple:
    """The location in `data` of a dotted path whose streams and origins exist (set_path checked it)."""
    loc: tuple = ()
    node: object = data
    for part in path.split("."):
        if isinstance(node, list):
            index = next(k for k, item in enumerate(node) if isinstance(item, dict) and item.get("name") == part)
            loc, node = loc + (index,), node[index]
        else:
            loc, node = loc + (part,), node.get(part) if isinstance(node, dict) else None
    return loc


def late_steps(scenario: Scenario) -> list[str]:
    """Capacity changes and rate steps at or after the end of the run: valid, but they
    change nothing, which is most often a date or a horizon written wrong; and a warm-up
    with a starting population, which throws away the start the planner gave."""
    end = scenario.end_day

    def when(day: float) -> str:
        if scenario.start is None:
            return f"day {day:,.6g}"
        return f"{scenario.start + dt.timedelta(days=math.floor(day))} (day {day:,.6g})"

    found = [(f"capacity change {change.name!r}" if change.name else f"capacity.changes[{i}]", scenario.day(change.at))
             for i, change in enumerate(scenario.capacity.changes if scenario.capacity else [])]
    for centre in scenario.centres or []:
        found += [(f"centre {centre.name!r}'s change " + (repr(change.name) if change.name else f"changes[{i}]"),
                   scenario.day(change.at)) for i, change in enumerate(centre.changes)]
    for stream in scenario.streams:
        found += [(f"streams.{stream.name}.arrivals.schedule[{p}]", scenario.day(piece.from_))
                  for p, piece in enumerate(stream.arrivals.schedule or [])]
    found += [(f"parameter change {change.name!r}" if change.name else f"parameter_changes[{i}]",
               scenario.day(change.at)) for i, change in enumerate(scenario.parameter_changes)]
    warnings = [f"{what} at {when(day)} comes at or after the end of the run, {when(end)}: it changes nothing "
                "(is its date or the horizon wrong?)" for what, day in found if day >= end]
    if scenario.warmup > 0 and (scenario.detained_file or any(s.detained_at_start for s in scenario.streams)):
        warnings.append(f"a warm-up of {scenario.warmup:g} days with a starting population: the run starts from "
                        "the people detained at day 0 and needs no warm-up (is warmup: 0 meant?)")
    return warnings
