"""Regenerate the example outputs in README.md by running their commands.

A block in the README looks like

    <!-- example: capsim theory scenarios/brussels-south.yaml -->
    ```text
    (output, replaced by this script)
    ```
    <!-- /example -->

so that every output a reader sees was printed by capsim, not typed, except
one thing: the wall time a run reports ("30 replications in 2.1 s"), which
differs on every run, is shown as "in ... s".
Run it with `make readme`.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

WALL_TIME = re.compile(r"in \d+(\.\d+)? s;")
"""The wall time of a run (`capsim run`'s last line), which no two runs share."""
BLOCK = re.compile(r"(<!-- example: (?P<command>.+?) -->\n)```text\n.*?```\n(<!-- /example -->)", re.S)


def run(command: str) -> str:
    argv = shlex.split(command)
    if argv[0] == "capsim":
        argv = [sys.executable, "-m", "sim", *argv[1:]]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command!r} failed ({done.returncode}):\n{done.stderr}")
    return f"$ {command}\n{WALL_TIME.sub(r'in ... s;', done.stdout)}"


def main(path: str = "README.md") -> None:
    readme = Path(path)
    text = readme.read_text(encoding="utf-8")

    def replace(match: re.Match) -> str:
        print(f"running: {match['command']}", file=sys.stderr)
        return f"{match.group(1)}```text\n{run(match['command'])}```\n{match.group(3)}"

    readme.write_text(BLOCK.sub(replace, text), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
