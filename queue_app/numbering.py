"""Ticket numbers: ``A-001``, per branch, per service letter, per local day, with no gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, update
from sqlalchemy.orm import Session

from queue_app.db import UTCDateTime, insert
from queue_app.models import TicketNumberSequence

# Built once, on the table (not the mapped class: no ORM bookkeeping for a row never loaded).
_NUMBERS = cast(Table, TicketNumberSequence.__table__)
_NOW = bindparam("the_now", type_=UTCDateTime())
BUMP = (
    update(_NUMBERS)
    .where(
        _NUMBERS.c.branch_id == bindparam("the_branch"),
        _NUMBERS.c.letter == bindparam("the_letter"),
        _NUMBERS.c.local_day == bindparam("the_day"),
    )
    .values(
        last_number=_NUMBERS.c.last_number + 1,
        # The later of the two (a missing one is earlier than any).
        last_queued_at=case(
            (_NUMBERS.c.last_queued_at > _NOW, _NUMBERS.c.last_queued_at), else_=_NOW
        ),
    )
    .returning(_NUMBERS.c.last_number, _NUMBERS.c.last_queued_at)
)


@dataclass(frozen=True)
class Taken:
    """A number taken, and where its walk-in ticket stands in line."""

    sequence: int
    # ``now``, or the place of the number before it if later: two kiosks' requests can take
    # their numbers in the other order than they started (the second to start gets the row's
    # lock first), and a ticket's place in line (``queued_at``) must not put A-006 ahead of
    #
    queued_at: datetime


def take_number(
    session: Session, branch_id: int, letter: str, local_day: date, now: datetime
) -> Taken:
    """Take the next number inside the caller's transaction, with its place in line.

    The counter row is bumped with one UPDATE ... RETURNING: on PostgreSQL the row lock makes
    concurrent kiosks wait their turn, on SQLite the write lock does; a rollback returns the number.
    A transaction's first statement is this write, so SQLite never has to upgrade a read lock.
    """
    which = bump_values(branch_id, letter, local_day, now)
    row = session.execute(BUMP, which).one_or_none()
    if row is None:
        start_day(session, branch_id, letter, local_day)
        row = session.execute(BUMP, which).one()
    return Taken(row.last_number, row.last_queued_at)


def bump_values(branch_id: int, letter: str, local_day: date, now: datetime) -> dict[str, Any]:
    """``BUMP``'s parameters: the number after the last of ``letter`` that day, at ``now``."""
    return {"the_branch": branch_id, "the_letter": letter, "the_day": local_day, "the_now": now}


def start_day(session: Session, branch_id: int, letter: str, local_day: date) -> None:
    """Make the row of the day's first ticket for this letter (or find that a racing kiosk
    just made it), for ``BUMP`` to bump like any other."""
    session.execute(
        insert(session, TicketNumberSequence)
        .values(branch_id=branch_id, letter=letter, local_day=local_day, last_number=0)
        .on_conflict_do_nothing()
    )
