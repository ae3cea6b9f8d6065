"""Waiting anywhere per service: a service's own ``turn_near_minutes`` (over the branch's) and
``turn_near_people`` (about that many people ahead in its line), whichever comes first; still
one text per ticket."""

from __future__ import annotations

from sqlalchemy import select

from queue_app import turn_near
from queue_app.models import Message, Service, Ticket
from queue_app.web.extensions import db

BRANCH = "/api/v1/branches/cairo-civil"


def _service(code: str) -> Service:
    return db.session.scalars(select(Service).where(Service.code == code)).one()


def _take(client, make_token, service: str, n: int) -> list[str]:
    kiosk = make_token("kiosk")
    numbers = []
    for i in range(n):
        answer = client.post(
            f"{BRANCH}/tickets",
            json={"service": service, "phone": f"0101{len(service)}{i:06d}"},
            headers=kiosk,
        )
        assert answer.status_code == 201, answer.json
        numbers.append(answer.json["number"])
    return numbers


def _told() -> list[str]:
    db.session.expire_all()
    return [
        db.session.get(Ticket, m.ticket_id).number
        for m in db.session.scalars(
            select(Message).where(Message.event == "turn_near").order_by(Message.id)
        )
    ]


def test_by_people_ahead_once_per_ticket(client, make_branch, make_token, clock):
    make_branch()
    service = _service("id-card")
    service.turn_near_people = 1  # told with at most one person ahead; minutes off
    db.session.commit()
    numbers = _take(client, make_token, "id-card", 4)
    clock.advance(minutes=5)
    assert turn_near.tell_turn_near(db.session, clock) == 2
    assert _told() == numbers[:2]
    assert turn_near.tell_turn_near(db.session, clock) == 0

    client.post(f"{BRANCH}/counters/1/call-next", headers=make_token("staff"))
    assert turn_near.tell_turn_near(db.session, clock) == 1  # A-003 has one ahead now
    assert _told() == numbers[:3]
    assert turn_near.tell_turn_near(db.session, clock) == 0


def test_a_service_s_minutes_override_the_branch_s(client, make_branch, make_token, clock):
    branch = make_branch(services=[("id-card", "A"), ("passport", "P")], counters=2)
    branch.turn_near_minutes = 0
    _service("passport").turn_near_minutes = 10
    db.session.commit()
    passports = _take(client, make_token, "passport", 4)  # two counters: 0, 0, 6, 6 minutes
    _take(client, make_token, "id-card", 1)  # the branch's 0: never by minutes
    clock.advance(minutes=5)
    assert turn_near.tell_turn_near(db.session, clock) == 4
    assert _told() == passports


def test_whichever_comes_first(client, make_branch, make_token, clock):
    make_branch()
    service = _service("id-card")
    service.turn_near_minutes = 12  # waits 0, 6, 12, 18, 24: three by minutes
    service.turn_near_people = 4  # four by people
    db.session.commit()
    numbers = _take(client, make_token, "id-card", 6)
    clock.advance(minutes=5)
    assert turn_near.tell_turn_near(db.session, clock) == 5
    assert _told() == numbers[:5]


def test_a_service_may_turn_it_off_where_the_branch_has_it(client, make_branch, make_token, clock):
    branch = make_branch()
    branch.turn_near_minutes = 15
    _service("id-card").turn_near_minutes = 0
    db.session.commit()
    _take(client, make_token, "id-card", 2)
    clock.advance(minutes=5)
    assert turn_near.tell_turn_near(db.session, clock) == 0
    assert _told() == []
