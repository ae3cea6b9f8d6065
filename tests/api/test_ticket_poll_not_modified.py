"""The ticket page's poll answers 304 Not Modified while nothing it shows has changed
(queue_app/line_revision.py), and a full answer as soon as something has."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from queue_app import line_revision
from queue_app.app import create_app
from queue_app.models import LineRevision, Ticket
from queue_app.web.extensions import db

CALL_NEXT = "/api/v1/branches/cairo-civil/counters/1/call-next"


def _take(client: FlaskClient, kiosk: dict[str, str]) -> str:
    answer = client.post(
        "/api/v1/branches/cairo-civil/tickets", json={"service": "id-card"}, headers=kiosk
    )
    assert answer.status_code == 201, answer.json
    return answer.json["token"]


def _poll(client: FlaskClient, token: str, tag: str | None = None) -> Any:
    headers = {"If-None-Match": tag} if tag is not None else {}
    return client.get(f"/api/v1/tickets/{token}", headers=headers)


def test_an_unchanged_ticket_is_answered_304_without_reading_the_database(
    client, make_branch, make_token, statements
):
    make_branch()
    token = _take(client, make_token("kiosk"))
    first = _poll(client, token)
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert tag.startswith('W/"')
    assert tag.endswith('"')
    assert first.headers["Cache-Control"] == "no-store"  # the address is the ticket
    statements.clear()
    again = _poll(client, token, tag)
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == tag
    assert statements == []  # this process read the branch's revision with the lookup


def test_a_call_at_the_counter_gives_a_full_answer_at_once(client, make_branch, make_token):
    make_branch()
    kiosk, staff = make_token("kiosk"), make_token("staff")
    token = _take(client, kiosk)
    tag = _poll(client, token).headers["ETag"]
    assert _poll(client, token, tag).status_code == 304
    assert client.post(CALL_NEXT, headers=staff).json["token"] == token
    called = _poll(client, token, tag)
    assert called.status_code == 200
    assert called.json["status"] == "called"
    assert called.json["counter"] == "1"
    assert called.headers["ETag"] != tag
    assert _poll(client, token, called.headers["ETag"]).status_code == 304


def test_a_walk_in_joining_behind_leaves_the_tag_and_one_going_ahead_changes_it(
    client, make_branch, make_token
):
    """A place and a wait count who is ahead: a plain walk-in taken later joins behind and
    changes nothing on this page (a crowded branch's pages stay 304 while its kiosks are busy);
    a priority ticket goes ahead of it."""
    make_branch()
    kiosk = make_token("kiosk")
    token = _take(client, kiosk)
    tag = _poll(client, token).headers["ETag"]
    behind = _take(client, kiosk)
    assert _poll(client, token, tag).status_code == 304
    newcomer = _poll(client, behind)  # not in what this process worked out of the line before
    assert newcomer.status_code == 200
    assert newcomer.json["position"] == 2
    assert newcomer.json["eta_minutes"] == 6
    ahead = client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card", "priority": True},
        headers=kiosk,
    )
    assert ahead.status_code == 201
    moved = _poll(client, token, tag)
    assert moved.status_code == 200
    assert moved.json["position"] == 2


def test_the_tag_lasts_a_minute_of_the_clock(client, make_branch, make_token, clock):
    """The estimate counts down with the clock: a new minute gives a full answer."""
    make_branch()
    token = _take(client, make_token("kiosk"))
    tag = _poll(client, token).headers["ETag"]
    clock.advance(seconds=60)
    later = _poll(client, token, tag)
    assert later.status_code == 200
    assert later.headers["ETag"] != tag


def test_a_change_to_the_directory_gives_a_full_answer(client, make_branch, make_token):
    make_branch(counters=2)
    token = _take(client, make_token("kiosk"))
    tag = _poll(client, token).headers["ETag"]
    manager = make_token("manager")
    closed = client.patch(
        "/api/v1/branches/cairo-civil/counters/2", json={"open": False}, headers=manager
    )
    assert closed.status_code == 200, closed.json
    assert _poll(client, token, tag).status_code == 200


def test_a_tag_is_good_for_its_own_ticket_only(client, make_branch, make_token):
    make_branch()
    kiosk = make_token("kiosk")
    first, second = _take(client, kiosk), _take(client, kiosk)
    tag = _poll(client, first).headers["ETag"]
    answer = _poll(client, second, tag)
    assert answer.status_code == 200
    assert answer.json["token"] == second


@pytest.mark.parametrize(
    "offered",
    [
        "*",
        'W/"abc"',
        '"1.AAAAAAAAAAAAAAAAAAAA"',
        'W/"99999999999999999999.x"',
        'W/"-1.x"',
        ", ".join(f'W/"{n}.x"' for n in range(50)),
        "not a tag at all",
    ],
)
def test_a_forged_or_broken_tag_gets_the_full_answer(client, make_branch, make_token, offered):
    make_branch()
    token = _take(client, make_token("kiosk"))
    answer = _poll(client, token, offered)
    assert answer.status_code == 200
    assert answer.json["token"] == token


def test_an_unknown_ticket_is_404_whatever_tag_it_sends(client, make_branch, make_token):
    make_branch()
    token = _take(client, make_token("kiosk"))
    tag = _poll(client, token).headers["ETag"]
    answer = _poll(client, token[:-2] + "xx", tag)
    assert answer.status_code == 404
    assert answer.json["error"] == "not_found"


def test_a_change_made_by_another_process_is_seen_once_the_branch_is_read_again(
    app, client, make_branch, make_token, settings, clock, monkeypatch
):
    """Another web process (another app on the same database, with its own engine and memory)
    calls the ticket. This process knows nothing of it until it reads the branch's revision
    again, which it does once what it knows is FRESH_SECONDS old (here: at once)."""
    make_branch()
    token = _take(client, make_token("kiosk"))
    staff = make_token("staff")
    tag = _poll(client, token).headers["ETag"]
    other = create_app(settings(app.config["SQLALCHEMY_DATABASE_URI"]), clock=clock)
    other.config["TESTING"] = True
    with other.app_context():
        assert other.test_client().post(CALL_NEXT, headers=staff).status_code == 200
        db.session.remove()
        db.engine.dispose()
    monkeypatch.setattr(line_revision, "FRESH_SECONDS", 0.0)
    called = _poll(client, token, tag)
    assert called.status_code == 200
    assert called.json["status"] == "called"


def test_every_change_to_a_ticket_raises_its_branchs_revision(client, make_branch, make_token):
    """The ORM's writes (cancel, a priority ticket) and the counter's bulk UPDATE alike."""
    make_branch()
    kiosk, staff = make_token("kiosk"), make_token("staff")

    def revision() -> int:
        db.session.remove()
        return db.session.scalar(select(LineRevision.revision))

    token = _take(client, kiosk)
    assert revision() is None  # a walk-in joining behind everyone changes no other page
    client.post(CALL_NEXT, headers=staff)
    after_call = revision()
    second = _take(client, kiosk)
    assert revision() == after_call
    assert client.post(f"/api/v1/tickets/{second}/cancel").status_code == 200
    after_cancel = revision()
    priority = client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card", "priority": True},
        headers=kiosk,
    )
    assert priority.status_code == 201
    after_priority = revision()
    assert after_call < after_cancel < after_priority
    assert db.session.scalar(select(Ticket.status).where(Ticket.token == token)).value == "called"


def test_the_branchs_line_is_worked_out_once_for_all_its_phones(
    client, make_branch, make_token, statements
):
    """After a change, the first phone's lookup reads the line and works out the estimates;
    the next phones of the branch read only their own ticket."""
    make_branch()
    kiosk = make_token("kiosk")
    tokens = [_take(client, kiosk) for _ in range(3)]
    first = _poll(client, tokens[0])
    assert first.json["position"] == 1
    statements.clear()
    others = [_poll(client, token) for token in tokens[1:]]
    assert [o.json["position"] for o in others] == [2, 3]
    assert [o.json["eta_minutes"] for o in others] == [6, 12]  # one counter, six minutes each
    assert len(statements) == 2  # one read of each ticket, no line


def test_the_estimate_moves_with_the_clock(client, make_branch, make_token, clock):
    """The estimate counts down while the citizen ahead is served: what a process kept of the
    line lasts a minute of the clock."""
    make_branch()
    kiosk, staff = make_token("kiosk"), make_token("staff")
    _take(client, kiosk)
    second = _take(client, kiosk)
    client.post(CALL_NEXT, headers=staff)
    before = _poll(client, second).json["eta_minutes"]
    clock.advance(minutes=4)
    after = _poll(client, second).json["eta_minutes"]
    assert before == 6
    assert after == 2
