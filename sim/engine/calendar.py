"""The one place the engine reaches into SimPy's internals: a re-armable event.

Why it exists: speed. A stream has one pending arrival at a time, so instead of
a new `Timeout` per person (an object, its callback list and its scheduling)
the stream keeps one event and re-arms it after each firing. SimPy has no
public API for that; `Rearmable` does it with the internals listed in its
docstring, and tests/test_simpy_contract.py checks each of them against the
installed SimPy, so that an upgrade that changes them fails there and not as
silently different results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import NORMAL


class Rearmable(simpy.Event):
    """An event that fires, is re-armed for a later time, fires again, and so on.

    `arm(time)` schedules it exactly as ``env.timeout(time - env.now)`` would
    (same calendar key, so ties with other events at the same time break in
    scheduling order, as between timeouts); when it fires, SimPy calls
    `callback(event)`, which may re-arm it and finds what the event is about
    in `event.subject` (a bound method needs no closure or partial per call). One firing is pending at a time:
    arm it only when it is new or has fired. `peek()` is SimPy's
    `Environment.peek`: the time of the next event on the calendar (the stop
    of ``env.run(until=...)`` included), so a caller can tell that nothing
    can happen before a given time. It is not for a process to yield: its
    callbacks are its one callback.

    SimPy internals relied on (SimPy 4.1):

    - `Event._ok` and `Event._value`: set once to True and None, which makes
      the event triggered and successful for good (what `Timeout.__init__`
      does); `Environment.step` reads `_ok` after the callbacks and would
      crash the run on a failed event.
    - `Event.callbacks`: `Environment.step` takes the list and sets the
      attribute to None (processed) before calling the callbacks; setting it
      back to a list makes the event pending again.
    - `Environment.schedule(event, NORMAL, delay)`: pushes the event on the
      calendar at ``now + delay`` with the priority and a fresh sequence
      number, as `Timeout` does, and accepts an event that was processed.
    - `Environment.peek()`: the time of the earliest calendar entry.
    """

    def __init__(self, env: simpy.Environment, callback: Callable[[Rearmable], None], subject: Any = None):
        super().__init__(env)
        self._ok, self._value = True, None
        self._armed_callbacks = [callback]
        self.subject = subject
        self.peek: Callable[[], float] = env.peek

    def arm(self, time: float) -> None:
        """Fire at `time` (at ``now + (time - now)``, as a timeout of ``time - now``)."""
        env = self.env
        self.callbacks = self._armed_callbacks
        env.schedule(self, NORMAL, time - env.now)
