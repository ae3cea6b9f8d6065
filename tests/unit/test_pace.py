"""The measured pace: a minimum sample, a median, a blend with the configured time, bounds."""

from __future__ import annotations

import random
import statistics

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


def test_skewed_service_times_give_their_mean_not_their_median():
    # Service times are skewed: a few citizens take long. The counters' throughput and the
    # waits add up the mean, which the median underestimates (by 12 % at a log spread of 0.5).
    weight = pace.WINDOW / (pace.WINDOW + pace.PRIOR_WEIGHT)
    measured_share, median_share = [], []
    for seed in range(200):
        rng = random.Random(seed)
        samples = [360 * rng.lognormvariate(0, 0.5) for _ in range(pace.WINDOW)]
        mean = statistics.fmean(samples)
        # What the samples say, the configured time's part of the blend taken out.
        paced = pace.measured_pace(samples, 360 * 0.9)  # bounds far from the samples' mean
        measured_share.append((paced - (1 - weight) * 360 * 0.9) / weight / mean)
        median_share.append(statistics.median(samples) / mean)
    assert statistics.fmean(median_share) < 0.93
    assert abs(statistics.fmean(measured_share) - 1) < 0.04


def test_a_burst_of_quick_taps_does_not_raise_the_pace():
    # Ten call → done taps among twenty real services: the median holds, and so does the
    # spread of the logs (most are alike), so nothing is raised.
    samples = [0.6] * 10 + [600.0] * 20
    weight = pace.WINDOW / (pace.WINDOW + pace.PRIOR_WEIGHT)
    assert pace.measured_pace(samples, SIX_MINUTES) == weight * 600 + (1 - weight) * SIX_MINUTES
