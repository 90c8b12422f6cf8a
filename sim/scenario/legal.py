"""The legal clock as the law builds it: a first title, extensions granted with a probability, and
removal attempts that a refusal to board starts again.

Belgian law detains for removal on a first title (2 months), extended by
titles that are each granted or refused (2 + 2 + 1 months up to 5; month by
month up to 8 for public-order cases). When a person refuses to board, the
Court of Cassation and the ECtHR (Kabongo v. Belgium) accept that the clock
starts again: a new attempt follows after a new time to return. These models
are the keys of a stream (`legal_clock`, `attempts`) and of an origin group
(`refuses_boarding`, `attempts`); `sim/engine/legal.py` turns them into stays.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from sim.scenario.durations import PositiveDays
from sim.scenario.keys import Strict

MOST_ATTEMPTS = 6
"""Removal attempts allowed per person at most: more is no planning case, and the engine's fate codes
count refusals up to it."""



class Extension(Strict):
    """A title that may follow the current one: its length and the chance it is granted.

    Examples
    --------
    ``{length: 2 months, granted: 0.9}``
    """

    length: PositiveDays = Field(description="the length of the extension (a duration such as '2 months')")
    granted: float = Field(ge=0, le=1, description="the chance that the extension is granted when the "
                                                   "current title runs out")


class LegalClock(Strict):
    """The maximum detention as the law builds it: a first title, then extensions in order.

    The first refused extension ends the stay when the current title runs
    out (counted as `released_not_extended`, among `released_deadline`); a
    stay that runs through every extension ends at the last one's end
    (`released_deadline`). Replaces the stream's `max_detention`.

    Examples
    --------
    ``{first: 2 months, extensions: [{length: 2 months, granted: 0.9}, {length: 1 month, granted: 0.7}]}``
    """

    first: PositiveDays = Field(description="the first title (a duration such as '2 months')")
    extensions: list[Extension] = Field(default_factory=list, description="the extensions that may follow, "
                                        "in order, each with its length and the chance it is granted")

    @property
    def nominal_maximum(self) -> float:
        """The longest stay on one clock: the first title and every extension."""
        return self.first + sum(extension.length for extension in self.extensions)


LegalClockKey = Annotated[LegalClock | None, Field(
    description="the maximum detention as the law builds it: a first title, then extensions each granted with "
                "a probability; replaces max_detention; none: max_detention")]
AttemptsKey = Annotated[int, Field(ge=1, le=MOST_ATTEMPTS, description=(
    "removal attempts allowed to a person who refuses to board; the clock starts again after each refusal, "
    "and the last refusal ends the stay (counted as released_after_refusals)"))]
OriginAttemptsKey = Annotated[AttemptsKey | None, Field(description="the group's own number of removal "
                                                                    "attempts; none: the stream's `attempts`")]
RefusesBoardingKey = Annotated[float, Field(ge=0, le=1, description="the chance that a removal attempt of a "
                                            "detainee of this group fails because the person refuses to board")]
"""The keys of a stream (legal_clock, attempts) and of an origin group (refuses_boarding, attempts), whose
defaults schema.py sets (left out of the scenario's data while unused)."""


def refusals_possible(stream: Any) -> bool:
    """Does some origin group of the `streams.Stream` `stream` refuse to board?"""
    return any(origin.refuses_boarding > 0 for origin in stream.origins)


def uses_legal_clock(stream: Any) -> bool:
    """Does `stream` use the legal clock (extensions, or refusals to board)? Otherwise its stays are as
    before the clock existed, drawn from the same random numbers and no others."""
    return stream.legal_clock is not None or refusals_possible(stream)


def attempts(stream: Any, origin: Any) -> int:
    """The removal attempts allowed to a person of `origin` in `stream`: the group's own, or the stream's."""
    return origin.attempts if origin.attempts is not None else stream.attempts


def nominal_maximum(stream: Any, max_detention: float) -> float:
    """The longest stay on one clock of `stream`, whose maximum detention (without a legal clock) is
    `max_detention`."""
    return stream.legal_clock.nominal_maximum if stream.legal_clock is not None else max_detention


def longest_stay(stream: Any, max_detention: float) -> float:
    """The longest stay the law allows in `stream`: one clock, or one per attempt when people refuse
    to board (the clock starts again after each refusal; the last refusal ends the stay)."""
    most = max(attempts(stream, origin) for origin in stream.origins) if refusals_possible(stream) else 1
    return most * nominal_maximum(stream, max_detention)


def legal_problems(data: dict) -> list[tuple[tuple, str]]:
    """Rules across keys, read from the data as written: a stream with a legal clock has no
    `max_detention` of its own, not even by a dated change."""
    problems: list[tuple[tuple, str]] = []
    streams, changes = data.get("streams"), data.get("parameter_changes")
    clocked = set()
    for i, stream in enumerate(streams if isinstance(streams, list) else []):
        if isinstance(stream, dict) and stream.get("legal_clock") is not None:
            clocked.add(stream.get("name"))
            if stream.get("max_detention") is not None:
                problems.append((("streams", i, "max_detention"), "a stream with a legal_clock takes its maximum "
                                 "from the clock: remove max_detention (or the legal_clock)"))
    for i, change in enumerate(changes if isinstance(changes, list) else []):
        paths = change.get("set") if isinstance(change, dict) else None
        for path in paths if isinstance(paths, dict) else {}:
            if any(path == f"streams.{name}.max_detention" for name in clocked):
                problems.append((("parameter_changes", i, "set", path), "this stream has a legal_clock, "
                                 "which sets its maximum: a dated change cannot set max_detention"))
    return problems
