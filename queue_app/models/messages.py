from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base, UTCDateTime, str_enum


class MessageStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker (again, after a temporary failure)
    SENDING = "sending"  # claimed by a worker; if it stays so, the worker died mid-send
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider says the handset has it
    UNDELIVERED = "undelivered"  # the provider gave up after accepting it
    FAILED = "failed"  # refused for good (bad number, unsubscribed, too many tries)
    SUPPRESSED = "suppressed"  # never sent: the number opted out


# States a worker never touches again.
FINAL_STATUSES = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
    MessageStatus.FAILED,
    MessageStatus.SUPPRESSED,
)


class Message(Base):
    """One SMS to one citizen about one event of one ticket: the outbox.

    Written in the same transaction as the change it announces, so that a change is never
    committed without its message nor a message sent for a change that was rolled back. The
    unique (ticket, event) is what makes "never texted twice for the same change" hold, whatever
    retries, flapping back-end systems or racing workers do.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("ticket_id", "event"),
        # What a worker claims next: queued, lane by lane, most urgent first (the soonest slot),
        # then oldest; the due time is read from the index entry, not the table.
        Index("ix_messages_due", "status", "lane", "urgency", "next_attempt_at"),
        # A message that fell back from WhatsApp goes by SMS, and never back: one row, one
        # channel at a time, so it is never sent on both.
        CheckConstraint("channel IN ('sms', 'whatsapp')", name="channel_known"),
        CheckConstraint("fell_back_at IS NULL OR channel = 'sms'", name="fallback_is_sms"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    # What happened, as a stable key: "booked", "rescheduled:outage-12", "reply:SM...".
    event: Mapped[str] = mapped_column(String(80))
    to: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    channel: Mapped[str] = mapped_column(String(10), default="sms", server_default="sms")
    locale: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)  # rendered when written: the text is part of the event
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus), default=MessageStatus.QUEUED
    )
    # The outbox lane (queue_app.message_lanes, decided by the event): 0 "your turn" before 1
    # confirmations and answers before 2 mass moves.
    lane: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    # Within a lane, smaller goes first: the start of the slot the message announces, else its
    # creation time.
    urgency: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    # What crash recovery found for this message: "found_sent" (the provider had it, so it was
    # not sent again) or "resent" (no trace of it: sent again, a possible duplicate).
    reconciled: Mapped[str | None] = mapped_column(String(16))
    # A WhatsApp message that could not go (not on WhatsApp, template refused): when it was
    # switched to SMS, why (Twilio's code, or "no_template"), and the WhatsApp try's id.
    fell_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fallback_reason: Mapped[str | None] = mapped_column(String(32))
    whatsapp_sid: Mapped[str | None] = mapped_column(String(64), unique=True)


class OptOut(Base):
    """A number that replied STOP: it gets nothing more until it opts in again."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboundSms(Base):
    """A reply received, kept so that the provider's retries of one webhook apply it once."""

    __tablename__ = "inbound_sms"
    __table_args__ = (
        UniqueConstraint("provider_sid"),
        # The last WhatsApp message of a number: its 24-hour window for free text.
        Index("ix_inbound_sms_whatsapp_window", "phone", "channel", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    # Where it came from: "sms", or "whatsapp" (which opens the 24-hour window for free text).
    channel: Mapped[str] = mapped_column(String(10), default="sms", server_default="sms")
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    # What the reply was taken to mean, and what was done.
    understood_as: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(Text)


class EarlyDeliveryReport(Base):
    """A delivery report (status callback) that came before its send was recorded: Twilio
    may call back within a second, while the worker still holds the message's id. Kept until
    the worker records the send, then applied (``outbox.apply_early_reports``); housekeeping
    drops one that no message claims within a day."""

    __tablename__ = "early_delivery_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # Twilio's MessageStatus, as it came
    error_code: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
