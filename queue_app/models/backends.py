from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base, Bilingual, UTCDateTime, str_enum


class BackendState(StrEnum):
    UP = "up"
    DOWN = "down"


class Backend(Bilingual, Base):
    """A central government system that services need (civil registry, traffic licensing...)."""

    __tablename__ = "backends"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ar: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    health_url: Mapped[str | None] = mapped_column(String(500))
    check_interval_s: Mapped[int] = mapped_column(default=5)
    failure_threshold: Mapped[int] = mapped_column(default=3)
    recovery_threshold: Mapped[int] = mapped_column(default=2)
    state: Mapped[BackendState] = mapped_column(
        str_enum(BackendState, length=8),
        default=BackendState.UP,
    )
    state_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
