"""The directory each process keeps in memory follows every committed change at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from queue_app import access, directory
from queue_app.errors import Unauthorized
from queue_app.models import ApiToken, Backend, BackendState, Counter
from queue_app.web.extensions import db


def _fresh_session():
    """Another request (or another process) reading the same database."""
    return db.session.session_factory()


def test_unchanged_directory_is_served_from_memory(make_branch):
    make_branch()
    first = directory.current(db.session)
    db.session.commit()
    assert directory.current(db.session) is first
    with _fresh_session() as other:
        assert directory.current(other) is first


def test_a_committed_change_is_seen_by_the_next_reader(make_branch):
    make_branch(counters=2)
    before = directory.current(db.session).branch("cairo-civil")
    assert before.counter("2").is_open
    with _fresh_session() as other:
        counter = other.scalar(select(Counter).where(Counter.code == "2"))
        counter.is_open = False
        other.commit()
    db.session.commit()  # the next request starts a transaction of its own
    after = directory.current(db.session).branch("cairo-civil")
    assert not after.counter("2").is_open
    assert before.counter("2").is_open  # what a request already holds never changes under it


def test_a_rolled_back_change_leaves_the_cached_directory(make_branch):
    make_branch()
    first = directory.current(db.session)
    with _fresh_session() as other:
        other.scalar(select(Counter)).is_open = False
        other.flush()
        other.rollback()
    assert directory.current(db.session) is first


def test_backend_state_reaches_every_reader(make_branch, make_backend, clock):
    backend = make_backend()
    make_branch(backends=[backend])
    assert directory.current(db.session).backends[0].state == BackendState.UP
    with _fresh_session() as other:
        stored = other.get_one(Backend, backend.id)
        stored.state, stored.state_since = BackendState.DOWN, clock.now()
        other.commit()
    db.session.commit()
    service = directory.current(db.session).branch("cairo-civil").service("id-card")
    assert service.backends[0].state == BackendState.DOWN


def test_a_revoked_token_stops_working_at_once(make_branch, clock):
    make_branch()
    raw = access.create_token(db.session, clock, "staff", "cairo-civil")
    assert access.authenticate(db.session, clock, f"Bearer {raw}").role == "staff"
    with _fresh_session() as other:
        other.scalar(select(ApiToken)).revoked_at = clock.now()
        other.commit()
    db.session.commit()
    with pytest.raises(Unauthorized):
        access.authenticate(db.session, clock, f"Bearer {raw}")


def test_ticket_traffic_does_not_invalidate_the_directory(client, make_branch, make_token):
    make_branch()
    kiosk, staff = make_token("kiosk"), make_token("staff")
    first = directory.current(db.session)
    token = client.post(
        "/api/v1/branches/cairo-civil/tickets", json={"service": "id-card"}, headers=kiosk
    ).json["token"]
    client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)
    client.post(f"/api/v1/tickets/{token}/done", headers=staff)  # measures a service time
    assert directory.current(db.session) is first


def test_read_once_per_transaction(make_branch):
    make_branch()
    first = directory.current(db.session)
    with _fresh_session() as other:
        other.scalar(select(Counter)).is_open = False
        other.commit()
    # Within one transaction (one request) the directory stays as it was first read...
    assert directory.current(db.session) is first
    db.session.commit()
    # ...and the next transaction sees the change.
    assert not directory.current(db.session).branch("cairo-civil").counter("1").is_open


def test_lookup_reads_the_revision_with_the_ticket(client, make_branch, make_token):
    """The ticket lookup checks the directory inside its own query (no transaction of its own):
    a counter closed by another process shows in the next lookup's estimate."""
    make_branch(counters=2)
    ticket = client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card"},
        headers=make_token("kiosk"),
    ).json
    lookup = f"/api/v1/tickets/{ticket['token']}"
    assert client.get(lookup).json["eta_minutes"] == 0
    with _fresh_session() as other:
        for counter in other.scalars(select(Counter)):
            counter.is_open = False
        other.commit()
    assert client.get(lookup).json["eta_minutes"] is None  # no counter open: no honest estimate
    # The lookup left no transaction open behind it.
    assert not db.session().in_transaction()
