"""The one clock the queue engine reads time from.

Everything in the domain takes a ``Clock`` and calls ``now()``; tests and simulations pass a
``FixedClock`` they can move, the demo may pass a ``ShiftedClock`` so that a newcomer sees open
offices at any hour of their own day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)


class ShiftedClock:
    """Real time moved by a fixed offset: time still passes, as on a wall clock set wrong."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset
