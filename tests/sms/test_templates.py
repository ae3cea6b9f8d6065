"""Every message in both languages, within its segment budget, on every day of a year."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sms import templates
from sms.segments import segments

# A 256-bit token in base64url, the longest the app could give a ticket.
LINK = "https://q.example.gov.eg/t/" + "Zx9_Q-4kLm2NpR7sTuVw0yB3cD5eF6gH8iJ1aKoMnPq"
ZONE = "Africa/Cairo"
# Long but real names, in the shape of the demo data.
NAMES = {
    "ar": {
        "system": "منظومة الأحوال المدنية",
        "branch": "سجل مدني حي الشيخ زايد بالجيزة",
        "service": "استخراج بطاقة الرقم القومي (بدل فاقد)",
    },
    "en": {
        "system": "Civil registry system",
        "branch": "Sheikh Zayed district civil registry, Giza",
        "service": "National ID card (replacement for a lost card)",
    },
}


def render(name: str, locale: str, start: datetime, link: str = LINK) -> str:
    names = NAMES[locale]
    when = {"start": start, "timezone": ZONE}
    calls: dict[str, Callable[[], str]] = {
        "ticket_issued": lambda: templates.ticket_issued(
            locale, number="A-001", service=names["service"], branch=names["branch"], link=link
        ),
        "rescheduled_for_outage": lambda: templates.rescheduled_for_outage(
            locale, system=names["system"], link=link, **when
        ),
        "rescheduled_for_maintenance": lambda: templates.rescheduled_for_maintenance(
            locale, system=names["system"], link=link, **when
        ),
        "rescheduled_for_capacity": lambda: templates.rescheduled_for_capacity(
            locale, branch=names["branch"], link=link, **when
        ),
        "another_slot": lambda: templates.another_slot(locale, link=link, **when),
        "appointment_confirmed": lambda: templates.appointment_confirmed(
            locale, service=names["service"], branch=names["branch"], link=link, **when
        ),
        "reply_help": lambda: templates.reply_help(locale),
        "cancelled": lambda: templates.cancelled(
            locale, service=names["service"], branch=names["branch"]
        ),
        "opted_out": lambda: templates.opted_out(locale),
        "opted_in": lambda: templates.opted_in(locale),
        "no_other_slot": lambda: templates.no_other_slot(locale, link=link),
        "offer_today": lambda: templates.offer_today(
            locale, system=names["system"], until=start, timezone=ZONE, link=link
        ),
        "offer_accepted": lambda: templates.offer_accepted(locale, link=link, **when),
        "system_back": lambda: templates.system_back(locale, system=names["system"], link=link),
        "no_slot_yet": lambda: templates.no_slot_yet(
            locale, system=names["system"], maintenance=False, link=link
        ),
        "turn_near": lambda: templates.turn_near(
            locale, number="A-123", branch=names["branch"], minutes=start.day + 100, link=link
        ),
        "called": lambda: templates.called(
            locale, number="A-123", counter="12", branch=names["branch"], link=link
        ),
        "one_time_code": lambda: templates.one_time_code(
            locale, code=f"{start.minute:06d}", branch=names["branch"], minutes=10
        ),
        "reminder": lambda: templates.reminder(
            locale,
            tomorrow=start.day % 2 == 0,
            service=names["service"],
            branch=names["branch"],
            link=link,
            **when,
        ),
    }
    assert set(calls) == set(templates.BUDGETS), "every template has a budget and a test"
    return calls[name]()


def every_day_of_a_year() -> list[datetime]:
    # 12:30 and 11:30 local, to meet both ص and م; every weekday and month name.
    first = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    return [first + timedelta(days=day, hours=hour) for day in range(365) for hour in (-1, 0)]


@pytest.mark.parametrize("locale", templates.LOCALES)
@pytest.mark.parametrize("name", sorted(templates.BUDGETS))
def test_every_template_keeps_its_budget(name, locale):
    budget = templates.BUDGETS[name]
    for start in every_day_of_a_year():
        text = render(name, locale, start)
        info = segments(text)
        assert info.segments <= budget, f"{info}\n{text}"
        if locale == "en":
            assert info.encoding == "GSM-7", text  # no stray ’ or narrow space from Babel


RESCHEDULES = [
    "rescheduled_for_outage",
    "rescheduled_for_maintenance",
    "rescheduled_for_capacity",
    "another_slot",
]


@pytest.mark.parametrize("name", RESCHEDULES)
def test_an_arabic_reschedule_fits_two_ucs2_segments_and_says_what_matters(name):
    # Tuesday 29 September: the longest weekday and month names.
    start = datetime(2026, 9, 29, 9, 30, tzinfo=UTC)
    text = render(name, "ar", start)

    info = segments(text)
    assert (info.encoding, info.segments) == ("UCS-2", 2)
    assert "الثلاثاء ٢٩ سبتمبر ١٢:٣٠ م" in text
    assert text.endswith("\n" + LINK)  # the link whole, in Latin, on its own line
    for choice in ("١ ", "٢ ", "٠ "):
        assert choice in text


def test_with_room_the_reschedule_names_the_system():
    start = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
    short_link = "https://q.gov.eg/t/Zx9_Q-4kLm2NpR7sTuVw0y"
    text = templates.rescheduled_for_outage(
        "ar", system="منظومة المرور", start=start, timezone=ZONE, link=short_link
    )
    assert text == (
        "عطل في منظومة المرور.\n"
        "موعدك الجديد الأحد ٦ ديسمبر ١٢:٣٠ م\n"
        "١ تأكيد ٢ تغيير ٠ إلغاء\n"  # the name is worth more than the longer wording
        "https://q.gov.eg/t/Zx9_Q-4kLm2NpR7sTuVw0y"
    )
    english = templates.rescheduled_for_outage(
        "en", system="Traffic licensing system", start=start, timezone=ZONE, link=LINK
    )
    assert english == (
        "Traffic licensing system is down.\n"
        "New time Sun 6 Dec, 12:30 PM\n"
        "Reply 1 to confirm, 2 for another slot, 0 to cancel\n" + LINK
    )


def test_without_room_the_name_goes_first_and_the_essentials_stay():
    start = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
    text = templates.rescheduled_for_outage(
        "ar", system="منظومة الأحوال المدنية", start=start, timezone=ZONE, link=LINK
    )
    assert "الأحوال المدنية" not in text
    assert text.startswith("عطل")
    assert "الأحد ٦ ديسمبر ١٢:٣٠ م" in text


@pytest.mark.parametrize(
    ("moment", "zone", "locale", "expected"),
    [
        (datetime(2026, 12, 6, 10, 30, tzinfo=UTC), "Africa/Cairo", "ar", "الأحد ٦ ديسمبر ١٢:٣٠ م"),
        (datetime(2026, 12, 6, 10, 30, tzinfo=UTC), "Africa/Cairo", "en", "Sun 6 Dec, 12:30 PM"),
        (datetime(2026, 12, 6, 9, 30, tzinfo=UTC), "Asia/Riyadh", "ar", "الأحد ٦ ديسمبر ١٢:٣٠ م"),
        # Egypt keeps summer time (UTC+3 in July): the zone's rules, not a fixed offset.
        (datetime(2026, 7, 5, 9, 30, tzinfo=UTC), "Africa/Cairo", "en", "Sun 5 Jul, 12:30 PM"),
        (datetime(2026, 7, 5, 5, 5, tzinfo=UTC), "Africa/Cairo", "ar", "الأحد ٥ يوليو ٨:٠٥ ص"),
        # Any aware datetime will do, whatever zone it carries.
        (
            datetime(2026, 12, 6, 12, 30, tzinfo=ZoneInfo("Africa/Cairo")),
            ZoneInfo("Africa/Cairo"),
            "en",
            "Sun 6 Dec, 12:30 PM",
        ),
    ],
)
def test_times_read_in_the_branch_zone(moment, zone, locale, expected):
    assert templates.format_when(moment, zone, locale) == expected


def test_links_and_ticket_numbers_keep_their_latin_digits():
    link = "https://q.example.gov.eg/t/a1b2c3"
    text = templates.ticket_issued(
        "ar", number="B-042", service="شهادة ميلاد", branch="x", link=link
    )
    assert "B-042" in text
    assert text.endswith(link)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        templates.format_when(datetime(2026, 12, 6, 12, 30), ZONE, "ar")  # noqa: DTZ001


def test_an_unknown_locale_is_refused():
    with pytest.raises(ValueError, match="locale"):
        templates.reply_help("fr")


@pytest.mark.parametrize("maintenance", [False, True])
def test_no_slot_yet_says_the_ticket_holds_and_a_time_will_come(maintenance):
    arabic = templates.no_slot_yet("ar", system="منظومة المرور", maintenance=maintenance, link=LINK)
    english = templates.no_slot_yet(
        "en", system="Traffic licensing system", maintenance=maintenance, link=LINK
    )
    assert "تذكرتك باقية" in arabic
    assert "سنرسل موعدك" in arabic
    assert ("صيانة" in arabic) is maintenance
    assert ("maintenance" in english) is maintenance
    assert "we will text you a new time" in english
    for text in (arabic, english):
        assert text.endswith("\n" + LINK)
        assert segments(text).segments <= 2


def test_turn_near_says_the_number_the_minutes_and_to_come_back():
    short_link = "https://q.gov.eg/t/Zx9_Q-4kLm2NpR7sTuVw0y"
    arabic = templates.turn_near(
        "ar", number="A-012", branch="سجل مدني مدينة نصر", minutes=15, link=short_link
    )
    assert arabic == (
        "اقترب دورك: تذكرة A-012 في سجل مدني مدينة نصر، نحو ١٥ دقيقة.\n"
        "من فضلك عد إلى القاعة.\n" + short_link
    )
    assert "نحو ٥ دقائق" in templates.turn_near(
        "ar", number="A-012", branch="x", minutes=5, link=short_link
    )
    english = templates.turn_near(
        "en", number="A-012", branch="Nasr City civil registry", minutes=1, link=short_link
    )
    assert english == (
        "Your turn is near: ticket A-012 at Nasr City civil registry, about 1 min.\n"
        "Please come back to the hall.\n" + short_link
    )
    # A long branch name and link: the tersest wording keeps the number, the wait and the link.
    terse = templates.turn_near("ar", number="A-012", branch="س" * 80, minutes=0, link=LINK)
    assert "A-012" in terse
    assert "في أي لحظة" in terse
    assert terse.endswith(LINK)


ONE_WAY = [
    (
        "rescheduled_for_outage",
        lambda locale, start: templates.rescheduled_for_outage(
            locale,
            system=NAMES[locale]["system"],
            start=start,
            timezone=ZONE,
            link=LINK,
            replies=False,
        ),
    ),
    (
        "rescheduled_for_maintenance",
        lambda locale, start: templates.rescheduled_for_maintenance(
            locale,
            system=NAMES[locale]["system"],
            start=start,
            timezone=ZONE,
            link=LINK,
            replies=False,
        ),
    ),
    (
        "rescheduled_for_capacity",
        lambda locale, start: templates.rescheduled_for_capacity(
            locale,
            branch=NAMES[locale]["branch"],
            start=start,
            timezone=ZONE,
            link=LINK,
            replies=False,
        ),
    ),
    (
        "reminder",
        lambda locale, start: templates.reminder(
            locale,
            tomorrow=start.day % 2 == 0,
            service=NAMES[locale]["service"],
            branch=NAMES[locale]["branch"],
            start=start,
            timezone=ZONE,
            link=LINK,
            replies=False,
        ),
    ),
    (
        "offer_today",
        lambda locale, start: templates.offer_today(
            locale,
            system=NAMES[locale]["system"],
            until=start,
            timezone=ZONE,
            link=LINK,
            replies=False,
        ),
    ),
]


@pytest.mark.parametrize("locale", templates.LOCALES)
@pytest.mark.parametrize(("name", "make"), ONE_WAY, ids=[name for name, _ in ONE_WAY])
def test_where_sms_is_one_way_the_choices_are_on_the_page(name, make, locale):
    """Egypt and Saudi Arabia: no reply can arrive, so no text asks for one; the budget holds."""
    for start in every_day_of_a_year():
        text = make(locale, start)
        assert segments(text).segments <= templates.BUDGETS[name], text
        assert "رد ١" not in text
        assert "reply" not in text.lower()
        assert text.endswith("\n" + LINK)
        # What to do, right before the link that does it.
        choices = ("تأكيد", "تغيير", "إلغاء") if locale == "ar" else ("onfirm", "change", "cancel")
        if name != "offer_today":
            assert all(word in text for word in choices), text


def _reminder(
    locale: str, link: str, *, tomorrow: bool = True, branch: str | None = None, service=None
) -> str:
    return templates.reminder(
        locale,
        tomorrow=tomorrow,
        service=service or NAMES[locale]["service"],
        branch=branch or NAMES[locale]["branch"],
        start=datetime(2026, 12, 9, 8, 30, tzinfo=UTC),  # Wednesday 10:30 in Cairo
        timezone=ZONE,
        link=link,
    )


def test_a_reminder_says_when_and_where_with_the_choices():
    short = "https://q.gov.eg/t/abc"
    # Arabic has room for the branch, not the service too (the ticket page names it).
    assert _reminder("ar", short, service="بطاقة الرقم القومي") == (
        "تذكير: موعدك غدًا الأربعاء ٩ ديسمبر ١٠:٣٠ ص\n"
        "سجل مدني حي الشيخ زايد بالجيزة\n"
        "رد ١ للتأكيد، ٢ لموعد آخر، ٠ للإلغاء\n" + short
    )
    assert _reminder("en", LINK, tomorrow=False) == (
        "Reminder: your appointment today, Wed 9 Dec, 10:30 AM\n"
        "National ID card (replacement for a lost card), Sheikh Zayed district civil registry, "
        "Giza\nReply 1 to confirm, 2 for another slot, 0 to cancel\n" + LINK
    )


def test_a_tight_arabic_reminder_keeps_the_place_before_the_date():
    """With a long link, "tomorrow at 10:30" and the branch, rather than the date alone."""
    text = _reminder("ar", LINK, branch="سجل مدني مدينة نصر")
    assert text == "موعدك غدًا ١٠:٣٠ ص\nسجل مدني مدينة نصر\n١ تأكيد ٢ تغيير ٠ إلغاء\n" + LINK
    assert segments(text).segments == 2
    # A name too long for that: the time, the choices and the link stay.
    terse = _reminder("ar", LINK, tomorrow=False)
    assert terse.startswith("موعدك اليوم الأربعاء ٩ ديسمبر ١٠:٣٠ ص\n")
