"""A walk-in's place and wait at the kiosk come from what the web process keeps of the branch's
line, extended by those who joined since (queue_app/line_estimates.py), and are what working
the whole line out again gives: in a small office whose one counter serves three services,
with a citizen at the counter, with an appointment still to come, and with tickets that another
process issued."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from queue_app import tickets
from queue_app.models import LineRevision, Ticket, TicketStatus
from queue_app.web.extensions import db

BRANCH = "/api/v1/branches/cairo-civil"
SERVICES = [("id-card", "A"), ("passport", "B"), ("birth", "C")]


def _take(client, kiosk, service: str = "id-card", **body) -> dict[str, Any]:
    answer = client.post(f"{BRANCH}/tickets", json={"service": service, **body}, headers=kiosk)
    assert answer.status_code == 201, answer.json
    return answer.json


def _worked_out_again(token: str, clock) -> tuple[Any, ...]:
    """The ticket's place and wait from the whole line, read and simulated now."""
    ticket = db.session.scalar(select(Ticket).where(Ticket.token == token))
    view = tickets.view_ticket(db.session, clock.now(), ticket)
    db.session.rollback()
    return view.position, view.eta_minutes, list(view.eta_range_minutes or [])


def _told(answer: dict[str, Any]) -> tuple[Any, ...]:
    return answer["position"], answer["eta_minutes"], list(answer["eta_range_minutes"] or [])


def _reads_the_whole_line(statement: str) -> bool:
    # Only waiting_line.branch_line reads the services' measured pace with the tickets.
    return "measured_service_seconds" in statement


def test_a_walk_in_is_told_its_place_without_reading_the_whole_line(
    client, make_branch, make_token, statements, clock
):
    make_branch(services=SERVICES)
    kiosk = make_token("kiosk")
    _take(client, kiosk)  # works the branch's line out once
    statements.clear()
    answers = [_take(client, kiosk, service) for service in ("passport", "id-card", "birth")]
    assert not any(_reads_the_whole_line(s) for s in statements)
    # One counter serves all three services, six minutes each, nobody at it yet.
    assert [_told(a) for a in answers] == [(1, 6, [4, 9]), (2, 12, [9, 17]), (1, 18, [13, 25])]
    for answer in answers:
        assert _told(answer) == _worked_out_again(answer["token"], clock)


def test_each_newcomer_is_told_what_the_whole_line_gives_in_a_busy_small_office(
    client, make_branch, make_token, clock
):
    """Two counters sharing three services, citizens at both, a priority ticket in the line, and
    the clock moving on between tickets: each new minute works the line out again (what is kept
    is the line as it stood at its minute's first working-out), and the next tickets extend it."""
    make_branch(services=SERVICES, counters=2)
    kiosk, staff = make_token("kiosk"), make_token("staff")
    for service in ("id-card", "passport", "birth", "id-card"):
        _take(client, kiosk, service)
    for counter in ("1", "2"):
        called = client.post(f"{BRANCH}/counters/{counter}/call-next", headers=staff)
        assert called.status_code == 200
    _take(client, kiosk, "birth", priority=True)
    for n, service in enumerate(["passport", "id-card", "id-card", "birth", "passport"] * 3):
        if n % 4 == 0:
            clock.advance(minutes=1)
        answer = _take(client, kiosk, service)
        assert _told(answer) == _worked_out_again(answer["token"], clock), answer["number"]


def test_with_an_appointment_still_to_come_the_kept_line_is_run_again(
    client, make_branch, make_token, statements, clock
):
    """A booked citizen joins the line at their slot's start, after the walk-ins taken before
    it: the simulation cannot be continued from where it ended, so the kept line is run again
    with the newcomers, still without reading it."""
    make_branch(services=SERVICES)
    kiosk = make_token("kiosk")
    booked = client.post(
        f"{BRANCH}/appointments",
        json={"service": "passport", "start": "2026-11-24T10:30:00+02:00", "phone": "01012345678"},
    )
    assert booked.status_code == 201, booked.json
    _take(client, kiosk)
    statements.clear()
    answers = [_take(client, kiosk, service) for service in ("passport", "id-card") * 4]
    assert not any(_reads_the_whole_line(s) for s in statements)
    for answer in answers:
        assert _told(answer) == _worked_out_again(answer["token"], clock), answer["number"]


def _issued_elsewhere(clock, branch, *, sequence: int, queued_at=None) -> None:
    """A plain walk-in committed by another web process: its insert is not seen by this
    process's session hooks, and it leaves the line revision as it was."""
    now = clock.now()
    db.session.execute(
        insert(Ticket).values(
            token=secrets.token_urlsafe(24),
            branch_id=branch.id,
            service_id=branch.services[0].id,
            letter="A",
            local_day=now.date(),
            sequence=sequence,
            kind="walk_in",
            status="waiting",
            priority=False,
            locale="ar",
            channel="sms",
            issued_at=now,
            queued_at=queued_at or now,
            version=1,
        )
    )
    db.session.commit()


def test_a_ticket_another_process_issued_is_counted_ahead(
    client, make_branch, make_token, statements, clock
):
    branch = make_branch()
    kiosk = make_token("kiosk")
    first = _take(client, kiosk)
    _issued_elsewhere(clock, branch, sequence=500)
    statements.clear()
    third = _take(client, kiosk)
    assert not any(_reads_the_whole_line(s) for s in statements)
    assert _told(first)[:2] == (1, 0)
    assert _told(third) == (3, 12, [9, 17])
    assert _told(third) == _worked_out_again(third["token"], clock)


def test_the_page_of_a_ticket_another_process_issued_is_answered_without_the_whole_line(
    client, make_branch, make_token, statements, clock
):
    branch = make_branch()
    kiosk = make_token("kiosk")
    _take(client, kiosk)
    _issued_elsewhere(clock, branch, sequence=500)
    token = db.session.scalar(select(Ticket.token).where(Ticket.sequence == 500))
    db.session.rollback()
    statements.clear()
    page = client.get(f"/api/v1/tickets/{token}")
    assert page.status_code == 200
    assert not any(_reads_the_whole_line(s) for s in statements)
    assert _told(page.json) == (2, 6, [4, 9])
    assert _told(page.json) == _worked_out_again(token, clock)


def test_a_ticket_committed_a_moment_out_of_order_joins_behind(
    client, make_branch, make_token, statements, clock
):
    """Another process's ticket taken a second before this process's last one but committed
    after it joins behind it, as if taken last (line_estimates.OUT_OF_ORDER): at 8 kiosks this is
    common, and working the line out again each time would cost what keeping it saves."""
    branch = make_branch()
    kiosk = make_token("kiosk")
    _take(client, kiosk)
    clock.advance(seconds=5)
    _take(client, kiosk)
    _issued_elsewhere(clock, branch, sequence=500, queued_at=clock.now() - timedelta(seconds=1))
    statements.clear()
    last = _take(client, kiosk)
    assert not any(_reads_the_whole_line(s) for s in statements)
    assert _told(last) == (4, 18, [13, 25])


def test_a_ticket_far_out_of_calling_order_makes_the_line_worked_out_again(
    client, make_branch, make_token, statements, clock
):
    """A plain ticket that belongs well ahead of the last one known (none should: tickets that
    join anywhere but the back change the line revision) is not added at the back: the line is
    read and worked out again."""
    branch = make_branch()
    kiosk = make_token("kiosk")
    _take(client, kiosk)
    clock.advance(minutes=1)
    _take(client, kiosk)
    _issued_elsewhere(clock, branch, sequence=500, queued_at=clock.now() - timedelta(seconds=30))
    statements.clear()
    last = _take(client, kiosk)
    assert any(_reads_the_whole_line(s) for s in statements)
    assert _told(last) == (4, 18, [13, 25])
    assert _told(last) == _worked_out_again(last["token"], clock)


def test_a_change_another_process_committed_makes_the_line_worked_out_again(
    client, make_branch, make_token, statements, clock
):
    """Another web process's counter calls the first citizen (its commit bumps the branch's line
    revision): the kept line, which still has that citizen waiting, is not extended but worked
    out again, within the same minute."""
    branch = make_branch()
    kiosk = make_token("kiosk")
    first = _take(client, kiosk)
    _take(client, kiosk)
    db.session.execute(
        update(Ticket)
        .where(Ticket.token == first["token"])
        .values(status=TicketStatus.CALLED, counter_id=branch.counters[0].id, called_at=clock.now())
    )
    db.session.execute(update(LineRevision).values(revision=LineRevision.revision + 1))
    if not db.session.scalar(select(LineRevision.revision)):
        db.session.add(LineRevision(branch_id=branch.id, revision=1))
    db.session.commit()
    statements.clear()
    third = _take(client, kiosk)
    assert any(_reads_the_whole_line(s) for s in statements)
    assert _told(third) == (2, 12, [9, 17])
    assert _told(third) == _worked_out_again(third["token"], clock)
