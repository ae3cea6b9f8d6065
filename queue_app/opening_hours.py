"""Opening hours in a branch's local time: is it open, when does it next open (pure functions).

Times are stored as wall-clock times of the branch's timezone and turned into instants only for a
given date, so a branch that opens at 08:00 opens at 08:00 on both sides of a daylight-saving
change. Around a change the wall clock is not one-to-one with time (``instant_of``), so every
comparison here is between instants, and the instants given out carry a fixed UTC offset: two
datetimes of one ``ZoneInfo`` compare and subtract by their wall-clock readings (which repeat an
hour in Egypt at the end of October), and one inside the repeated hour is never ``==`` to the
same instant in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
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


def _wall(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def instant_of(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant the wall clock of ``zone`` first shows ``wall`` on ``day``, with the offset of
    ``zone`` then.

    A time that comes twice (Egypt's 23:00-24:00 on the last Thursday of October) is its first
    pass: the wall clock reaches it before the clocks go back, as the slots count it. A time that
    never comes (Egypt's 00:00-01:00 on the last Friday of April) is the moment the clocks jump
    over it: from then on the wall clock shows it or later. ``datetime.combine`` would read such
    a time with the offset before the jump, as late as it is into the gap (00:30 as 01:30).
    """
    moment = datetime.combine(day, wall, tzinfo=zone)
    after = moment.astimezone(UTC)
    if _wall(after.astimezone(zone)) == _wall(moment):
        return _fixed(after, zone)
    # In the gap: read with the offset after the jump it falls before it, with the one before
    # the jump after it; the jump is the first whole second between them that shows ``wall``
    # or later (a gap is at most a day, so a few dozen steps).
    before = moment.replace(fold=1).astimezone(UTC)
    low, high = 0, int((after - before).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall((before + timedelta(seconds=middle)).astimezone(zone)) >= _wall(moment):
            high = middle
        else:
            low = middle
    return _fixed(before + timedelta(seconds=high), zone)


def _fixed(instant: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` as the wall clock of ``zone`` shows it, with that moment's offset fixed."""
    local = instant.astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return local.astimezone(timezone(offset))


def window_on(hours: WeeklyHours, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The instants the branch opens and closes on a local day, or None when it is closed."""
    found = hours.hours_on(day)
    if found is None:
        return None
    opens, closes = found
    return instant_of(day, opens, zone), instant_of(day, closes, zone)


def is_open(hours: WeeklyHours, instant: datetime, zone: ZoneInfo) -> bool:
    at = instant.astimezone(UTC)  # an instant: see the module's docstring
    window = window_on(hours, at.astimezone(zone).date(), zone)
    return window is not None and window[0] <= at < window[1]


def next_opening(hours: WeeklyHours, instant: datetime, zone: ZoneInfo) -> datetime | None:
    """The first opening at or after ``instant`` (the current window's start if open now)."""
    at = instant.astimezone(UTC)
    today = at.astimezone(zone).date()
    for offset in range(SEARCH_DAYS):
        day = today + timedelta(days=offset)
        window = window_on(hours, day, zone)
        if window is None:
            continue
        if offset == 0 and at >= window[1]:
            continue
        return window[0]
    return None


def closing_time(hours: WeeklyHours, instant: datetime, zone: ZoneInfo) -> datetime | None:
    """When today's window closes, if the branch is open at ``instant``."""
    at = instant.astimezone(UTC)
    window = window_on(hours, at.astimezone(zone).date(), zone)
    if window is None or not window[0] <= at < window[1]:
        return None
    return window[1]


def opening_later_today(hours: WeeklyHours, now: datetime, zone: ZoneInfo) -> datetime | None:
    """Today's opening, if it is still to come (None on a closed day or once open)."""
    at = now.astimezone(UTC)
    window = window_on(hours, at.astimezone(zone).date(), zone)
    if window is None or at >= window[0]:
        return None
    return window[0]
