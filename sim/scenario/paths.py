"""Dotted paths into scenario data, as `capsim sweep --set` and `Scenario.uncertain_inputs` write them,
and what one scenario changes from another, by those paths.

Streams and origins are addressed by name, not by position:
``streams.brussels_south.origins.maghreb.return_probability``.
"""

from __future__ import annotations

from sim.formatting import as_written


def set_path(data: dict, path: str, value) -> None:
    """Set a dotted PATH in scenario data; streams and origins are addressed by name
    (``streams.brussels_south.origins.maghreb.return_probability``).

    Raises
    ------
    KeyError
        With a message naming what does not exist.
    """
    parts = path.split(".")
    node = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            matches = [item for item in node if isinstance(item, dict) and item.get("name") == part]
            if not matches:
                names = ", ".join(str(item.get("name")) for item in node if isinstance(item, dict))
                raise KeyError(f"{'.'.join(parts[:depth])}: no item named {part!r} (there are: {names})")
            node = matches[0]
        elif isinstance(node, dict):
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            raise KeyError(f"{'.'.join(parts[:depth])} is a value, not a mapping")
    if isinstance(node, list):
        raise KeyError(f"{path}: address an item of a list by its name")
    node[parts[-1]] = value


def changes(base: dict, alt: dict) -> list[str]:
    """What scenario data `alt` changes from `base`, by dotted path, in the order of `base`'s keys:
    ['capacity.beds 751 → 539', 'streams.summer_plan added', ...] (name and description left out)."""
    return [change for key in [*base, *[k for k in alt if k not in base]] if key not in ("name", "description")
            for change in _changes(base.get(key), alt.get(key), key)]


def _changes(before, after, path: str) -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        return [change for key in [*before, *[k for k in after if k not in before]]
                for change in _changes(before.get(key), after.get(key), f"{path}.{key}")]
    if (_named(before) or _named(after)) and all(_named(items) or not items for items in (before, after)):
        old, new = ({item["name"]: item for item in items or []} for items in (before, after))
        return [change for name in [*old, *[n for n in new if n not in old]]
                for change in ([f"{path}.{name} added"] if name not in old else
                               [f"{path}.{name} removed"] if name not in new else
                               _changes(old[name], new[name], f"{path}.{name}"))]
    return [] if before == after else [f"{path} {_value(before)} → {_value(after)}"]


def _named(data) -> bool:
    """A list of named items (streams, origins, capacity changes), compared by name."""
    return isinstance(data, list) and bool(data) and all(isinstance(item, dict) and item.get("name") for item in data)


def _value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return as_written(value)
