"""Opening hours in a branch's local time: is it open, when does it next open (pure functions).

Times are stored as wall-clock times of the branch's timezone and turned into instants only for a
given date, so a branch that opens at 08:00 opens at 08:00 on both sides of a daylight-saving
change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Look this far ahead for the next opening; a branch closed for longer is treated as closed.
SEARCH_DAYS = 400


@dataclass(frozen=True)
class WeeklyHours:
    """Opening time per weekday (Monday is 0), plus the dates the branch is closed."""

    days: Mapping[int, tuple[time, time]]
    holidays: frozenset[date] = frozenset()
    # (first day, last day, opens, closes): other hours on the working days of a date range
    # (Ramadan); a later range wins over an earlier one that covers the same day.
    special: tuple[tuple[date, date, time, time], ...] = ()

    @classmethod
    def of(
        cls,
        days: Mapping[int, tuple[time, time]],
        holidays: Iterable[date] = (),
        special: Iterable[tuple[date, date, time, time]] = (),
    ) -> WeeklyHours:
        return cls(dict(days), frozenset(holidays), tuple(special))

    def hours_on(self, day: date) -> tuple[time, time] | None:
        if day in self.holidays:
            return None
        usual = self.days.get(day.weekday())
        if usual is None:
            return None
        for first, last, opens, closes in reversed(self.special):
            if first <= day <= last:
                return opens, closes
        return usual


def local_now(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


def window_on(hours: WeeklyHours, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The instants the branch opens and closes on a local day, or None when it is closed."""
    found = hours.hours_on(day)
    if found is None:
        return None
    opens, closes = found
    return (
        datetime.combine(day, opens, tzinfo=zone),
        datetime.combine(day, closes, tzinfo=zone),
    )


def is_open(hours: WeeklyHours, instant: datetime, zone: ZoneInfo) -> bool:
    local = instant.astimezone(zone)
    window = window_on(hours, local.date(), zone)
    return window is not None and window[0] <= local < window[1]


def next_opening(hours: WeeklyHours, instant: datetime, zone: ZoneInfo) -> datetime | None:
    """The first opening at or after ``instant`` (the current window's start if open now)."""
    local = instant.astimezone(zone)
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        window = window_on(hours, day, zone)
        if window is None:
            continue
        if offset == 0 and local >= window[1]:
            continue
        return window[0]
    return None


def closing_time(hours: WeeklyHours, instant: datetime, zone: ZoneInfo) -> datetime | None:
    """When today's window closes, if the branch is open at ``instant``."""
    local = instant.astimezone(zone)
    window = window_on(hours, local.date(), zone)
    if window is None or not window[0] <= local < window[1]:
        return None
    return window[1]


def opening_later_today(hours: WeeklyHours, now: datetime, zone: ZoneInfo) -> datetime | None:
    """Today's opening, if it is still to come (None on a closed day or once open)."""
    window = window_on(hours, now.astimezone(zone).date(), zone)
    if window is None or now >= window[0]:
        return None
    return window[0]
