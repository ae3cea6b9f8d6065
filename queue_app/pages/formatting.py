"""How numbers and times read on the pages, in one place, for the templates and their scripts.

Digits: Babel writes ``ar`` numbers with Western digits, but the boards and forms of Egyptian and
Saudi public offices use Arabic-Indic digits (٠١٢٣٤٥٦٧٨٩), so Arabic pages map quantities,
times and dates to them here. Identifiers are never mapped: a ticket number (``A-001``) or a
counter code must read exactly as printed on the paper ticket and the sign over the counter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from flask import Flask
from flask_babel import get_locale, gettext, ngettext

from queue_app.locales import DEFAULT_LOCALE

ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def page_locale() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def digit_style(locale: str) -> str:
    """The numbering system of a locale's pages: ``arab`` or ``latn`` (CLDR's names)."""
    return "arab" if locale == "ar" else "latn"


def digits(value: object, locale: str | None = None) -> str:
    """``value`` as text, with Arabic-Indic digits on Arabic pages. Not for identifiers."""
    text = str(value)
    if digit_style(locale or page_locale()) == "arab":
        return text.translate(ARABIC_INDIC_DIGITS)
    return text


def isolate(identifier: object) -> str:
    """Keep a ticket number or counter code in one left-to-right piece inside a sentence: without
    it, "A-001" in an Arabic sentence can show as "001-A" (Unicode bidi rule N1)."""
    return f"\u2066{identifier}\u2069"


def minutes(count: int) -> str:
    # Arabic has six plural forms (دقيقة واحدة، دقيقتان، ٣ دقائق، ١١ دقيقة...): ngettext picks one.
    # The phrase holds no other digits than the count, so mapping it whole is safe.
    return digits(ngettext("%(num)s minute", "%(num)s minutes", count))


def minutes_range(low_high: tuple[int, int]) -> str:
    """``about 9–17 minutes``: an estimated wait's range (wait_estimate). Its plural form follows
    the high end, the number next to the word."""
    low, high = low_high
    return digits(
        ngettext("about %(low)s–%(num)s minute", "about %(low)s–%(num)s minutes", high, low=low)
    )


# A day clear of datetime's ends, so that turning any stored moment into a branch's time cannot
# overflow: a maintenance window stored before its dates were checked may lie in the year 9999.
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    """``moment`` in the branch's time zone; one at datetime's very ends is first moved a day in,
    so that a page shows it rather than failing."""
    return min(max(moment, _EARLIEST), _LATEST).astimezone(zone)


def clock_time(moment: datetime, zone: ZoneInfo) -> str:
    """``10:30 ص`` / ``10:30 AM``, in the branch's own time zone."""
    locale = page_locale()
    return digits(format_time(local(moment, zone), "short", tzinfo=zone, locale=locale), locale)


def day(moment: datetime, zone: ZoneInfo) -> str:
    """``الثلاثاء ٢٤ نوفمبر`` / ``Tuesday 24 November``, in the branch's own time zone."""
    locale = page_locale()
    return digits(format_date(local(moment, zone), "EEEE d MMMM", locale=locale), locale)


def day_and_time(moment: datetime, zone: ZoneInfo) -> str:
    """``الأحد ٢٩ نوفمبر الساعة ٩:٠٠ ص`` / ``Sunday 29 November at 9:00 AM``: a time to come,
    always with its weekday, day and month name, so that nobody misreads it (a bare time could
    be any day; a numeric date reads differently in different countries)."""
    return gettext("%(day)s at %(time)s", day=day(moment, zone), time=clock_time(moment, zone))


def when(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """The time alone if it falls today in the branch, the day and the time otherwise."""
    if local(moment, zone).date() == local(now, zone).date():
        return clock_time(moment, zone)
    return gettext("%(day)s at %(time)s", day=day(moment, zone), time=clock_time(moment, zone))


def country_name(country: str, locale: str) -> str:
    """``مصر`` / ``Egypt``: a branch's country (ISO 3166 code), as the reader says it."""
    return Locale.parse(locale).territories.get(country.upper(), country)


def intl_locale(locale: str) -> str:
    """The locale the scripts give ``Intl.DateTimeFormat``: Western digits always, since
    ``digits`` above is the one place that maps them, on the server and (mirrored) in the
    browser."""
    return f"{locale}-u-nu-latn"


def local_input(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-11-25T08:00``: the value of an ``<input type="datetime-local">``, branch time."""
    return local(moment, zone).strftime("%Y-%m-%dT%H:%M")


def init_app(app: Flask) -> None:
    filters: dict[str, Any] = {
        "digits": digits,
        "isolate": isolate,
        "minutes": minutes,
        "minutes_range": minutes_range,
        "clock_time": clock_time,
        "when": when,
        "local_input": local_input,
    }
    app.jinja_env.filters.update(filters)
