from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from queue_app.db import Base, UTCDateTime, str_enum
from queue_app.errors import StateConflict
from queue_app.models.branches import Branch
from queue_app.models.counters import Counter
from queue_app.models.services import Service


class TicketStatus(StrEnum):
    SCHEDULED = "scheduled"
    WAITING = "waiting"
    CALLED = "called"
    # Put aside by the counter (the citizen fetches a document): not in the line, not served.
    ON_HOLD = "on_hold"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class TicketKind(StrEnum):
    WALK_IN = "walk_in"
    APPOINTMENT = "appointment"


# Which status may follow which: DESIGN.md's life of a ticket. Recall puts a called ticket back
# on the counter's screen, so CALLED -> CALLED is allowed.
ALLOWED_MOVES: dict[TicketStatus, frozenset[TicketStatus]] = {
    # A booked citizen who never checked in is a no-show (appointments.mark_missed).
    TicketStatus.SCHEDULED: frozenset(
        {TicketStatus.WAITING, TicketStatus.CANCELLED, TicketStatus.NO_SHOW}
    ),
    # A waiting ticket whose service is paused is given a later slot (the rescheduler).
    TicketStatus.WAITING: frozenset(
        {TicketStatus.CALLED, TicketStatus.CANCELLED, TicketStatus.SCHEDULED}
    ),
    # A transfer puts a called ticket back among the waiting (counters.transfer).
    TicketStatus.CALLED: frozenset(
        {
            TicketStatus.CALLED,
            TicketStatus.DONE,
            TicketStatus.NO_SHOW,
            TicketStatus.WAITING,
            TicketStatus.ON_HOLD,
        }
    ),
    # Resumed at its counter, sent back to the line, given up by the citizen, or never back.
    TicketStatus.ON_HOLD: frozenset(
        {TicketStatus.CALLED, TicketStatus.WAITING, TicketStatus.CANCELLED, TicketStatus.NO_SHOW}
    ),
    TicketStatus.DONE: frozenset(),
    # A walk-in told by text who missed the call and came back within the grace period
    # (coming_back.came_back) waits again, to be called near the front.
    TicketStatus.NO_SHOW: frozenset({TicketStatus.WAITING}),
    TicketStatus.CANCELLED: frozenset(),
}

ACTIVE_STATUSES = (
    TicketStatus.SCHEDULED,
    TicketStatus.WAITING,
    TicketStatus.CALLED,
    TicketStatus.ON_HOLD,
)


def ticket_number(letter: str, sequence: int) -> str:
    """``A-001``: as printed, shown and called."""
    return f"{letter}-{sequence:03d}"


class Ticket(Base):
    """One citizen's place in a branch's line for one service."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("branch_id", "letter", "local_day", "sequence"),
        # The waiting line of a service, in calling order.
        Index("ix_tickets_line", "service_id", "status", "priority", "queued_at"),
        # The service's last finished tickets, for its measured pace (pace.recent_service_times).
        Index("ix_tickets_finished", "service_id", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id", ondelete="SET NULL"))
    # A waiting ticket transferred to one counter: only that counter calls it, before its
    # common line (counters.transfer). None: any counter serving its service may call it.
    for_counter_id: Mapped[int | None] = mapped_column(
        ForeignKey("counters.id", ondelete="SET NULL")
    )
    letter: Mapped[str] = mapped_column(String(1))
    local_day: Mapped[date]
    sequence: Mapped[int]
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind), default=TicketKind.WALK_IN)
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus), default=TicketStatus.WAITING
    )
    priority: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164
    locale: Mapped[str] = mapped_column(String(8), default="ar")
    # How the citizen chose to be told: "sms" or "whatsapp" (one of the branch's channels).
    channel: Mapped[str] = mapped_column(String(10), default="sms", server_default="sms")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Its place in the waiting line (the line is called in this order, priority first): the issue
    # time of a walk-in, the slot start of an appointment once checked in, None before that.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    slot_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A walk-in who missed the call came back within the grace period at this moment: it is
    # called near the front, one such ticket between regulars (coming_back). None: never.
    came_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    slot_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The move (its cause, "outage:12") that found no free time for the ticket: its citizen was
    # told so, and the worker places it when room appears. None once placed, or never unplaced.
    awaiting_slot_for: Mapped[str | None] = mapped_column(String(80), index=True)
    # A system came back while the office was open: this ticket, moved by its outage to a later
    # day, may take today's free counter time instead, until then (``recovery``).
    offer_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic lock: a citizen cancelling while a counter calls must not silently win over
    # the call; the later writer gets StaleDataError and the citizen a clear conflict.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own hook

    branch: Mapped[Branch] = relationship()
    service: Mapped[Service] = relationship()
    counter: Mapped[Counter | None] = relationship(foreign_keys=[counter_id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        return ticket_number(self.letter, self.sequence)

    def move_to(
        self,
        status: TicketStatus,
        at: datetime,
        *,
        event: str | None = None,
        note: str | None = None,
    ) -> None:
        """Change status, or raise StateConflict when the life of a ticket does not allow it."""
        if status not in ALLOWED_MOVES[self.status]:
            raise StateConflict(
                f"ticket {self.number} is {self.status.value} and cannot become {status.value}",
                status=self.status.value,
            )
        self.status = status
        self.events.append(TicketEvent(at=at, event=event or status.value, note=note))


class TicketEvent(Base):
    """The ticket's history, as shown on its page."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketNumberSequence(Base):
    """The last number given per branch, letter and local day.

    One row is bumped with ``UPDATE ... RETURNING`` inside the transaction that inserts the ticket:
    the row lock serialises concurrent kiosks, and a rollback gives the number back, so numbers
    are unique and without gaps.
    """

    __tablename__ = "ticket_number_sequences"

    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True
    )
    letter: Mapped[str] = mapped_column(String(1), primary_key=True)
    local_day: Mapped[date] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)
    # The place in line of the last walk-in numbered (its queued_at): the next one never goes
    # ahead of it, though its request may have started first (numbering.take_number).
    last_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
