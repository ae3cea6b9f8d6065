"""A new walk-in ticket's rows, written with the fewest statements.

A crowd at the door means several kiosks issuing tickets of one service at once, and each
ticket's number is the same row (``numbering``): its lock is held from the number's bump until
the commit, so every statement between them is one more round trip that the other kiosks wait
for. Here the number, the ticket, its first event and its Idempotency-Key are one statement on
PostgreSQL (data-modifying CTEs): after it, the lock waits only for the ticket's message (whose
text holds the number) and the commit. On SQLite, which writes one transaction at a time in
this process anyway, they are four plain statements, without the ORM's bookkeeping.

The ticket object stays out of the session: it is filled in (id, number, place in line) as the
ORM would have, for the answer and the message, and nothing is written twice. Tickets a staff
member issues go through the ORM (``tickets.issue``), whose flush the audit log records.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CTE,
    Select,
    Table,
    bindparam,
    case,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from queue_app import audit, line_revision, numbering
from queue_app.models import IdempotencyKey, Ticket, TicketEvent, TicketKind

# A walk-in's first event in its history (``tickets.FIRST_EVENT``).
ISSUED = "issued"

_TICKETS = cast(Table, Ticket.__table__)
_EVENTS = cast(Table, TicketEvent.__table__)
_KEYS = cast(Table, IdempotencyKey.__table__)

# The ticket's own columns (the others stay empty for a new walk-in), bound by name.
_TICKET_COLUMNS = (
    "token",
    "branch_id",
    "service_id",
    "letter",
    "local_day",
    "kind",
    "status",
    "priority",
    "phone",
    "locale",
    "channel",
    "issued_at",
)


def _bound(table: Table, name: str) -> Any:
    return bindparam(f"t_{name}", type_=table.c[name].type)


@dataclass(frozen=True)
class IdempotencyKeyRow:
    """The Idempotency-Key to store with the ticket, and what its request asked for."""

    key: str
    asked: str


def fits(session: Session, ticket: Ticket) -> bool:
    """Whether ``ticket`` (not yet written) is written here: a walk-in in the line, and not an
    action the audit log records (those go through the ORM's flush)."""
    return (
        ticket.kind == TicketKind.WALK_IN
        and ticket.queued_at is not None
        and not audit.is_recording(session)
    )


def write_walk_in(
    session: Session, now: datetime, ticket: Ticket, key: IdempotencyKeyRow | None
) -> None:
    """Take ``ticket``'s number and write it with its first event (``ISSUED``) and ``key``, in
    the caller's transaction; fill in its id, number and place in line. Raises IntegrityError
    when a request alongside stored the same key first (``idempotency.lost_race``)."""
    if not line_revision.joins_behind_everyone(ticket):
        line_revision.touch(session, [ticket.branch_id])
    values = {f"t_{name}": getattr(ticket, name) for name in _TICKET_COLUMNS}
    values["t_queued_at"] = ticket.queued_at
    bump = numbering.bump_values(ticket.branch_id, ticket.letter, ticket.local_day, now)
    if key is not None:
        values |= {"k_key": key.key, "k_asked": key.asked}
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection()
        statement = _all_at_once(with_key=key is not None)
        row = connection.execute(statement, values | bump).one_or_none()
        if row is None:
            # The day's first ticket of this letter: make its row, then as any other.
            numbering.start_day(session, ticket.branch_id, ticket.letter, ticket.local_day)
            row = connection.execute(statement, values | bump).one()
        ticket.id, ticket.sequence, ticket.queued_at = row.id, row.sequence, row.queued_at
    else:
        taken = numbering.take_number(
            session, ticket.branch_id, ticket.letter, ticket.local_day, now
        )
        ticket.sequence = taken.sequence
        ticket.queued_at = max(ticket.queued_at, taken.queued_at)  # type: ignore[type-var]
        connection = session.connection()
        values |= {"t_sequence": ticket.sequence, "t_queued_at": ticket.queued_at}
        ticket.id = connection.execute(_ONE_TICKET, values).scalar_one()
        connection.execute(_FIRST_EVENT, {"t_id": ticket.id, "t_issued_at": now})
        if key is not None:
            connection.execute(_KEY, values | {"t_id": ticket.id})
    ticket.version = 1
    ticket.events.append(TicketEvent(ticket_id=ticket.id, at=now, event=ISSUED))


# --- the statements, built once ------------------------------------------------------------

_QUEUED_AT = _bound(_TICKETS, "queued_at")
_ISSUED_AT = _bound(_TICKETS, "issued_at")


def _ticket_values() -> list[Any]:
    return [_bound(_TICKETS, name) for name in _TICKET_COLUMNS]


def _event_values(ticket_id: Any) -> list[Any]:
    return [ticket_id, _ISSUED_AT, literal(ISSUED)]


def _key_values(ticket_id: Any) -> list[Any]:
    return [
        _bound(_TICKETS, "branch_id"),
        bindparam("k_key", type_=_KEYS.c.key.type),
        bindparam("k_asked", type_=_KEYS.c.request_hash.type),
        ticket_id,
        _ISSUED_AT,
    ]


_EVENT_COLUMNS = ["ticket_id", "at", "event"]
_KEY_COLUMNS = ["branch_id", "key", "request_hash", "ticket_id", "created_at"]


@functools.cache  # built once per variant: every kiosk ticket runs one
def _all_at_once(*, with_key: bool) -> Select[Any]:
    """PostgreSQL: the number's bump, the ticket (behind the number before it), its event and
    its key, one statement; it returns the ticket's id, number and place in line, or no row
    when the day has no number row yet."""
    number: CTE = numbering.BUMP.cte("number")
    last_queued_at = number.c.last_queued_at
    ticket = (
        insert(_TICKETS)
        .from_select(
            [*_TICKET_COLUMNS, "sequence", "queued_at", "version"],
            select(
                *_ticket_values(),
                number.c.last_number,
                case((last_queued_at > _QUEUED_AT, last_queued_at), else_=_QUEUED_AT),
                literal(1),
            ),
        )
        .returning(_TICKETS.c.id, _TICKETS.c.sequence, _TICKETS.c.queued_at)
        .cte("ticket")
    )
    written = [
        insert(_EVENTS)
        .from_select(_EVENT_COLUMNS, select(*_event_values(ticket.c.id)))
        .cte("event")
    ]
    if with_key:
        written.append(
            insert(_KEYS).from_select(_KEY_COLUMNS, select(*_key_values(ticket.c.id))).cte("key")
        )
    return select(ticket.c.id, ticket.c.sequence, ticket.c.queued_at).add_cte(*written)


# SQLite: one statement each, after numbering.take_number.
_ONE_TICKET = (
    insert(_TICKETS)
    .values(
        {
            **{name: _bound(_TICKETS, name) for name in _TICKET_COLUMNS},
            "sequence": bindparam("t_sequence", type_=_TICKETS.c.sequence.type),
            "queued_at": _QUEUED_AT,
            "version": 1,
        }
    )
    .returning(_TICKETS.c.id)
)
_TICKET_ID = bindparam("t_id", type_=_TICKETS.c.id.type)
_FIRST_EVENT = insert(_EVENTS).values(
    dict(zip(_EVENT_COLUMNS, _event_values(_TICKET_ID), strict=True))
)
_KEY = insert(_KEYS).values(dict(zip(_KEY_COLUMNS, _key_values(_TICKET_ID), strict=True)))
