"""Appointment reminders: the evening before and the morning of, at the branch's times, once
each; never after a move that day, never for a cancelled or begun appointment, never after
midnight or the start; within the daily cap; answered like a booking."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from queue_app import daily_cap, outage_moves, outages, reminders, replies, texting
from queue_app.models import Branch, Message, MessageStatus, Ticket, TicketStatus
from queue_app.web.extensions import db
from queue_app.worker import timers
from queue_app.worker.sending import SmsSender
from sms.gateways import ConsoleGateway
from tests.conftest import needs_postgresql

BRANCH = "/api/v1/branches/cairo-civil"
PHONE, E164 = "01012345678", "+201012345678"
# The fixture's clock: Tuesday 24 November 2026, 10:00 in Cairo. The appointments are on
# Wednesday 25 November.
WEDNESDAY_9 = "2026-11-25T09:00:00+02:00"


def cairo(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in Cairo (UTC+2 all year)."""
    return datetime(2026, 11, day, tzinfo=UTC) + timedelta(hours=hour - 2, minutes=minute)


@pytest.fixture
def branch(make_branch) -> Branch:
    """Reminders at 19:00 the evening before (the default) and 07:30 that morning."""
    made = make_branch(services=[("id-card", "A"), ("passport", "B")], channels="sms,whatsapp")
    assert made.reminder_evening == time(19, 0)
    assert made.reminder_morning is None
    made.reminder_morning = time(7, 30)
    db.session.commit()
    return made


def _book(client, start: str = WEDNESDAY_9, phone: str = PHONE, **body) -> str:
    answer = client.post(
        f"{BRANCH}/appointments",
        json={"service": "id-card", "start": start, "phone": phone, **body},
    )
    assert answer.status_code == 201, answer.json
    return answer.json["token"]


def _remind(clock, at: datetime) -> int:
    clock.set(at)
    return reminders.send_reminders(db.session, clock)


def _reminders() -> list[Message]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Message).where(Message.event.like("reminder:%")).order_by(Message.id)
        )
    )


def _ticket(token: str) -> Ticket:
    db.session.expire_all()
    return db.session.scalars(select(Ticket).where(Ticket.token == token)).one()


def test_the_evening_before_and_the_morning_of_each_once(client, branch, clock):
    token = _book(client)
    assert _remind(clock, cairo(24, 18, 59)) == 0
    assert _remind(clock, cairo(24, 19)) == 1
    assert _remind(clock, cairo(24, 19, 5)) == 0  # not twice
    (evening,) = _reminders()
    assert evening.event == "reminder:evening:2026-11-25"
    assert evening.to == E164
    assert evening.lane == 1  # with the confirmations, never behind a mass move
    assert evening.status == MessageStatus.QUEUED
    # Egypt's SMS is one-way: the choices are on the page, whose link ends the text.
    assert evening.body == (
        "تذكير: موعدك غدًا الأربعاء ٢٥ نوفمبر ٩:٠٠ ص\nسجل مدني مدينة نصر\n"
        f"تأكيد/تغيير/إلغاء:\nhttp://queue.test/t/{token}"
    )

    assert _remind(clock, cairo(25, 7, 29)) == 0
    assert _remind(clock, cairo(25, 7, 30)) == 1
    assert _remind(clock, cairo(25, 8)) == 0
    morning = _reminders()[1]
    assert morning.event == "reminder:morning:2026-11-25"
    assert morning.body.startswith("موعدك اليوم الأربعاء ٢٥ نوفمبر ٩:٠٠ ص\nسجل مدني مدينة نصر\n")
    events = [(e.event, e.note) for e in _ticket(token).events]
    assert events == [
        ("booked", None),
        ("reminder_evening", "2026-11-25"),
        ("reminder_morning", "2026-11-25"),
    ]
    history = client.get(f"/api/v1/tickets/{token}").json["history"]
    assert [h["event"] for h in history][-2:] == ["reminder_evening", "reminder_morning"]


def test_a_late_worker_catches_up_that_evening_and_never_after_midnight(client, branch, clock):
    first = _book(client)
    assert _remind(clock, cairo(24, 23, 58)) == 1  # down from 19:00 to 23:58: still evening
    second = _book(client, start="2026-11-25T09:30:00+02:00", phone="01012345679")
    # Booked at 23:58, after the evening's time: its confirmation has just gone out.
    assert _remind(clock, cairo(24, 23, 59)) == 0
    # The worker was down from before midnight: Wednesday's evening reminders are over, and
    # Thursday's appointments' come on Wednesday evening only.
    assert _remind(clock, cairo(25, 0, 5)) == 0
    assert [m.ticket_id for m in _reminders()] == [_ticket(first).id]
    assert _remind(clock, cairo(25, 8, 55)) == 2  # the morning's, caught up before 09:00
    assert {m.event for m in _reminders()[1:]} == {"reminder:morning:2026-11-25"}
    assert _ticket(second).id in {m.ticket_id for m in _reminders()}


def test_no_morning_reminder_once_the_appointment_began_or_checked_in(
    client, branch, clock, make_token
):
    begun = _book(client, start="2026-11-25T08:00:00+02:00")
    checked_in = _book(client, start="2026-11-25T08:30:00+02:00", phone="01012345679")
    clock.set(cairo(25, 8, 1))
    answer = client.post(f"/api/v1/tickets/{checked_in}/check-in", headers=make_token("kiosk"))
    assert answer.status_code == 200, answer.json
    assert _ticket(checked_in).status == TicketStatus.WAITING
    # The worker was down at 07:30 and came back after 08:00: too late for the 08:00 one.
    assert _remind(clock, cairo(25, 8, 1)) == 0
    assert _reminders() == []
    assert _ticket(begun).status == TicketStatus.SCHEDULED


def test_not_for_a_cancelled_appointment(client, branch, clock):
    token = _book(client)
    assert client.post(f"/api/v1/tickets/{token}/cancel").status_code == 200
    assert _remind(clock, cairo(24, 19)) == 0
    assert _remind(clock, cairo(25, 7, 30)) == 0
    assert _reminders() == []


def test_not_to_someone_told_of_a_move_that_day(client, branch, clock):
    token = _book(client)
    clock.set(cairo(24, 15))
    answer = client.post(f"/api/v1/tickets/{token}/next-slot")  # "another time": texted
    assert answer.status_code == 200, answer.json
    assert _ticket(token).slot_start == cairo(25, 9, 30)  # still Wednesday
    assert _remind(clock, cairo(24, 19)) == 0  # told its new time at 15:00 today
    # The next morning is another day: the morning reminder says the new time.
    assert _remind(clock, cairo(25, 7, 30)) == 1
    (morning,) = _reminders()
    assert morning.event == "reminder:morning:2026-11-25"
    assert "٩:٣٠ ص" in morning.body


def test_none_when_the_branch_turns_them_off(client, branch, clock):
    branch.reminder_evening = None
    branch.reminder_morning = None
    db.session.commit()
    _book(client)
    assert _remind(clock, cairo(24, 21)) == 0
    assert _remind(clock, cairo(25, 8)) == 0
    assert _reminders() == []


def test_the_daily_cap_holds_the_reminder_back_quietly(client, branch, clock):
    # Two bookings, two messages today to this number; one to the other.
    capped = _book(client)
    also_capped = _book(client, start="2026-11-25T09:30:00+02:00", service="passport")
    other = _book(client, start="2026-11-25T10:00:00+02:00", phone="01012345679")
    daily_cap.set_cap(db.session.info, 2)
    assert _remind(clock, cairo(24, 19)) == 3  # no exception
    by_ticket = {m.ticket_id: m for m in _reminders()}
    for held in (by_ticket[_ticket(capped).id], by_ticket[_ticket(also_capped).id]):
        assert held.status == MessageStatus.SUPPRESSED
        assert held.error == daily_cap.reason(2)
    assert by_ticket[_ticket(other).id].status == MessageStatus.QUEUED
    # Not tried again: once per ticket and day, whatever became of it.
    assert _remind(clock, cairo(24, 20)) == 0
    # Wednesday's count starts again at midnight: the morning reminders go, two to a number.
    assert _remind(clock, cairo(25, 7, 30)) == 3
    assert {m.status for m in _reminders()[3:]} == {MessageStatus.QUEUED}


def test_whatsapp_asks_for_a_reply_and_sms_where_replies_arrive_too(client, branch, clock):
    on_whatsapp = _book(client, channel="whatsapp")
    on_sms = _book(client, start="2026-11-25T10:00:00+02:00", phone="01012345679")
    db.session.info[texting.ONE_WAY_SMS] = frozenset()  # a sender that takes replies
    assert _remind(clock, cairo(24, 19)) == 2
    by_ticket = {m.ticket_id: m for m in _reminders()}
    whatsapp = by_ticket[_ticket(on_whatsapp).id]
    assert whatsapp.channel == "whatsapp"
    assert "\n١ تأكيد ٢ تغيير ٠ إلغاء\n" in whatsapp.body
    by_sms = by_ticket[_ticket(on_sms).id]
    assert by_sms.channel == "sms"
    assert "\n١ تأكيد ٢ تغيير ٠ إلغاء\n" in by_sms.body


@pytest.fixture
def send_all(clock):
    """The worker sends what is queued (the console gateway), as it would before a reply."""
    sessions = sessionmaker(bind=db.engine, expire_on_commit=False)
    sender = SmsSender(sessions, clock, ConsoleGateway(io.StringIO()), rate=1000.0, name="t")

    def send() -> None:
        db.session.commit()
        while sender.run_once().claimed:
            pass

    return send


_sids = iter(range(10**6))


def _reply(clock, body: str) -> replies.ReplyOutcome:
    return replies.apply_reply(
        db.session, clock, provider_sid=f"SM{next(_sids):032d}", phone=E164, body=body
    )


@pytest.mark.parametrize(
    ("body", "outcome", "status"),
    [
        ("1", "confirmed", TicketStatus.SCHEDULED),
        ("٢", "moved", TicketStatus.SCHEDULED),
        ("0", "cancelled", TicketStatus.CANCELLED),
    ],
)
def test_a_reply_to_a_reminder_acts_on_the_reminded_appointment(
    client, branch, clock, send_all, body, outcome, status
):
    reminded = _book(client)
    # Booked later by the same number, for next week: the latest ticket, but not the one the
    # reminder is about.
    later = _book(client, start="2026-12-01T10:00:00+02:00", service="passport")
    send_all()
    assert _remind(clock, cairo(24, 19)) == 1
    send_all()
    clock.set(cairo(24, 19, 10))
    answer = _reply(clock, body)
    assert answer.outcome == outcome
    assert answer.ticket_number == _ticket(reminded).number
    assert _ticket(reminded).status == status
    assert _ticket(later).status == TicketStatus.SCHEDULED
    assert [e.event for e in _ticket(later).events] == ["booked"]
    last = _ticket(reminded).events[-1]
    assert (
        last.event
        == {"confirmed": "confirmed", "moved": "moved", "cancelled": "cancelled"}[outcome]
    )
    (said,) = db.session.scalars(select(Message).where(Message.event.like("reply:%"))).all()
    assert said.ticket_id == _ticket(reminded).id


def test_before_any_message_left_a_reply_goes_to_the_latest_ticket(client, branch, clock):
    first = _book(client)
    later = _book(client, start="2026-12-01T10:00:00+02:00", service="passport")
    answer = _reply(clock, "0")
    assert answer.ticket_number == _ticket(later).number
    assert _ticket(first).status == TicketStatus.SCHEDULED


def test_the_worker_s_timer_round_sends_them(client, branch, clock):
    _book(client)
    clock.set(cairo(24, 19, 30))
    db.session.commit()
    info: dict[object, object] = {}
    texting.set_public_url(info, "http://queue.test")
    sessions = sessionmaker(bind=db.engine, expire_on_commit=False, info=info)
    stop = threading.Event()
    made = 0

    def one_round() -> Session:
        nonlocal made
        made += 1
        if made == 3:  # outages, turn near, reminders: the round's last transaction
            stop.set()
        return sessions()

    timers.outage_timers(one_round, clock, stop, every=0)
    assert made == 3
    assert [m.event for m in _reminders()] == ["reminder:evening:2026-11-25"]


POSTGRESQL_ONLY = pytest.mark.parametrize(
    "db_kind", [pytest.param("postgresql", marks=[pytest.mark.postgresql, needs_postgresql])]
)


@POSTGRESQL_ONLY
def test_two_workers_at_once_remind_each_appointment_once(client, branch, clock):
    tokens = [
        _book(client, start=f"2026-11-25T{hour:02d}:00:00+02:00", phone=f"0101234{hour:04d}")
        for hour in range(9, 15)
    ]
    clock.set(cairo(24, 19))
    db.session.commit()
    info: dict[object, object] = {}
    texting.set_public_url(info, "http://queue.test")
    sessions = sessionmaker(bind=db.engine, expire_on_commit=False, info=info)
    start = threading.Barrier(2)
    counts: list[int] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with sessions() as session:
                start.wait(timeout=30)
                counts.append(reminders.send_reminders(session, clock))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(counts) in ([0, 6], [1, 5], [2, 4], [3, 3])  # shared, never doubled
    assert len(_reminders()) == 6
    for token in tokens:
        assert [e.event for e in _ticket(token).events].count("reminder_evening") == 1


def test_not_to_someone_an_outage_moved_that_morning(client, make_backend, make_branch, clock):
    backend = make_backend()
    made = make_branch(backends=[backend])
    made.reminder_morning = time(7, 30)
    db.session.commit()
    moved = _book(client)  # Wednesday 09:00, inside the outage
    kept = _book(client, start="2026-11-25T11:00:00+02:00", phone="01012345679")
    clock.set(cairo(25, 6, 50))
    outages.declare(db.session, clock, backend.code, expected_minutes=180)  # until 09:50
    clock.set(cairo(25, 7, 10))  # the branch's 20 minutes: the line and its bookings move
    outage_moves.run_timers(db.session, clock)
    assert _ticket(moved).slot_start >= cairo(25, 9, 50)
    assert _ticket(moved).slot_start.date() == cairo(25, 12).date()  # later the same day
    assert _remind(clock, cairo(25, 7, 30)) == 1
    (reminder,) = _reminders()
    assert reminder.ticket_id == _ticket(kept).id
    told = db.session.scalars(select(Message).where(Message.event.like("rescheduled:%"))).all()
    assert [m.ticket_id for m in told] == [_ticket(moved).id]
