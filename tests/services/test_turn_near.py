"""Waiting anywhere: one text when a walk-in's estimated wait falls to the branch's
``turn_near_minutes``; never twice, never to a fresh ticket, never without the setting."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from queue_app import texting, turn_near
from queue_app.models import Message, Ticket
from queue_app.web.extensions import db
from queue_app.worker import timers

BRANCH = "/api/v1/branches/cairo-civil"


@pytest.fixture
def branch(make_branch):
    """One counter, six minutes a citizen; texted at 15 minutes or less."""
    made = make_branch()
    made.turn_near_minutes = 15
    db.session.commit()
    return made


def _take(client, make_token, n: int, **body: object) -> list[str]:
    kiosk = make_token("kiosk")
    numbers = []
    for i in range(n):
        answer = client.post(
            f"{BRANCH}/tickets",
            json={"service": "id-card", "phone": f"0101234{i:04d}", **body},
            headers=kiosk,
        )
        assert answer.status_code == 201, answer.json
        numbers.append(answer.json["number"])
    return numbers


def _told() -> list[Message]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Message).where(Message.event == "turn_near").order_by(Message.id))
    )


def _numbers(messages: list[Message]) -> list[str]:
    return [db.session.get(Ticket, m.ticket_id).number for m in messages]


def test_told_once_as_the_wait_falls_to_the_threshold(client, branch, make_token, clock):
    numbers = _take(client, make_token, 5)  # 10:00; waits 0, 6, 12, 18, 24 minutes
    clock.advance(minutes=4)
    assert turn_near.tell_turn_near(db.session, clock) == 0  # still at the kiosk
    clock.advance(minutes=1)
    assert turn_near.tell_turn_near(db.session, clock) == 3
    assert _numbers(_told()) == numbers[:3]
    assert turn_near.tell_turn_near(db.session, clock) == 0  # not twice

    client.post(f"{BRANCH}/counters/1/call-next", headers=make_token("staff"))
    clock.advance(minutes=3)  # 3 minutes left of A-001, then
    assert turn_near.tell_turn_near(db.session, clock) == 1
    assert turn_near.tell_turn_near(db.session, clock) == 0
    told = _told()
    assert _numbers(told) == numbers[:4]

    fourth = told[3]
    assert fourth.locale == "ar"
    assert fourth.to == "+201012340003"
    # With the branch's name and this link, the text would take a third segment: it goes.
    assert fourth.body.startswith(
        "اقترب دورك: تذكرة A-004، نحو ١٥ دقيقة.\nمن فضلك عد إلى القاعة.\nhttp://queue.test/t/"
    )
    assert "/t/" in fourth.body
    ticket = db.session.get(Ticket, fourth.ticket_id)
    assert [e.event for e in ticket.events].count("turn_near") == 1
    history = client.get(f"/api/v1/tickets/{ticket.token}").json["history"]
    assert [h["event"] for h in history] == ["issued", "turn_near"]


def test_in_the_citizen_s_language(client, branch, make_token, clock):
    _take(client, make_token, 1, locale="en")
    clock.advance(minutes=10)
    assert turn_near.tell_turn_near(db.session, clock) == 1
    (message,) = _told()
    assert message.locale == "en"
    assert message.body.startswith(
        "Your turn is near: ticket A-001 at Nasr City civil registry, any moment now.\n"
        "Please come back to the hall.\nhttp://queue.test/t/"
    )


def test_not_without_a_phone(client, branch, make_token, clock):
    answer = client.post(
        f"{BRANCH}/tickets", json={"service": "id-card"}, headers=make_token("kiosk")
    )
    assert answer.status_code == 201
    clock.advance(minutes=10)
    assert turn_near.tell_turn_near(db.session, clock) == 0
    assert _told() == []


def test_off_by_default(client, make_branch, make_token, clock):
    make_branch()
    _take(client, make_token, 2)
    clock.advance(minutes=10)
    assert turn_near.tell_turn_near(db.session, clock) == 0
    assert _told() == []


def test_not_while_the_office_is_closed(client, branch, make_token, clock):
    _take(client, make_token, 2)
    clock.set(datetime(2026, 11, 24, 13, 30, tzinfo=UTC))  # 15:30 Cairo, after closing
    assert turn_near.tell_turn_near(db.session, clock) == 0


def test_early_tickets_are_told_from_before_the_opening(client, branch, make_token, clock):
    branch.early_tickets_minutes = 90
    db.session.commit()
    clock.set(datetime(2026, 11, 24, 5, 0, tzinfo=UTC))  # 07:00 Cairo, opening at 08:00
    _take(client, make_token, 3)  # waits 60, 66, 72 minutes
    clock.advance(minutes=45)  # 07:45: 15, 21, 27
    assert turn_near.tell_turn_near(db.session, clock) == 1
    assert "نحو ١٥ دقيقة" in _told()[0].body


def test_the_worker_s_timer_round_sends_them(client, branch, make_token, clock):
    _take(client, make_token, 1)
    clock.advance(minutes=10)
    db.session.commit()
    info: dict[object, object] = {}
    texting.set_public_url(info, "http://queue.test")
    sessions = sessionmaker(bind=db.engine, expire_on_commit=False, info=info)
    stop = threading.Event()
    made = 0

    def one_round() -> Session:
        nonlocal made
        made += 1
        if made == 3:  # the round's last transaction (outages, turn near, reminders)
            stop.set()
        return sessions()

    timers.outage_timers(one_round, clock, stop, every=0)
    assert made == 3
    assert len(_told()) == 1
