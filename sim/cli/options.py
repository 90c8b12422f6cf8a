"""What the commands share: the `capsim` group, the options several commands take, and
the one place where capsim's errors become messages and exit codes.

Exit codes: 0 success, 1 a result that fails a check, 2 bad usage or input
(with file, line and key), 3 a replication that broke the model's invariants,
130 interrupted (Ctrl-C, SIGINT), 143 terminated (SIGTERM, handled as Ctrl-C:
an unfinished run is kept for --resume). No traceback reaches the user.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from pathlib import Path

import click

from sim.analysis.results import capsim_version
from sim.errors import CapsimError, Terminated, notes
from sim.execution import limits
from sim.execution.lanes import default_jobs
from sim.scenario import load_scenario


def friendly(command):
    """Turn the errors people can fix into messages and exit codes, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except CapsimError as err:
            for line in err.lines():
                click.echo(line, err=True)
            sys.exit(err.exit_code)
        except OSError as err:
            click.echo(f"capsim: {err.strerror or err}: {err.filename or ''}".rstrip(": "), err=True)
            sys.exit(2)

    return wrapper


max_events_option = click.option(
    "--max-events", type=click.FloatRange(min=0, min_open=True), default=limits.DEFAULT_MAX_EVENTS,
    envvar="CAPSIM_MAX_EVENTS", show_default=True,
    help="Refuse a run estimated at more events than this (rates x days x replications x 3) before "
         "starting. The default is about 3 hours of one core at capsim's measured 0.2-0.6 million "
         "arrivals a second: a slip in a rate or horizon is caught, a deliberate big study raises it.")
resume_option = click.option(
    "--resume", is_flag=True,
    help="Go on with an interrupted run of the same command: its finished replications, kept beside "
         "--out, are not run again; the files are the same as those of an uninterrupted run.")


INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT); SIGTERM's is `Terminated.exit_code`."""


class CapsimGroup(click.Group):
    """The `capsim` group: every command runs with SIGTERM raising `Terminated`,
    and an interrupt becomes its message and exit code here, once for every
    command (click would print "Aborted!" and exit 1)."""

    def invoke(self, ctx: click.Context):
        with _sigterm_as_interrupt():
            try:
                return super().invoke(ctx)
            except KeyboardInterrupt as err:
                what = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
                for line in [f"capsim: {what}; no results folder was written", *notes(err)]:
                    click.echo(line, err=True)
                sys.exit(err.exit_code if isinstance(err, Terminated) else INTERRUPTED)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises Terminated while the block runs (the main thread only: a signal handler
    cannot be set elsewhere; an ignored SIGTERM stays ignored), then the old handler is back."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        yield
        return

    def terminated(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.group(cls=CapsimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(capsim_version(), prog_name="capsim")
def main():
    """capsim: how full will the closed centres be, and what does a policy need?"""


fix_inputs_option = click.option(
    "--fix-inputs", is_flag=True,
    help="Use each uncertain input's mean instead of drawing it per replication (simulation noise alone).")


def read_scenario(file: str, fix_inputs: bool, periods: str | None = None):
    """The scenario of `file`; with `fix_inputs` every uncertain input at its mean, with `periods` results by
    period too (the scenario's own `periods` otherwise)."""
    scenario = load_scenario(file)
    if periods:
        scenario = scenario.model_copy(update={"periods": periods})
    return scenario.at_means() if fix_inputs else scenario


periods_option = click.option("--periods", type=click.Choice(["month", "quarter", "year"]),
                              help="Also give the results by period of the measured window (periods.csv) "
                                   "[the scenario's periods].")


report_option = click.option("--report", "with_report", is_flag=True,
                              help="Also write report.html into the output folder (needs capsim[report]).")


def report_possible(with_report: bool) -> None:
    """With --report, fail before simulating, not after, when matplotlib is missing."""
    if with_report:
        from sim.report import require_matplotlib

        require_matplotlib()


def report_into(with_report: bool):
    """With --report, what writes report.html into a folder (compare, sweep and size: the
    staging folder, so that the report is renamed into place with the results)."""
    if not with_report:
        return None
    from sim.report import write_report

    return write_report


def report_written(out: Path, with_report: bool) -> None:
    if with_report:
        click.echo(f"report: {out / 'report.html'}")


def say_resumed(out: Path):
    def say(kept: int | None) -> None:
        if kept is None:
            click.echo(f"capsim: nothing to resume for {out}; starting from the beginning", err=True)
        else:
            click.echo(f"capsim: resuming: {kept} replication(s) already finished", err=True)
    return say


def where(jobs, scheduler):
    """Shared options: where replications run."""
    return {"jobs": jobs or default_jobs(), "scheduler": scheduler}


jobs_option = click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                            help="Worker processes [the number of cores].")
scheduler_option = click.option("--scheduler", envvar="CAPSIM_SCHEDULER", metavar="ADDRESS",
                                 help="A Dask scheduler address, or 'local'.")


def study_options(command):
    """The options compare, sweep and size share: where to run, inputs, report, limit."""
    for option in (max_events_option, report_option, fix_inputs_option, scheduler_option, jobs_option):
        command = option(command)
    return command

