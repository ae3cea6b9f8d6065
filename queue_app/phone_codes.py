"""One-time codes that confirm a mobile number typed on a public page (join the line from a
phone, book an appointment where the branch asks for it).

A code is six digits, sent on the citizen's channel (SMS or WhatsApp) in the outbox's fastest
lane, for one (number, purpose, branch). It is valid for ``VALID_FOR``, accepted once, and no
longer after ``MAX_TRIES`` wrong ones; a new code replaces the one before. Only a keyed
hash of it is stored (HMAC-SHA256 with the app's secret): a six-digit code hashed without a key
would be found by trying the million of them.

Nobody can flood a stranger's phone with codes: a number gets at most ``SENDS_PER_WINDOW`` codes
in ``SEND_WINDOW``, and every code counts against its daily cap (``daily_cap``). The pages add
a limit per client address (``web.rate_limits``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from queue_app import daily_cap, outbox
from queue_app.db import commit, insert
from queue_app.directory import BranchInfo
from queue_app.errors import QueueError, RateLimited, StateConflict
from queue_app.models import Message, PhoneCode
from sms import templates, whatsapp

# As the WhatsApp authentication template says it (sms.whatsapp, which imports nothing of ours).
VALID_FOR = timedelta(minutes=whatsapp.CODE_VALID_MINUTES)
MAX_TRIES = 5
SEND_WINDOW = timedelta(minutes=15)
SENDS_PER_WINDOW = 3
DIGITS = 6
PURPOSES = ("join", "booking")
# The outbox event of a code: lane 0, counted by the daily cap (daily_cap.CODE_KIND).
EVENT_KIND = daily_cap.CODE_KIND
# Both digit systems read alike: an Arabic keyboard types ٠١٢٣٤٥٦٧٨٩.
_WESTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


class CodeWrong(QueueError):
    """Not the code sent (or no code was sent to this number for this)."""

    code, status = "code_wrong", 422


class CodeExpired(StateConflict):
    code = "code_expired"


class CodeUsed(StateConflict):
    """The code was accepted once already: ask for a new one."""

    code = "code_used"


class CodeTriesExhausted(QueueError):
    code, status = "code_tries_exhausted", 429


class NumberOptedOut(StateConflict):
    """The number replied STOP: no code can reach it until it opts in again."""

    code = "number_opted_out"


# Every refusal of a typed code: the page asks for it again (or for a new one).
REFUSALS = (CodeWrong, CodeExpired, CodeUsed, CodeTriesExhausted)


@dataclass(frozen=True)
class CodeSent:
    phone: str  # E.164
    channel: str
    expires_at: datetime


def _hash(secret: str, phone: str, purpose: str, branch_id: int, code: str) -> str:
    # Bound to its number, purpose and branch: a code sent for one is no use for another.
    key = secret.encode()
    message = f"{phone}|{purpose}|{branch_id}|{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def normalise(typed: str) -> str:
    """The code as typed, in Western digits, spaces and dashes left out."""
    return "".join(c for c in typed.translate(_WESTERN_DIGITS) if c.isdigit() and c.isascii())


def event_of(purpose: str, branch: BranchInfo, now: datetime) -> str:
    # Messages of no ticket are not unique by event: the time only tells codes apart to a reader.
    return f"{EVENT_KIND}:{purpose}:{branch.code}:{now.strftime('%H%M%S')}"[:80]


def sent_recently(session: Session, now: datetime, phone: str) -> int:
    """How many codes ``phone`` was sent (for anything, at any branch) within ``SEND_WINDOW``."""
    return (
        session.scalar(
            select(func.count()).where(
                Message.to == phone,
                Message.event.like(f"{EVENT_KIND}:%"),
                Message.created_at > now - SEND_WINDOW,
            )
        )
        or 0
    )


def send(
    session: Session,
    now: datetime,
    secret: str,
    branch: BranchInfo,
    purpose: str,
    *,
    phone: str,
    channel: str,
    locale: str,
) -> CodeSent:
    """Send a new code to ``phone`` (E.164) on ``channel``, replacing any earlier one for this
    purpose at this branch, and commit. Raises NumberOptedOut (it replied STOP) or RateLimited
    (``SENDS_PER_WINDOW`` codes in ``SEND_WINDOW``, or the number's daily cap), before anything
    is written."""
    if purpose not in PURPOSES:
        raise ValueError(f"no such purpose {purpose!r}")
    # Concurrent requests for one number take turns from here to the commit (PostgreSQL).
    daily_cap.lock_number(session, phone)
    if outbox.is_opted_out(session, phone):
        # The code would be suppressed, and the citizen left waiting for it: say so instead.
        raise NumberOptedOut(
            "this number asked for no more messages (STOP); send START to receive them again",
            phone=["opted out"],
        )
    if sent_recently(session, now, phone) >= SENDS_PER_WINDOW:
        minutes = int(SEND_WINDOW.total_seconds() // 60)
        raise RateLimited(
            f"this number was sent {SENDS_PER_WINDOW} codes in {minutes} minutes; wait",
            phone=[f"at most {SENDS_PER_WINDOW} codes in {minutes} minutes"],
        )
    daily_cap.ensure_room(session, now, phone, branch.timezone)
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    values = {
        "code_hash": _hash(secret, phone, purpose, branch.id, code),
        "sent_at": now,
        "expires_at": now + VALID_FOR,
        "tries": 0,
        "used_at": None,
    }
    session.execute(
        insert(session, PhoneCode)
        .values(phone=phone, purpose=purpose, branch_id=branch.id, **values)
        .on_conflict_do_update(index_elements=["phone", "purpose", "branch_id"], set_=values)
    )
    body = templates.one_time_code(
        locale,
        code=code,
        branch=branch.name(locale),
        minutes=int(VALID_FOR.total_seconds() // 60),
    )
    outbox.enqueue(
        session,
        now,
        ticket=None,
        event=event_of(purpose, branch, now),
        to=phone,
        channel=channel,
        locale=locale,
        body=body,
    )
    commit(session)
    return CodeSent(phone=phone, channel=channel, expires_at=now + VALID_FOR)


def use(
    session: Session,
    now: datetime,
    secret: str,
    branch: BranchInfo,
    purpose: str,
    *,
    phone: str,
    typed: str,
) -> None:
    """Accept the code ``typed`` for ``phone``: marked used in the caller's transaction, which
    commits it with what it confirmed (a ticket, a booking), or rolls both back.

    Every try is counted before it is checked, in one conditional UPDATE that holds the code's
    row until the commit: parallel guesses take turns and cannot share a try. A wrong code's try
    is committed at once (the caller's transaction with it, so call this before changing
    anything). Raises CodeWrong, CodeExpired, CodeUsed, CodeTriesExhausted.
    """
    found = session.scalar(
        select(PhoneCode).where(
            PhoneCode.phone == phone,
            PhoneCode.purpose == purpose,
            PhoneCode.branch_id == branch.id,
        )
    )
    if found is None:
        raise CodeWrong("no code was sent to this number for this; ask for one")
    if found.used_at is not None:
        raise CodeUsed("this code was used already; ask for a new one")
    if now >= found.expires_at:
        raise CodeExpired("this code has expired; ask for a new one")
    tries = session.execute(
        update(PhoneCode)
        .where(
            PhoneCode.id == found.id,
            PhoneCode.code_hash == found.code_hash,  # not replaced by a newer code meanwhile
            PhoneCode.used_at.is_(None),
            PhoneCode.tries < MAX_TRIES,
        )
        .values(tries=PhoneCode.tries + 1)
        .returning(PhoneCode.tries)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if tries is None:
        # Used, replaced or out of tries while this request waited for the row.
        used = session.scalar(select(PhoneCode.used_at).where(PhoneCode.id == found.id))
        session.rollback()
        if used is not None:
            raise CodeUsed("this code was used already; ask for a new one")
        raise CodeTriesExhausted(f"{MAX_TRIES} wrong codes; ask for a new one")
    expected = _hash(secret, phone, purpose, branch.id, normalise(typed))
    if not hmac.compare_digest(expected, found.code_hash):
        commit(session)
        if tries >= MAX_TRIES:
            raise CodeTriesExhausted(f"{MAX_TRIES} wrong codes; ask for a new one")
        raise CodeWrong("not the code sent", tries_left=MAX_TRIES - tries)
    # This request holds the row (PostgreSQL) or the write lock (SQLite) until its commit.
    session.execute(
        update(PhoneCode)
        .where(PhoneCode.id == found.id)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
