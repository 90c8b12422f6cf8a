"""Property-based robustness: any valid scenario runs and keeps the model's laws;
any scenario with one field broken is refused with exit 2 and a located message.

Valid scenarios are generated small (a few beds, up to three streams, a short
horizon) so that each runs in milliseconds through the public API. Invalid
ones are a valid one with one mutation: a wrong type, a negative or
out-of-range number, an unknown key, a missing required key, or broken YAML.
The scenario text is written by a small emitter here that records the line of
every key, so the expected line of an error does not come from the code under
test. Examples are derandomised (the same ones on every CI run).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from test_cli_errors import invoke, no_traceback
from test_model import conservation_holds

from sim import run
from sim.output.run_folder import replications_csv, summary_json
from sim.scenario import parse_scenario

pytestmark = pytest.mark.slow  # hundreds of generated scenarios

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- a YAML emitter that knows the line of every key ------------------------------------------

def _flow(value) -> str:
    """A scalar (or a flat list) as one YAML token."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)  # a double-quoted YAML string


def emit(data: dict) -> tuple[str, dict[tuple, int]]:
    """Block-style YAML for `data`, and the 1-based line of every key path
    (a list item's path gives the line of its `- `)."""
    lines: list[str] = []
    line_of: dict[tuple, int] = {}

    def mapping(node: dict, indent: int, path: tuple, lead: str | None = None) -> None:
        for i, (key, value) in enumerate(node.items()):
            prefix = lead if i == 0 and lead is not None else " " * indent
            here = path + (key,)
            line_of[here] = len(lines) + 1
            if isinstance(value, dict) and value:
                lines.append(f"{prefix}{key}:")
                mapping(value, indent + 2, here)
            elif isinstance(value, list) and value and all(isinstance(v, dict) and v for v in value):
                lines.append(f"{prefix}{key}:")
                for j, item in enumerate(value):
                    line_of[here + (j,)] = len(lines) + 1
                    mapping(item, indent + 4, here + (j,), lead=" " * (indent + 2) + "- ")
            else:
                lines.append(f"{prefix}{key}: {_flow(value)}")

    mapping(data, 0, ())
    return "\n".join(lines) + "\n", line_of


def dotted(path: tuple) -> str:
    """A key path as the error messages write it: streams[0].origins[1].share."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def test_emitter_lines_agree_with_the_text():
    """Self-check of the oracle: each recorded line holds its key."""
    data = {"a": 1, "b": {"c": [1, 2]}, "d": [{"e": "x", "f": {"g": 1.5}}, {"e": "y"}]}
    text, line_of = emit(data)
    lines = text.splitlines()
    for path, line in line_of.items():
        last = path[-1]
        if isinstance(last, int):
            assert lines[line - 1].lstrip().startswith("- ")
        else:
            assert re.match(rf"^\s*(- )?{last}:", lines[line - 1]), (path, lines[line - 1])
    assert YAML(typ="safe").load(text) == data  # and a YAML loader reads back the same data


# --- valid scenarios ---------------------------------------------------------------------------

def _number(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats with 4 decimals (exact in the YAML text), in [low, high]."""
    return st.floats(low, high).map(lambda x: round(x, 4)).filter(lambda x: low <= x <= high)


def _probability() -> st.SearchStrategy:
    exact = st.one_of(st.sampled_from([0.0, 1.0]), _number(0, 1))
    uncertain = st.one_of(
        st.integers(0, 20).flatmap(lambda trials: st.integers(0, trials).map(
            lambda successes: {"beta_from": {"successes": successes, "trials": max(trials, 1)}})),
        st.tuples(_number(0, 0.5), _number(0.5001, 1)).map(lambda lh: {"uniform": list(lh)}),
    )
    return st.one_of(exact, exact, exact, uncertain)


@st.composite
def distributions(draw, low: float = 0.05, high: float = 60.0) -> dict:
    """A time distribution of any family, in days (means between `low` and `high`)."""
    family = draw(st.sampled_from(["exponential", "gamma", "lognormal", "weibull", "uniform", "triangular",
                                   "fixed", "empirical"]))
    mean = draw(_number(low, high))
    if family == "exponential":
        return {"dist": family, "mean": mean}
    if family in ("gamma", "lognormal"):
        return {"dist": family, "mean": mean, "sd": draw(_number(0.05, 2 * high))}
    if family == "weibull":
        return {"dist": family, "shape": draw(_number(0.3, 5)), "scale": mean}
    if family == "fixed":
        return {"dist": family, "value": draw(st.sampled_from([0.0, mean]))}
    if family == "empirical":
        return {"dist": family, "values": draw(st.lists(_number(0, high), min_size=1, max_size=4))}
    a, b, c = sorted(draw(st.lists(_number(0, high), min_size=3, max_size=3)))
    if c == a:
        c = a + 1
    if family == "uniform":
        return {"dist": family, "low": a, "high": c}
    return {"dist": family, "low": a, "mode": b, "high": c}


NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,8}", fullmatch=True)
STREAM_NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,8}", fullmatch=True)
"""Stream names without a dot: a dot breaks the dotted paths of uncertain inputs
(see test_a_dot_in_a_stream_name_with_an_uncertain_input)."""


@st.composite
def valid_scenarios(draw) -> dict:
    """Scenario data that the schema accepts and that simulates in milliseconds."""
    horizon = draw(st.sampled_from([5, 20, 40]) | _number(1, 40))
    warmup = draw(st.sampled_from([0, 0, 10]) | _number(0, 20))
    end = horizon + warmup
    beds = draw(st.integers(0, 10))
    changes = []
    at = 0.0
    for _ in range(draw(st.integers(0, 2))):
        at = round(at + draw(_number(0.5, end)), 4)
        changes.append({"at": at, "beds": draw(st.integers(0, 12))})
    capacities = [beds] + [c["beds"] for c in changes]
    count = draw(st.integers(1, 3))
    names = draw(st.lists(STREAM_NAME, min_size=count, max_size=count, unique=True))
    reserved_left = min(capacities)
    streams = []
    for name in names:
        if draw(st.booleans()):
            rate = draw(st.one_of(_number(0.01, 4), _number(0.01, 4), _number(0.01, 4),
                                  _number(1, 40).map(lambda days: {"gamma_from": {"events": 3, "days": days}})))
            arrivals = {"rate": rate}
        else:
            schedule, start = [], 0.0
            for _ in range(draw(st.integers(1, 3))):
                schedule.append({"from": start, "rate": draw(st.sampled_from([0.0]) | _number(0, 4))})
                start = round(start + draw(_number(0.5, 2 * end)), 4)  # may pass the horizon
            arrivals = {"schedule": schedule}
        stream = {"name": name, "arrivals": arrivals}
        if draw(st.booleans()):
            stream["screened_out"] = draw(_probability())
        origin_count = draw(st.integers(1, 3))
        weights = draw(st.lists(st.integers(1, 5), min_size=origin_count, max_size=origin_count))
        shares = [w / sum(weights) for w in weights[:-1]]
        shares.append(1 - sum(shares))
        stream["origins"] = [
            {"name": f"o{k}", "share": share, "return_probability": draw(_probability()),
             "time_to_return": draw(distributions())}
            for k, share in enumerate(shares)
        ]
        if draw(st.booleans()):
            stream["court_release"] = {"probability": draw(_probability()), "time": draw(distributions())}
        if draw(st.booleans()):
            stream["when_full"] = "wait"
            stream["priority"] = draw(st.integers(-1, 2))
            patience = draw(st.one_of(st.none(), _number(0.1, 20), distributions(0.1, 20)))
            if patience is not None:
                stream["max_wait"] = patience
        reserved = draw(st.integers(0, reserved_left))
        if reserved:
            stream["reserved_beds"] = reserved
            reserved_left -= reserved
        if draw(st.booleans()):
            stream["max_beds"] = draw(st.integers(max(1, reserved), 10))
        if draw(st.booleans()):
            stream["max_detention"] = draw(_number(0.5, 60))
        streams.append(stream)
    data = {
        "version": 1,
        "name": draw(NAME),
        "horizon": horizon,
        "warmup": warmup,
        "replications": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**40)),
        "max_detention": draw(_number(0.5, 60)),
        "capacity": {"beds": beds, **({"changes": changes} if changes else {})},
        "streams": streams,
    }
    if draw(st.booleans()):
        data["cost_per_bed_day"] = draw(_number(0, 300))
    return data


def _capacity_at(steps: list[tuple[float, int]], day: float) -> int:
    return [beds for at, beds in steps if at <= day][-1]


def _highest_capacity_during(steps: list[tuple[float, int]], start: float, end: float) -> int:
    return max([_capacity_at(steps, start)] + [beds for at, beds in steps if start < at <= end])


def _probability_or_undefined(value: float) -> bool:
    return math.isnan(value) or 0 <= value <= 1


def laws_hold(scenario, results) -> None:
    """Oracle: every law of the model, in every replication, and outputs free of NaN."""
    steps = scenario.capacity_steps()
    highest = max(beds for _, beds in steps)
    for rep in results.replications:
        assert rep.checks == {"over_capacity": 0, "over_max_beds": 0}
        for metrics in [rep.metrics, *rep.streams.values()]:
            conservation_holds(metrics)
            for name in ("blocking_probability", "probability_full", "return_rate"):
                assert _probability_or_undefined(metrics[name]), (name, metrics[name])
            assert metrics["occupancy_p50"] <= metrics["occupancy_p90"] <= metrics["occupancy_p95"] \
                <= metrics["occupancy_p99"] <= metrics["occupancy_max"] <= highest
            assert metrics["occupancy_mean"] <= metrics["occupancy_max"] + 1e-9
        # occupancy rises only below the capacity in force: from one day to the next it can
        # pass neither the day before's level nor the highest capacity in force in between
        daily = rep.daily_occupancy
        assert len(daily) == math.floor(scenario.end_day) + 1
        for day in range(1, len(daily)):
            assert daily[day] <= max(daily[day - 1], _highest_capacity_during(steps, day - 1, day)), day
        assert not rep.time_at_occupancy[highest + 1:].any()
        if float(scenario.end_day).is_integer():
            assert daily[-1] == rep.metrics["still_detained"]
        assert math.isclose(sum(m["bed_days"] for m in rep.streams.values()), rep.metrics["bed_days"],
                            rel_tol=1e-9, abs_tol=1e-9)
        for stream in scenario.streams:
            m = rep.streams[stream.name]
            if m["stays_ended"]:
                assert m["los_max_days"] <= scenario.stream_max_detention(stream) * (1 + 1e-12)
            else:
                assert math.isnan(m["los_max_days"])
            if stream.max_beds is not None:
                assert m["occupancy_max"] <= stream.max_beds
            if stream.court_release is None:
                assert m["released_court"] == 0
            origins = rep.origins[stream.name]
            assert list(origins) == [o.name for o in stream.origins]
            for outcome in ("admitted", "returned", "released_court", "released_deadline"):
                assert sum(o[outcome] for o in origins.values()) == m[outcome], (stream.name, outcome)
            for origin in stream.origins:
                if origin.return_probability == 0.0:
                    assert origins[origin.name]["returned"] == 0
    assert all(math.isclose(sum(rep.streams[s][k] for s in rep.streams), rep.metrics[k])
               for rep in results.replications for k in ("admitted", "turned_away", "returned"))

    def no_nan(token):
        raise AssertionError(f"summary.json holds {token}")

    summary = json.loads(summary_json(results), parse_constant=no_nan)
    if len(results.replications) == 1:
        assert summary["metrics"]["occupancy_mean"]["ci95_low"] is None
        assert summary["metrics"]["occupancy_mean"]["sd"] is None
    assert "nan" not in replications_csv(results).lower()
    intervals_within_bounds(summary, highest, {s.name: s.max_beds for s in scenario.streams})


def intervals_within_bounds(summary: dict, beds: int, stream_caps: dict) -> None:
    """Oracle: the model's laws, not the code's bounds table. No count, duration or cost
    is negative, no share above 1, no number of beds in use above the beds there are:
    so neither is any bound of an interval of their mean."""
    shares = {"probability_full", "blocking_probability", "return_rate"}
    occupancy = {"occupancy_mean", "occupancy_p50", "occupancy_p90", "occupancy_p95", "occupancy_p99",
                 "occupancy_max"}
    tables = [("system", summary["metrics"], beds)]
    for stream, metrics in summary["streams"].items():
        most = min(beds, stream_caps[stream] or beds)
        tables.append((stream, {k: v for k, v in metrics.items() if k != "origins"}, most))
        tables += [(f"{stream}.{origin}", values, most) for origin, values in metrics["origins"].items()]
    for where, table, most in tables:
        for name, stat in table.items():
            if stat["ci95_low"] is None:
                continue
            assert stat["ci95_low"] >= 0, (where, name, stat)
            if name in shares:
                assert stat["ci95_high"] <= 1, (where, name, stat)
            if name in occupancy:
                assert stat["ci95_high"] <= most, (where, name, stat)


@settings(max_examples=150, **SETTINGS)
@given(data=valid_scenarios())
def test_any_valid_scenario_runs_and_keeps_every_law(data):
    """Property: a generated valid scenario runs through sim.run (jobs=1) and keeps every
    law in every replication: conservation per stream and system-wide, occupancy
    never above the capacity in force, no stay beyond its maximum detention,
    probabilities in [0, 1], outcomes per origin summing to the stream's; its
    summary.json holds null, never NaN."""
    text, _ = emit(data)
    scenario = parse_scenario(text, "generated.yaml")
    results = run(scenario, jobs=1)
    assert len(results.replications) == data["replications"]
    laws_hold(scenario, results)


# --- invalid scenarios ---------------------------------------------------------------------------

REQUIRED = {
    (): ["version", "name", "horizon", "capacity", "streams"],
    ("capacity",): ["beds"],
    ("stream",): ["name", "arrivals", "origins"],
    ("origin",): ["name", "share", "return_probability", "time_to_return"],
    ("court_release",): ["probability", "time"],
    ("change",): ["at", "beds"],
    ("piece",): ["from", "rate"],
}
DISTRIBUTION_PARAMETERS = {"exponential": ["mean"], "gamma": ["mean", "sd"], "lognormal": ["mean", "sd"],
                           "weibull": ["shape", "scale"], "uniform": ["low", "high"],
                           "triangular": ["low", "mode", "high"], "fixed": ["value"], "empirical": ["values"]}

# (wrong type, out of range) values for each key, by the key's name.
WRONG = {
    "version": (["one", [1], True], [2, 0]),
    "name": ([5, 2.5, [1, 2]], ["../escape", "/abs", "a/b", "a\tb", "-x", "x" * 81, ""]),
    "horizon": (["a while", [1], True], [0, -5, 1e6, math.inf, math.nan]),
    "warmup": (["soon", {"a": 1}, False], [-1, "-3 days", math.inf]),
    "replications": (["many", 2.5, [3], True], [0, -1]),
    "seed": (["lucky", 1.5], [-1]),
    "max_detention": (["forever", [8]], [0, -30, "0 months"]),
    "cost_per_bed_day": (["cheap", [1]], [-1, math.nan]),
    "beds": (["lots", 2.5, [1], True], [-1]),
    "at": ([[1]], [-5]),
    "rate": (["fast", [2], True], [-1, math.inf]),
    "from": ([[0]], [-1]),
    "screened_out": (["some", [0.1], False], [1.5, -0.1]),
    "return_probability": (["likely", [0.5], True], [1.01, -1]),
    "probability": (["maybe"], [2, -0.5]),
    "share": (["half", [0.5]], [0, -0.3, 1.5]),
    "when_full": ([3, ["wait"]], ["queue"]),
    "max_wait": (["a bit", [1]], [-2, 0]),
    "priority": (["high", 1.5], []),
    "reserved_beds": (["few", 1.5], [-1]),
    "max_beds": (["few", 2.5], [0, -2]),
    "mean": (["long", [1]], [-1, 0]),
    "sd": (["wide"], [0, -2]),
    "shape": (["round"], [0, -1]),
    "scale": (["big"], [-1, 0]),
    "low": (["small"], [-1]),
    "mode": (["usual"], [-1]),
    "high": (["big"], [-1, 0]),
    "value": (["x"], [-1]),
    "values": (["x", 5], [[], [-1]]),
    "capacity": ([5, [1]], []),
    "streams": ([5, "all"], [[]]),
    "origins": ([5, "all"], [[]]),
    "arrivals": ([5, [1]], []),
    "changes": ([5], []),
    "schedule": ([5], [[]]),
    "court_release": ([5, [1]], []),
    "time": ([5, "soon"], []),
    "time_to_return": ([5, "soon"], []),
}


def _kind(path: tuple) -> tuple:
    """What a mapping at `path` is (for REQUIRED): (), capacity, stream, origin, ..."""
    if path == ():
        return ()
    names = {("capacity",): "capacity", ("streams", int): "stream", ("origins", int): "origin",
             ("court_release",): "court_release", ("changes", int): "change", ("schedule", int): "piece"}
    tail = (path[-2], int) if isinstance(path[-1], int) else (path[-1],)
    return (names[tail],) if tail in names else ("other",)


def _mappings(node, path=()):
    """Every mapping in the data, with its path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _mappings(value, path + (key,))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _mappings(item, path + (i,))


def _is_uncertain_quantity(path: tuple) -> bool:
    """An uncertain quantity's own mapping ({beta_from: ...}): a second key there makes
    it no known form (reported as such at the quantity, not as an unknown key)."""
    return bool(path) and path[-1] in ("rate", "screened_out", "return_probability", "probability")


def _is_distribution(node: dict) -> bool:
    return "dist" in node


def _get(data, path):
    for part in path:
        data = data[part]
    return data


@st.composite
def mutations(draw) -> tuple[str, dict, str, int | None, str | None]:
    """(kind, scenario text, the located key path expected, its line, a phrase);
    the line is None where the text itself is broken (then only the line is known)."""
    data = draw(valid_scenarios())
    kind = draw(st.sampled_from(["wrong_type", "out_of_range", "unknown_key", "missing_key", "broken_yaml"]))
    places = [(path, node) for path, node in _mappings(data)]
    if kind in ("wrong_type", "out_of_range"):
        candidates = []
        for path, node in places:
            for key in node:
                if key in WRONG:
                    values = WRONG[key][0 if kind == "wrong_type" else 1]
                    if values:
                        candidates.append((path + (key,), values))
        if not candidates:  # every key has a wrong type; out of range may have none here
            kind = "wrong_type"
            return draw(_wrong_value(data, [(path + (key,), WRONG[key][0]) for path, node in places
                                            for key in node if key in WRONG and WRONG[key][0]], kind))
        return draw(_wrong_value(data, candidates, kind))
    if kind == "unknown_key":
        path, node = draw(st.sampled_from([(p, n) for p, n in places if not _is_uncertain_quantity(p)]))
        key = draw(st.sampled_from(["colour", "bogus_key", "rates", "bed", "origin"]))
        if key in node:
            key = "colour"
        node[key] = draw(st.sampled_from([1, "x", [1]]))
        text, line_of = emit(data)
        return kind, text, dotted(path + (key,)), line_of[path + (key,)], "unknown key"
    if kind == "missing_key":
        options = []
        for path, node in places:
            required = DISTRIBUTION_PARAMETERS[node["dist"]] + ["dist"] if _is_distribution(node) \
                else REQUIRED.get(_kind(path), [])
            options += [(path, key) for key in required if key in node]
        path, key = draw(st.sampled_from(options))
        del _get(data, path)[key]
        text, line_of = emit(data)
        # a distribution without `dist` is reported at the distribution (its family is unknown)
        where = path if key == "dist" else path + (key,)
        line = line_of[path] if path else 1
        return kind, text, dotted(where), line, "dist" if key == "dist" else "is required"
    text, _ = emit(data)
    lines = text.splitlines()
    scalar_lines = [i for i, line in enumerate(lines) if re.match(r"^\s*(- )?[A-Za-z_]+: \S", line)]
    i = draw(st.sampled_from(scalar_lines))
    how = draw(st.sampled_from(["colon", "tab", "duplicate"]))
    if how == "colon":
        lines[i] += ": oops"
    elif how == "tab":
        lines[i] = "\t" + lines[i]
    elif how == "duplicate":
        indent = len(lines[i]) - len(lines[i].lstrip(" -"))
        lines.insert(i + 1, " " * indent + lines[i].lstrip(" -"))
        i += 1
    return f"broken_yaml_{how}", "\n".join(lines) + "\n", None, i + 1, None


@st.composite
def _wrong_value(draw, data, candidates, kind):
    path, values = draw(st.sampled_from(candidates))
    value = draw(st.sampled_from(values))
    _get(data, path[:-1])[path[-1]] = value
    text, line_of = emit(data)
    # a list whose item is out of range (empirical values: [-1]) is refused at the item
    located = path + (0,) if kind == "out_of_range" and isinstance(value, list) and value else path
    return kind, text, dotted(located), line_of[path], None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One folder for every example (module-scoped: hypothesis runs many examples per call)."""
    return tmp_path_factory.mktemp("mutations")


@settings(max_examples=170, **SETTINGS)
@given(mutation=mutations())
def test_any_scenario_with_one_broken_field_is_refused_with_its_line(scratch, mutation):
    """Property: a valid scenario with one field broken makes `capsim validate` and
    `capsim run` exit 2 with FILE:LINE:COL: key.path: message on stderr (for
    broken YAML: FILE:LINE:COL: not valid YAML), nothing on stdout, and no
    traceback; nothing is simulated and nothing written."""
    kind, text, key_path, line, phrase = mutation
    event(kind)
    path = scratch / "x.yaml"
    path.write_text(text, encoding="utf-8")
    out = scratch / "out"
    for command in ("validate", "run"):
        args = [command, str(path)] + (["--out", str(out), "-j", "1", "-q"] if command == "run" else [])
        result = invoke(args)
        context = f"{kind}: {command}\n{text}\nstderr:\n{result.stderr}"
        assert result.exit_code == 2, context
        no_traceback(result)
        assert result.stdout == "", context
        errors = result.stderr.splitlines()
        assert errors and all(e.startswith(f"{path}:") for e in errors), context
        if key_path is None:
            located = [e for e in errors if re.match(rf"{re.escape(str(path))}:{line}:\d+: not valid YAML: ", e)]
        else:
            located = [e for e in errors
                       if re.match(rf"{re.escape(str(path))}:{line}:\d+: {re.escape(key_path)}: \S", e)]
        assert located, f"expected line {line}, key {key_path!r}\n{context}"
        if phrase:
            assert any(phrase in e for e in located), context
        assert not out.exists()
