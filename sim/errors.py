"""Every error capsim raises for a person to read, each with the exit code of the command.

The command line catches `CapsimError` once and prints `lines()`: no
traceback reaches the user. Exit codes: 1 a run that cannot go on (a worker
that died twice), 2 bad input or usage (with the file, line and key where
there is one), 3 a replication that broke the model's invariants. This module
imports nothing of capsim: every layer may raise these.
"""

from __future__ import annotations


class CapsimError(Exception):
    """An error with a message for a person and the exit code of the command that met it."""

    exit_code = 2

    def lines(self) -> list[str]:
        """What the command prints, one line each (then the notes added on the way up)."""
        return [f"capsim: {self}", *notes(self)]


class ScenarioError(CapsimError):
    """A scenario file that cannot be run; `problems` lists each, ready to print
    (``file:line:col: key.path: what is wrong``)."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    def lines(self) -> list[str]:
        return list(self.problems)


class InvariantViolation(CapsimError):
    """A replication broke a law of the model (conservation, capacity, maximum detention)."""

    exit_code = 3


class SchedulerUnavailable(CapsimError):
    """A Dask scheduler was asked for and cannot be used (not installed, unreachable)."""


class RunStopped(CapsimError):
    """The run cannot go on; the message says what to do."""

    exit_code = 1


class WorkerFailure(RunStopped):
    """Replications killed their worker process twice (the first run and the retry)."""


class CheckpointMismatch(RunStopped):
    """--resume found the checkpoint of another run (scenario, seed, replications, capsim version)."""

    exit_code = 2


class TooBig(RunStopped):
    """The estimated events exceed the limit (--max-events)."""

    exit_code = 2


class NotCapsimFolder(CapsimError, FileExistsError):
    """The target exists and capsim did not write it: it is left alone unless overwriting is asked for."""


class CheckInputError(CapsimError, FileNotFoundError):
    """A results or baseline folder that cannot be checked (missing files)."""


class NotAResultsFolder(CapsimError, FileNotFoundError):
    """The folder holds none of the files capsim run, compare, sweep, size or project write."""


class ReportUnavailable(CapsimError):
    """matplotlib (the `report` extra) is not installed."""

    def __init__(self, message: str = "the report needs the report extra: pip install 'capsim[report]'"):
        super().__init__(message)


def notes(error: BaseException) -> list[str]:
    """What was added to an error on the way up (e.g. where an unfinished run is kept for --resume)."""
    return [f"capsim: {note}" for note in getattr(error, "__notes__", ())]


class DamagedResults(CapsimError):
    """A file of a results or baseline folder is not as capsim writes it (cut short, empty, not
    text, not a number, a row of the wrong length, too few replications): the check can say
    neither pass nor fail. The message names the file and, in a CSV file, the line."""


class DiskFull(CapsimError):
    """A results folder could not be written: its disk is full, over quota or read-only. The
    message names the path, what was kept (the checkpoint of finished replications) and how to
    free the space."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (what `timeout`, CI runners, systemd and container stops send), handled as Ctrl-C
    is: the run stops where it is, an unfinished run is kept for --resume; exit 128 + 15."""

    exit_code = 143
