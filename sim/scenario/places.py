"""Where each key of a scenario was written: file, line and column.

The YAML loader records the line and column of every key; `extends:` merges
keys from several files, so every mapping and list also remembers the file it
was read from, and a merged one the file and place of each of its items.
`place` turns a key path back into ``file:line:col`` for an error message.
"""

from __future__ import annotations

from typing import Any


def mark_source(node, source: str) -> None:
    """Remember the file every mapping and list of `node` was read from."""
    if isinstance(node, (dict, list)):
        node.capsim_source = source  # type: ignore[union-attr]  # ruamel's CommentedMap and CommentedSeq
        for child in (node.values() if isinstance(node, dict) else node):
            mark_source(child, source)


def copy_place(target, key, node, node_key) -> None:
    """Give target[key] the file, line and column of node[node_key]."""
    if not hasattr(target, "capsim_places"):
        target.capsim_places = {}
    target.capsim_places[key] = getattr(node, "capsim_places", {}).get(
        node_key, (getattr(node, "capsim_source", None), _line_col(node, node_key)))


def _line_col(node, key) -> tuple[int, int] | None:
    lc: Any = getattr(node, "lc", None)
    try:
        return tuple(lc.item(key) if isinstance(node, list) else lc.key(key))
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def place(source: str, data, loc: tuple) -> str:
    """file:line:col of the key at `loc`, or of its nearest parent written in a
    file; with `extends`, the file is the one (base or override) it came from."""
    file, line, column, node = getattr(data, "capsim_source", source), 0, 0, data
    for part in loc:
        places = getattr(node, "capsim_places", None)
        if places is not None:  # a mapping or list merged from several files
            if part not in places or places[part][1] is None:
                break
            (written_in, (line, column)) = places[part]
            file = written_in or file
        else:
            here = _line_col(node, part) if isinstance(node, list) or (isinstance(node, dict) and part in node) \
                else None
            if here is None:
                break
            line, column = here
            file = getattr(node, "capsim_source", file)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    return f"{file}:{line + 1}:{column + 1}"
