from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from queue_app.db import Base, UTCDateTime, str_enum
from queue_app.models.backends import Backend


class DetectedBy(StrEnum):
    HEALTH_CHECK = "health_check"  # the monitor's checks failed failure_threshold times in a row
    STAFF_REPORTS = "staff_reports"  # counters reported it down, enough of them, soon enough
    MANAGER = "manager"  # declared by a manager (or an admin)


class Outage(Base):
    """One down period of a back-end system, and what it did to the queue (its record).

    ``branch_id`` is its scope: None, the system is down everywhere (the health monitor, an
    admin); a branch, only that office cannot reach it (its manager, its staff's reports). A
    branch's services are paused while any outage that covers it is open."""

    __tablename__ = "outages"
    __table_args__ = (
        Index("ix_outages_current", "backend_id", "ended_at"),
        # One open outage per system and scope: ending "the" outage must end the pause.
        Index(
            "uq_outages_open_everywhere",
            "backend_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL AND branch_id IS NULL"),
            sqlite_where=text("ended_at IS NULL AND branch_id IS NULL"),
        ),
        Index(
            "uq_outages_open_at_branch",
            "backend_id",
            "branch_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL AND branch_id IS NOT NULL"),
            sqlite_where=text("ended_at IS NULL AND branch_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id", ondelete="CASCADE"))
    branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detected_by: Mapped[DetectedBy] = mapped_column(str_enum(DetectedBy))
    # health_check, manager, admin or staff
    ended_by: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    expected_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Waiting tickets of the services it paused, counted when it began.
    tickets_paused: Mapped[int] = mapped_column(default=0)
    tickets_moved: Mapped[int] = mapped_column(default=0)
    tickets_texted: Mapped[int] = mapped_column(default=0)
    tickets_unplaced: Mapped[int] = mapped_column(default=0)

    backend: Mapped[Backend] = relationship()


class OutageMove(Base):
    """That the outage's reschedule ran for one branch on one local day (the evening notice runs
    once a day): the timers look here so that a restart does not run it again."""

    __tablename__ = "outage_moves"

    outage_id: Mapped[int] = mapped_column(
        ForeignKey("outages.id", ondelete="CASCADE"), primary_key=True
    )
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True
    )
    # "line" (the waiting line and today's appointments) or "evening:<day>" (a coming day's).
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    moved: Mapped[int] = mapped_column(default=0)


class OutageReport(Base):
    """A counter said "the system is down"."""

    __tablename__ = "outage_reports"
    __table_args__ = (Index("ix_outage_reports_recent", "backend_id", "branch_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id", ondelete="CASCADE"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    # Who reported (the token; None for reports made before it was kept): reports count once
    # per reporter, so one counter pressing three times is one report, not three.
    reporter_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    # Or the signed-in person who reported (people.py).
    reporter_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )


class BackendHealth(Base):
    """The health monitor's running tally for one back-end system (kept apart from ``Backend``
    so that a check that changes nothing does not invalidate every process's directory)."""

    __tablename__ = "backend_health"

    backend_id: Mapped[int] = mapped_column(
        ForeignKey("backends.id", ondelete="CASCADE"), primary_key=True
    )
    failures_in_a_row: Mapped[int] = mapped_column(default=0)
    successes_in_a_row: Mapped[int] = mapped_column(default=0)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Maintenance(Base):
    """An announced maintenance window of a back-end system: shown ahead, booked around."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        # The same window announced twice at once must not be stored twice (nor move and text
        # its appointments twice): a withdrawn window no longer counts.
        Index(
            "uq_maintenance_windows_announced",
            "backend_id",
            "starts_at",
            "ends_at",
            unique=True,
            postgresql_where=text("cancelled_at IS NULL"),
            sqlite_where=text("cancelled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tickets_moved: Mapped[int] = mapped_column(default=0)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    backend: Mapped[Backend] = relationship()


__all__ = [
    "BackendHealth",
    "DetectedBy",
    "Maintenance",
    "Outage",
    "OutageMove",
    "OutageReport",
]
