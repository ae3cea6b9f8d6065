"""Idempotency-Keys: a request sent again (a double tap, a kiosk's retry after a lost answer)
gets the ticket the first one issued instead of a second ticket.

A key belongs to a branch and remembers a fingerprint of what was asked, so the same key with
another request is refused rather than answered with the wrong ticket.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from queue_app.db import rowcount
from queue_app.errors import IdempotencyKeyReused, NotFound
from queue_app.models import IdempotencyKey, Ticket

# A retried request comes within seconds or minutes; a day covers a kiosk that lost its network
# over lunch. Older keys are ignored (and replaced) and may be purged.
LIFETIME = timedelta(days=1)


def fingerprint(*request: object) -> str:
    """What a request asked for, as stored beside its key (JSON-able parts, in a fixed order)."""
    return hashlib.sha256(json.dumps(list(request)).encode()).hexdigest()


def replay(session: Session, now: datetime, branch_id: int, key: str, asked: str) -> Ticket | None:
    """The ticket an earlier request with this key issued, or None when there was none (or it
    is too old to count). Raises IdempotencyKeyReused when that request asked for another thing
    (``asked`` is the fingerprint of this one), NotFound when its ticket is gone."""
    earlier = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.branch_id == branch_id, IdempotencyKey.key == key
        )
    )
    if earlier is None:
        return None
    if earlier.created_at <= now - LIFETIME:
        # Not through the ORM: a racing request may delete the same row, which is no error.
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == earlier.id))
        return None
    if earlier.request_hash != asked:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was sent before with another request; use a new key for a new "
            "ticket",
            **{"Idempotency-Key": ["already used for another request"]},
        )
    ticket = session.scalar(
        select(Ticket).where(Ticket.id == earlier.ticket_id).options(selectinload(Ticket.events))
    )
    if ticket is None:  # the foreign key cascades, so only a ticket deleted this very moment
        raise NotFound("the ticket of this Idempotency-Key no longer exists")
    return ticket


def remember_key(
    session: Session, now: datetime, branch_id: int, key: str, asked: str, ticket: Ticket
) -> Ticket | None:
    """Store the Idempotency-Key of the ticket just flushed. If a request that ran alongside
    stored the same key first, this one's ticket (and its number, returned with the rollback)
    gives way: the transaction is rolled back and the winner's ticket returned."""
    session.add(
        IdempotencyKey(
            branch_id=branch_id, key=key, request_hash=asked, ticket_id=ticket.id, created_at=now
        )
    )
    try:
        session.flush()
    except IntegrityError as err:
        return lost_race(session, now, branch_id, key, asked, err)
    return None


def lost_race(
    session: Session, now: datetime, branch_id: int, key: str, asked: str, err: IntegrityError
) -> Ticket:
    """After storing ``key`` failed (``err``): roll this request's ticket back and return the
    ticket of the request that stored the key first. Raises ``err`` again when there is no
    such ticket (it was another conflict)."""
    session.rollback()
    winner = replay(session, now, branch_id, key, asked)
    if winner is None:
        raise err
    return winner


def purge(session: Session, now: datetime) -> int:
    """Delete the keys too old to count (for the worker's housekeeping); return how many."""
    deleted = rowcount(
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - LIFETIME))
    )
    session.commit()
    return deleted
