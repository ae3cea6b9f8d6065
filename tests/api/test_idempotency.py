"""Idempotency-Key on POST /branches/{b}/tickets: a double tap or a retried request makes one
ticket, not two, even when both copies arrive at once."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from queue_app import idempotency, tickets
from queue_app.access import Principal
from queue_app.db import Base
from queue_app.models import BackendState, IdempotencyKey, Role, Ticket
from queue_app.web.extensions import db
from tests.conftest import needs_postgresql

TICKETS = "/api/v1/branches/cairo-civil/tickets"


def _count(model: type[Base]) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


@pytest.fixture
def kiosk(make_branch, make_token) -> dict[str, str]:
    make_branch()
    return make_token("kiosk")


def _take(client, headers, key: str | None, **body):
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post(TICKETS, json={"service": "id-card", **body}, headers={**headers, **extra})


def test_same_key_twice_is_one_ticket(client, kiosk):
    key = str(uuid.uuid4())
    first = _take(client, kiosk, key, phone="01012345678")
    second = _take(client, kiosk, key, phone="01012345678")
    assert first.status_code == 201, first.json
    assert "Idempotent-Replayed" not in first.headers
    # The repeat answers like the first: 201, the same ticket.
    assert second.status_code == 201, second.json
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json == first.json
    assert _count(Ticket) == 1
    assert _count(IdempotencyKey) == 1


def test_repeat_shows_the_ticket_as_it_is_now(client, kiosk, make_token):
    key = str(uuid.uuid4())
    _take(client, kiosk, None)
    first = _take(client, kiosk, key)
    assert first.json["position"] == 2
    client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=make_token("staff"))
    again = _take(client, kiosk, key)
    assert again.json["token"] == first.json["token"]
    assert again.json["number"] == first.json["number"]
    assert again.json["position"] == 1


def test_without_a_key_every_request_is_a_ticket(client, kiosk):
    assert _take(client, kiosk, None).json["number"] == "A-001"
    assert _take(client, kiosk, None).json["number"] == "A-002"
    assert _count(IdempotencyKey) == 0


def test_another_key_is_another_ticket(client, kiosk):
    first = _take(client, kiosk, str(uuid.uuid4()))
    second = _take(client, kiosk, str(uuid.uuid4()))
    assert first.json["token"] != second.json["token"]


@pytest.mark.parametrize(
    "changed",
    [{"priority": True}, {"phone": "01012345678"}, {"locale": "en"}, {"service": "birth-cert"}],
)
def test_same_key_with_another_request_is_refused(client, make_branch, make_token, changed):
    make_branch(services=[("id-card", "A"), ("birth-cert", "B")])
    kiosk = make_token("kiosk")
    key = str(uuid.uuid4())
    assert _take(client, kiosk, key).status_code == 201
    before = _row_counts()
    response = _take(client, kiosk, key, **changed)
    assert response.status_code == 422
    assert response.json["error"] == "idempotency_key_reused"
    assert set(response.json) == {"error", "message", "fields"}
    assert "Idempotency-Key" in response.json["fields"]
    assert _row_counts() == before


def test_the_same_number_written_differently_is_the_same_request(client, kiosk):
    key = str(uuid.uuid4())
    first = _take(client, kiosk, key, phone="010 1234 5678")
    second = _take(client, kiosk, key, phone="+201012345678")
    assert second.status_code == 201
    assert second.json["token"] == first.json["token"]


def test_keys_are_per_branch(client, make_branch, make_token):
    make_branch()
    make_branch("giza-traffic", services=[("id-card", "A")])
    admin = make_token("admin")
    key = str(uuid.uuid4())
    cairo = _take(client, admin, key)
    giza = client.post(
        "/api/v1/branches/giza-traffic/tickets",
        json={"service": "id-card"},
        headers={**admin, "Idempotency-Key": key},
    )
    assert giza.status_code == 201
    assert "Idempotent-Replayed" not in giza.headers
    assert giza.json["token"] != cairo.json["token"]


def test_a_key_counts_for_a_day(client, kiosk, clock):
    key = str(uuid.uuid4())
    first = _take(client, kiosk, key)
    clock.advance(hours=23, minutes=59)
    assert _take(client, kiosk, key).json["token"] == first.json["token"]
    clock.advance(minutes=1)
    later = _take(client, kiosk, key)
    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later.headers
    assert later.json["token"] != first.json["token"]
    assert _count(IdempotencyKey) == 1  # the old one gave way


def test_repeat_answers_even_when_the_service_is_paused_since(
    client, make_branch, make_backend, make_token, clock
):
    backend = make_backend()
    make_branch(backends=[backend])
    kiosk = make_token("kiosk")
    key = str(uuid.uuid4())
    first = _take(client, kiosk, key)
    backend.state = BackendState.DOWN
    backend.state_since = clock.now()
    db.session.commit()
    # The ticket exists: the kiosk that lost the first answer must be able to print it.
    again = _take(client, kiosk, key)
    assert again.status_code == 201
    assert again.json["token"] == first.json["token"]
    assert again.json["service_state"] == "paused"
    # A new request is refused as usual.
    assert _take(client, kiosk, str(uuid.uuid4())).json["error"] == "service_paused"


def test_a_failed_request_stores_no_key(client, kiosk):
    key = str(uuid.uuid4())
    assert _take(client, kiosk, key, phone="12").status_code == 422
    assert _count(IdempotencyKey) == 0
    # Corrected, the same key takes the ticket.
    assert _take(client, kiosk, key, phone="01012345678").status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "tab\there"])
def test_bad_keys(client, kiosk, key):
    before = _row_counts()
    response = _take(client, kiosk, key)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "invalid_input"
    assert "Idempotency-Key" in response.json["fields"]
    assert _row_counts() == before


def test_the_loser_of_a_race_returns_the_winners_ticket(app, kiosk, clock, monkeypatch):
    """The path a concurrent request takes, made deterministic: its look-up ran before the
    winner committed, so its insert of the key fails and it answers with the winner's ticket."""
    key = str(uuid.uuid4())
    principal = Principal(role=Role.ADMIN, branch_id=None, branch_code=None)
    winner = tickets.take_walk_in(
        db.session, clock, principal, "cairo-civil", "id-card", idempotency_key=key
    )
    real_replay = idempotency.replay
    calls = []

    def replay_too_early(*args, **kwargs):
        calls.append(1)
        return None if len(calls) == 1 else real_replay(*args, **kwargs)

    monkeypatch.setattr(idempotency, "replay", replay_too_early)
    loser = tickets.take_walk_in(
        db.session, clock, principal, "cairo-civil", "id-card", idempotency_key=key
    )
    assert len(calls) == 2
    assert loser.replayed
    assert loser.ticket.token == winner.ticket.token
    assert _count(Ticket) == 1
    # The loser's number went back with its rollback: the next ticket has no gap.
    after = tickets.take_walk_in(db.session, clock, principal, "cairo-civil", "id-card")
    assert after.ticket.sequence == 2


def test_purge_forgets_old_keys(app, client, kiosk, clock):
    assert _take(client, kiosk, str(uuid.uuid4())).status_code == 201
    clock.advance(hours=3)
    assert _take(client, kiosk, str(uuid.uuid4())).status_code == 201
    clock.advance(hours=21)
    assert idempotency.purge(db.session, clock.now()) == 1
    assert _count(IdempotencyKey) == 1
    assert _count(Ticket) == 2


@pytest.mark.parametrize("db_kind", [pytest.param("postgresql", marks=needs_postgresql)])
def test_concurrent_requests_with_one_key_make_one_ticket(app, kiosk, clock):
    """Many copies of one request at once (a kiosk retrying while the first is still on its
    way): the unique constraint lets one insert the key; the others answer with its ticket."""
    copies = 8
    key = str(uuid.uuid4())
    db.session.remove()
    start = threading.Barrier(copies, timeout=60)
    principal = Principal(role=Role.ADMIN, branch_id=None, branch_code=None)

    def take(_: int) -> tuple[str, bool]:
        with app.app_context():
            start.wait()
            view = tickets.take_walk_in(
                db.session,
                clock,
                principal,
                "cairo-civil",
                "id-card",
                phone="01012345678",
                idempotency_key=key,
            )
            return view.ticket.token, view.replayed

    with ThreadPoolExecutor(max_workers=copies) as pool:
        results = list(pool.map(take, range(copies), timeout=120))
    assert len({token for token, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * (copies - 1)
    assert _count(Ticket) == 1
    assert _count(IdempotencyKey) == 1
    assert db.session.scalar(select(Ticket.sequence)) == 1


@pytest.mark.parametrize("db_kind", [pytest.param("postgresql", marks=needs_postgresql)])
def test_concurrent_requests_through_the_api(app, kiosk):
    copies = 6
    key = str(uuid.uuid4())
    db.session.remove()
    start = threading.Barrier(copies, timeout=60)

    def post(_: int) -> tuple[int, str]:
        client = app.test_client()  # each thread's request gets its own app context and session
        start.wait()
        response = _take(client, kiosk, key)
        return response.status_code, response.json["token"]

    with ThreadPoolExecutor(max_workers=copies) as pool:
        results = list(pool.map(post, range(copies), timeout=120))
    assert {status for status, _ in results} == {201}
    assert len({token for _, token in results}) == 1
    assert _count(Ticket) == 1
