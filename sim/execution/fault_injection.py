"""A worker that dies on demand, for the tests of retries, checkpoints and --resume.

A dead worker (killed for lack of memory, by a signal) must fail only its
chunk, be retried once and never cost a finished replication; the tests make
one die at a chosen replication through an environment variable. Nothing
happens unless the variable is set.
"""

from __future__ import annotations

import os

TEST_KILL_REPLICATION = "CAPSIM_TEST_KILL_REPLICATION"
"""Test hook: ``R`` makes a worker process die (os._exit) whenever it starts
replication R; ``R:MARKER`` only the first time (it creates the file MARKER).
Worker processes only: never the process that runs the command. Read in this
process when the replications are sent out, and sent with them."""


def die_if_asked(setting: str, replication: int) -> None:
    """The TEST_KILL_REPLICATION hook: die at once as a killed worker would."""
    target, _, marker = setting.partition(":")
    if int(target) != replication:
        return
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return  # died once already
    os._exit(1)
