"""Opening hours in the branch's own time, across weekends, holidays and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from queue_app.opening_hours import (
    WeeklyHours,
    closing_time,
    instant_of,
    is_open,
    next_opening,
    window_on,
)

CAIRO = ZoneInfo("Africa/Cairo")
RIYADH = ZoneInfo("Asia/Riyadh")
SUN_TO_THU = {d: (time(8), time(15)) for d in (6, 0, 1, 2, 3)}


def cairo(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CAIRO)


def test_open_inside_hours_closed_outside():
    hours = WeeklyHours.of(SUN_TO_THU)
    assert is_open(hours, cairo("2026-11-24T08:00"), CAIRO)  # Tuesday, opening minute
    assert is_open(hours, cairo("2026-11-24T14:59"), CAIRO)
    assert not is_open(hours, cairo("2026-11-24T15:00"), CAIRO)  # closing is exclusive
    assert not is_open(hours, cairo("2026-11-24T07:59"), CAIRO)
    assert not is_open(hours, cairo("2026-11-27T10:00"), CAIRO)  # Friday


def test_next_opening_skips_the_weekend_and_holidays():
    hours = WeeklyHours.of(SUN_TO_THU, [date(2026, 11, 29)])  # Sunday is a holiday
    # Thursday after closing -> Friday, Saturday closed, Sunday holiday -> Monday 08:00
    assert next_opening(hours, cairo("2026-11-26T16:00"), CAIRO) == cairo("2026-11-30T08:00")
    # Open now: the current window's opening.
    assert next_opening(hours, cairo("2026-11-24T09:00"), CAIRO) == cairo("2026-11-24T08:00")
    # Before opening on a working day: today.
    assert next_opening(hours, cairo("2026-11-24T06:00"), CAIRO) == cairo("2026-11-24T08:00")


def test_holiday_is_closed_all_day():
    hours = WeeklyHours.of(SUN_TO_THU, [date(2026, 11, 24)])
    assert not is_open(hours, cairo("2026-11-24T10:00"), CAIRO)


def test_opening_stays_at_eight_local_across_egypts_daylight_saving_start():
    # Egypt moves to UTC+3 on the last Friday of April 2026 (24 April).
    hours = WeeklyHours.of(SUN_TO_THU)
    thursday = next_opening(hours, cairo("2026-04-23T07:00"), CAIRO)
    sunday = next_opening(hours, cairo("2026-04-23T16:00"), CAIRO)
    assert thursday == datetime(2026, 4, 23, 6, 0, tzinfo=UTC)  # 08:00 at UTC+2
    assert sunday == datetime(2026, 4, 26, 5, 0, tzinfo=UTC)  # 08:00 at UTC+3
    assert is_open(hours, datetime(2026, 4, 26, 5, 0, tzinfo=UTC), CAIRO)
    assert not is_open(hours, datetime(2026, 4, 26, 4, 30, tzinfo=UTC), CAIRO)


def test_closing_time_across_daylight_saving_end():
    # Back to UTC+2 after Thursday 29 October 2026.
    hours = WeeklyHours.of(SUN_TO_THU)
    assert closing_time(hours, cairo("2026-10-29T10:00"), CAIRO) == datetime(
        2026, 10, 29, 12, 0, tzinfo=UTC
    )
    assert closing_time(hours, cairo("2026-11-01T10:00"), CAIRO) == datetime(
        2026, 11, 1, 13, 0, tzinfo=UTC
    )
    assert closing_time(hours, cairo("2026-11-01T16:00"), CAIRO) is None


def test_a_branch_that_never_opens_has_no_next_opening():
    assert next_opening(WeeklyHours.of({}), cairo("2026-11-24T10:00"), CAIRO) is None


def test_riyadh_branch_reads_its_own_clock():
    hours = WeeklyHours.of(SUN_TO_THU)
    # 05:30 UTC is 08:30 in Riyadh (open) and 07:30 in Cairo (not yet).
    instant = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)
    assert is_open(hours, instant, RIYADH)
    assert not is_open(hours, instant, CAIRO)


# --- wall-clock times that never come, or come twice ---------------------------------------

JUMP = datetime(2026, 4, 23, 22, 0, tzinfo=UTC)  # Friday 24 April: 00:00 -> 01:00
BACK = datetime(2026, 10, 29, 21, 0, tzinfo=UTC)  # Thursday 29 October: 24:00 -> 23:00


@pytest.mark.parametrize("wall", [time(0), time(0, 30), time(0, 59, 59)])
def test_a_time_the_clocks_jump_over_is_the_moment_they_jump(wall):
    assert instant_of(date(2026, 4, 24), wall, CAIRO) == JUMP


def test_a_time_that_comes_twice_is_its_first_pass():
    first = instant_of(date(2026, 10, 29), time(23, 30), CAIRO)
    assert first == BACK - timedelta(minutes=30)
    assert first.isoformat() == "2026-10-29T23:30:00+03:00"
    # Friday's midnight comes once, after the repeated hour.
    assert instant_of(date(2026, 10, 30), time(0), CAIRO) == BACK + timedelta(hours=1)


def test_instants_compare_and_subtract_as_instants():
    # A ZoneInfo datetime of the repeated hour is never == a UTC one (PEP 495), and two of one
    # ZoneInfo subtract by wall clock: the window's ends carry fixed offsets instead.
    window = window_on(WeeklyHours.of({4: (time(0), time(23, 59))}), date(2026, 4, 24), CAIRO)
    assert window is not None
    opens, closes = window
    assert closes - opens == timedelta(hours=22, minutes=59)
    assert opens.isoformat() == "2026-04-24T01:00:00+03:00"
    assert opens - timedelta(minutes=1) == JUMP - timedelta(minutes=1)


def test_riyadh_times_are_their_plain_instants():
    assert instant_of(date(2026, 4, 24), time(0, 30), RIYADH) == datetime(
        2026, 4, 23, 21, 30, tzinfo=UTC
    )
    assert instant_of(date(2026, 10, 29), time(23, 30), RIYADH) == datetime(
        2026, 10, 29, 20, 30, tzinfo=UTC
    )


def test_next_opening_from_the_repeated_hour_is_the_next_day():
    hours = WeeklyHours.of({d: (time(0), time(23, 59)) for d in range(7)})
    second_pass = BACK + timedelta(minutes=30)  # the second 23:30, at UTC+2
    assert not is_open(hours, second_pass, CAIRO)
    assert closing_time(hours, second_pass, CAIRO) is None
    assert next_opening(hours, second_pass, CAIRO) == BACK + timedelta(hours=1)
    assert is_open(hours, BACK - timedelta(minutes=2), CAIRO)  # the first 23:58
