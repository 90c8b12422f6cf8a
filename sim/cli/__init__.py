"""The `capsim` command: parse, call the library, print, exit.

`main` is the click group (sim.cli.options); importing the command modules
registers their commands on it. `program` is what the `capsim` script and
`python -m sim` run.
"""

import os
import sys

from sim.cli import commands, studies
from sim.cli.options import INTERRUPTED, main
from sim.errors import Terminated


def program() -> None:
    """The group as a program. Once interrupted (Ctrl-C, SIGTERM), and its message printed,
    capsim exits at once: the interpreter's exit would first join the threads that read
    the worker processes' results, and one whose worker was killed in the middle of
    sending a result waits for the rest of it for ever."""
    try:
        main()
    except SystemExit as done:
        if done.code in (INTERRUPTED, Terminated.exit_code):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(done.code)
        raise


__all__ = ["commands", "main", "program", "studies"]
