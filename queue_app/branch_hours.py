"""A branch's opening hours, holidays and special hours, changed one at a time by its manager
(the console; the config file stays for setting up many branches at once).

Every change is made, then the bookings it leaves without a place are counted the way the
capacity rules count them (capacity.count_overflow): with ``dry_run`` the transaction is rolled
back and the answer says how many would move; otherwise the change is committed, and those
bookings move to the next free times and are texted (capacity.move_overflow)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from queue_app import capacity, directory, rescheduler, slots
from queue_app.access import MANAGER_AND_UP, Principal
from queue_app.clock import Clock
from queue_app.errors import InvalidInput, NotFound, StateConflict
from queue_app.models import (
    Branch,
    Holiday,
    OpeningHours,
    Service,
    SpecialHours,
    Ticket,
    TicketKind,
    TicketStatus,
)

# How far ahead a holiday or special hours may be set: a year, as the booking calendar and the
# maintenance windows are bounded (a date in 9999 would read as this year on the pages).
AHEAD = timedelta(days=365)
NAME_LENGTH = 200


@dataclass(frozen=True)
class HoursChange:
    """What a change does. ``moving``: booked appointments that no longer fit (in a dry run:
    would move); ``walk_ins_waiting``: walk-in tickets waiting today when the change closes
    today; ``added_id``: the holiday or special hours row added, to undo it by."""

    dry_run: bool
    moving: int
    walk_ins_waiting: int = 0
    moved: int = 0
    unplaced: int = 0
    texted: int = 0
    added_id: int | None = None


def coming(
    session: Session, branch_id: int, today: date
) -> tuple[list[Holiday], list[SpecialHours]]:
    """The branch's holidays from ``today`` on and its special hours not yet over, soonest
    first (the directory keeps days only; the console shows holidays' names too)."""
    holidays = session.scalars(
        select(Holiday)
        .where(Holiday.branch_id == branch_id, Holiday.day >= today)
        .order_by(Holiday.day)
    )
    special = session.scalars(
        select(SpecialHours)
        .where(SpecialHours.branch_id == branch_id, SpecialHours.last_day >= today)
        .order_by(SpecialHours.first_day, SpecialHours.id)
    )
    return list(holidays), list(special)


def set_weekday_hours(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    weekday: int,
    *,
    opens: time | None,
    closes: time | None,
    dry_run: bool = False,
) -> HoursChange:
    """Open a weekday (Monday is 0) from ``opens`` to ``closes``, or close it (both None), from
    today on. Raises NotFound, Forbidden, InvalidInput."""
    if not 0 <= weekday <= 6:
        raise InvalidInput("a weekday is 0 (Monday) to 6 (Sunday)", weekday=["0 to 6"])
    if (opens is None) != (closes is None):
        raise InvalidInput(
            "give both the opening and the closing time, or neither for a closed day",
            opens=["both or neither"],
        )
    if opens is not None and closes is not None and not opens < closes:
        raise InvalidInput("the branch must open before it closes", closes=["not after opens"])

    def change(branch: Branch, today: date) -> tuple[date, date, int | None]:
        row = next((h for h in branch.opening_hours if h.weekday == weekday), None)
        if opens is None or closes is None:
            if row is not None:
                branch.opening_hours.remove(row)
        elif row is None:
            branch.opening_hours.append(OpeningHours(weekday=weekday, opens=opens, closes=closes))
        else:
            row.opens, row.closes = opens, closes
        return today, today + timedelta(days=slots.BOOKING_HORIZON_DAYS), None

    return _change(session, clock, principal, branch_code, change, dry_run=dry_run)


def add_holiday(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    day: date,
    *,
    name_ar: str | None = None,
    name_en: str | None = None,
    dry_run: bool = False,
) -> HoursChange:
    """Close the branch on ``day`` (today up to a year ahead). Its bookings move to the next
    free times; walk-in tickets already waiting today are counted, not cancelled.
    Raises NotFound, Forbidden, InvalidInput, StateConflict (the same day added meanwhile)."""
    names = {"name_ar": _name(name_ar, "name_ar"), "name_en": _name(name_en, "name_en")}

    def change(branch: Branch, today: date) -> tuple[date, date, int | None]:
        _check_day(day, today, "day")
        if any(h.day == day for h in branch.holidays):
            raise InvalidInput(f"{day.isoformat()} is already a holiday", day=["already a holiday"])
        holiday = Holiday(day=day, **names)
        branch.holidays.append(holiday)
        session.flush()
        return day, day, holiday.id

    return _change(session, clock, principal, branch_code, change, dry_run=dry_run)


def remove_holiday(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    holiday_id: int,
    *,
    dry_run: bool = False,
) -> HoursChange:
    """Open the branch again on a holiday still to come (a past one stays on record).
    Raises NotFound, Forbidden, InvalidInput."""

    def change(branch: Branch, today: date) -> tuple[date, date, int | None]:
        holiday = next((h for h in branch.holidays if h.id == holiday_id), None)
        if holiday is None:
            raise NotFound(f"no holiday {holiday_id} at {branch_code}", holiday=holiday_id)
        if holiday.day < today:
            raise InvalidInput("a past holiday stays on record", holiday=["in the past"])
        branch.holidays.remove(holiday)
        return holiday.day, holiday.day, None

    return _change(session, clock, principal, branch_code, change, dry_run=dry_run)


def add_special_hours(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    *,
    first_day: date,
    last_day: date,
    opens: time,
    closes: time,
    dry_run: bool = False,
) -> HoursChange:
    """Other hours on the working days from ``first_day`` to ``last_day`` (Ramadan). Ranges may
    not share a day, as in the config file. Raises NotFound, Forbidden, InvalidInput."""
    if not opens < closes:
        raise InvalidInput("the branch must open before it closes", closes=["not after opens"])
    if last_day < first_day:
        raise InvalidInput("the range ends before it begins", last_day=["before the first day"])

    def change(branch: Branch, today: date) -> tuple[date, date, int | None]:
        _check_day(first_day, today, "first_day")
        _check_day(last_day, today, "last_day")
        for other in branch.special_hours:
            if first_day <= other.last_day and other.first_day <= last_day:
                raise InvalidInput(
                    f"{first_day.isoformat()} to {last_day.isoformat()} shares days with "
                    f"{other.first_day.isoformat()} to {other.last_day.isoformat()}",
                    first_day=["overlaps other special hours"],
                )
        row = SpecialHours(first_day=first_day, last_day=last_day, opens=opens, closes=closes)
        branch.special_hours.append(row)
        session.flush()
        return first_day, last_day, row.id

    return _change(session, clock, principal, branch_code, change, dry_run=dry_run)


def remove_special_hours(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    special_id: int,
    *,
    dry_run: bool = False,
) -> HoursChange:
    """Back to the usual hours on the days of a range not yet over.
    Raises NotFound, Forbidden, InvalidInput."""

    def change(branch: Branch, today: date) -> tuple[date, date, int | None]:
        row = next((s for s in branch.special_hours if s.id == special_id), None)
        if row is None:
            raise NotFound(f"no special hours {special_id} at {branch_code}", special=special_id)
        if row.last_day < today:
            raise InvalidInput("past special hours stay on record", special=["in the past"])
        branch.special_hours.remove(row)
        return max(row.first_day, today), row.last_day, None

    return _change(session, clock, principal, branch_code, change, dry_run=dry_run)


def _name(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if len(value) > NAME_LENGTH:
        raise InvalidInput(
            f"a holiday's name is at most {NAME_LENGTH} characters", **{field: ["too long"]}
        )
    return value or None


def _check_day(day: date, today: date, field: str) -> None:
    if day < today:
        raise InvalidInput(f"{day.isoformat()} is in the past", **{field: ["in the past"]})
    if day > today + AHEAD:
        raise InvalidInput(
            f"{day.isoformat()} is more than a year ahead", **{field: ["more than a year ahead"]}
        )


Change = Callable[[Branch, date], tuple[date, date, int | None]]


def _change(
    session: Session,
    clock: Clock,
    principal: Principal,
    branch_code: str,
    change: Change,
    *,
    dry_run: bool,
) -> HoursChange:
    principal.require(MANAGER_AND_UP)
    now = clock.now()
    branch = session.scalar(select(Branch).where(Branch.code == branch_code))
    if branch is None:
        raise NotFound(f"no branch {branch_code!r}", branch=branch_code)
    principal.require_branch(branch.id)
    today = now.astimezone(branch.zone).date()
    was_open_today = directory.current(session).branch(branch_code).hours.hours_on(today)
    try:
        first, last, added_id = change(branch, today)
        session.flush()  # the directory's revision changes with it (directory.py)
    except IntegrityError:
        # Another manager wrote the same day or weekday since this one was read (unique keys).
        session.rollback()
        raise StateConflict("the hours changed meanwhile; reload the page") from None
    except Exception:
        session.rollback()
        raise
    first = max(first, today)
    after = directory.current(session).branch(branch_code)
    walk_ins = 0
    if first <= today <= last and was_open_today and after.hours.hours_on(today) is None:
        walk_ins = _walk_ins_waiting(session, branch.id, now, today, after.zone)
    services = after.services
    moving = sum(capacity.count_overflow(session, now, s, first, last) for s in services)
    if dry_run:
        session.rollback()
        return HoursChange(True, moving, walk_ins, added_id=added_id)
    session.commit()
    total = rescheduler.Outcome()
    cause = f"hours:{now.isoformat()}"
    for service in directory.current(session).branch(branch_code).services:
        _, outcome = capacity.move_overflow(session, clock, now, service, first, last, cause=cause)
        total.moved += outcome.moved
        total.unplaced += outcome.unplaced
        total.texted += outcome.texted
    return HoursChange(False, moving, walk_ins, total.moved, total.unplaced, total.texted, added_id)


def _walk_ins_waiting(
    session: Session, branch_id: int, now: datetime, today: date, zone: ZoneInfo
) -> int:
    start = datetime.combine(today, time(), tzinfo=zone)
    return (
        session.scalar(
            select(func.count(Ticket.id))
            .join(Service, Service.id == Ticket.service_id)
            .where(
                Service.branch_id == branch_id,
                Ticket.kind == TicketKind.WALK_IN,
                Ticket.status == TicketStatus.WAITING,
                Ticket.issued_at >= start,
                Ticket.issued_at <= now,
            )
        )
        or 0
    )
