from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base, UTCDateTime


class PhoneCode(Base):
    """The one-time code last sent to a number, for one purpose at one branch (phone_codes.py).

    One row per (number, purpose, branch): a new code overwrites the old one, so only the latest
    code sent is ever accepted. The code itself is not kept, only its keyed hash.
    """

    __tablename__ = "phone_codes"
    __table_args__ = (UniqueConstraint("phone", "purpose", "branch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    purpose: Mapped[str] = mapped_column(String(16))  # "join", "booking"
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA256 with the app's secret, hex
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Tries made with this code, counted before each is checked (so parallel guesses cannot
    # share one): at most phone_codes.MAX_TRIES.
    tries: Mapped[int] = mapped_column(default=0, server_default="0")
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
