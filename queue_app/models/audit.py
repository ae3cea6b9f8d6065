from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base, UTCDateTime


class AuditEvent(Base):
    """One staff, manager, admin or command-line action: who, what, when, on what, what it
    changed and from where (queue_app/audit.py). Rows are only ever added."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_branch_id_at", "branch_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Who: the token (kept when the token is deleted: the record outlives it), the person once
    # people sign in as themselves (no foreign key yet: their table is being built), the role
    # ("cli" for a command run on the server) and a label a reader recognises.
    token_id: Mapped[int | None]
    person_id: Mapped[int | None]
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    # The branch acted for; None for system-wide actions of an admin or the command line.
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # done or refused
    target_kind: Mapped[str] = mapped_column(String(32))
    target_key: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)  # why it was refused
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
