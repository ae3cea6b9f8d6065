"""The SMS outbox: messages written with the change they announce, claimed and sent by workers.

A message's life: ``queued`` → ``sending`` (claimed by one worker) → ``sent`` → ``delivered`` or
``undelivered`` (the provider's status callbacks); a temporary failure puts it back to ``queued``
with a later ``next_attempt_at``; a permanent one makes it ``failed``; a number that opted out
makes it ``suppressed``. A message left in ``sending`` past its lease belonged to a worker that
died mid-send: ``reconcile_stale`` asks the provider whether it went out before sending it again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from queue_app import daily_cap, whatsapp
from queue_app.db import insert, rowcount
from queue_app.message_lanes import lane_of
from queue_app.models import (
    Branch,
    EarlyDeliveryReport,
    Message,
    MessageStatus,
    OptOut,
    Ticket,
)

# Retries after a temporary failure: 30 s, 1, 2, 4 ... minutes, capped, with jitter so that a
# provider coming back from an outage is not hit by every worker at the same second.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(minutes=30)
# The event of the answer to STOP: the one message that still goes to a number opted out.
OPT_OUT_EVENT = "opted-out"
# After this many temporary failures a message is given up (about a day of trying).
MAX_ATTEMPTS = 12


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, as a worker needs it: no ORM object crosses into the send loop."""

    id: int
    to: str
    body: str
    attempts: int
    claimed_at: datetime
    channel: str = "sms"  # "whatsapp" goes by WhatsApp (queue_app/whatsapp.py), else SMS
    event: str = ""
    locale: str = "ar"


def row(
    now: datetime,
    *,
    ticket_id: int | None,
    event: str,
    to: str,
    locale: str,
    body: str,
    urgency: datetime | None = None,
    not_before: datetime | None = None,
    channel: str = "sms",
) -> dict[str, Any]:
    """The outbox row of one message, queued now; for ``enqueue`` and for bulk writers (the
    rescheduler) that insert many at once.

    ``urgency`` is when the news matters (the start of the announced slot): sooner goes first
    within the message's lane, which its event decides (``message_lanes``).
    """
    return {
        "ticket_id": ticket_id,
        "event": event,
        "lane": int(lane_of(event)),
        "to": to,
        "channel": channel,
        "locale": locale,
        "body": body,
        "status": MessageStatus.QUEUED,
        "urgency": urgency or now,
        "created_at": now,
        "next_attempt_at": not_before or now,
        "attempts": 0,
    }


def enqueue(
    session: Session,
    now: datetime,
    *,
    ticket: Ticket | None,
    event: str,
    to: str,
    locale: str,
    body: str,
    urgency: datetime | None = None,
    not_before: datetime | None = None,
    channel: str = "sms",
) -> bool:
    """Add a message to the outbox in the caller's transaction; return False when this ticket
    already has a message for this event (then nothing is written). A message that would take
    the number past its day's cap is written suppressed, never sent (``daily_cap``)."""
    values = row(
        now,
        ticket_id=ticket.id if ticket is not None else None,
        event=event,
        to=to,
        locale=locale,
        body=body,
        urgency=urgency,
        not_before=not_before,
        channel=channel,
    )
    # Exempt messages are never held back; a number the request found room for is not counted
    # again (``daily_cap.take_room``).
    if not daily_cap.exempt(event) and not daily_cap.take_room(session, to):
        daily_cap.lock_number(session, to)
        _hold_over_cap(session, now, [values])
    written = session.execute(_one_message(session), values).scalar_one_or_none()
    return written is not None


# Per dialect, built once: every ticket issued with a phone runs it.
_ONE_MESSAGE: dict[str, Any] = {}


def _one_message(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    statement = _ONE_MESSAGE.get(dialect)
    if statement is None:
        messages = cast(Table, Message.__table__)
        # RETURNING rather than rowcount, which psycopg leaves at -1 for this statement.
        statement = _ONE_MESSAGE[dialect] = (
            insert(session, messages)
            .on_conflict_do_nothing(index_elements=["ticket_id", "event"])
            .returning(messages.c.id)
        )
    return statement


def enqueue_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add many messages (``row``'s) at once in the caller's transaction, as one executemany;
    a ticket that already has a message for the event keeps it (the bulk writers' retries)."""
    if not rows:
        return
    rows = [dict(r) for r in rows]
    _hold_over_cap(session, rows[0]["created_at"], rows)
    # One executemany needs the same keys in every row: the cap gave some an error.
    for values in rows:
        values.setdefault("error", None)
    session.connection().execute(
        insert(session, Message.__table__).on_conflict_do_nothing(
            index_elements=["ticket_id", "event"]
        ),
        rows,
    )


def _hold_over_cap(session: Session, now: datetime, rows: list[dict[str, Any]]) -> None:
    ticket_ids = {r["ticket_id"] for r in rows if r["ticket_id"] is not None}
    timezones: dict[int, str] = {}
    if ticket_ids:
        timezones = dict(
            session.execute(
                select(Ticket.id, Branch.timezone)
                .join(Branch, Branch.id == Ticket.branch_id)
                .where(Ticket.id.in_(ticket_ids))
            ).all()
        )
    daily_cap.over_cap(session, now, rows, timezones)


def has_due(
    session: Session,
    now: datetime,
    channel: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> bool:
    """Whether any message (of ``channel``, and ``where``) waits to be claimed now (one read,
    no lock)."""
    due = session.scalar(
        select(Message.id)
        .where(
            Message.status == MessageStatus.QUEUED,
            Message.next_attempt_at <= now,
            *([Message.channel == channel] if channel is not None else []),
            *([where] if where is not None else []),
        )
        .limit(1)
    )
    session.commit()
    return due is not None


def claim(
    session: Session,
    now: datetime,
    worker: str,
    limit: int,
    *,
    channel: str | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[Outgoing]:
    """Claim up to ``limit`` due messages for ``worker``, lane by lane (``message_lanes``), most
    urgent first within a lane, and commit.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several workers claim at once without waiting
    for or taking each other's rows; on SQLite the UPDATE's ``status`` condition makes a row
    that another process claimed in between drop out. An empty outbox costs one read, no write
    lock. Messages to numbers that opted out are never claimed (``suppress_opted_out`` marks them).
    With ``channel``, only that channel's messages (each channel spends its own sender's budget);
    with ``where``, only those (one sender's countries: ``send_rates.Route``).
    """
    opted_out = select(OptOut.phone).where(OptOut.phone == Message.to).exists()
    ids = session.scalars(
        select(Message.id)
        .where(
            Message.status == MessageStatus.QUEUED,
            Message.next_attempt_at <= now,
            or_(~opted_out, ~_not_opt_out_answer()),
            *([Message.channel == channel] if channel is not None else []),
            *([where] if where is not None else []),
        )
        .order_by(Message.lane, Message.urgency, Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not ids:
        session.commit()
        return []
    rows = session.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.status == MessageStatus.QUEUED)
        .values(
            status=MessageStatus.SENDING,
            claimed_by=worker,
            claimed_at=now,
            attempts=Message.attempts + 1,
        )
        .returning(
            Message.id,
            Message.to,
            Message.body,
            Message.attempts,
            Message.lane,
            Message.urgency,
            Message.channel,
            Message.event,
            Message.locale,
        )
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    rows = sorted(rows, key=lambda row: (row.lane, row.urgency, row.id))  # RETURNING: no order
    return [
        Outgoing(r.id, r.to, r.body, r.attempts, now, r.channel, r.event, r.locale) for r in rows
    ]


def suppress_opted_out(session: Session) -> int:
    """Mark queued messages to numbers that opted out (written after the opt-out) as
    suppressed, so that they do not wait in the queue for ever; return how many."""
    opted_out = select(OptOut.phone).where(OptOut.phone == Message.to).exists()
    suppressed = rowcount(
        session.execute(
            update(Message)
            .where(Message.status == MessageStatus.QUEUED, opted_out, _not_opt_out_answer())
            .values(status=MessageStatus.SUPPRESSED, error="the number opted out (STOP)")
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return suppressed


def _not_opt_out_answer() -> ColumnElement[bool]:
    return Message.event.not_like(f"{OPT_OUT_EVENT}:%")


def _finish(session: Session, message_id: int, worker: str | None, **values: object) -> bool:
    """Record a send's outcome, only if the message is still this worker's claim (a reconciling
    worker may have taken it over)."""
    mine = and_(Message.id == message_id, Message.status == MessageStatus.SENDING)
    if worker is not None:
        mine = and_(mine, Message.claimed_by == worker)
    done = rowcount(
        session.execute(
            update(Message)
            .where(mine)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return bool(done)


def record_sent_many(
    session: Session, now: datetime, sent: Sequence[tuple[Outgoing, str | None]], worker: str
) -> None:
    """Record several sends in one transaction (a worker records every few messages rather than
    after each: a crash in between leaves them to reconciliation, which finds them sent)."""
    if not sent:
        return
    # Core: one executemany, not the ORM's bulk-by-primary-key
    messages = cast(Table, Message.__table__)
    session.connection().execute(
        update(messages)
        .where(
            messages.c.id == bindparam("message_id"),
            messages.c.status == MessageStatus.SENDING,
            messages.c.claimed_by == worker,
        )
        .values(
            status=MessageStatus.SENT,
            sent_at=now,
            provider_sid=bindparam("sid"),
            error_code=None,
            error=None,
        ),
        [{"message_id": message.id, "sid": sid} for message, sid in sent],
    )
    session.commit()
    apply_early_reports(session, now, [sid for _, sid in sent if sid])


def record_sent(
    session: Session, now: datetime, message: Outgoing, worker: str, provider_sid: str | None
) -> bool:
    done = _finish(
        session,
        message.id,
        worker,
        status=MessageStatus.SENT,
        sent_at=now,
        provider_sid=provider_sid,
        error_code=None,
        error=None,
    )
    if done and provider_sid:
        apply_early_reports(session, now, [provider_sid])
    return done


def retry_delay(attempts: int, jitter: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with full jitter between half and the whole step."""
    step = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)
    return step * (0.5 + 0.5 * jitter())


def record_temporary_failure(
    session: Session,
    now: datetime,
    message: Outgoing,
    worker: str,
    *,
    code: str | None,
    error: str,
    retry_after: timedelta | None = None,
) -> bool:
    """Put the message back in the queue for later, or give it up after MAX_ATTEMPTS."""
    if message.attempts >= MAX_ATTEMPTS:
        return record_permanent_failure(
            session,
            message,
            worker,
            code=code,
            error=f"gave up after {message.attempts} tries: {error}",
        )
    delay = max(retry_after or timedelta(0), retry_delay(message.attempts))
    return _finish(
        session,
        message.id,
        worker,
        status=MessageStatus.QUEUED,
        next_attempt_at=now + delay,
        claimed_by=None,
        error_code=code,
        error=error,
    )


def record_provider_down(
    session: Session, now: datetime, message: Outgoing, worker: str, *, code: str | None, error: str
) -> bool:
    """The provider is still down (a probe failed): back in the queue, due now in its order,
    the try not counted (it was not the message's)."""
    return _finish(
        session,
        message.id,
        worker,
        status=MessageStatus.QUEUED,
        next_attempt_at=now,
        claimed_by=None,
        attempts=Message.attempts - 1,
        error_code=code,
        error=error,
    )


def release(session: Session, message: Outgoing, worker: str) -> bool:
    """Give a claimed message back unsent (its route's provider failed this round): due as it
    was, the try not counted."""
    return _finish(
        session,
        message.id,
        worker,
        status=MessageStatus.QUEUED,
        claimed_by=None,
        attempts=Message.attempts - 1,
    )


def record_permanent_failure(
    session: Session, message: Outgoing, worker: str, *, code: str | None, error: str
) -> bool:
    return _finish(
        session, message.id, worker, status=MessageStatus.FAILED, error_code=code, error=error
    )


def record_suppressed(session: Session, message: Outgoing, worker: str) -> bool:
    """A claimed message to a number that opted out while its batch was being sent."""
    return _finish(
        session,
        message.id,
        worker,
        status=MessageStatus.SUPPRESSED,
        error="the number opted out (STOP)",
    )


def stale_claims(session: Session, now: datetime, lease: timedelta) -> Sequence[Outgoing]:
    """Messages claimed longer ago than ``lease`` and never finished: their worker died (or
    hung) between claiming and recording. Sending takes seconds; the lease is minutes."""
    rows = session.execute(
        select(
            Message.id,
            Message.to,
            Message.body,
            Message.attempts,
            Message.claimed_at,
            Message.channel,
            Message.event,
            Message.locale,
        )
        .where(Message.status == MessageStatus.SENDING, Message.claimed_at <= now - lease)
        .order_by(Message.lane, Message.urgency, Message.id)
    ).all()
    session.commit()
    return [
        Outgoing(r.id, r.to, r.body, r.attempts, r.claimed_at, r.channel, r.event, r.locale)
        for r in rows
    ]


def take_over(session: Session, now: datetime, message: Outgoing, worker: str) -> bool:
    """Make a stale claim this worker's, so that two reconciling workers do not both act."""
    taken = rowcount(
        session.execute(
            update(Message)
            .where(
                Message.id == message.id,
                Message.status == MessageStatus.SENDING,
                Message.claimed_at == message.claimed_at,
            )
            .values(claimed_by=worker, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return bool(taken)


def record_found_sent(
    session: Session, now: datetime, message: Outgoing, worker: str, provider_sid: str
) -> bool:
    """Crash recovery found the message at the provider: it went out, so it is not sent again."""
    done = _finish(
        session,
        message.id,
        worker,
        status=MessageStatus.SENT,
        sent_at=now,
        provider_sid=provider_sid,
        reconciled="found_sent",
    )
    if done:
        apply_early_reports(session, now, [provider_sid])
    return done


def record_resend(session: Session, now: datetime, message: Outgoing, worker: str) -> bool:
    """Crash recovery found no trace of the message: queue it again, marked as a possible
    duplicate (the provider may have accepted it without our knowing)."""
    return _finish(
        session,
        message.id,
        worker,
        status=MessageStatus.QUEUED,
        next_attempt_at=now,
        claimed_by=None,
        reconciled="resent",
    )


# --- provider callbacks and opt-outs --------------------------------------------------------

# Twilio's MessageStatus values and what they make of a message.
PROVIDER_STATES = {
    "delivered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.UNDELIVERED,  # accepted, then not delivered
    "sent": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "accepted": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
}


def record_delivery(
    session: Session,
    now: datetime,
    provider_sid: str,
    provider_status: str,
    *,
    error_code: str | None = None,
) -> bool:
    """Apply a delivery status callback; False when no message has this id (yet). Callbacks
    arrive out of order, so a final state is never turned back into "sent".

    A final report may come before the worker has recorded the send (Twilio calls back within
    a second; the worker stores the id after the provider's answer): it is kept and applied
    when the send is recorded (``apply_early_reports``), so that a WhatsApp refusal still
    falls back to SMS and a delivery is not lost."""
    state = PROVIDER_STATES.get(provider_status.lower())
    if state is None:
        return False
    message = session.scalar(select(Message).where(Message.provider_sid == provider_sid))
    if message is not None:
        return _apply_delivery(session, now, message, state, provider_status, error_code)
    if state != MessageStatus.SENT:  # "queued", "sending": nothing to keep
        session.add(
            EarlyDeliveryReport(
                provider_sid=provider_sid,
                status=provider_status.lower()[:16],
                error_code=error_code[:32] if error_code else None,
                received_at=now,
            )
        )
        session.commit()
        # The worker may have recorded the send between our look and our write, and looked for
        # early reports before this one was committed: look again (one of the two finds it).
        apply_early_reports(session, now, [provider_sid])
    return False


def _apply_delivery(
    session: Session,
    now: datetime,
    message: Message,
    state: MessageStatus,
    provider_status: str,
    error_code: str | None,
) -> bool:
    if state == MessageStatus.UNDELIVERED and whatsapp.fall_back_after_callback(
        session, now, message, error_code
    ):
        session.commit()
        return True
    if state == MessageStatus.SENT:
        session.commit()
        return True
    if message.status in (MessageStatus.SENT, MessageStatus.SENDING, MessageStatus.UNDELIVERED):
        message.status = state
        if state == MessageStatus.DELIVERED:
            message.delivered_at = now
            message.error_code = None
        elif error_code:
            message.error_code = error_code
            message.error = f"the provider could not deliver it ({provider_status})"
    session.commit()
    return True


def apply_early_reports(session: Session, now: datetime, provider_sids: Sequence[str]) -> int:
    """Apply the reports that came before these sends were recorded (``record_delivery``), in
    the order they came, each once (taken by deleting it, in the transaction that applies it);
    return how many. A report whose message is still unknown stays."""
    if not provider_sids:
        return 0
    reports = session.execute(
        select(
            EarlyDeliveryReport.id,
            EarlyDeliveryReport.provider_sid,
            EarlyDeliveryReport.status,
            EarlyDeliveryReport.error_code,
        )
        .where(EarlyDeliveryReport.provider_sid.in_(set(provider_sids)))
        .order_by(EarlyDeliveryReport.id)
    ).all()
    session.commit()
    applied = 0
    for report in reports:
        message = session.scalar(select(Message).where(Message.provider_sid == report.provider_sid))
        state = PROVIDER_STATES.get(report.status)
        if message is None or state is None:
            session.rollback()
            continue
        taken = rowcount(
            session.execute(
                delete(EarlyDeliveryReport)
                .where(EarlyDeliveryReport.id == report.id)
                .execution_options(synchronize_session=False)
            )
        )
        if not taken:  # the other side (callback or worker) applied it
            session.rollback()
            continue
        _apply_delivery(session, now, message, state, report.status, report.error_code)
        applied += 1
    return applied


# A report whose send is recorded within seconds; one no message claims after this long
# belongs to none of ours (a message sent by hand from the same account, say).
EARLY_REPORTS_KEPT = timedelta(days=1)


def purge_early_reports(session: Session, now: datetime) -> int:
    """Drop early reports that no message claimed in time (housekeeping); return how many."""
    dropped = rowcount(
        session.execute(
            delete(EarlyDeliveryReport)
            .where(EarlyDeliveryReport.received_at < now - EARLY_REPORTS_KEPT)
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return dropped


def opt_out(session: Session, now: datetime, phone: str) -> None:
    """Stop all messages to ``phone``, now and later, in the caller's transaction."""
    if session.get(OptOut, phone) is None:
        session.add(OptOut(phone=phone, at=now))
    session.execute(
        update(Message)
        .where(Message.to == phone, Message.status == MessageStatus.QUEUED, _not_opt_out_answer())
        .values(status=MessageStatus.SUPPRESSED, error="the number opted out (STOP)")
        .execution_options(synchronize_session=False)
    )


def opt_in(session: Session, phone: str) -> None:
    optout = session.get(OptOut, phone)
    if optout is not None:
        session.delete(optout)


def is_opted_out(session: Session, phone: str) -> bool:
    return session.get(OptOut, phone) is not None


def counts(session: Session) -> dict[str, int]:
    """How many messages are in each state (for the worker's report and the benchmarks)."""
    rows = session.execute(select(Message.status, func.count()).group_by(Message.status))
    return {status.value: n for status, n in rows}
