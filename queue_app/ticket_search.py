"""Find one's own ticket by its number and mobile number (the look-up on /status).

Plain domain code, no Flask: it reads our own database only, never a back-end system. The
number is what is printed on the ticket (``A-012``; ``a12``, ``A 012`` and Arabic-Indic digits
are read the same). The phone is parsed for each country that has a branch, and a ticket matches
only with the number parsed for its own branch's country. Only active tickets (booked, waiting,
called) are found, the most recent first. Whether a number exists without the right phone is
never said: the caller gets None for both.
"""

from __future__ import annotations

import re

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from queue_app.models import Branch, Ticket
from queue_app.models.tickets import ACTIVE_STATUSES
from sms.numbers import InvalidNumber, to_e164

# Arabic-Indic and Extended (Persian) digits, as a phone's keyboard may type them.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NUMBER = re.compile(r"([A-Z])\s*[-‐‑–—_ ]?\s*(\d{1,4})")


class BadTicketNumber(ValueError):
    """The text does not look like a ticket number (a letter and digits: A-012)."""


class BadPhone(ValueError):
    """The text is not a mobile number of any country that has a branch."""


def parse_number(text: str) -> tuple[str, int]:
    """``" a-012 "`` -> ``("A", 12)``. Raises BadTicketNumber."""
    cleaned = (text or "").translate(_DIGITS).strip().upper()
    match = _NUMBER.fullmatch(cleaned)
    if match is None:
        raise BadTicketNumber(f"{text!r} is not a ticket number")
    return match.group(1), int(match.group(2))


def phone_by_country(session: Session, raw: str) -> dict[str, str]:
    """The number in E.164, for each country that has a branch and reads it as a mobile number.
    Raises BadPhone when none does."""
    countries = sorted(set(session.scalars(select(Branch.country))))
    parsed = {}
    for country in countries:
        try:
            parsed[country] = to_e164(raw or "", country)
        except InvalidNumber:
            continue
    if not parsed:
        raise BadPhone(f"{raw!r} is not a mobile number of {', '.join(countries) or 'any branch'}")
    return parsed


def find(session: Session, number: str, phone: str) -> Ticket | None:
    """The most recent active ticket with this number and this phone, or None (also when the
    number exists with another phone). Raises BadTicketNumber, BadPhone. Changes nothing."""
    letter, sequence = parse_number(number)
    phones = phone_by_country(session, phone)
    return session.scalar(
        select(Ticket)
        .join(Branch, Branch.id == Ticket.branch_id)
        .where(
            Ticket.letter == letter,
            Ticket.sequence == sequence,
            Ticket.status.in_(ACTIVE_STATUSES),
            or_(*(and_(Branch.country == c, Ticket.phone == e164) for c, e164 in phones.items())),
        )
        .order_by(Ticket.issued_at.desc(), Ticket.id.desc())
        .limit(1)
    )


__all__ = ["BadPhone", "BadTicketNumber", "find", "parse_number", "phone_by_country"]
