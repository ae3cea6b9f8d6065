from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from queue_app.db import Base, Bilingual
from queue_app.models.backends import Backend

if TYPE_CHECKING:
    from queue_app.models.branches import Branch

service_backends = Table(
    "service_backends",
    Base.metadata,
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    Column("backend_id", ForeignKey("backends.id", ondelete="CASCADE"), primary_key=True),
)


class Service(Bilingual, Base):
    """A kind of transaction at one branch, with the letter its ticket numbers carry."""

    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("branch_id", "code"),
        UniqueConstraint("branch_id", "letter"),
        CheckConstraint("avg_service_minutes > 0", name="avg_service_positive"),
        CheckConstraint("slot_minutes > 0", name="slot_positive"),
        CheckConstraint(
            "manual_fallback_percent >= 0 AND manual_fallback_percent <= 100",
            name="fallback_percent_range",
        ),
        CheckConstraint(
            "walk_in_percent >= 0 AND walk_in_percent <= 100", name="walk_in_percent_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    letter: Mapped[str] = mapped_column(String(1))
    name_ar: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    avg_service_minutes: Mapped[float]
    slot_minutes: Mapped[int] = mapped_column(default=30)
    manual_fallback_percent: Mapped[int] = mapped_column(default=0)
    # The share of each slot's capacity kept for walk-ins: appointments get the rest.
    walk_in_percent: Mapped[int] = mapped_column(default=50, server_default="50")
    # Waiting anywhere, this service's own thresholds: the "turn near" text when about this many
    # minutes (None: the branch's turn_near_minutes) or this many people (None or 0: not by
    # people) are ahead, whichever comes first.
    turn_near_minutes: Mapped[int | None]
    turn_near_people: Mapped[int | None]
    # Running average of measured service times (called -> done); None until one is measured.
    measured_service_seconds: Mapped[float | None]

    branch: Mapped[Branch] = relationship(back_populates="services")
    backends: Mapped[list[Backend]] = relationship(
        secondary=service_backends, order_by=Backend.code
    )
