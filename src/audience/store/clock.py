"""The one clock: every time a stage records comes from a clock passed down to it.

Commands and the server make a :class:`SystemClock` and hand it down; tests hand down a
:class:`FixedClock` (or move the system clock with ``time-machine``) so that nothing depends
on the day the tests run. A stage never reads the wall clock itself.

Timestamps in the warehouse are UTC without a zone (:func:`to_utc_naive`).

Examples
--------
>>> from datetime import datetime
>>> clock = FixedClock(datetime(2030, 1, 2, 3, 4, 5))
>>> clock.now()
datetime.datetime(2030, 1, 2, 3, 4, 5)
>>> clock.advance(seconds=10).now()
datetime.datetime(2030, 1, 2, 3, 4, 15)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


def to_utc_naive(value: datetime) -> datetime:
    """The warehouse convention: UTC without a zone (naive values are taken as UTC)."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


class Clock(Protocol):
    """Something that tells the time, in the warehouse convention."""

    def now(self) -> datetime:
        """The current time, UTC without a zone."""
        ...


class SystemClock:
    """The machine's clock; made once by a command or the server, then passed down."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)


class FixedClock:
    """A clock that stands still until moved: for tests, backtests and replays."""

    def __init__(self, at: datetime) -> None:
        self.at = to_utc_naive(at)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> FixedClock:
        """Move forward by ``timedelta(**delta)``; returns the clock itself."""
        self.at += timedelta(**delta)
        return self


SYSTEM_CLOCK = SystemClock()
"""The default of commands and the server: the machine's clock."""
