"""The measured pace: a minimum sample, a median, a blend with the configured time, bounds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from queue_app import pace
from queue_app.waiting_line import seconds_per_citizen

SIX_MINUTES = 360.0


def test_too_few_measurements_say_nothing():
    assert pace.measured_pace([], SIX_MINUTES) is None
    assert pace.measured_pace([600.0] * (pace.MIN_SAMPLE - 1), SIX_MINUTES) is None


def test_one_call_done_in_under_a_second_changes_nothing():
    # Seen in the field: 0.43 s made an ID-card slot take 3,148 citizens.
    assert pace.measured_pace([0.43], SIX_MINUTES) is None


def test_ten_quick_call_done_in_a_row_stop_at_half_the_configured_time():
    # Seen in the field: ten quick ones took a service's slots from 7 places to 273,326.
    assert pace.measured_pace([2.0] * 10, SIX_MINUTES) == SIX_MINUTES * pace.LOWEST_SHARE


def test_one_outlier_does_not_move_the_median():
    steady = [420.0] * 9
    with_outlier = [7000.0, *steady]
    assert pace.measured_pace(with_outlier, SIX_MINUTES) == pace.measured_pace(
        [420.0] * 10, SIX_MINUTES
    )


def test_measurements_weigh_more_as_they_grow():
    five = pace.measured_pace([600.0] * 5, SIX_MINUTES)
    thirty = pace.measured_pace([600.0] * 30, SIX_MINUTES)
    assert five == 480.0  # half the measured ten minutes, half the configured six
    assert thirty is not None
    assert five < thirty < 600.0


def test_only_the_latest_window_counts():
    newest_first = [300.0] * pace.WINDOW + [1000.0] * 50
    assert pace.measured_pace(newest_first, SIX_MINUTES) == pace.measured_pace(
        [300.0] * pace.WINDOW, SIX_MINUTES
    )


def test_a_ticket_left_called_for_hours_is_not_a_measurement():
    assert pace.measured_pace([5 * 3600.0] * 10, SIX_MINUTES) is None


def test_a_stored_pace_outside_the_bounds_is_held_within_them():
    # A pace stored before the bounds existed (or by hand) cannot run away either.
    assert seconds_per_citizen(6, 0.43) == SIX_MINUTES * pace.LOWEST_SHARE
    assert seconds_per_citizen(6, 99_999.0) == SIX_MINUTES * pace.HIGHEST_SHARE
    assert seconds_per_citizen(6, 400.0) == 400.0
    assert seconds_per_citizen(6, None) == SIX_MINUTES


@given(
    samples=st.lists(st.floats(min_value=0, max_value=10 * 3600), max_size=60),
    configured=st.floats(min_value=60, max_value=3600),
)
def test_the_pace_is_always_within_its_bounds(samples, configured):
    measured = pace.measured_pace(samples, configured)
    if measured is not None:
        assert configured * pace.LOWEST_SHARE <= measured <= configured * pace.HIGHEST_SHARE
