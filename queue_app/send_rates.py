"""The sending rate of each sender on each channel: a token bucket shared by every worker.

The provider limits a sender (a number, an alphanumeric name, a Messaging Service), whatever
number of workers send through it; two senders do not share a budget. The bucket lives in the
database (table ``send_buckets``, one row per (channel, sender)), not in Redis: every worker
already has the database, and it is touched once per batch a worker claims (about once a second
per worker), under a row lock on PostgreSQL and the write lock on SQLite. Time is the domain
clock, so tests and the bench move it by hand.

Bounded: a bucket holds between 0 and one second of its rate (at least one message), so an
idle night never turns into a burst in the morning, and a clock set back grants nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from queue_app.db import insert
from queue_app.models import Message, MessageStatus, SendBucket
from sms.senders import Sender, Senders, prefix_of

if TYPE_CHECKING:
    from queue_app.settings import Settings


@dataclass(frozen=True)
class RateKey:
    """Whose budget a message spends: ``channel`` "sms" or "whatsapp", ``sender`` as the
    provider knows it (the destination country's sender, QUEUE_SMS_SENDERS; else TWILIO_FROM,
    else the Messaging Service, else the gateway's name)."""

    channel: str
    sender: str


@dataclass(frozen=True)
class Route:
    """The messages of one channel that one sender sends, and the budget they spend.

    ``prefixes`` are the calling codes of the countries it sends to ("+20"); None: every number
    but those of ``except_prefixes`` (the other countries' senders). ``sender`` is what the
    gateway sends as; None: its own (TWILIO_FROM, TWILIO_MESSAGING_SERVICE_SID)."""

    key: RateKey
    rate: float
    sender: Sender | None = None
    prefixes: tuple[str, ...] | None = None
    except_prefixes: tuple[str, ...] = ()

    def covers(self, number: str) -> bool:
        """Whether a message to ``number`` (E.164) goes by this route (``where`` in Python)."""
        if self.prefixes is not None:
            return number.startswith(self.prefixes)
        return not number.startswith(self.except_prefixes)

    def where(self) -> ColumnElement[bool] | None:
        """The outbox rows of this route, among its channel's (None: all of them)."""
        if self.prefixes is not None:
            return or_(*(Message.to.startswith(p, autoescape=True) for p in self.prefixes))
        if self.except_prefixes:
            return and_(*(~Message.to.startswith(p, autoescape=True) for p in self.except_prefixes))
        return None


def routes_for(
    channel: str, senders: Senders, own: RateKey, rate_for: Callable[[str, str], float]
) -> list[Route]:
    """One route per listed country and one for every other number: a country's messages go
    from its sender and spend that sender's budget (so that QUEUE_SMS_RATES per sender holds
    whichever countries share it); the others from ``senders.default``, else the deployment's
    own sender (``own``)."""
    routes = []
    for country, sender in senders.by_country:
        key = RateKey(channel, sender.value)
        routes.append(Route(key, rate_for(key.channel, key.sender), sender, (prefix_of(country),)))
    key = RateKey(channel, senders.default.value) if senders.default else own
    listed = tuple(prefix_of(country) for country in senders.countries)
    routes.append(Route(key, rate_for(key.channel, key.sender), senders.default, None, listed))
    return routes


def routes_of(settings: Settings) -> list[Route]:
    """Every route of this deployment: SMS then WhatsApp (``routes_for``)."""
    return routes_for(
        "sms", settings.sms_senders, sms_sender_of(settings), settings.rate_for
    ) + routes_for(
        "whatsapp", settings.whatsapp_senders, whatsapp_sender_of(settings), settings.rate_for
    )


def sms_sender_of(settings: Settings) -> RateKey:
    """The sender the provider counts this deployment's SMS against: the number or sender name,
    else the Messaging Service, else the gateway (console)."""
    sender = settings.twilio_from or settings.twilio_messaging_service_sid or settings.sms_gateway
    return RateKey("sms", sender)


def whatsapp_sender_of(settings: Settings) -> RateKey:
    """The WhatsApp sender: TWILIO_WHATSAPP_FROM, else the Messaging Service, else the
    gateway's name."""
    sender = (
        settings.twilio_whatsapp_from
        or settings.twilio_messaging_service_sid
        or settings.sms_gateway
    )
    return RateKey("whatsapp", sender)


def sms_rate_of(settings: Settings, country: str | None = None) -> float:
    """Messages per second of the SMS sender of ``country`` (``QUEUE_SMS_SENDERS``; None: of
    every other country), else of the deployment's own sender (``Settings.rate_for``). An
    estimate's rate: a mass move to several countries spends several senders' budgets."""
    sender = (
        settings.sms_senders.for_country(country)
        if country is not None
        else settings.sms_senders.default
    )
    key = RateKey("sms", sender.value) if sender else sms_sender_of(settings)
    return settings.rate_for(key.channel, key.sender)


@dataclass(frozen=True)
class LastMessage:
    """When the last queued message of a group (a mass move) leaves at the current rate."""

    waiting: int  # the group's messages still queued
    ahead: int  # queued messages claimed before its last one, that one included
    leaves_at: datetime


def last_message(
    session: Session, now: datetime, group: ColumnElement[bool], rate: float
) -> LastMessage | None:
    """When the last queued message of ``group`` (a condition on ``Message``) will leave:
    the queued messages a worker claims before it (every lane before its lane, and its own lane
    up to it, ``outbox.claim``'s order) divided by ``rate``, from now or, when the group is held
    (``not_before``), from its latest due time. None when none is queued. Messages written later
    in a lane before it (a "your turn") push it back; this is the estimate now."""
    queued = Message.status == MessageStatus.QUEUED
    last = session.execute(
        select(Message.id, Message.lane, Message.urgency)
        .where(queued, group)
        .order_by(Message.lane.desc(), Message.urgency.desc(), Message.id.desc())
        .limit(1)
    ).one_or_none()
    if last is None:
        return None
    before_it = or_(
        Message.lane < last.lane,
        and_(
            Message.lane == last.lane,
            or_(
                Message.urgency < last.urgency,
                and_(Message.urgency == last.urgency, Message.id <= last.id),
            ),
        ),
    )
    ahead = session.scalar(select(func.count()).where(queued, before_it)) or 0
    waiting, held_until = session.execute(
        select(func.count(), func.max(Message.next_attempt_at)).where(queued, group)
    ).one()
    # Messages held for the morning (a move's texts kept until 06:00) start to leave then.
    start = max(now, held_until) if held_until is not None else now
    return LastMessage(waiting, ahead, start + timedelta(seconds=ahead / rate))


def capacity(rate: float) -> float:
    """The most a bucket holds: one second of sending, and at least one message."""
    return max(1.0, rate)


def take(session: Session, now: datetime, key: RateKey, rate: float, want: int) -> int:
    """Take up to ``want`` messages' worth from ``key``'s bucket, refilled at ``rate`` per
    second since it was last touched; return how many may be sent now (0 when it is empty) and
    commit. Several processes may call at once: each sees the others' takings."""
    if rate <= 0:
        raise ValueError("a sending rate is above zero messages per second")
    if want <= 0:
        return 0
    full = capacity(rate)
    bucket = _locked(session, now, key, full)
    tokens, refilled_at = bucket
    elapsed = max(0.0, (now - refilled_at).total_seconds())
    tokens = min(full, tokens + elapsed * rate)
    granted = min(want, math.floor(tokens))
    _store(session, key, tokens - granted, max(now, refilled_at))
    session.commit()
    return granted


def give_back(session: Session, now: datetime, key: RateKey, rate: float, unused: int) -> None:
    """Return what was taken and not sent (fewer messages were due than taken); commit."""
    if unused <= 0:
        return
    tokens, refilled_at = _locked(session, now, key, capacity(rate))
    _store(session, key, min(capacity(rate), tokens + unused), refilled_at)
    session.commit()


def _locked(session: Session, now: datetime, key: RateKey, full: float) -> tuple[float, datetime]:
    """The bucket's row, made full if new, locked until the caller's commit: a no-op UPDATE
    takes the row lock on PostgreSQL and the database's write lock on SQLite before the read,
    so no two workers read the same count."""
    session.execute(
        insert(session, SendBucket)
        .values(channel=key.channel, sender=key.sender, tokens=full, refilled_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "sender"])
    )
    mine = (SendBucket.channel == key.channel) & (SendBucket.sender == key.sender)
    session.execute(
        update(SendBucket)
        .where(mine)
        .values(tokens=SendBucket.tokens)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(select(SendBucket.tokens, SendBucket.refilled_at).where(mine)).one()
    return float(row.tokens), row.refilled_at


def _store(session: Session, key: RateKey, tokens: float, refilled_at: datetime) -> None:
    session.execute(
        update(SendBucket)
        .where(SendBucket.channel == key.channel, SendBucket.sender == key.sender)
        .values(tokens=max(0.0, tokens), refilled_at=refilled_at)
        .execution_options(synchronize_session=False)
    )
