from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base, Bilingual, UTCDateTime


class Kiosk(Bilingual, Base):
    """One touch screen of a branch, as the config file names it, and the ticket printer beside
    it: a network printer's URL (queue_app/printers.py), or none, when the screen prints through
    its browser. A screen becomes this kiosk by enrolment (kiosks.py)."""

    __tablename__ = "kiosks"
    __table_args__ = (UniqueConstraint("branch_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name_ar: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    printer_url: Mapped[str | None] = mapped_column(String(500))


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
    # The kiosk of the config file that the screen becomes, or None: a kiosk of the branch
    # without a printer of its own. The code's token inherits it.
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id", ondelete="CASCADE"))


class EnrolmentFailure(Base):
    """One wrong, used or expired enrolment code typed at a branch's kiosk page: counted to stop
    anyone from trying every code (see kiosks.MAX_FAILURES)."""

    __tablename__ = "kiosk_enrolment_failures"
    __table_args__ = (Index("ix_kiosk_enrolment_failures_recent", "branch_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
