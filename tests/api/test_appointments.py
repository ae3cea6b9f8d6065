"""Slots, booking, the citizen's choices and capacity cuts, through the public API."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from queue_app.models import Message, SlotBooking, Ticket, TicketStatus
from queue_app.web.extensions import db

BRANCH = "/api/v1/branches/cairo-civil"
# The fixture's clock: Tuesday 24 November 2026, 10:00 in Cairo (08:00 UTC). One counter, six
# minutes a citizen, 30-minute slots, half kept for walk-ins: 2.5 appointments a slot, so the
# slots take 2 and 3 in turn.
AT_11 = "2026-11-24T11:00:00+02:00"
AT_1130 = "2026-11-24T11:30:00+02:00"


def cairo(hour: int, minute: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hour - 2, minute, tzinfo=UTC)


@pytest.fixture
def branch(make_branch):
    return make_branch()


def _book(client, start: str = AT_11, phone: str = "01012345678", **body):
    return client.post(
        f"{BRANCH}/appointments",
        json={"service": "id-card", "start": start, "phone": phone, **body},
    )


def _booked(start: datetime) -> int:
    db.session.expire_all()
    return db.session.scalar(select(SlotBooking.booked).where(SlotBooking.starts_at == start)) or 0


def _state() -> tuple:
    """Everything a refused request must leave as it was."""
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Ticket)),
        db.session.scalar(select(func.count()).select_from(Message)),
        tuple(db.session.execute(select(SlotBooking.starts_at, SlotBooking.booked)).all()),
    )


def test_slots_list_today_s_remaining_times_with_capacity(client, branch):
    response = client.get(f"{BRANCH}/services/id-card/slots", query_string={"days": 1})
    assert response.status_code == 200
    slots = response.json
    # 10:00 has begun; 10:30 to 14:30 remain, the branch closes at 15:00.
    assert slots[0]["start"] == "2026-11-24T08:30:00+00:00"
    assert slots[-1]["start"] == "2026-11-24T12:30:00+00:00"
    assert len(slots) == 9
    assert {(s["booked"], s["capacity"] - s["available"]) for s in slots} == {(0, 0)}
    # 2.5 places a slot: the half carried from one slot to the next, none lost to rounding.
    capacities = [s["capacity"] for s in slots]
    assert set(capacities) == {2, 3}
    assert all(a != b for a, b in itertools.pairwise(capacities))


def test_slots_skip_closed_days(client, branch):
    # Thursday to Sunday: Friday and Saturday are closed.
    slots = client.get(
        f"{BRANCH}/services/id-card/slots", query_string={"from": "2026-11-26", "days": 4}
    ).json
    days = sorted({s["start"][:10] for s in slots})
    assert days == ["2026-11-26", "2026-11-29"]
    assert len(slots) == 2 * 14  # 08:00 to 15:00 in 30-minute slots


def test_booking_holds_a_place_and_texts_the_confirmation(client, branch):
    response = _book(client, locale="en")
    assert response.status_code == 201, response.json
    ticket = response.json
    assert ticket["status"] == "scheduled"
    assert ticket["kind"] == "appointment"
    assert ticket["slot"] == {
        "start": "2026-11-24T09:00:00+00:00",
        "end": "2026-11-24T09:30:00+00:00",
    }
    assert ticket["number"] == "A-001"
    assert _booked(cairo(11)) == 1
    (message,) = db.session.scalars(select(Message))
    assert message.event == "booked"
    assert message.to == "+201012345678"
    assert message.body.startswith("Your appointment is confirmed: Tue 24 Nov, 11:00 AM")
    assert message.urgency == cairo(11)


def test_a_full_slot_is_refused_with_the_next_free_one(client, branch):
    assert _book(client, phone="01011111111").status_code == 201
    assert _book(client, phone="01022222222").status_code == 201
    before = _state()
    response = _book(client, phone="01033333333")
    assert response.status_code == 409
    assert response.json["error"] == "slot_full"
    assert response.json["fields"]["next_slot"] == "2026-11-24T09:30:00+00:00"
    assert _state() == before


def test_one_active_appointment_per_number_and_service(client, branch):
    assert _book(client).status_code == 201
    before = _state()
    again = _book(client, start=AT_1130)
    assert again.status_code == 409
    assert again.json["error"] == "already_booked"
    assert again.json["fields"]["ticket"] == "A-001"
    assert _state() == before


@pytest.mark.parametrize(
    ("start", "field_says"),
    [
        ("2026-11-24T11:15:00+02:00", "not the start of a slot"),
        ("2026-11-24T09:00:00+02:00", "in the past"),
        ("2026-11-27T11:00:00+02:00", "the branch is closed that day"),  # a Friday
        ("2027-06-01T11:00:00+02:00", "too far ahead"),
    ],
)
def test_a_start_that_cannot_be_booked_is_refused(client, branch, start, field_says):
    before = _state()
    response = _book(client, start=start)
    assert response.status_code == 422
    assert response.json["fields"]["start"] == [field_says]
    assert _state() == before


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"phone": "123"}, 422, "phone"),
        ({"phone": ""}, 422, "phone"),
        ({"start": "2026-11-24T11:00:00"}, 422, "start"),  # no offset
        ({"start": "tomorrow"}, 422, "start"),
        ({"service": "no-such-service"}, 404, None),
    ],
)
def test_bad_booking_input_is_named_and_changes_nothing(client, branch, body, status, field):
    before = _state()
    response = _book(client, **body)
    assert response.status_code == status, response.json
    assert set(response.json) == {"error", "message", "fields"}
    if field:
        assert field in response.json["fields"]
    assert _state() == before


def test_an_unknown_branch_is_404(client, branch):
    response = client.post(
        "/api/v1/branches/nowhere/appointments",
        json={"service": "id-card", "start": AT_11, "phone": "01012345678"},
    )
    assert response.status_code == 404


def test_booking_is_rate_limited(client, branch):
    answers = [
        _book(client, phone=f"0101234{n:04d}", start=f"2026-11-{25 + n // 28:02d}T11:00:00+02:00")
        for n in range(11)
    ]
    assert answers[-1].status_code == 429
    assert answers[-1].json["error"] == "rate_limited"
    assert all(a.status_code != 429 for a in answers[:10])


def test_cancelling_frees_the_place_at_once(client, branch):
    token = _book(client).json["token"]
    assert _booked(cairo(11)) == 1
    assert client.post(f"/api/v1/tickets/{token}/cancel").json["status"] == "cancelled"
    assert _booked(cairo(11)) == 0
    # And someone else can take it.
    assert _book(client, phone="01099999999").status_code == 201


def test_next_slot_moves_to_the_next_free_time_and_texts_it(client, branch):
    slots = client.get(f"{BRANCH}/services/id-card/slots", query_string={"days": 1}).json
    places = next(s["capacity"] for s in slots if s["start"] == "2026-11-24T09:30:00+00:00")
    for n in range(places):  # 11:30 is then full
        assert _book(client, phone=f"0101111111{n}", start=AT_1130).status_code == 201
    token = _book(client).json["token"]  # 11:00
    moved = client.post(f"/api/v1/tickets/{token}/next-slot")
    assert moved.status_code == 200, moved.json
    assert moved.json["slot"]["start"] == "2026-11-24T10:00:00+00:00"  # 12:00, past the full one
    assert _booked(cairo(11)) == 0
    assert _booked(cairo(12)) == 1
    events = [m.event for m in db.session.scalars(select(Message).order_by(Message.id))]
    assert events[-1] == "moved:1"


def test_confirm_is_noted(client, branch):
    token = _book(client).json["token"]
    history = client.post(f"/api/v1/tickets/{token}/confirm").json["history"]
    assert [e["event"] for e in history] == ["booked", "confirmed"]


def test_a_walk_in_cannot_take_another_slot(client, branch, make_token):
    walk_in = client.post(
        f"{BRANCH}/tickets", json={"service": "id-card"}, headers=make_token("kiosk")
    ).json
    response = client.post(f"/api/v1/tickets/{walk_in['token']}/next-slot")
    assert response.status_code == 409


# --- capacity cuts ---------------------------------------------------------------------


def _capacity(client, headers, per_slot: int, *, dry_run: bool = False, **dates):
    body = {"from": "2026-11-24", "to": "2026-11-24", "per_slot": per_slot} | dates
    return client.put(
        f"{BRANCH}/services/id-card/capacity",
        json=body,
        headers=headers,
        query_string={"dry_run": "true"} if dry_run else {},
    )


def test_a_capacity_cut_moves_the_latest_booked_and_texts_them(client, branch, make_token, clock):
    manager = make_token("manager")
    first = _book(client, phone="01011111111").json
    clock.advance(minutes=1)
    second = _book(client, phone="01022222222").json  # booked later: it moves
    preview = _capacity(client, manager, 1, dry_run=True)
    assert preview.status_code == 200, preview.json
    assert (preview.json["over_capacity"], preview.json["moved"]) == (1, 0)
    assert _booked(cairo(11)) == 2  # the dry run changed nothing
    done = _capacity(client, manager, 1)
    assert done.json["over_capacity"] == 1
    assert done.json["moved"] == 1
    assert done.json["texted"] == 1
    kept = client.get(f"/api/v1/tickets/{first['token']}").json
    moved = client.get(f"/api/v1/tickets/{second['token']}").json
    assert kept["slot"]["start"] == "2026-11-24T09:00:00+00:00"
    assert moved["slot"]["start"] == "2026-11-24T09:30:00+00:00"  # the next slot with room
    assert _booked(cairo(11)) == 1
    assert _booked(cairo(11, 30)) == 1
    texts = db.session.scalars(select(Message).where(Message.event.like("rescheduled:%"))).all()
    assert [t.to for t in texts] == ["+201022222222"]
    assert "نعتذر" in texts[0].body


def test_capacity_zero_for_a_day_moves_everyone_to_the_next_open_day(client, branch, make_token):
    _book(client, phone="01011111111")
    done = _capacity(client, make_token("manager"), 0).json
    assert done["moved"] == 1
    db.session.expire_all()
    ticket = db.session.scalar(select(Ticket))
    assert ticket.slot_start.astimezone(UTC).date().isoformat() == "2026-11-25"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"per_slot": -1}, "per_slot"),
        ({"from": "2026-11-25", "to": "2026-11-24"}, "to"),
        ({"from": "not a date"}, "from"),
    ],
)
def test_bad_capacity_input_is_refused_and_changes_nothing(
    client, branch, make_token, change, field
):
    _book(client)
    before = _state()
    change = dict(change)  # the parameter is shared by both databases' runs
    per_slot = change.pop("per_slot", 1)
    response = _capacity(client, make_token("manager"), per_slot, **change)
    assert response.status_code == 422, response.json
    assert field in response.json["fields"]
    assert _state() == before


def test_capacity_needs_a_manager_of_the_branch(client, branch, make_branch, make_token):
    assert _capacity(client, make_token("staff"), 1).status_code == 403
    assert _capacity(client, {}, 1).status_code == 401
    make_branch("giza-traffic")
    other = make_token("manager", "giza-traffic")
    assert _capacity(client, other, 1).status_code == 403


def test_running_the_same_capacity_cut_twice_moves_nobody_twice(client, branch, make_token, clock):
    manager = make_token("manager")
    _book(client, phone="01011111111")
    clock.advance(minutes=1)
    _book(client, phone="01022222222")
    assert _capacity(client, manager, 1).json["moved"] == 1
    again = _capacity(client, manager, 1).json
    assert (again["over_capacity"], again["moved"]) == (0, 0)
    assert (
        db.session.scalar(
            select(func.count()).select_from(Message).where(Message.event.like("rescheduled:%"))
        )
        == 1
    )


def test_a_checked_in_appointment_keeps_its_place(client, branch, make_token, clock):
    token = _book(client).json["token"]
    clock.set(cairo(10, 45))
    checked = client.post(f"/api/v1/tickets/{token}/check-in", headers=make_token("kiosk"))
    assert checked.json["status"] == "waiting"
    assert _booked(cairo(11)) == 1
    assert db.session.scalar(select(Ticket.status)) == TicketStatus.WAITING


def test_tomorrow_counts_every_counter_of_the_service(client, make_branch, make_token):
    make_branch(counters=2)
    client.patch(f"{BRANCH}/counters/2", json={"open": False}, headers=make_token("manager"))
    today = client.get(f"{BRANCH}/services/id-card/slots", query_string={"days": 1}).json
    tomorrow = client.get(
        f"{BRANCH}/services/id-card/slots", query_string={"from": "2026-11-25", "days": 1}
    ).json
    assert {s["capacity"] for s in today} == {2, 3}  # one counter open now: 2.5 a slot
    assert {s["capacity"] for s in tomorrow} == {5}  # two counters: 10 a slot, half kept


def test_slot_query_bounds(client, branch):
    assert client.get(f"{BRANCH}/services/id-card/slots?days=0").status_code == 422
    assert client.get(f"{BRANCH}/services/id-card/slots?days=32").status_code == 422
    assert client.get(f"{BRANCH}/services/id-card/slots?from=2026-13-01").status_code == 422
    assert client.get(f"{BRANCH}/services/nothing/slots").status_code == 404


def test_slots_in_the_past_are_not_offered(client, branch, clock):
    clock.advance(hours=4, minutes=40)  # 14:40
    assert client.get(f"{BRANCH}/services/id-card/slots?days=1").json == []
    assert timedelta(0) < clock.now() - cairo(14, 30)


def test_closing_a_counter_moves_today_s_overflow(client, make_branch, make_token, clock):
    make_branch(counters=2)  # today: 2 counters, 5 a slot
    for n in range(4):
        clock.advance(seconds=1)
        assert _book(client, phone=f"010111111{n:02d}").status_code == 201
    tomorrow = _book(client, phone="01099999999", start="2026-11-25T11:00:00+02:00")
    assert tomorrow.status_code == 201
    closed = client.patch(
        f"{BRANCH}/counters/2", json={"open": False}, headers=make_token("manager")
    )
    assert closed.status_code == 200
    db.session.expire_all()
    starts = db.session.execute(
        select(Ticket.phone, Ticket.slot_start).where(Ticket.status == TicketStatus.SCHEDULED)
    ).all()
    at_11 = sorted(p for p, s in starts if s == cairo(11))
    # One counter left today: 2 a slot; the two booked last moved; tomorrow's stays.
    assert at_11 == ["+201011111100", "+201011111101"]
    assert {p for p, s in starts if s == cairo(11, 30)} == {"+201011111102", "+201011111103"}
    assert ("+201099999999", datetime(2026, 11, 25, 9, 0, tzinfo=UTC)) in starts


def test_reply_2_moves_a_booking_to_the_next_free_slot(client, branch, app):
    token = _book(client).json["token"]
    from queue_app import replies
    from queue_app.web.extensions import current_clock

    outcome = replies.apply_reply(
        db.session,
        current_clock(),
        provider_sid="SM" + "7" * 32,
        phone="+201012345678",
        body="٢",
    )
    assert outcome.outcome == "moved"
    moved = client.get(f"/api/v1/tickets/{token}").json
    assert moved["slot"]["start"] == "2026-11-24T09:30:00+00:00"
    assert _booked(cairo(11)) == 0
    answer = db.session.scalars(select(Message).where(Message.event.like("reply:%"))).one()
    assert "موعدك الجديد" in answer.body


def test_an_appointment_never_checked_in_becomes_a_no_show(client, branch, clock):
    from queue_app import appointments

    token = _book(client).json["token"]
    clock.set(cairo(11, 14))
    assert appointments.mark_missed(db.session, clock.now()) == 0
    clock.set(cairo(11, 16))
    assert appointments.mark_missed(db.session, clock.now()) == 1
    assert client.get(f"/api/v1/tickets/{token}").json["status"] == "no_show"


def test_two_services_sharing_a_counter_share_its_time(client, make_branch):
    make_branch(services=[("id-card", "A"), ("birth-cert", "B")])  # one counter serves both
    for service in ("id-card", "birth-cert"):
        slots = client.get(
            f"{BRANCH}/services/{service}/slots", query_string={"from": "2026-11-25", "days": 1}
        ).json
        # Half the counter each: 15 minutes a slot, 6 minutes a citizen, half kept: 1.25 places
        # a slot, so 17.5 in the day's 14 slots, and never the whole counter's 2.5.
        assert {s["capacity"] for s in slots} <= {1, 2}
        assert sum(s["capacity"] for s in slots) in (17, 18)


def test_the_earliest_free_slot_looks_past_a_fully_booked_day(client, branch, clock):
    from queue_app import appointments, directory
    from queue_app import slots as slot_module

    service = directory.current(db.session).branch("cairo-civil").service("id-card")
    clock.set(cairo(15, 30))  # Tuesday after closing
    wednesday = client.get(
        f"{BRANCH}/services/id-card/slots", query_string={"from": "2026-11-25", "days": 1}
    ).json
    for slot in wednesday:  # every place of Wednesday taken
        start = datetime.fromisoformat(slot["start"])
        for _ in range(slot["capacity"]):
            assert slot_module.take_place(db.session, service.id, start, slot["capacity"])
    db.session.commit()
    earliest = appointments.earliest_slot(db.session, service, clock.now())
    assert earliest == cairo(8, day=26)  # Thursday 08:00, past the full Wednesday


def test_kiosks_and_staff_are_not_rate_limited(client, branch, make_token):
    kiosk = make_token("kiosk")
    starts = [f"2026-11-25T{8 + n // 2:02d}:{30 * (n % 2):02d}:00+02:00" for n in range(12)]
    for n, start in enumerate(starts):
        body = {"service": "id-card", "start": start, "phone": f"0107777{n:04d}"}
        answer = client.post(f"{BRANCH}/appointments", json=body, headers=kiosk)
        assert answer.status_code == 201, answer.json
    # Without a token (or with a forged one) the address's own limit applies: 10 a minute.
    anonymous = [_book(client, phone="0108888", start=AT_11).status_code for _ in range(10)]
    assert 429 not in anonymous
    forged = {"Authorization": "Bearer not-a-token"}
    assert client.post(f"{BRANCH}/appointments", json={}, headers=forged).status_code == 429


def test_a_retried_booking_with_its_idempotency_key_gets_the_same_appointment(client, branch):
    headers = {"Idempotency-Key": "kiosk-7-booking-1"}
    body = {"service": "id-card", "start": AT_11, "phone": "01012345678"}
    first = client.post(f"{BRANCH}/appointments", json=body, headers=headers)
    again = client.post(f"{BRANCH}/appointments", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json["token"] == first.json["token"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _booked(cairo(11)) == 1
    other = client.post(f"{BRANCH}/appointments", json={**body, "start": AT_1130}, headers=headers)
    assert other.status_code == 422
    assert other.json["error"] == "idempotency_key_reused"
