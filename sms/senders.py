"""Who a message comes from, chosen by the destination's country.

A deployment may send to each country from its own sender: a phone number (E.164), an
alphanumeric sender name (what Saudi Arabia requires: a registered name such as ``GOVQUEUE``)
or a Twilio Messaging Service (``MG`` + 32 hex digits), which picks the sender itself. Written
``EG=+201000000000,SA=GOVQUEUE,*=MG0123…``: ``*`` is every other country.

A country is matched by its calling code (``+20`` for EG, ``+966`` for SA), which is what the
outbox can select on; so a country that shares its calling code with others (US and CA share
``+1``) cannot have a sender of its own. An alphanumeric sender cannot be answered: replies to
it never arrive (``Sender.takes_replies``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

ANY_COUNTRY = "*"

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")
# Twilio's rules for an alphanumeric sender ID: up to 11 characters, ASCII letters, digits and
# spaces, and at least one letter (a name of digits only would look like a short code).
_HEX = re.compile(r"[0-9a-fA-F]+")
_NAME = re.compile(r"[A-Za-z0-9 ]{1,11}")


class SenderKind(StrEnum):
    NUMBER = "number"  # a phone number: sent as From, answered by replies
    NAME = "name"  # an alphanumeric sender ID: sent as From, one-way
    SERVICE = "service"  # a Messaging Service: sent as MessagingServiceSid, it picks the sender


@dataclass(frozen=True)
class Sender:
    value: str  # as Twilio takes it: "+201000000000", "GOVQUEUE", "MG…"
    kind: SenderKind

    @property
    def takes_replies(self) -> bool:
        """Whether a citizen can answer a message from this sender. A Messaging Service is
        taken to send from a number; one that sends by a name needs its country listed as
        one-way (QUEUE_SMS_ONE_WAY_COUNTRIES)."""
        return self.kind != SenderKind.NAME


def parse_sender(raw: str, *, names: bool = True) -> Sender:
    """A sender as written in settings. ``names`` False (WhatsApp) allows only numbers and
    Messaging Services. Raises ValueError saying what is wrong."""
    text = raw.strip()
    if _SERVICE.fullmatch(text):
        return Sender(text, SenderKind.SERVICE)
    if text.startswith("+"):
        if not _E164.fullmatch(text):
            raise ValueError(f"{text!r} is not a phone number in E.164 (+ and 7 to 15 digits)")
        return Sender(text, SenderKind.NUMBER)
    # MG and hex digits, or too long for a name: a Messaging Service SID cut or mistyped.
    if text.startswith("MG") and (_HEX.fullmatch(text[2:]) or len(text) > 11):
        raise ValueError(f"{text!r} is not a Messaging Service SID (MG and 32 hex digits)")
    if not names:
        raise ValueError(
            f"{text!r} is neither a phone number (+…) nor a Messaging Service SID (MG…)"
        )
    if not _NAME.fullmatch(text) or not any(c.isalpha() for c in text):
        raise ValueError(
            f"{text!r} is not an alphanumeric sender name: up to 11 letters, digits and "
            "spaces, at least one letter"
        )
    return Sender(text, SenderKind.NAME)


def calling_code(country: str) -> int:
    """The calling code of a country that has one of its own (20 for EG). Raises ValueError
    for an unknown country or one that shares its code (US and CA: +1)."""
    code = phonenumbers.country_code_for_region(country.upper())
    if code == 0:
        raise ValueError(f"{country!r} is not a country code (ISO 3166, two letters)")
    sharing = [r for r in phonenumbers.region_codes_for_country_code(code) if r != country.upper()]
    if sharing:
        raise ValueError(
            f"{country.upper()} shares the calling code +{code} with {', '.join(sharing[:5])}"
            f"{' …' if len(sharing) > 5 else ''}: its numbers cannot be told apart; "
            f"use {ANY_COUNTRY}= for them"
        )
    return code


def prefix_of(country: str) -> str:
    """The start of every E.164 number of ``country``: "+20" for EG."""
    return f"+{calling_code(country)}"


@dataclass(frozen=True)
class Senders:
    """The sender of each listed country, and of every other (``default``; None: the
    deployment's own, TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID)."""

    by_country: tuple[tuple[str, Sender], ...] = ()
    default: Sender | None = None

    @classmethod
    def parse(cls, text: str | None, *, names: bool = True) -> Senders:
        """``EG=+201000000000,SA=GOVQUEUE,*=MG…``; empty: none. Raises ValueError."""
        by_country: dict[str, Sender] = {}
        default: Sender | None = None
        for item in filter(None, (part.strip() for part in (text or "").split(","))):
            country, equals, raw = item.partition("=")
            country = country.strip().upper()
            if not equals or not country or not raw.strip():
                raise ValueError(f"write COUNTRY=SENDER items (EG=+201000000000), not {item!r}")
            try:
                sender = parse_sender(raw, names=names)
                if country == ANY_COUNTRY:
                    if default is not None:
                        raise ValueError(f"{ANY_COUNTRY} is given twice")
                    default = sender
                    continue
                if country in by_country:
                    raise ValueError("the country is given twice")
                calling_code(country)
            except ValueError as exc:
                raise ValueError(f"{item!r}: {exc}") from None
            by_country[country] = sender
        return cls(tuple(by_country.items()), default)

    def with_default(self, default: Sender | None) -> Senders:
        """The same, with ``default`` for every other country unless ``*`` was given."""
        return Senders(self.by_country, self.default or default)

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(country for country, _ in self.by_country)

    def for_country(self, country: str) -> Sender | None:
        for listed, sender in self.by_country:
            if listed == country.upper():
                return sender
        return self.default

    def for_number(self, number: str) -> Sender | None:
        """The sender of a message to ``number`` (E.164): its country's, else the default."""
        for country, sender in self.by_country:
            if number.startswith(prefix_of(country)):
                return sender
        return self.default

    def senders(self) -> Iterable[Sender]:
        yield from (sender for _, sender in self.by_country)
        if self.default is not None:
            yield self.default
