"""The `capsim` command: parse, call the library, print, exit.

`main` is the click group (sim.cli.options); importing the command modules
registers their commands on it.
"""

from sim.cli import commands, studies
from sim.cli.options import main

__all__ = ["commands", "main", "studies"]
