from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from queue_app.db import Base, UTCDateTime, str_enum
from queue_app.models.branches import Branch


class Role(StrEnum):
    KIOSK = "kiosk"
    STAFF = "staff"
    MANAGER = "manager"
    ADMIN = "admin"


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is kept: a leaked database hands out no working tokens."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    label: Mapped[str | None] = mapped_column(String(200))
    # A kiosk token may stand for one kiosk of its branch (models/kiosks.py): its printer.
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: valid until revoked. A token for a temporary kiosk or a contractor's machine ends
    # by itself.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    branch: Mapped[Branch | None] = relationship()
