"""Ticket numbers: ``A-001``, per branch, per service letter, per local day, with no gaps."""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from queue_app.db import insert
from queue_app.models import TicketNumberSequence

# Built once, on the table (not the mapped class: no ORM bookkeeping for a row never loaded).
_NUMBERS = cast(Table, TicketNumberSequence.__table__)
_BUMP = (
    update(_NUMBERS)
    .where(
        _NUMBERS.c.branch_id == bindparam("the_branch"),
        _NUMBERS.c.letter == bindparam("the_letter"),
        _NUMBERS.c.local_day == bindparam("the_day"),
    )
    .values(last_number=_NUMBERS.c.last_number + 1)
    .returning(_NUMBERS.c.last_number)
)


def next_number(session: Session, branch_id: int, letter: str, local_day: date) -> int:
    """Take the next number inside the caller's transaction.

    The counter row is bumped with one UPDATE ... RETURNING: on PostgreSQL the row lock makes
    concurrent kiosks wait their turn, on SQLite the write lock does; a rollback returns the number.
    A transaction's first statement is this write, so SQLite never has to upgrade a read lock.
    """
    which = {"the_branch": branch_id, "the_letter": letter, "the_day": local_day}
    number = session.execute(_BUMP, which).scalar_one_or_none()
    if number is not None:
        return number
    # The day's first ticket for this letter: make the row (or find that a racing kiosk just
    # made it), then bump it like any other.
    session.execute(
        insert(session, TicketNumberSequence)
        .values(branch_id=branch_id, letter=letter, local_day=local_day, last_number=0)
        .on_conflict_do_nothing()
    )
    return session.execute(_BUMP, which).scalar_one()
