from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base, UTCDateTime


class SlotBooking(Base):
    """How many appointments one slot of one service holds (see slots.take_place).

    Only slots that were ever booked have a row; the slots themselves follow from the hours.
    """

    __tablename__ = "slot_bookings"
    __table_args__ = (CheckConstraint("booked >= 0", name="booked_not_negative"),)

    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    booked: Mapped[int] = mapped_column(default=0)


class CapacityOverride(Base):
    """A manager's capacity per slot for a service over a range of local days; the newest one
    covering a day wins (``PUT .../capacity``)."""

    __tablename__ = "capacity_overrides"
    __table_args__ = (
        CheckConstraint("per_slot >= 0", name="per_slot_not_negative"),
        CheckConstraint("first_day <= last_day", name="days_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    first_day: Mapped[date]
    last_day: Mapped[date]
    per_slot: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who set it, for the record (the token's label or role).
    set_by: Mapped[str | None] = mapped_column(String(200))
