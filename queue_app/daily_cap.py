"""Nobody can flood a stranger's phone: every number gets at most so many messages a day.

The day is the local day of the ticket's branch (midnight there starts a new count); a message
about no ticket counts by the UTC day. Counted: every message written to the number that day
and not suppressed, except two kinds that are never held back and never counted:

- lane 0 ("your turn", "called", turn near): one per ticket, and the tickets that lead to them
  are themselves capped; holding one back would make a citizen miss their turn;
- the answer to STOP, which confirms that nothing more will come.

A one-time code (``phone_codes``) rides in lane 0, since the citizen waits for it with the page
open, but it counts: anyone can ask for one to any number, so it is the message a flood would
be made of.

Two places keep the cap. A request that would text a number at its cap (a ticket with a phone,
"another time") is refused before it changes anything: ``ensure_room`` raises RateLimited (429).
Every message written anyway (the office's moves, answers to replies) goes through
``outbox``, which stores the one over the cap as ``suppressed`` with the reason, never sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, bindparam, event, func, or_, select
from sqlalchemy.orm import Session, SessionTransaction

from queue_app.errors import RateLimited
from queue_app.message_lanes import Lane, kind_of, lane_of
from queue_app.models import Message, MessageStatus

# The key of the cap in ``Session.info`` (set with the public URL, from settings).
CAP = "queue_sms_daily_cap"
DEFAULT_CAP = 8
OPT_OUT_KIND = "opted-out"
# Lane 0, and counted all the same (phone_codes).
CODE_KIND = "code"
# The numbers ``ensure_room`` found room for in the session's transaction (``take_room``).
_ROOM = "queue_app.daily_cap.room"


def set_cap(info: dict[object, object], cap: int) -> None:
    """Give the sessions of ``info`` the daily cap of ``Settings.sms_daily_cap``."""
    info[CAP] = cap


def cap_of(session: Session) -> int:
    return int(session.info.get(CAP, DEFAULT_CAP))


def exempt(event: str) -> bool:
    """Whether a message about ``event`` is neither held back nor counted."""
    if event.startswith(f"{OPT_OUT_KIND}:"):
        return True
    return lane_of(event) == Lane.NOW and kind_of(event) != CODE_KIND


def _counted() -> ColumnElement[bool]:
    """The messages ``exempt`` leaves counted, as a condition on the outbox."""
    return and_(
        or_(Message.lane != int(Lane.NOW), Message.event.like(f"{CODE_KIND}:%")),
        Message.status != MessageStatus.SUPPRESSED,
        Message.event.not_like(f"{OPT_OUT_KIND}:%"),
    )


def day_start(now: datetime, timezone: str | None) -> datetime:
    """The last local midnight before ``now`` where the branch is (UTC without one), in UTC."""
    zone = ZoneInfo(timezone) if timezone else UTC
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    return midnight.astimezone(UTC)


def counted_since(
    session: Session, phones: Sequence[str], since: datetime
) -> list[tuple[str, datetime]]:
    """(number, written at) of the counted messages to ``phones`` written from ``since`` on."""
    if not phones:
        return []
    rows = session.execute(
        select(Message.to, Message.created_at).where(
            Message.to.in_(sorted(set(phones))),
            Message.created_at >= since,
            _counted(),
        )
    ).all()
    return [(r.to, r.created_at) for r in rows]


# Built once: every ticket issued with a phone runs them (``ensure_room``).
_TEXTED_SINCE = select(func.count()).where(
    Message.to == bindparam("phone"), Message.created_at >= bindparam("since"), _counted()
)
_LOCK_NUMBER = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("key"))))


def texted_today(session: Session, now: datetime, phone: str, timezone: str | None) -> int:
    """How many counted messages ``phone`` got since the local midnight."""
    since = day_start(now, timezone)
    return session.scalar(_TEXTED_SINCE, {"phone": phone, "since": since}) or 0


def ensure_room(session: Session, now: datetime, phone: str, timezone: str | None) -> None:
    """Refuse a request that would text ``phone`` once more when it already had its day's
    messages. Raises RateLimited (429), before the caller changes anything."""
    cap = cap_of(session)
    lock_number(session, phone)
    if texted_today(session, now, phone, timezone) >= cap:
        tomorrow = day_start(now, timezone) + timedelta(days=1)
        raise RateLimited(
            f"this number has had its {cap} messages for today; nothing was changed",
            phone=[f"at most {cap} messages a day; the count starts again at midnight"],
            starts_again_at=tomorrow.isoformat(),
        )
    # Room for one message, held by the lock until the commit: the outbox need not count again.
    session.info.setdefault(_ROOM, set()).add(phone)


def take_room(session: Session, phone: str) -> bool:
    """Whether ``ensure_room`` found room for one message to ``phone`` in the caller's
    transaction that no message has taken yet; takes it. A ticket's first message is written
    then without counting the day's messages a second time."""
    room: set[str] | None = session.info.get(_ROOM)
    if room is None or phone not in room:
        return False
    room.discard(phone)
    return True


@event.listens_for(Session, "after_transaction_end")
def _forget_room(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_ROOM, None)


def lock_number(session: Session, phone: str) -> None:
    """Make concurrent requests about one number take turns until the caller's commit, so that
    two of them cannot both see room for the last message (PostgreSQL; SQLite writes one at a
    time anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_NUMBER, {"key": f"daily-cap:{phone}"})


def over_cap(
    session: Session, now: datetime, rows: Sequence[dict[str, object]], timezones: dict[int, str]
) -> None:
    """Mark the outbox ``rows`` that would take a number past its day's cap as suppressed,
    with the reason, counting what was written earlier that day and the rows before them.
    ``timezones`` gives each ticket's branch timezone (UTC for the rows of no ticket)."""
    counted = [r for r in rows if not exempt(str(r["event"]))]
    if not counted:
        return
    cap = cap_of(session)

    def start_of(row: dict[str, object]) -> datetime:
        ticket_id = row.get("ticket_id")
        return day_start(now, timezones.get(ticket_id) if isinstance(ticket_id, int) else None)

    starts = [start_of(r) for r in counted]
    earlier: dict[str, list[datetime]] = {}
    for phone, at in counted_since(session, [str(r["to"]) for r in counted], min(starts)):
        earlier.setdefault(phone, []).append(at)
    written: dict[str, int] = {}
    for row, start in zip(counted, starts, strict=True):
        phone = str(row["to"])
        already = sum(1 for at in earlier.get(phone, []) if at >= start) + written.get(phone, 0)
        if already >= cap:
            row["status"] = MessageStatus.SUPPRESSED
            row["error"] = reason(cap)
        else:
            written[phone] = written.get(phone, 0) + 1


def reason(cap: int) -> str:
    return f"daily cap: this number had its {cap} messages today"
