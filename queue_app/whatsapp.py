"""WhatsApp beside SMS: the citizen's 24-hour window and the fallback of a message to SMS.

A message on the ``whatsapp`` channel goes as free text when the number wrote to us on WhatsApp
within 24 hours, else as the approved template of its kind (``sms.whatsapp``). When WhatsApp
cannot take it (not a WhatsApp user, template refused, no template or no WhatsApp sender) the
same outbox row is switched to SMS and queued again: one row, one channel at a time, and a
``fell_back_at`` that is set once, so a message falls back once and is never sent on both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from queue_app.db import rowcount
from queue_app.models import InboundSms, Message, MessageStatus
from sms.gateways import Channel, falls_back_to_sms

CHANNELS = (Channel.SMS.value, Channel.WHATSAPP.value)


def last_inbound(session: Session, phone: str) -> datetime | None:
    """When ``phone`` last wrote to us on WhatsApp (its window for free text), or None."""
    return session.scalar(
        select(func.max(InboundSms.received_at)).where(
            InboundSms.phone == phone, InboundSms.channel == Channel.WHATSAPP.value
        )
    )


def fall_back(
    session: Session,
    now: datetime,
    message_id: int,
    *,
    worker: str | None,
    reason: str,
    error: str,
) -> bool:
    """Switch a claimed WhatsApp message (``worker``'s claim, or any claim when None) to SMS and
    queue it again, and commit; False when it is not (or no longer) such a claim."""
    mine = [
        Message.id == message_id,
        Message.channel == Channel.WHATSAPP.value,
        Message.fell_back_at.is_(None),
        Message.status == MessageStatus.SENDING,
    ]
    if worker is not None:
        mine.append(Message.claimed_by == worker)
    done = rowcount(
        session.execute(
            update(Message)
            .where(*mine)
            .values(_to_sms(now, reason, error))
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return bool(done)


def fall_back_after_callback(
    session: Session, now: datetime, message: Message, error_code: str | None
) -> bool:
    """A WhatsApp message Twilio accepted, then failed with a code that SMS gets around: queue
    the same message by SMS, in the caller's transaction. False when it does not apply (SMS
    already, fell back before, or another code)."""
    if message.channel != Channel.WHATSAPP.value or not falls_back_to_sms(error_code):
        return False
    done = rowcount(
        session.execute(
            update(Message)
            .where(
                Message.id == message.id,
                Message.channel == Channel.WHATSAPP.value,
                Message.fell_back_at.is_(None),
                Message.status.in_(
                    (MessageStatus.SENT, MessageStatus.SENDING, MessageStatus.UNDELIVERED)
                ),
            )
            .values(_to_sms(now, str(error_code), f"WhatsApp could not deliver it ({error_code})"))
            .execution_options(synchronize_session=False)
        )
    )
    session.expire(message)
    return bool(done)


def _to_sms(now: datetime, reason: str, error: str) -> dict[str, object]:
    return {
        "channel": Channel.SMS.value,
        "fell_back_at": now,
        "fallback_reason": reason[:32],
        # The WhatsApp try's id moves aside: the SMS gets its own, and a late WhatsApp status
        # callback then finds no message to change.
        "whatsapp_sid": Message.provider_sid,
        "provider_sid": None,
        "status": MessageStatus.QUEUED,
        "next_attempt_at": now,
        "claimed_by": None,
        "sent_at": None,
        "error_code": reason[:32],
        "error": error,
    }
