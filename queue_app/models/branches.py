from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from queue_app.db import Base, Bilingual

if TYPE_CHECKING:
    from queue_app.models.counters import Counter
    from queue_app.models.kiosks import Kiosk
    from queue_app.models.services import Service


# The evening reminder's time when the config file says nothing (docs/appointments.md).
DEFAULT_EVENING_REMINDER = time(19, 0)


class Branch(Bilingual, Base):
    """An office: a civil registry, a traffic unit, a post office, a municipal service centre."""

    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ar: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
    reschedule_after_minutes: Mapped[int] = mapped_column(default=20)
    evening_notice: Mapped[time] = mapped_column(default=time(18, 0))
    # Staff reports that declare a back-end system down: this many within this many minutes.
    reports_needed: Mapped[int] = mapped_column(default=3, server_default="3")
    reports_within_minutes: Mapped[int] = mapped_column(default=10, server_default="10")
    # Waiting anywhere (DESIGN.md): walk-in tickets from this many minutes before the opening,
    # and one text when a ticket's estimated wait falls to turn_near_minutes (0: neither).
    early_tickets_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    turn_near_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    # A walk-in told by text who missed the call may come back within this many minutes and
    # be called near the front (``coming_back``); 0: no grace, a missed turn is lost.
    late_grace_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    # How citizens may be told, comma-separated, the first the default: "sms", "whatsapp,sms".
    channels: Mapped[str] = mapped_column(String(40), default="sms", server_default="sms")
    # Citizens may take today's walk-in ticket from their phone (/join/<branch>, its poster);
    # and the public booking page confirms the number with a one-time code (phone_codes).
    join_from_phone: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    booking_code: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # Reminders of a booked appointment (``reminders``), local times; None: not sent. The
    # evening one by default, after the default evening_notice, so that an outage's evening
    # move goes first; the morning one is the branch's choice (each costs a message).
    reminder_evening: Mapped[time | None] = mapped_column(default=DEFAULT_EVENING_REMINDER)
    reminder_morning: Mapped[time | None] = mapped_column(default=None)

    services: Mapped[list[Service]] = relationship(
        back_populates="branch", order_by="Service.letter", cascade="all, delete-orphan"
    )
    counters: Mapped[list[Counter]] = relationship(
        back_populates="branch", order_by="Counter.code", cascade="all, delete-orphan"
    )
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        order_by="OpeningHours.weekday", cascade="all, delete-orphan"
    )
    holidays: Mapped[list[Holiday]] = relationship(
        order_by="Holiday.day", cascade="all, delete-orphan"
    )
    special_hours: Mapped[list[SpecialHours]] = relationship(
        order_by="SpecialHours.first_day", cascade="all, delete-orphan"
    )
    kiosks: Mapped[list[Kiosk]] = relationship(order_by="Kiosk.code", cascade="all, delete-orphan")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class OpeningHours(Base):
    """One weekday's opening time, in the branch's local time. A weekday with no row is closed."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        UniqueConstraint("branch_id", "weekday"),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    weekday: Mapped[int]  # Monday is 0, as in ``date.weekday()``
    opens: Mapped[time]
    closes: Mapped[time]


class Holiday(Base):
    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("branch_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    day: Mapped[date]
    # Given in the console ("Revolution Day", "عيد الثورة"); the config file lists days only.
    name_ar: Mapped[str | None] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))


class SpecialHours(Base):
    """Other hours over a range of local days (Ramadan hours are the classic case): on each
    day of the range that the branch normally opens, it opens and closes at these times."""

    __tablename__ = "special_hours"
    __table_args__ = (
        CheckConstraint("first_day <= last_day", name="days_in_order"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    first_day: Mapped[date]
    last_day: Mapped[date]
    opens: Mapped[time]
    closes: Mapped[time]
