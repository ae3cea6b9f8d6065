from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from queue_app.db import Base
from queue_app.models.services import Service

if TYPE_CHECKING:
    from queue_app.models.branches import Branch

counter_services = Table(
    "counter_services",
    Base.metadata,
    Column("counter_id", ForeignKey("counters.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Counter(Base):
    """A service window where staff call tickets."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("branch_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    is_open: Mapped[bool] = mapped_column(default=False)
    # How many times the counter has called: bumped by a conditional UPDATE, so that two devices
    # pressing "call next" at one counter at once are told apart (counters.call_next).
    calls: Mapped[int] = mapped_column(default=0, server_default="0")

    branch: Mapped[Branch] = relationship(back_populates="counters")
    services: Mapped[list[Service]] = relationship(
        secondary=counter_services, order_by=Service.letter
    )
