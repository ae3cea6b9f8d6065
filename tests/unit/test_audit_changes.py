"""What a record keeps of a change: only what changed, phones masked, a long change cut short."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from queue_app import audit
from queue_app.clock import FixedClock


def _recording() -> audit._Recording:
    return audit._Recording(
        FixedClock(datetime(2026, 11, 24, 8, tzinfo=UTC)),
        audit.Actor.command_line("root"),
        "capacity.set",
        audit.Target("service", "id-card"),
        None,
    )


@pytest.mark.parametrize(
    ("phone", "kept"),
    [
        ("+201012345678", "+201*******78"),
        ("+966501234567", "+966*******67"),
        ("12345", "*****"),
        ("", ""),
        (None, None),
    ],
)
def test_phones_are_masked(phone, kept):
    assert audit.masked_phone(phone) == kept


def test_only_what_changed_is_kept_and_a_field_set_back_is_no_change():
    rec = _recording()
    rec.note(("ticket", 1), "status", "waiting", "called", created=False)
    rec.note(("ticket", 1), "counter_id", None, 3, created=False)
    rec.note(("ticket", 1), "counter_id", 3, None, created=False)  # set back in a later flush
    rec.note(("ticket", 2), "status", "waiting", "waiting", created=False)
    rec.note(("token", 5), "role", None, "staff", created=True)
    rec.note(("token", 5), "label", None, None, created=True)
    before, after = rec.changes()
    assert before == {"ticket 1": {"status": "waiting"}}
    assert after == {"ticket 1": {"status": "called"}, "token 5": {"role": "staff"}}


def test_a_change_of_many_rows_keeps_the_first_and_counts_the_rest():
    rec = _recording()
    for n in range(audit.MAX_ROWS + 7):
        rec.note(("ticket", n), "slot_start", "09:00", "11:00", created=False)
    before, after = rec.changes()
    assert len(before) == audit.MAX_ROWS
    assert after["more"] == 7
    assert len(after) == audit.MAX_ROWS + 1
