"""Waiting anywhere, coming back late: a walk-in told by text who missed the call comes back
within the branch's ``late_grace_minutes`` and is called after the next regular ticket, one such
ticket at a time between regulars; after the grace period, a clear refusal. And the "called"
text, once per ticket."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_app.models import Message, MessageStatus, Ticket, TicketStatus
from queue_app.web.extensions import db

BRANCH = "/api/v1/branches/cairo-civil"
TICKETS = "/api/v1/tickets"


@pytest.fixture
def branch(make_branch):
    """One counter, six minutes a citizen; texted at 15 minutes; 10 minutes to come back."""
    made = make_branch()
    made.turn_near_minutes = 15
    made.late_grace_minutes = 10
    db.session.commit()
    return made


@pytest.fixture
def staff(make_token):
    return make_token("staff")


def _take(client, make_token, n: int, *, phone: bool = True) -> list[dict]:
    kiosk = make_token("kiosk")
    taken = []
    for i in range(n):
        body = {"service": "id-card", **({"phone": f"0101234{i:04d}"} if phone else {})}
        answer = client.post(f"{BRANCH}/tickets", json=body, headers=kiosk)
        assert answer.status_code == 201, answer.json
        taken.append(answer.json)
    return taken


def _call(client, staff) -> str | None:
    answer = client.post(f"{BRANCH}/counters/1/call-next", headers=staff)
    if answer.status_code == 204:
        return None
    assert answer.status_code == 200, answer.json
    return answer.json["number"]


def _miss(client, staff, ticket: dict) -> None:
    answer = client.post(f"{TICKETS}/{ticket['token']}/no-show", headers=staff)
    assert answer.status_code == 200, answer.json


def _called_texts(number: str) -> int:
    db.session.expire_all()
    _, sequence = number.split("-")
    return db.session.scalar(
        select(func.count())
        .select_from(Message)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Message.event == "called", Ticket.sequence == int(sequence))
    )


def _status(ticket: dict) -> TicketStatus:
    db.session.expire_all()
    return db.session.scalars(select(Ticket).where(Ticket.token == ticket["token"])).one().status


def test_back_within_the_grace_period_is_called_after_the_next_one(
    client, branch, make_token, staff, clock
):
    a1, *_ = _take(client, make_token, 4)
    assert _call(client, staff) == "A-001"
    assert _called_texts("A-001") == 1  # told by text that they are called, and where
    (text,) = db.session.scalars(select(Message).where(Message.event == "called")).all()
    assert text.body.startswith("حان دورك: تذكرة A-001")
    assert "الشباك 1" in text.body
    _miss(client, staff, a1)
    clock.advance(minutes=9)

    answer = client.post(f"{TICKETS}/{a1['token']}/came-back", headers=staff)
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "waiting"
    assert [h["event"] for h in answer.json["history"]][-1] == "came_back"

    clock.advance(minutes=1)
    assert _call(client, staff) == "A-002"  # next but one: one regular first
    clock.advance(minutes=1)
    assert _call(client, staff) == "A-001"
    clock.advance(minutes=1)
    assert [_call(client, staff), _call(client, staff), _call(client, staff)] == [
        "A-003",
        "A-004",
        None,
    ]
    assert _called_texts("A-001") == 1  # called twice, told once: now they are in the hall


def test_the_ticket_page_shows_the_return(client, branch, make_token, staff, clock):
    (a1,) = _take(client, make_token, 1)
    _call(client, staff)
    _miss(client, staff, a1)
    client.post(f"{TICKETS}/{a1['token']}/came-back", headers=staff)
    page = client.get(f"/t/{a1['token']}")
    assert page.status_code == 200
    assert "Came back in time" in page.text or "عاد في الوقت" in page.text


def test_after_the_grace_period_a_clear_refusal_and_nothing_changes(
    client, branch, make_token, staff, clock
):
    (a1, _) = _take(client, make_token, 2)
    _call(client, staff)
    _miss(client, staff, a1)
    clock.advance(minutes=10, seconds=1)

    answer = client.post(f"{TICKETS}/{a1['token']}/came-back", headers=staff)
    assert answer.status_code == 409
    assert answer.json["error"] == "too_late"
    assert "take a new ticket" in answer.json["message"]
    assert answer.json["fields"]["grace_ended_at"].startswith("2026-")
    assert _status(a1) == TicketStatus.NO_SHOW


def test_the_kiosk_scan_brings_a_missed_ticket_back(client, branch, make_token, staff, clock):
    (a1, _) = _take(client, make_token, 2)
    _call(client, staff)
    _miss(client, staff, a1)
    clock.advance(minutes=3)
    answer = client.post(f"{TICKETS}/{a1['token']}/check-in", headers=make_token("kiosk"))
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "waiting"
    clock.advance(minutes=20)  # once back, a second return is refused even within a grace
    assert _call(client, staff) == "A-002"
    assert _call(client, staff) == "A-001"
    _miss(client, staff, a1)
    again = client.post(f"{TICKETS}/{a1['token']}/check-in", headers=make_token("kiosk"))
    assert again.status_code == 409
    assert "came back once already" in again.json["message"]
    assert _status(a1) == TicketStatus.NO_SHOW


def test_not_told_by_text_keeps_no_place(client, branch, make_token, staff, clock):
    (a1, _) = _take(client, make_token, 2, phone=False)
    _call(client, staff)
    _miss(client, staff, a1)
    answer = client.post(f"{TICKETS}/{a1['token']}/came-back", headers=staff)
    assert answer.status_code == 409
    assert "not told by text" in answer.json["message"]
    assert _status(a1) == TicketStatus.NO_SHOW


def test_a_failed_text_told_nobody(client, branch, make_token, staff, clock):
    (a1, _) = _take(client, make_token, 2)
    _call(client, staff)
    for message in db.session.scalars(select(Message)):
        message.status = MessageStatus.FAILED
    db.session.commit()
    _miss(client, staff, a1)
    answer = client.post(f"{TICKETS}/{a1['token']}/came-back", headers=staff)
    assert answer.status_code == 409
    assert _status(a1) == TicketStatus.NO_SHOW


def test_no_grace_at_the_branch_means_no_return(client, branch, make_token, staff, clock):
    branch.late_grace_minutes = 0
    db.session.commit()
    (a1, _) = _take(client, make_token, 2)
    _call(client, staff)
    _miss(client, staff, a1)
    answer = client.post(f"{TICKETS}/{a1['token']}/came-back", headers=staff)
    assert answer.status_code == 409
    assert "keeps no place" in answer.json["message"]


@pytest.mark.parametrize("status", ["waiting", "called"])
def test_only_a_missed_ticket_comes_back(client, branch, make_token, staff, status):
    (a1, _) = _take(client, make_token, 2)
    if status == "called":
        _call(client, staff)
    answer = client.post(f"{TICKETS}/{a1['token']}/came-back", headers=staff)
    assert answer.status_code == 409
    assert answer.json["fields"]["status"] == status
    assert _status(a1) == TicketStatus(status)


def test_returning_tickets_go_one_at_a_time_between_regulars(
    client, branch, make_token, staff, clock
):
    """Nobody starves: three returns in a row still let a regular through between each."""
    taken = _take(client, make_token, 8)
    for ticket in taken[:3]:
        clock.advance(minutes=1)
        assert _call(client, staff) == ticket["number"]
        _miss(client, staff, ticket)
    clock.advance(minutes=1)
    for ticket in taken[:3]:
        answer = client.post(f"{TICKETS}/{ticket['token']}/came-back", headers=staff)
        assert answer.status_code == 200, answer.json
    order = []
    while (number := _call(client, staff)) is not None:
        order.append(number)
        clock.advance(minutes=1)
    assert order == ["A-004", "A-001", "A-005", "A-002", "A-006", "A-003", "A-007", "A-008"]


def test_with_nobody_else_waiting_a_returning_ticket_is_called_at_once(
    client, branch, make_token, staff, clock
):
    (a1,) = _take(client, make_token, 1)
    _call(client, staff)
    _miss(client, staff, a1)
    client.post(f"{TICKETS}/{a1['token']}/came-back", headers=staff)
    assert _call(client, staff) == "A-001"


def test_the_called_text_only_where_waiting_anywhere_is_on(client, make_branch, make_token):
    make_branch()  # turn_near_minutes 0, no service threshold
    _take(client, make_token, 1)
    assert _call(client, make_token("staff")) == "A-001"
    assert _called_texts("A-001") == 0
