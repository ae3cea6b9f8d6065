from __future__ import annotations

import pytest

from queue_app.waiting_line import estimated_wait_minutes


@pytest.mark.parametrize(
    ("ahead", "seconds_each", "counters", "minutes"),
    [
        (0, 360, 1, 0),
        (1, 360, 1, 6),
        (5, 360, 2, 15),
        (1, 61, 1, 2),  # a started minute counts: nobody is called earlier than promised
        (3, 300, 0, None),  # no counter open: no honest estimate
    ],
)
def test_estimated_wait(ahead, seconds_each, counters, minutes):
    assert estimated_wait_minutes(ahead, seconds_each, counters) == minutes
