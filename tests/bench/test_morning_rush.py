"""The morning-rush bench's own checking parts: the send count per number, the advisory key as
pg_locks shows it, the branches' zones and config."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bench import morning_rush as rush
from bench.serve_load import BenchError

CONSOLE_LOG = """\
worker: sending SMS through console; housekeeping every minute
--- SMS console-1a2b3c4d-1 to +201000000001 (GSM-7, 1 segment)
رقمك A-001
--- SMS console-1a2b3c4d-2 to +201000000002 (UCS-2, 2 segments)
--- WhatsApp console-1a2b3c4d-3 to whatsapp:+201000000003 (free text, inside the 24-hour window)
"""


def test_sends_are_counted_per_number_over_every_workers_log() -> None:
    second = "--- SMS console-9f9f9f9f-1 to +201000000001 (GSM-7, 1 segment)\n"
    printed = rush.sends_in_logs([CONSOLE_LOG, second])
    assert printed == Counter({"+201000000001": 2, "+201000000002": 1})


def test_a_number_printed_more_often_than_recorded_as_sent_is_a_double_send() -> None:
    printed = Counter({"+201000000001": 2, "+201000000002": 1, "+201000000004": 1})
    recorded = Counter({"+201000000001": 1, "+201000000002": 1, "+201000000004": 2})
    assert rush.double_sends(printed, recorded) == {"+201000000001": 1}
    assert rush.double_sends(printed, printed) == {}


def test_the_leader_key_splits_as_pg_locks_shows_a_bigint_key() -> None:
    high, low = rush.advisory_key_parts(0x0000000500000007)
    assert (high, low) == (5, 7)
    high, low = rush.advisory_key_parts()
    assert (high << 32) | low == rush.ADVISORY_LOCK_KEY
    assert 0 <= low < 2**32


def test_zones_are_kept_only_far_enough_from_midnight() -> None:
    now = datetime(2026, 12, 7, 5, 30, tzinfo=UTC)
    zones = rush.quiet_zones(now)
    assert zones
    for zone in zones:
        local = now.astimezone(ZoneInfo(zone))
        assert 2 <= local.hour < 22
    # London at 05:30 is fine, Tokyo at 14:30 too; New York at 00:30 is not.
    assert "Europe/London" in zones
    assert "America/New_York" not in zones


def test_no_zone_far_enough_stops_the_bench() -> None:
    with pytest.raises(BenchError):
        rush.quiet_zones(datetime(2026, 12, 7, 5, 30, tzinfo=UTC), margin=timedelta(hours=13))


def test_the_config_has_a_branch_per_code_in_the_zones_in_turn() -> None:
    codes = rush.branch_codes(5)
    config = rush.rush_config(codes, ["Asia/Tokyo", "Europe/London"])
    branches = config["branches"]
    assert [b["code"] for b in branches] == codes
    assert [b["timezone"] for b in branches] == ["Asia/Tokyo", "Europe/London"] * 2 + ["Asia/Tokyo"]
    assert len({b["name"]["en"] for b in branches}) == 5
    assert all(len(b["services"]) == 3 and b["counters"] for b in branches)
