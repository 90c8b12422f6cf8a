"""The SimPy internals the engine relies on, checked against the installed SimPy.

sim.engine.calendar.Rearmable re-arms one event instead of creating a Timeout
per arrival, using SimPy internals (Event._ok/_value, Event.callbacks,
Environment.schedule, Environment.peek). These tests drive it directly and
compare it with what plain Timeouts do, so that a SimPy upgrade that changes
any of them fails here rather than changing results quietly.
"""

from __future__ import annotations

import math

import pytest
import simpy

from sim.engine.calendar import Rearmable

# binary-exact times, so ties are exact; 0.1 and 0.3 are not, to check the rounding
# of now + (time - now) is the same as a timeout's
STREAM_TIMES = [0.1, 0.3, 0.5, 0.5, 1.0, 1.25, 2.0, 2.0, 3.0, 4.5]


def _world(env: simpy.Environment, log: list) -> None:
    """Other SimPy activity that ties with the stream: a process ticking every 0.5
    days and two timeouts created up front."""

    def ticker():
        for _ in range(8):
            yield env.timeout(0.5)
            log.append(("tick", env.now))

    for day in (1.0, 2.0):
        env.timeout(day).callbacks.append(lambda _, day=day: log.append(("timeout", env.now)))
    env.process(ticker())


def _trace_with_timeouts(times: list[float], until: float | None = None) -> list:
    """The reference: each firing of the stream is a fresh Timeout."""
    env, log, pending = simpy.Environment(), [], list(times)

    def fire(_event):
        log.append(("stream", env.now))
        pending.pop(0)
        if pending:
            env.timeout(pending[0] - env.now).callbacks.append(fire)

    env.timeout(pending[0] - env.now).callbacks.append(fire)
    _world(env, log)
    env.run(until=until)
    return log


def _trace_with_rearmable(times: list[float], until: float | None = None) -> list:
    env, log, pending = simpy.Environment(), [], list(times)

    def fire(event):
        assert event is stream
        log.append(("stream", env.now))
        pending.pop(0)
        if pending:
            event.arm(pending[0])

    stream = Rearmable(env, fire)
    stream.arm(pending[0])
    _world(env, log)
    env.run(until=until)
    return log


def test_fires_at_its_times_in_the_order_timeouts_would():
    """Same firing times (to the last bit) and same order among ties with
    timeouts and a process as a Timeout per firing."""
    expected = _trace_with_timeouts(STREAM_TIMES)
    assert _trace_with_rearmable(STREAM_TIMES) == expected
    assert [t for who, t in expected if who == "stream"] == pytest.approx(STREAM_TIMES)
    # the ties are there: the stream meets the process and the timeouts at 0.5, 1 and 2
    assert ("tick", 1.0) in expected and ("timeout", 2.0) in expected


def test_run_until_stops_before_a_firing_at_the_end_time():
    """env.run(until=T) stops before an event armed for T, as for a timeout (the
    model samples the last day itself because of this)."""
    expected = _trace_with_timeouts(STREAM_TIMES, until=2.0)
    assert _trace_with_rearmable(STREAM_TIMES, until=2.0) == expected
    assert ("stream", 2.0) not in expected and ("stream", 1.25) in expected


def test_ties_break_in_scheduling_order():
    """At the same time: a timeout made before the arming fires first, one made
    after fires after it, and re-arming at `now` goes behind what is already due now."""
    env, log = simpy.Environment(), []

    def fire(event):
        log.append(("stream", env.now))
        if len(log) == 2:
            event.arm(env.now)  # again now, behind the timeout already due now

    env.timeout(3).callbacks.append(lambda _: log.append(("before", env.now)))
    stream = Rearmable(env, fire)
    stream.arm(3)
    env.timeout(3).callbacks.append(lambda _: log.append(("after", env.now)))
    env.run(until=10)
    assert log == [("before", 3), ("stream", 3), ("after", 3), ("stream", 3)]


def test_state_of_the_event_before_during_and_after_firing():
    """Triggered and successful from the start, with value None; processed once
    it has fired and is not re-armed; pending again once re-armed; its subject
    is what it was given."""
    env, seen = simpy.Environment(), []

    def fire(event):
        assert event.subject == "stream s"
        seen.append((event.triggered, event.ok, event.value, event.processed))
        if env.now < 2:
            event.arm(env.now + 1)
            seen.append(event.processed)

    stream = Rearmable(env, fire, "stream s")
    assert stream.triggered and stream.ok and stream.value is None
    stream.arm(1)
    assert not stream.processed
    env.run()
    assert seen == [(True, True, None, True), False, (True, True, None, True)]
    assert stream.processed and env.now == 2


def test_peek_sees_the_next_event_the_end_of_the_run_and_nothing():
    """peek() is the time of the next calendar entry: an armed event, a timeout,
    the stop of run(until=...), or infinity when nothing is left (the stopped
    run's stop stays on the calendar until the run is resumed)."""
    env, seen = simpy.Environment(), []

    def fire(event):
        seen.append(event.peek())

    stream = Rearmable(env, fire)
    assert stream.peek() == math.inf
    stream.arm(5)
    assert stream.peek() == 5
    env.timeout(2)
    assert stream.peek() == 2
    env.run(until=7)  # at 5 the next entry is the stop at 7
    assert seen == [7]
    env.run()
    assert stream.peek() == math.inf


def test_handling_what_comes_before_peek_inline_changes_nothing():
    """The model's shortcut: a firing handles at once every later time that
    comes before anything else on the calendar, and arms the event for the
    first one that does not. Handled times and their order are those of a
    Timeout per time, the stop of run(until=...) included."""
    times = [0.25, 0.5, 0.75, 0.875, 1.0, 1.5, 1.75, 2.0, 2.25, 3.0, 3.5, 3.75, 4.0, 6.0]
    env, log, pending = simpy.Environment(), [], list(times)

    def fire(event):
        now = env.now
        while True:
            log.append(("stream", now))
            pending.pop(0)
            if not pending:
                return
            if pending[0] >= event.peek():
                break
            now = pending[0]
        event.arm(pending[0])

    stream = Rearmable(env, fire)
    stream.arm(pending[0])
    _world(env, log)
    env.run(until=4.0)
    assert log == _trace_with_timeouts(times, until=4.0)
    assert ("stream", 0.875) in log and ("stream", 4.0) not in log
