"""Dotted paths into scenario data, as `capsim sweep --set` and `Scenario.uncertain_inputs` write them.

Streams and origins are addressed by name, not by position:
``streams.brussels_south.origins.maghreb.return_probability``.
"""

from __future__ import annotations


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
