"""The rules of centres that span several keys: capacity or centres, usable places within the nominal
ones, placements that name centres, and people of every sex and category a centre restricts on.

Read from the data as written (values the schema rejects are skipped: the schema reports them), each
problem as (location, message), like the rest of `checks`.
"""

from __future__ import annotations

import itertools

from sim.scenario.centres import DIMENSIONS
from sim.scenario.messages import did_you_mean, echo

NOT_WITH_CENTRES = {
    "reserved_beds": "reserved beds", "max_beds": "a cap on the beds a stream holds",
    "detained_at_start": "people detained at day 0"}
"""Stream keys that work with one pool of beds and not yet with centres: refused, never ignored."""


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _items(value) -> list:
    return list(value) if isinstance(value, list) else []


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def centre_problems(data: dict) -> list[tuple[tuple, str]]:
    """Every rule of centres across keys (see the module's docstring)."""
    has_centres, has_capacity = data.get("centres") is not None, data.get("capacity") is not None
    if has_centres and has_capacity:
        return [(("centres",), "give either capacity (one pool of beds) or centres, not both (a scenario that "
                               "extends one with capacity writes `capacity: null`)")]
    if not has_centres:
        return ([] if has_capacity else [(("capacity",), "is required: give capacity (one pool of beds) or "
                                                        "centres")]) + _without_centres(data)
    centres = [_mapping(centre) for centre in _items(data.get("centres"))]
    problems = _places_problems(centres) + _keys_of_one_pool(data)
    names = [centre.get("name") for centre in centres if isinstance(centre.get("name"), str)]
    streams = [_mapping(stream) for stream in _items(data.get("streams"))]
    for s, stream in enumerate(streams):
        placement = _items(stream.get("placement"))
        for i, name in enumerate(placement):
            if isinstance(name, str) and name not in names:
                problems.append((("streams", s, "placement", i), f"no centre is named {echo(name)}"
                                 f"{did_you_mean(name, names)}"))
            elif name in placement[:i]:
                problems.append((("streams", s, "placement", i), f"{echo(name)} is named twice"))
            elif isinstance(name, str) and not any(_takes(_mapping(centres[names.index(name)].get("accepts")), *kind)
                                                   for kind in _kinds(stream)):
                problems.append((("streams", s, "placement", i), f"centre {echo(name)} accepts none of this "
                                                                  "stream's people (see its accepts and their people)"))
    return problems + _people_problems(centres, streams)


def _kinds(stream: dict) -> list[tuple]:
    """The (sex, category) a stream's people can be, over its own shares and its origin groups' (None: not
    described)."""
    stream_people = _mapping(stream.get("people"))
    return sorted({kind for people in [stream_people] + [_mapping(_mapping(o).get("people"))
                                                         for o in _items(stream.get("origins"))]
                   for kind in _kinds_of(people, stream_people)}, key=str)


def _kinds_of(people: dict, stream_people: dict) -> list[tuple]:
    """The (sex, category) with a share above 0 in `people` (an origin group's over its stream's)."""
    shares = [_mapping(people.get(d)) or _mapping(stream_people.get(d)) for d in DIMENSIONS]
    return list(itertools.product(*[[v for v, share in values.items() if isinstance(share, (int, float))
                                     and share > 0] or [None] for values in shares]))


def _without_centres(data: dict) -> list[tuple[tuple, str]]:
    """The keys of centres in a scenario of one pool of beds."""
    problems: list[tuple[tuple, str]] = []
    for s, stream in enumerate(_items(data.get("streams"))):
        stream = _mapping(stream)
        for key in ("people", "placement"):
            if stream.get(key) is not None:
                problems.append((("streams", s, key), "only with centres (this scenario has one pool of beds, "
                                                      "`capacity`)"))
        for o, origin in enumerate(_items(stream.get("origins"))):
            if _mapping(origin).get("people") is not None:
                problems.append((("streams", s, "origins", o, "people"), "only with centres (this scenario has "
                                                                          "one pool of beds, `capacity`)"))
    return problems


def _places_problems(centres: list[dict]) -> list[tuple[tuple, str]]:
    """Unique names, and usable places within the nominal ones at day 0 and after each change."""
    problems: list[tuple[tuple, str]] = []
    seen: set = set()
    for k, centre in enumerate(centres):
        name = centre.get("name")
        if isinstance(name, str) and name in seen:
            problems.append((("centres", k, "name"), f"centre names must be unique ({name!r} is repeated)"))
        seen.add(name)
        places, usable = _count(centre.get("places")), _count(centre.get("usable"))
        steps: list[tuple[tuple, int | None, int | None]] = [(("centres", k, "usable"), places, usable)]
        for i, change in enumerate(_items(centre.get("changes"))):
            change = _mapping(change)
            places = _count(change.get("places")) if change.get("places") is not None else places
            usable = _count(change.get("usable")) if change.get("usable") is not None else usable
            steps.append((("centres", k, "changes", i, "usable" if "usable" in change else "places"), places,
                          usable))
        problems += [(loc, f"{usable} usable places exceed the {places} nominal places")
                     for loc, places, usable in steps if places is not None and usable is not None and usable > places]
    return problems


def _keys_of_one_pool(data: dict) -> list[tuple[tuple, str]]:
    problems: list[tuple[tuple, str]] = []
    if data.get("detained_file") is not None:
        problems.append((("detained_file",), "people detained at day 0 are not yet modelled with centres (which "
                                             "centre holds each is unknown): use capacity, or leave them out"))
    for s, stream in enumerate(_items(data.get("streams"))):
        stream = _mapping(stream)
        for key, what in NOT_WITH_CENTRES.items():
            if stream.get(key) not in (None, 0):
                problems.append((("streams", s, key), f"{what}: not yet modelled with centres (use capacity, or "
                                                      "leave it out)"))
    return problems


def _people_problems(centres: list[dict], streams: list[dict]) -> list[tuple[tuple, str]]:
    """Every stream describes its people by each dimension that a centre restricts on or a stream names; every
    value named is accepted by some centre; and every person a stream can bring has a centre."""
    problems: list[tuple[tuple, str]] = []
    accepts = [_mapping(centre.get("accepts")) for centre in centres]
    for dimension in DIMENSIONS:
        restricting = [centre.get("name") for centre, accepted in zip(centres, accepts)
                       if accepted.get(dimension) is not None]
        described = [s for s, stream in enumerate(streams) if _shares(stream, dimension) is not None
                     or any(_shares(o, dimension) is not None for o in _items(stream.get("origins")))]
        if not restricting and not described:
            continue
        why = (f"centre {echo(restricting[0])} accepts by {dimension}" if restricting
               else f"stream {echo(streams[described[0]].get('name'))} describes its people by {dimension}")
        for s, stream in enumerate(streams):
            origins = [_mapping(o) for o in _items(stream.get("origins"))]
            if _shares(stream, dimension) is None and not (origins and all(_shares(o, dimension) is not None
                                                                           for o in origins)):
                problems.append((("streams", s, "people"), f"{why}: say the {dimension} shares of this stream's "
                                                            f"people (people: {{{dimension}: {{NAME: share, ...}}}})"))
    for s, stream in enumerate(streams):
        for loc, people in [(("streams", s, "people"), _mapping(stream.get("people")))] + [
                (("streams", s, "origins", o, "people"), _mapping(_mapping(origin).get("people")))
                for o, origin in enumerate(_items(stream.get("origins"))) if _mapping(origin).get("people")]:
            problems += _unplaced(loc, people, _mapping(stream.get("people")), accepts)
    return problems


def _shares(node, dimension: str) -> dict | None:
    shares = _mapping(_mapping(node).get("people")).get(dimension)
    return shares if isinstance(shares, dict) else None


def _unplaced(loc: tuple, people: dict, stream_people: dict, accepts: list[dict]) -> list[tuple[tuple, str]]:
    """The people of `people` (a stream's, or an origin group's over its stream's) that no centre accepts."""
    problems: list[tuple[tuple, str]] = []
    for dimension in DIMENSIONS:
        values = people.get(dimension)  # the values inherited from the stream are told at the stream
        for value in values if isinstance(values, dict) else {}:
            if not any(a.get(dimension) is None or value in _items(a.get(dimension)) for a in accepts):
                named = sorted({v for a in accepts for v in _items(a.get(dimension)) if isinstance(v, str)})
                problems.append((loc + (dimension, value), f"no centre accepts {dimension} {echo(value)}"
                                 f"{did_you_mean(value, named)}"))
    if problems:
        return problems
    for sex, category in _kinds_of(people, stream_people):
        if not any(_takes(a, sex, category) for a in accepts):
            who = " of category ".join(echo(v) for v in (sex, category) if v is not None)
            problems.append((loc, f"no centre accepts {who}: every one of them would be turned away (add a centre "
                                  "that accepts them, or set their share to 0)"))
    return problems


def _takes(accepts: dict, sex: str | None, category: str | None) -> bool:
    return all(value is None or accepts.get(d) is None or value in _items(accepts.get(d))
               for d, value in zip(DIMENSIONS, (sex, category)))
