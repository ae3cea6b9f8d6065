"""Slots from a branch's hours, and what each can take (pure functions, no database).

Egypt has kept daylight-saving time again since 2023: clocks go from 00:00 to 01:00 at the start of
the last Friday of April (24 April 2026, 30 April 2027) and from 24:00 back to 23:00 at the end of
the last Thursday of October (29 October 2026, 28 October 2027). Saudi Arabia keeps UTC+3 all year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_app.directory import BranchInfo, CounterInfo, ServiceInfo
from queue_app.opening_hours import WeeklyHours, closing_time, is_open, window_on
from queue_app.slots import Capacities, default_capacity, slot_times, whole_places

CAIRO = ZoneInfo("Africa/Cairo")
SUN_TO_THU = {d: (time(8), time(15)) for d in (6, 0, 1, 2, 3)}
EVERY_DAY_ALL_DAY = {d: (time(0), time(23, 59)) for d in range(7)}

# Egypt's changes, as the time zone database has them (checked in the first test).
SPRING_FORWARD = (date(2026, 4, 24), date(2027, 4, 30))  # Fridays
FALL_BACK = (date(2026, 10, 29), date(2027, 10, 28))  # Thursdays
RAMADAN = (date(2027, 2, 8), date(2027, 3, 9), time(9), time(14))


def _service(
    hours: WeeklyHours,
    *,
    slot_minutes: int = 30,
    timezone: str = "Africa/Cairo",
    walk_in_percent: int = 50,
) -> ServiceInfo:
    branch = BranchInfo(
        id=1,
        code="cairo-civil",
        name_ar="سجل مدني مدينة نصر",
        name_en="Nasr City civil registry",
        timezone=timezone,
        country="SA" if timezone == "Asia/Riyadh" else "EG",
        reschedule_after_minutes=20,
        evening_notice=time(18),
        hours=hours,
    )
    service = ServiceInfo(
        id=1,
        code="id-card",
        letter="A",
        name_ar="بطاقة الرقم القومي",
        name_en="National ID card",
        avg_service_minutes=6,
        slot_minutes=slot_minutes,
        manual_fallback_percent=0,
        walk_in_percent=walk_in_percent,
        backends=[],
        branch=branch,
    )
    branch.services = [service]
    branch.counters = [CounterInfo(id=1, code="1", is_open=True, services=[service])]
    return service


def _local_starts(service: ServiceInfo, day: date) -> list[str]:
    zone = service.branch.zone
    return [f"{start.astimezone(zone):%H:%M}" for start, _ in slot_times(service, day)]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_dates_of_egypts_changes():
    for day in SPRING_FORWARD:
        assert day.weekday() == 4  # Friday
        before = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=3)
        assert before.astimezone(CAIRO).utcoffset() == timedelta(hours=2)
        assert datetime.combine(day, time(2), tzinfo=CAIRO).utcoffset() == timedelta(hours=3)
        assert (day + timedelta(days=7)).month == 5  # the last Friday of April
    for day in FALL_BACK:
        assert day.weekday() == 3  # Thursday
        assert datetime.combine(day, time(22), tzinfo=CAIRO).utcoffset() == timedelta(hours=3)
        next_day = datetime.combine(day + timedelta(days=1), time(1), tzinfo=CAIRO)
        assert next_day.utcoffset() == timedelta(hours=2)
        assert (day + timedelta(days=7)).month == 11  # the last Thursday of October


# --- wall-clock slots across Egypt's changes ----------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "offset_before", "offset_after"),
    [
        (date(2026, 4, 23), date(2026, 4, 26), 2, 3),  # Thursday, Sunday around 24 April
        (date(2026, 10, 29), date(2026, 11, 1), 3, 2),  # Thursday, Sunday around 29 October
        (date(2027, 4, 29), date(2027, 5, 2), 2, 3),
        (date(2027, 10, 28), date(2027, 10, 31), 3, 2),
    ],
)
def test_slots_keep_their_wall_clock_times_across_a_change(
    before, after, offset_before, offset_after
):
    service = _service(WeeklyHours.of({d: (time(9), time(15)) for d in (6, 0, 1, 2, 3)}))

    for day, offset in ((before, offset_before), (after, offset_after)):
        slots = slot_times(service, day)
        assert _local_starts(service, day) == [
            f"{h:02d}:{m:02d}" for h in range(9, 15) for m in (0, 30)
        ]
        first_start, _ = slots[0]
        # 09:00 local is 07:00 UTC in winter, 06:00 in summer.
        assert first_start == datetime.combine(day, time(9 - offset), tzinfo=UTC)
        assert all(end - start == timedelta(minutes=30) for start, end in slots)


@pytest.mark.parametrize("day", SPRING_FORWARD)
def test_a_day_long_branch_has_no_slot_in_the_hour_that_does_not_exist(day):
    service = _service(WeeklyHours.of(EVERY_DAY_ALL_DAY))

    slots = slot_times(service, day)
    starts = _local_starts(service, day)

    # 00:00 and 00:30 never happen that Friday; 23:30 would end after 23:59.
    assert "00:00" not in starts
    assert "00:30" not in starts
    assert starts[0] == "01:00"
    assert starts[-1] == "23:00"
    assert len(slots) == 45
    # 01:00 at UTC+3 is 22:00 UTC of the day before.
    assert slots[0][0] == datetime.combine(day - timedelta(days=1), time(22), tzinfo=UTC)
    assert all(end - start == timedelta(minutes=30) for start, end in slots)
    assert all(a[1] <= b[0] for a, b in pairwise(slots))


@pytest.mark.parametrize("day", SPRING_FORWARD)
def test_hour_long_slots_on_the_spring_forward_day(day):
    service = _service(WeeklyHours.of(EVERY_DAY_ALL_DAY), slot_minutes=60)
    assert _local_starts(service, day) == [f"{h:02d}:00" for h in range(1, 23)]


@pytest.mark.parametrize("day", FALL_BACK)
def test_a_day_long_branch_has_no_duplicate_instants_on_the_fall_back_day(day):
    service = _service(WeeklyHours.of(EVERY_DAY_ALL_DAY))

    thursday = slot_times(service, day)
    friday = slot_times(service, day + timedelta(days=1))

    assert len(thursday) == 47  # 00:00 to 23:00; the hour from 23:00 comes twice, slots once
    starts = [start for start, _ in thursday + friday]
    assert len(set(starts)) == len(starts)
    assert starts == sorted(starts)
    assert all(a[1] <= b[0] for a, b in pairwise(thursday + friday))
    assert all(end - start == timedelta(minutes=30) for start, end in thursday + friday)
    # Thursday's 23:00 slot is the first 23:00 (UTC+3); Friday starts at UTC+2.
    assert thursday[-1][0] == datetime.combine(day, time(20), tzinfo=UTC)
    assert friday[0][0] == datetime.combine(day, time(22), tzinfo=UTC)


# --- closed days, special hours, the end of the day ---------------------------------------


def test_a_holiday_has_no_slots():
    service = _service(WeeklyHours.of(SUN_TO_THU, [date(2026, 12, 24)]))
    assert slot_times(service, date(2026, 12, 24)) == []  # a Thursday
    assert len(slot_times(service, date(2026, 12, 23))) == 14


def test_a_weekday_the_branch_is_closed_has_no_slots():
    service = _service(WeeklyHours.of(SUN_TO_THU))
    assert slot_times(service, date(2026, 11, 27)) == []  # Friday
    assert slot_times(service, date(2026, 11, 28)) == []  # Saturday


def test_special_hours_change_the_slots_within_their_range_only():
    service = _service(WeeklyHours.of(SUN_TO_THU, special=[RAMADAN]))
    ramadan_slots = [f"{h:02d}:{m:02d}" for h in range(9, 14) for m in (0, 30)]
    usual_slots = [f"{h:02d}:{m:02d}" for h in range(8, 15) for m in (0, 30)]

    assert _local_starts(service, date(2027, 2, 8)) == ramadan_slots  # first day, a Monday
    assert _local_starts(service, date(2027, 2, 21)) == ramadan_slots  # a Sunday inside
    assert _local_starts(service, date(2027, 3, 9)) == ramadan_slots  # last day, a Tuesday
    assert _local_starts(service, date(2027, 2, 7)) == usual_slots  # the Sunday before
    assert _local_starts(service, date(2027, 3, 10)) == usual_slots  # the Wednesday after
    # Special hours do not open a day the branch is normally closed.
    assert slot_times(service, date(2027, 2, 12)) == []  # a Friday in Ramadan
    assert slot_times(service, date(2027, 2, 13)) == []  # a Saturday in Ramadan


def test_a_holiday_inside_special_hours_stays_closed():
    service = _service(WeeklyHours.of(SUN_TO_THU, [date(2027, 2, 21)], special=[RAMADAN]))
    assert slot_times(service, date(2027, 2, 21)) == []


@pytest.mark.parametrize(
    ("slot_minutes", "count", "last"),
    [
        (30, 14, "14:30"),
        (45, 9, "14:00"),  # 14:45 would end at 15:30
        (60, 7, "14:00"),
        (90, 4, "12:30"),  # 14:00 would end at 15:30
        (420, 1, "08:00"),  # the whole day
    ],
)
def test_the_last_partial_slot_is_dropped(slot_minutes, count, last):
    service = _service(WeeklyHours.of(SUN_TO_THU), slot_minutes=slot_minutes)
    day = date(2026, 11, 24)
    slots = slot_times(service, day)
    assert len(slots) == count
    assert _local_starts(service, day)[-1] == last
    assert slots[-1][1] <= datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 15:00 in Cairo


def test_a_slot_longer_than_the_day_gives_none():
    service = _service(WeeklyHours.of(SUN_TO_THU), slot_minutes=421)
    assert slot_times(service, date(2026, 11, 24)) == []


def test_riyadh_has_no_daylight_saving():
    hours = WeeklyHours.of({d: (time(7, 30), time(14, 30)) for d in (6, 0, 1, 2, 3)})
    service = _service(hours, timezone="Asia/Riyadh")
    # The days around Egypt's changes and a winter day: 07:30 in Riyadh is always 04:30 UTC.
    for day in (date(2026, 4, 23), date(2026, 4, 26), date(2026, 11, 1), date(2027, 1, 10)):
        slots = slot_times(service, day)
        assert slots[0][0] == datetime.combine(day, time(4, 30), tzinfo=UTC)
        assert slots[-1][1] == datetime.combine(day, time(11, 30), tzinfo=UTC)
        assert len(slots) == 14


# --- what a slot can take --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counters", "slot_minutes", "seconds", "walk_in", "expected"),
    [
        (2, 30, 360, 50, 5),  # 2 × 1800 s ÷ 360 s = 10 citizens, half kept for walk-ins
        (2, 30, 360, 0, 10),
        (2, 30, 360, 100, 0),  # every place kept for walk-ins
        (1, 30, 420, 0, 4),  # 4.29 citizens: floored
        (1, 30, 420, 50, 2),  # 2.14
        (3, 15, 300, 40, 5),  # 9 citizens, 60% of them: 5.4
        (1, 30, 2400, 0, 0),  # a citizen takes longer than the slot
        (4, 60, 330.0, 25, 32),  # 5.5 minutes each: 43.6 citizens, 75%: 32.7
    ],
)
def test_default_capacity(counters, slot_minutes, seconds, walk_in, expected):
    assert default_capacity(counters, slot_minutes, seconds, walk_in) == expected


def test_no_counters_no_capacity():
    assert default_capacity(0, 30, 360, 50) == 0
    assert default_capacity(0, 30, 360, 0) == 0
    assert default_capacity(-1, 30, 360, 0) == 0
    assert default_capacity(2, 30, 0, 0) == 0  # no time per citizen known


@given(
    counters=st.integers(0, 20),
    slot_minutes=st.integers(1, 240),
    seconds=st.integers(1, 3600),
    walk_in=st.integers(0, 100),
)
def test_capacity_never_exceeds_what_the_counters_can_serve(
    counters, slot_minutes, seconds, walk_in
):
    capacity = default_capacity(counters, slot_minutes, float(seconds), walk_in)
    assert capacity >= 0
    # Within the exact share (a float rounding may only take one place off, never add one).
    assert capacity * seconds * 100 <= counters * slot_minutes * 60 * (100 - walk_in)
    assert default_capacity(counters, slot_minutes, float(seconds), 0) >= capacity


# --- fractions of a place carried from slot to slot ----------------------------------------


def test_half_a_place_a_slot_is_a_place_every_second_slot():
    assert whole_places(Fraction(1, 2), 6) == [0, 1, 0, 1, 0, 1]
    assert whole_places(Fraction(5, 2), 4) == [2, 3, 2, 3]
    assert whole_places(Fraction(2), 3) == [2, 2, 2]
    assert whole_places(Fraction(0), 3) == [0, 0, 0]
    # What the previous day left over comes first.
    assert whole_places(Fraction(1, 2), 2, carried=Fraction(1, 2)) == [1, 0]


@given(
    numerator=st.integers(0, 400),
    denominator=st.integers(1, 60),
    slots=st.integers(0, 60),
    carried=st.fractions(min_value=0, max_value=1).filter(lambda f: f < 1),
)
def test_whole_places_add_up_to_the_exact_total(numerator, denominator, slots, carried):
    each = Fraction(numerator, denominator)
    places = whole_places(each, slots, carried)
    assert len(places) == slots
    # No slot takes more than its exact share rounded up, none less than rounded down.
    assert all(int(each) <= n <= -(-each // 1) for n in places)
    # The run takes its exact total, less a fraction under one: nothing lost to rounding.
    assert slots * each - 1 < sum(places) <= slots * each + 1


def _shared_office(
    services: int, counters: int, seconds: float, slot_minutes: int, walk_in: int
) -> list[ServiceInfo]:
    """``counters`` counters, each serving every one of ``services`` services."""
    branch = _service(
        WeeklyHours.of(SUN_TO_THU), slot_minutes=slot_minutes, walk_in_percent=walk_in
    ).branch
    line = [
        ServiceInfo(
            id=n + 1,
            code=f"s{n}",
            letter=chr(ord("A") + n),
            name_ar="خدمة",
            name_en="Service",
            avg_service_minutes=seconds / 60,
            slot_minutes=slot_minutes,
            manual_fallback_percent=0,
            walk_in_percent=walk_in,
            backends=[],
            branch=branch,
        )
        for n in range(services)
    ]
    branch.services = line
    branch.counters = [
        CounterInfo(id=n, code=str(n), is_open=True, services=line) for n in range(1, counters + 1)
    ]
    return line


def test_a_service_with_a_third_of_a_counter_gets_places():
    # The demo's Jeddah office: one counter for three services, 10 minutes each, 30-minute slots,
    # half kept for walk-ins: a third of 3 citizens, halved, is half a place a slot. Flooring each
    # slot gave every service nothing, for ever.
    for service in _shared_office(3, 1, 600, 30, 50):
        caps = Capacities(service, date(2026, 11, 24), 600.0, [])
        day = caps.day_slots(date(2026, 11, 25))
        assert len(day) == 14
        assert [n for _, _, n in day].count(1) == 7
        assert caps.places_on(date(2026, 11, 25)) == 7


def test_a_slot_takes_the_same_places_whenever_it_is_asked():
    (service,) = _shared_office(1, 1, 420, 30, 50)  # 4.29 citizens a slot, halved
    caps = Capacities(service, date(2026, 11, 24), None, [])
    wednesday = caps.day_slots(date(2026, 11, 25))
    later = Capacities(service, date(2026, 11, 25), None, []).day_slots(date(2026, 11, 25))
    assert [n for *_, n in wednesday] == [n for *_, n in later]
    # Days add up too: a fortnight of slots holds the exact total less a fraction under one.
    days = [date(2026, 11, 22) + timedelta(days=n) for n in range(14)]
    open_days = [d for d in days if caps.day_slots(d)]
    exact = Fraction(1800, 420) / 2 * 14 * len(open_days)
    assert exact - 1 < sum(caps.places_on(d) for d in open_days) <= exact + 1


@settings(max_examples=200, deadline=None)
@given(
    counters=st.integers(1, 6),
    services=st.integers(1, 5),
    minutes=st.integers(3, 30),
    slot_minutes=st.sampled_from([10, 15, 20, 30, 45, 60]),
    walk_in=st.integers(0, 100),
)
def test_every_office_shape_gets_its_share_of_counter_time(
    counters, services, minutes, slot_minutes, walk_in
):
    office = _shared_office(services, counters, minutes * 60.0, slot_minutes, walk_in)
    wednesday = date(2026, 11, 25)
    for service in office:
        caps = Capacities(service, date(2026, 11, 24), None, [])
        slots = caps.day_slots(wednesday)
        exact = (
            Fraction(counters, services)
            * slot_minutes
            / minutes
            * Fraction(100 - walk_in, 100)
            * len(slots)
        )
        # A day's appointments: the counters' share of the day, less a place at most; a service
        # that would get a place a day gets at least one.
        assert exact - 1 < caps.places_on(wednesday) <= exact + 1
        if exact >= 1:
            assert caps.places_on(wednesday) >= 1


# --- overlapping special ranges ------------------------------------------------------------


def test_the_later_of_overlapping_special_ranges_wins():
    long = (date(2027, 2, 8), date(2027, 3, 9), time(9), time(14))
    short = (date(2027, 3, 1), date(2027, 3, 4), time(10), time(13))
    hours = WeeklyHours.of(SUN_TO_THU, special=[long, short])
    assert hours.hours_on(date(2027, 2, 28)) == (time(9), time(14))  # Sunday: only the long one
    assert hours.hours_on(date(2027, 3, 1)) == (time(10), time(13))  # Monday: both, later wins
    assert hours.hours_on(date(2027, 3, 4)) == (time(10), time(13))
    assert hours.hours_on(date(2027, 3, 7)) == (time(9), time(14))  # the short one has ended
    assert hours.hours_on(date(2027, 3, 10)) == (time(8), time(15))  # both have ended

    # The order of the ranges decides, not their length or start.
    reversed_order = WeeklyHours.of(SUN_TO_THU, special=[short, long])
    assert reversed_order.hours_on(date(2027, 3, 1)) == (time(9), time(14))


def test_special_ranges_give_way_to_holidays_and_closed_weekdays():
    hours = WeeklyHours.of(SUN_TO_THU, [date(2027, 3, 1)], special=[RAMADAN])
    assert hours.hours_on(date(2027, 3, 1)) is None  # a holiday
    assert hours.hours_on(date(2027, 2, 26)) is None  # a Friday
    assert hours.hours_on(date(2027, 2, 28)) == (time(9), time(14))


# --- the property ---------------------------------------------------------------------------

# Days around each of Egypt's changes, and any day of 2026 and 2027.
CHANGE_DAYS = [
    change + timedelta(days=delta) for change in SPRING_FORWARD + FALL_BACK for delta in (-1, 0, 1)
]
DAYS = st.one_of(st.sampled_from(CHANGE_DAYS), st.dates(date(2026, 1, 1), date(2027, 12, 31)))


@st.composite
def _windows(draw: st.DrawFn) -> tuple[time, time]:
    opens = draw(st.integers(0, 24 * 60 - 2))
    closes = draw(st.integers(opens + 1, 24 * 60 - 1))
    return time(*divmod(opens, 60)), time(*divmod(closes, 60))


@settings(max_examples=300, deadline=None)
@given(
    window=_windows(),
    slot_minutes=st.one_of(st.integers(1, 120), st.integers(121, 24 * 60)),
    day=DAYS,
    timezone=st.sampled_from(["Africa/Cairo", "Asia/Riyadh"]),
)
def test_slots_are_in_order_inside_the_window_and_never_overlap(
    window, slot_minutes, day, timezone
):
    hours = WeeklyHours.of(dict.fromkeys(range(7), window))
    service = _service(hours, slot_minutes=slot_minutes, timezone=timezone)
    zone = service.branch.zone

    slots = slot_times(service, day)

    found = window_on(hours, day, zone)
    assert found is not None
    opens, closes = (moment.astimezone(UTC) for moment in found)
    starts = [start for start, _ in slots]
    assert starts == sorted(set(starts))  # strictly increasing
    for start, end in slots:
        assert start.tzinfo is UTC
        assert end.tzinfo is UTC
        assert start < end <= closes
        # An opening time that does not exist locally opens when the clocks jump (below).
        assert opens <= start
        # Inside the window by the wall clock, on that day.
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        assert local_start.date() == day
        assert window[0] <= local_start.time()
        assert local_end.date() == day
        assert local_end.time() <= window[1]
        # Neither of these zones changes its clocks inside a window: every slot is whole.
        assert end - start == timedelta(minutes=slot_minutes)
        # Wall-clock steps from the opening time.
        since_opening = _minutes(local_start.time()) - _minutes(window[0])
        assert since_opening % slot_minutes == 0
    for earlier, later in pairwise(slots):
        assert earlier[1] <= later[0]
    # Every step that exists and fits is a slot.
    steps = (_minutes(window[1]) - _minutes(window[0])) // slot_minutes
    missing = steps - len(slots)
    assert missing == 0 or (timezone == "Africa/Cairo" and day in SPRING_FORWARD)


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


# --- edge cases of daylight-saving changes and rounding ---------------------------------


def test_a_slot_ending_in_a_mid_day_gap_does_not_overlap_the_next():
    # New York: 02:00 -> 03:00 on 8 March 2026. 45-minute slots from 01:00: 01:45 ends at 02:30,
    # which does not exist and is read as 03:30; the next real slot starts at 03:15.
    hours = WeeklyHours.of({6: (time(1), time(5))})
    service = _service(hours, slot_minutes=45, timezone="America/New_York")
    slots = slot_times(service, date(2026, 3, 8))
    assert all(a[1] <= b[0] for a, b in pairwise(slots)), slots


def test_default_capacity_of_an_exact_share_is_not_rounded_down():
    # 3 counters × 30 minutes ÷ 9.5 minutes = 9.47 citizens; 95% of that is exactly 9.
    assert default_capacity(3, 30, 9.5 * 60, 5) == 9


def test_the_first_slot_is_not_before_an_opening_time_in_the_gap():
    # Found: window_on read an opening time inside Egypt's spring-forward gap an hour late (00:30
    # as 01:30 summer time), while slot_times offered the 01:00 slot. It opens when the clocks
    # jump now, and the branch is open from then, not before.
    hours = WeeklyHours.of({4: (time(0, 30), time(3))})  # Fridays, 00:30 to 03:00
    service = _service(hours, slot_minutes=30)
    friday = SPRING_FORWARD[0]
    opens, _ = window_on(hours, friday, CAIRO)
    first_start, _ = slot_times(service, friday)[0]
    assert first_start == datetime(2026, 4, 23, 22, 0, tzinfo=UTC)  # 01:00 summer time
    assert opens <= first_start, (opens, first_start)
    assert opens == first_start
    assert is_open(hours, first_start, CAIRO)
    assert not is_open(hours, first_start - timedelta(seconds=1), CAIRO)


def test_closing_time_is_never_before_the_instant_the_branch_is_open():
    # Found: is_open compared wall-clock times (same tzinfo), so in the hour Egypt repeats at the
    # end of October a branch was open again after the closing instant that closing_time gave,
    # while slot_times, in instants, has no slots then. It closes at the first 23:30 now.
    hours = WeeklyHours.of({3: (time(20), time(23, 30))})  # Thursdays, 20:00 to 23:30
    second_pass = datetime(2026, 10, 29, 21, 10, tzinfo=UTC)  # the second 23:10 of the night
    assert second_pass.astimezone(CAIRO).fold == 1
    closes = closing_time(hours, second_pass, CAIRO)
    assert not is_open(hours, second_pass, CAIRO) or closes > second_pass, closes
    assert not is_open(hours, second_pass, CAIRO)
    first_pass = second_pass - timedelta(hours=1)
    assert is_open(hours, first_pass, CAIRO)
    assert closing_time(hours, first_pass, CAIRO) == datetime(2026, 10, 29, 20, 30, tzinfo=UTC)
