"""Numbers and times on the pages: Arabic-Indic digits for Arabic, identifiers as printed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from queue_app.pages import formatting

CAIRO = ZoneInfo("Africa/Cairo")
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Cairo


def test_digits_are_mapped_for_arabic_only():
    assert formatting.digits(1234567890, "ar") == "١٢٣٤٥٦٧٨٩٠"
    assert formatting.digits(1234567890, "en") == "1234567890"


def test_isolate_keeps_an_identifier_whole_inside_a_sentence():
    assert formatting.isolate("A-001") == "\u2066A-001\u2069"


@pytest.mark.parametrize(
    ("count", "arabic", "english"),
    [
        (1, "دقيقة واحدة", "1 minute"),
        (2, "دقيقتان", "2 minutes"),
        (5, "٥ دقائق", "5 minutes"),
        (11, "١١ دقيقة", "11 minutes"),
        (100, "١٠٠ دقيقة", "100 minutes"),
        (102, "١٠٢ دقيقة", "102 minutes"),
    ],
)
def test_minutes_take_the_right_plural_form(app, count, arabic, english):
    with app.test_request_context():
        with force_locale("ar"):
            assert formatting.minutes(count) == arabic
        with force_locale("en"):
            assert formatting.minutes(count) == english


def test_times_are_in_the_branch_zone_and_say_the_day_when_not_today(app):
    tomorrow = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    with app.test_request_context(), force_locale("ar"):
        assert formatting.when(NOW, CAIRO, NOW) == "١٠:٠٠ ص"
        assert formatting.when(tomorrow, CAIRO, NOW) == "الأربعاء ٢٥ نوفمبر الساعة ٨:٠٠ ص"
    with app.test_request_context(), force_locale("en"):
        assert formatting.when(tomorrow, CAIRO, NOW) == "Wednesday 25 November at 8:00\u202fAM"
