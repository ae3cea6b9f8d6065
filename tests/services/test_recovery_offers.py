"""Recovery offers on both databases: a system back at 12:30 offers the afternoon to the citizens
its outage sent to the next day; accepted on the page or by reply, or ignored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from queue_app import directory, outage_moves, outages, replies
from queue_app.models import Message, SlotBooking, Ticket, TicketStatus
from queue_app.web.extensions import db
from tests.helpers.history import served_walk_ins

BRANCH = "/api/v1/branches/cairo-civil"
# The fixture's clock: Tuesday 24 November 2026, 10:00 in Cairo; the branch closes at 15:00.
WEDNESDAY_8 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
TWO_THIRTY_CAIRO = "2026-11-24T12:30:00+00:00"  # half an hour before closing: the offer lapses


@pytest.fixture
def registry(make_backend, make_branch):
    backend = make_backend()
    make_branch(backends=[backend])
    return backend


def _take(client, make_token, n: int, *, first: int = 0) -> list[str]:
    kiosk = make_token("kiosk")
    tokens = []
    for i in range(first, first + n):
        body = {"service": "id-card", "phone": f"0101234{i:04d}"}
        response = client.post(f"{BRANCH}/tickets", json=body, headers=kiosk)
        assert response.status_code == 201, response.json
        tokens.append(response.json["token"])
    return tokens


def _down_until_half_past_twelve(registry, clock) -> None:
    """Down at 10:00 with no end known: at 10:20 the line goes to Wednesday; back at 12:30."""
    outages.declare(db.session, clock, registry.code)
    clock.advance(minutes=20)
    assert outage_moves.run_timers(db.session, clock).moved > 0
    clock.advance(minutes=130)
    outages.resolve(db.session, clock, registry.code)


def _messages(prefix: str) -> list[Message]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Message).where(Message.event.like(f"{prefix}%")).order_by(Message.id)
        )
    )


def _wednesday_booked() -> int:
    db.session.expire_all()
    return (
        db.session.scalar(
            select(func.sum(SlotBooking.booked)).where(SlotBooking.starts_at >= WEDNESDAY_8)
        )
        or 0
    )


def test_an_offer_taken_on_the_page_joins_today_s_line(client, registry, clock, make_token):
    tokens = _take(client, make_token, 3)
    _down_until_half_past_twelve(registry, clock)
    assert _wednesday_booked() == 3
    done = outage_moves.run_timers(db.session, clock)
    assert done.offered == 3
    offers = _messages("offer:outage:")
    assert [m.to for m in offers] == [f"+20101234{i:04d}" for i in range(3)]
    # Egypt: SMS is one-way, so the offer points to the page rather than asking for a reply.
    assert "افتح الرابط قبل" in offers[0].body
    assert "رد ١" not in offers[0].body
    assert "٢:٣٠ م" in offers[0].body  # 14:30 Cairo, half an hour before closing
    assert "انتهى العطل" in offers[0].body
    assert offers[0].body.endswith(tokens[0])
    ticket = client.get(f"/api/v1/tickets/{tokens[0]}").json
    assert ticket["offer"] == {"until": TWO_THIRTY_CAIRO}
    page = client.get(f"/t/{tokens[0]}").get_data(as_text=True)
    assert 'id="offer" data-test="offer">' in page  # shown, not hidden
    assert "٢:٣٠" in page

    assert client.post(f"/api/v1/tickets/{tokens[0]}/confirm").status_code == 200  # Wednesday
    taken = client.post(f"/api/v1/tickets/{tokens[0]}/accept-offer")
    assert taken.status_code == 200, taken.json
    assert (taken.json["status"], taken.json["offer"]) == ("scheduled", None)
    # The earliest time today that leaves half an hour to come back: 13:00 Cairo.
    assert taken.json["slot"]["start"] == "2026-11-24T11:00:00+00:00"
    assert taken.json["history"][-1]["event"] == "offer_accepted"
    # A time confirmed before is not this one: the page asks again.
    page = client.get(f"/t/{tokens[0]}").get_data(as_text=True)
    assert 'id="time-confirmed" hidden' in page
    assert _wednesday_booked() == 2  # the Wednesday place is free again
    again = client.post(f"/api/v1/tickets/{tokens[0]}/accept-offer")
    assert again.status_code == 409
    assert again.json["error"] == "state_conflict"
    # Later rounds offer nothing more, and nobody got more than two messages today.
    assert outage_moves.run_timers(db.session, clock).offered == 0
    per_ticket = db.session.execute(
        select(Message.ticket_id, func.count()).group_by(Message.ticket_id)
    ).all()
    assert max(n for _, n in per_ticket) <= 3  # issued, moved, offered


def test_an_offer_taken_by_reply(client, registry, clock, make_token):
    tokens = _take(client, make_token, 1)
    _down_until_half_past_twelve(registry, clock)
    outage_moves.run_timers(db.session, clock)
    outcome = replies.apply_reply(
        db.session, clock, provider_sid="SM" + "1" * 32, phone="+201012340000", body="١"
    )
    assert outcome.outcome == "offer_accepted"
    today = client.get(f"/api/v1/tickets/{tokens[0]}").json
    assert today["slot"]["start"] == "2026-11-24T11:00:00+00:00"
    (answer,) = _messages("reply:")
    assert "موعدك اليوم" in answer.body
    assert "١:٠٠ م" in answer.body


def test_an_ignored_offer_lapses_and_the_new_time_stays(client, registry, clock, make_token):
    tokens = _take(client, make_token, 2)
    _down_until_half_past_twelve(registry, clock)
    outage_moves.run_timers(db.session, clock)
    clock.advance(minutes=121)  # 14:31 Cairo
    ticket = client.get(f"/api/v1/tickets/{tokens[1]}").json
    assert ticket["offer"] is None
    assert ticket["status"] == "scheduled"
    assert ticket["slot"]["start"] >= "2026-11-25T06:00:00+00:00"  # Wednesday, as moved
    late = client.post(f"/api/v1/tickets/{tokens[1]}/accept-offer")
    assert late.status_code == 409
    assert _wednesday_booked() == 2
    # A reply of 1 after the offer lapsed confirms the new time, as before.
    outcome = replies.apply_reply(
        db.session, clock, provider_sid="SM" + "2" * 32, phone="+201012340001", body="1"
    )
    assert outcome.outcome == "confirmed"


def test_only_the_free_time_is_offered_earliest_first(client, registry, clock, make_token):
    tokens = _take(client, make_token, 8)
    _down_until_half_past_twelve(registry, clock)
    # 150 minutes to closing at six minutes each: 25 citizens, of whom 20 are in the hall.
    _take(client, make_token, 20, first=100)
    done = outage_moves.run_timers(db.session, clock)
    assert done.offered == 5
    offered = [client.get(f"/api/v1/tickets/{t}").json["offer"] is not None for t in tokens]
    assert offered == [True] * 5 + [False] * 3


def test_no_offer_when_the_system_is_back_too_close_to_closing(client, registry, clock, make_token):
    _take(client, make_token, 2)
    outages.declare(db.session, clock, registry.code)
    clock.advance(minutes=20)
    outage_moves.run_timers(db.session, clock)
    clock.advance(hours=4, minutes=15)  # 14:35 Cairo
    outages.resolve(db.session, clock, registry.code)
    assert outage_moves.run_timers(db.session, clock).offered == 0
    assert _messages("offer:") == []
    db.session.expire_all()
    assert {t.status for t in db.session.scalars(select(Ticket))} == {TicketStatus.SCHEDULED}


def test_those_who_take_it_check_in_and_are_served_today(client, registry, clock, make_token):
    tokens = _take(client, make_token, 2)
    _down_until_half_past_twelve(registry, clock)
    outage_moves.run_timers(db.session, clock)
    assert client.post(f"/api/v1/tickets/{tokens[1]}/accept-offer").status_code == 200
    clock.advance(minutes=25)  # 12:55 Cairo, back at the office
    kiosk = make_token("kiosk")
    checked_in = client.post(f"/api/v1/tickets/{tokens[1]}/check-in", headers=kiosk)
    assert checked_in.status_code == 200, checked_in.json
    staff = make_token("staff")
    called = client.post(f"{BRANCH}/counters/1/call-next", headers=staff)
    assert called.json["token"] == tokens[1]


def test_an_unknown_ticket_cannot_take_an_offer(client, registry):
    response = client.post("/api/v1/tickets/no-such-token/accept-offer")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_a_system_back_before_opening_is_offered_when_the_doors_open(
    client, registry, clock, make_token
):
    tokens = _take(client, make_token, 2)
    outages.declare(db.session, clock, registry.code)  # Tuesday 10:00, no end known
    clock.advance(minutes=20)
    outage_moves.run_timers(db.session, clock)  # the line to Wednesday
    clock.set(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))  # 18:00: the evening notice
    outage_moves.run_timers(db.session, clock)  # Wednesday's appointments to Thursday
    moved = client.get(f"/api/v1/tickets/{tokens[0]}").json
    assert moved["slot"]["start"].startswith("2026-11-26")
    clock.set(datetime(2026, 11, 25, 5, 0, tzinfo=UTC))  # Wednesday 07:00: back
    outages.resolve(db.session, clock, registry.code)
    assert outage_moves.run_timers(db.session, clock).offered == 0  # the doors are shut
    clock.set(datetime(2026, 11, 25, 6, 1, tzinfo=UTC))  # 08:01: open
    assert outage_moves.run_timers(db.session, clock).offered == 2
    assert client.get(f"/api/v1/tickets/{tokens[0]}").json["offer"] is not None


def test_a_booking_made_at_the_paused_kiosk_is_offered_too(client, registry, clock, make_token):
    outages.declare(db.session, clock, registry.code)
    booked = client.post(
        f"{BRANCH}/appointments",
        json={"service": "id-card", "start": "2026-11-25T08:00:00+02:00", "phone": "01099999999"},
    ).json
    clock.advance(minutes=150)  # 12:30 Cairo
    outages.resolve(db.session, clock, registry.code)
    assert outage_moves.run_timers(db.session, clock).offered == 1
    assert client.get(f"/api/v1/tickets/{booked['token']}").json["offer"] is not None


def test_offers_go_out_in_waves_until_nobody_is_left(client, registry, clock, make_token):
    tokens = _take(client, make_token, 8)
    _down_until_half_past_twelve(registry, clock)
    _take(client, make_token, 20, first=100)  # 150 minutes, 6 each: room for 5 of the 8
    assert outage_moves.run_timers(db.session, clock).offered == 5
    clock.advance(minutes=5)
    # The five offers still hold their places: nobody more yet.
    assert outage_moves.run_timers(db.session, clock).offered == 0
    assert client.post(f"/api/v1/tickets/{tokens[0]}/accept-offer").status_code == 200
    staff = make_token("staff")
    for _ in range(4):  # the counter serves four of the hall
        called = client.post(f"{BRANCH}/counters/1/call-next", headers=staff).json
        assert (
            client.post(f"/api/v1/tickets/{called['token']}/done", headers=staff).status_code == 200
        )
    clock.advance(minutes=11)  # 16 minutes on: four offers went unanswered
    # 134 minutes left: 22 places, less 16 in the hall and the one taken: 5. The four
    # unanswered offers no longer hold theirs: the three moved citizens left are offered.
    assert outage_moves.run_timers(db.session, clock).offered == 3
    offered = [client.get(f"/api/v1/tickets/{t}").json["offer"] is not None for t in tokens]
    assert offered == [False] + [True] * 7  # the first took it; nobody is offered twice
    assert len(_messages("offer:outage:")) == 8
    clock.advance(minutes=10)
    assert outage_moves.run_timers(db.session, clock).offered == 0
    # Whoever answers first takes the time: a late answer from the first wave still can.
    late = client.post(f"/api/v1/tickets/{tokens[1]}/accept-offer")
    assert late.status_code == 200, late.json


def test_unanswered_offers_free_their_places_for_the_next_wave(client, registry, clock, make_token):
    tokens = _take(client, make_token, 8)
    _down_until_half_past_twelve(registry, clock)
    _take(client, make_token, 20, first=100)
    assert outage_moves.run_timers(db.session, clock).offered == 5
    clock.advance(minutes=16)
    # Nobody served, nobody answered: 134 minutes hold 22, the hall 20, so 2 places are
    # offered again, to the next two.
    assert outage_moves.run_timers(db.session, clock).offered == 2
    offered = [client.get(f"/api/v1/tickets/{t}").json["offer"] is not None for t in tokens]
    assert offered == [True] * 7 + [False]


def test_the_afternoon_s_usual_walk_ins_keep_their_room(client, registry, clock, make_token):
    tokens = _take(client, make_token, 8)
    _down_until_half_past_twelve(registry, clock)
    branch = directory.current(db.session).branch("cairo-civil")
    # Five days of history with 20 walk-ins each between 13:00 and 13:20: 150 minutes to closing
    # at six minutes each hold 25, of whom 20 are expected to walk in.
    served_walk_ins(branch, branch.service("id-card"), days=5, per_day=20, hour=13)
    assert outage_moves.run_timers(db.session, clock).offered == 5
    offered = [client.get(f"/api/v1/tickets/{t}").json["offer"] is not None for t in tokens]
    assert offered == [True] * 5 + [False] * 3
