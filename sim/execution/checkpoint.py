"""Finished replications kept in a run's staging folder, so that an interrupted run can resume.

`capsim run` and `capsim sweep` fill a temporary folder beside their target
(results.atomic_folder). A Checkpoint keeps every finished replication there,
one pickle per replication written to a temporary file and renamed into place,
so a run killed at any moment leaves only whole files. A plan (scenario hashes,
seed, replications, capsim version, format of a replication) says which run the
files belong to: a
checkpoint is resumed only by the same run, and since replication r always
gives the same result, a resumed run writes the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from sim.analysis.results import capsim_version
from sim.engine.model import REPLICATION_FORMAT
from sim.errors import CheckpointMismatch
from sim.files import write_atomically
from sim.scenario import Scenario

FOLDER = ".checkpoint"
"""Inside a staging folder: the finished replications of a run that may resume (see checkpoint.py)."""

PLAN = "plan.json"
"""In the checkpoint folder: which run its replications belong to (see checkpoint.py)."""


def holds_checkpoint(staging: Path) -> bool:
    """Does a staging folder hold a checkpoint that --resume could continue?"""
    return (staging / FOLDER / PLAN).is_file()


_REPLICATION_FILE = re.compile(r"^s(\d+)-r(\d+)\.pickle$")


def run_plan(command: str, scenarios: Sequence[Scenario], *, seed: int, replications: int | None,
             **options) -> dict:
    """What identifies a run's replications: a checkpoint is resumed only by the same plan.

    `replications` is None with a precision target (then `options` hold it);
    `options` are any other settings that change which replications run.
    """
    return {
        "command": command,
        "capsim_version": capsim_version(),
        "replication_format": REPLICATION_FORMAT,
        "scenarios": [{"name": s.name, "sha256": s.sha256(), **({"periods": s.periods} if s.periods else {})}
                      for s in scenarios],
        "seed": seed,
        "replications": replications,
        "options": {key: value for key, value in sorted(options.items()) if value is not None},
    }


class Checkpoint:
    """The finished replications of one run, kept in ``STAGING/.checkpoint``.

    Replication r of the i-th scenario of the run is ``s{i}-r{r}.pickle``.
    Use `open`; `save` as replications finish, `finished` to skip them on resume.
    """

    def __init__(self, folder: Path, plan: dict, resumed: bool):
        self.folder = folder
        self.plan = plan
        self.resumed = resumed

    @classmethod
    def open(cls, staging: Path, plan: dict, resume: bool) -> Checkpoint:
        """Start a checkpoint in `staging`, or with `resume` continue the one there.

        Raises
        ------
        CheckpointMismatch
            The checkpoint in `staging` is of another plan (left as it is).
        """
        folder = staging / FOLDER
        plan_file = folder / PLAN
        if resume and plan_file.is_file():
            kept = json.loads(plan_file.read_text(encoding="utf-8"))
            if kept != plan:
                raise CheckpointMismatch(
                    f"cannot resume: the unfinished run kept in {staging} is not this run "
                    f"({_difference(kept, plan)}). Run the same command as before with --resume, "
                    "or run without --resume to start over (that discards it)")
            return cls(folder, plan, resumed=True)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        write_atomically(plan_file, (json.dumps(plan, indent=2, sort_keys=True) + "\n").encode())
        return cls(folder, plan, resumed=False)

    def finished(self, wanted: set[tuple[int, int]] | None = None) -> dict[tuple[int, int], object]:
        """The replications kept (those of `wanted` only): {(scenario index, replication): RepResult}."""
        found = {}
        for path in self.folder.iterdir():
            match = _REPLICATION_FILE.match(path.name)
            if match and (wanted is None or (int(match.group(1)), int(match.group(2))) in wanted):
                try:
                    found[int(match.group(1)), int(match.group(2))] = pickle.loads(path.read_bytes())
                except Exception:  # unreadable (a damaged disk): run that replication again
                    path.unlink(missing_ok=True)
        return found

    def count(self) -> int:
        """How many replications are kept."""
        return sum(1 for path in self.folder.iterdir() if _REPLICATION_FILE.match(path.name))

    def save(self, scenario_index: int, replication: int, rep) -> None:
        """Keep one finished replication (a whole file or none, whenever the process dies)."""
        write_atomically(self.folder / f"s{scenario_index}-r{replication}.pickle",
                          pickle.dumps(rep, protocol=pickle.HIGHEST_PROTOCOL))

    def discard(self) -> None:
        """Remove the checkpoint (the results are written: it must not be renamed into place)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _difference(kept: dict, wanted: dict) -> str:
    """What differs between the kept plan and this run's, in words."""
    said = []
    if [s["sha256"] for s in kept["scenarios"]] != [s["sha256"] for s in wanted["scenarios"]]:
        names = ", ".join(s["name"] for s in kept["scenarios"][:3]) + (", ..." if len(kept["scenarios"]) > 3 else "")
        said.append(f"it ran a different scenario ({names} as it was then)"
                    if len(kept["scenarios"]) == len(wanted["scenarios"])
                    else f"it ran {len(kept['scenarios'])} scenario(s), this run {len(wanted['scenarios'])}")
    for key, label in [("seed", "seed"), ("replications", "replications"), ("command", "command"),
                       ("capsim_version", "capsim version"), ("replication_format", "replication format"),
                       ("options", "options")]:
        there, here = kept.get(key), wanted.get(key)
        if there != here:
            if key == "options":
                there, here = (", ".join(f"{k} {v}" for k, v in (o or {}).items()) or "none" for o in (there, here))
            said.append(f"{label} {there} there, {here} here")
    return "; ".join(said) or "a different plan"
