from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base, UTCDateTime


class SendBucket(Base):
    """The token bucket of one sender on one channel, shared by every worker process: the
    provider limits a sender, not a worker (``queue_app.send_rates``)."""

    __tablename__ = "send_buckets"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)  # "sms" (later "whatsapp")
    # The number, alphanumeric sender name or Messaging Service the provider counts against.
    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)  # messages that may go now, 0 up to one second's
    refilled_at: Mapped[datetime] = mapped_column(UTCDateTime)
