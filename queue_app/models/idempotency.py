from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base, UTCDateTime


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` a client sent with a walk-in ticket request, and the ticket it made.

    The unique constraint is what makes a double tap or a retried request one ticket, even when
    both copies arrive at once: the second insert fails and its transaction returns the first's
    ticket instead (tickets.take_walk_in).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("branch_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the request as understood (service, phone, locale, priority): a key sent again
    # with another request is a client bug, answered with 422 rather than the wrong ticket.
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
