"""The ticket a citizen takes away, as one piece of data: the screen, the 80 mm page and the
thermal printer all render this, so the three cannot disagree.

Paper speaks both languages, Arabic first and English below, so that anyone can read it
(DESIGN.md: Arabic first); the screen speaks the citizen's. Every word comes from the
translation catalog, handed in as one ``Catalog`` per language: Flask-Babel's translations in
the web process, ``gettext.NullTranslations()`` (the English msgids) in tests. Nothing here reads
a request or an app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from queue_app.locales import LOCALES

if TYPE_CHECKING:
    from queue_app.tickets import TicketView

# Paper's order (Arabic first) and every language the slip speaks: those of the tickets.
LANGUAGES = LOCALES

# As ``queue_app.pages.formatting``: quantities, times and dates in Arabic take Arabic-Indic
# digits; the ticket number never does, it must read as the counters call it.
ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


class Catalog(Protocol):
    """One language's messages, as babel's ``Translations`` and gettext's ``NullTranslations``
    answer them."""

    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class SlipText:
    """The ticket's words in one language."""

    locale: str
    branch: str
    service: str
    facts: tuple[Fact, ...]  # when it was taken, people ahead, estimated wait: those known
    priority: str | None  # the words for a priority ticket, or None
    qr_hint: str  # what the QR code is for
    # For a booked time held by a citizen who left no number: nobody will text them, so the
    # slip says where a changed time shows (DESIGN.md, outages step 2). None otherwise.
    no_phone: str | None = None

    @property
    def direction(self) -> str:
        return "rtl" if self.locale == "ar" else "ltr"


@dataclass(frozen=True)
class TicketSlip:
    number: str
    status_url: str  # what the QR code holds: the ticket's own page
    locale: str  # the citizen's language: the screen speaks it, paper speaks all of ``texts``
    priority: bool
    issued_at: datetime
    people_ahead: int | None
    eta_minutes: int | None
    texts: tuple[SlipText, ...]  # in paper's order: Arabic first

    def text(self, locale: str) -> SlipText:
        return next((t for t in self.texts if t.locale == locale), self.texts[0])

    def fact_rows(self) -> list[tuple[Fact, ...]]:
        """Each fact in every language, in paper's order, so that paper shows a fact's English
        right under its Arabic."""
        return list(zip(*(t.facts for t in self.texts), strict=True))


def slip_for(
    view: TicketView, status_url: str, locale: str, *, catalogs: Mapping[str, Catalog]
) -> TicketSlip:
    """The slip of a ticket. ``catalogs`` holds one catalog for each of ``LANGUAGES``."""
    ticket = view.ticket
    people_ahead = None if view.position is None else view.position - 1
    # As on the ticket page: a wait is estimated only while counters serve the service.
    eta = view.eta_minutes if view.service_status.takes_walk_ins else None
    texts = tuple(
        _text(view, language, catalogs[language], people_ahead, eta) for language in LANGUAGES
    )
    return TicketSlip(
        number=ticket.number,
        status_url=status_url,
        locale=locale if locale in LANGUAGES else LANGUAGES[0],
        priority=ticket.priority,
        issued_at=ticket.issued_at,
        people_ahead=people_ahead,
        eta_minutes=eta,
        texts=texts,
    )


def _text(
    view: TicketView,
    locale: str,
    catalog: Catalog,
    people_ahead: int | None,
    eta: int | None,
) -> SlipText:
    zone = view.branch.zone
    issued = catalog.gettext("%(day)s at %(time)s") % {
        "day": _day(view.ticket.issued_at, zone, locale),
        "time": _clock_time(view.ticket.issued_at, zone, locale),
    }
    # TRANSLATORS: on the printed ticket, before the day and time the ticket was taken.
    facts = [Fact(catalog.gettext("Issued"), issued)]
    slot_start = view.ticket.slot_start
    if slot_start is not None and view.ticket.status.value == "scheduled":
        # An appointment not yet checked in: the time to come is what its holder must keep.
        booked = catalog.gettext("%(day)s at %(time)s") % {
            "day": _day(slot_start, zone, locale),
            "time": _clock_time(slot_start, zone, locale),
        }
        facts.insert(0, Fact(catalog.gettext("Your time"), booked))
    if people_ahead is not None:
        ahead = (
            catalog.gettext("You are next") if people_ahead == 0 else _digits(people_ahead, locale)
        )
        facts.append(Fact(catalog.gettext("People ahead of you"), ahead))
    if eta is not None:
        wait = catalog.gettext("Any moment now") if eta == 0 else _minutes(eta, locale, catalog)
        facts.append(Fact(catalog.gettext("Estimated wait"), wait))
    return SlipText(
        locale=locale,
        branch=view.branch.name(locale),
        service=view.service.name(locale),
        facts=tuple(facts),
        # TRANSLATORS: printed under the number of a ticket served first (elderly, disability...).
        priority=catalog.gettext("Priority ticket") if view.ticket.priority else None,
        # TRANSLATORS: printed under the QR code of a ticket.
        qr_hint=catalog.gettext(
            "Scan this code with your phone to follow your turn and the estimated wait."
        ),
        no_phone=_no_phone_words(view, catalog),
    )


def _no_phone_words(view: TicketView, catalog: Catalog) -> str | None:
    ticket = view.ticket
    if ticket.phone is not None or ticket.status.value != "scheduled":
        return None
    # TRANSLATORS: printed on the slip of a booked time when the citizen left no mobile number.
    return catalog.gettext(
        "No text message will come: you left no mobile number. Keep this slip. If your time "
        "changes, the new time is shown on the board in the hall and on this ticket's page "
        "(scan the code)."
    )


def _digits(value: object, locale: str) -> str:
    text = str(value)
    return text.translate(ARABIC_INDIC_DIGITS) if locale == "ar" else text


def _minutes(count: int, locale: str, catalog: Catalog) -> str:
    # Arabic has six plural forms: the catalog picks one. The phrase holds no other digits.
    phrase = catalog.ngettext("%(num)s minute", "%(num)s minutes", count) % {"num": count}
    return _digits(phrase, locale)


def _clock_time(moment: datetime, zone: ZoneInfo, locale: str) -> str:
    return _digits(format_time(moment, "short", tzinfo=zone, locale=locale), locale)


def _day(moment: datetime, zone: ZoneInfo, locale: str) -> str:
    return _digits(format_date(moment.astimezone(zone), "EEEE d MMMM", locale=locale), locale)
