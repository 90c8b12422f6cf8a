"""The seed tree: reproducible, independent random streams by name.

Replication r of a run with seed S uses ``SeedSequence(S).spawn(R)[r]``
(equivalently, spawn key ``(r,)``). Inside a replication every (stream, purpose)
pair gets a generator of its own whose key is derived from the names, never
from positions in a list: two scenarios that differ only in beds, or list their
streams in another order, see the same people with the same fates (common
random numbers), and adding a stream does not disturb the others.
"""

from __future__ import annotations

import hashlib

import numpy as np


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The seed of replication `replication`: ``SeedSequence(seed).spawn(R)[replication]``
    for any R > replication, without spawning the others."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def generator(replication: np.random.SeedSequence, *names: str) -> np.random.Generator:
    """A generator for one purpose of one stream, e.g. ``generator(rep, "brussels_south", "arrivals")``."""
    child = np.random.SeedSequence(
        replication.entropy,
        spawn_key=tuple(replication.spawn_key) + tuple(_name_key(name) for name in names),
    )
    return np.random.Generator(np.random.PCG64(child))
