from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base, UTCDateTime


class KioskEnrolment(Base):
    """A one-time code that turns a touch screen into a kiosk of one branch (see kiosks.py).

    Only the code's SHA-256 is kept, as for API tokens; ``used_at`` is set once, by a conditional
    UPDATE, so two screens typing the same code cannot both be enrolled.
    """

    __tablename__ = "kiosk_enrolments"
    __table_args__ = (Index("ix_kiosk_enrolments_lookup", "branch_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The kiosk token the code became; kept for the record of which screen holds which token.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))


class EnrolmentFailure(Base):
    """One wrong, used or expired enrolment code typed at a branch's kiosk page: counted to stop
    anyone from trying every code (see kiosks.MAX_FAILURES)."""

    __tablename__ = "kiosk_enrolment_failures"
    __table_args__ = (Index("ix_kiosk_enrolment_failures_recent", "branch_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
