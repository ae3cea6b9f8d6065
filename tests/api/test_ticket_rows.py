"""A kiosk's walk-in is written by queue_app/ticket_rows.py (number, ticket, first event and
Idempotency-Key in one statement on PostgreSQL), past the ORM: its rows must be the ones the
ORM's path writes for the same requests (the path a staff member's ticket takes, for the audit
log)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from queue_app import ticket_rows
from queue_app.models import (
    IdempotencyKey,
    LineRevision,
    Message,
    Ticket,
    TicketEvent,
    TicketNumberSequence,
)
from queue_app.web.extensions import db

# Two branches alike: one writes through ticket_rows, the other through the ORM.
SERVICES = [("id-card", "A"), ("passport", "B")]
REQUESTS: list[dict[str, Any]] = [
    {"service": "id-card", "phone": "01001234567"},
    {"service": "id-card"},
    {"service": "passport", "phone": "01001234568", "locale": "en", "key": "k-1"},
    {"service": "id-card", "priority": True, "phone": "01001234569"},
    {"service": "passport", "channel": "whatsapp", "phone": "01001234570", "key": "k-2"},
    {"service": "id-card", "locale": "en"},
]


def _take(client, headers, code: str, asked: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in asked.items() if k != "key"}
    if "key" in asked:
        headers = {**headers, "Idempotency-Key": asked["key"]}
    answer = client.post(f"/api/v1/branches/{code}/tickets", json=body, headers=headers)
    assert answer.status_code == 201, answer.json
    return answer.json


def _rows(code_branch_id: int) -> dict[str, Any]:
    """What the branch's tickets wrote, without ids and the random tokens."""
    tickets = db.session.scalars(
        select(Ticket).where(Ticket.branch_id == code_branch_id).order_by(Ticket.id)
    ).all()
    number_of = {t.id: t.number for t in tickets}
    token_of = {t.id: t.token for t in tickets}
    skip = {"id", "token", "branch_id", "service_id", "ticket_id"}

    def plain(row: Any) -> dict[str, Any]:
        return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}

    def by_number(model: Any) -> list[tuple[str, dict[str, Any]]]:
        rows = db.session.scalars(
            select(model).where(model.ticket_id.in_(number_of)).order_by(model.id)
        ).all()
        found = []
        for row in rows:
            values = plain(row)
            if "body" in values:
                values["body"] = values["body"].replace(token_of[row.ticket_id], "<token>")
            found.append((number_of[row.ticket_id], values))
        return found

    sequences = db.session.scalars(
        select(TicketNumberSequence)
        .where(TicketNumberSequence.branch_id == code_branch_id)
        .order_by(TicketNumberSequence.letter, TicketNumberSequence.local_day)
    ).all()
    line = db.session.get(LineRevision, code_branch_id)
    rows = {
        "tickets": [(t.number, plain(t)) for t in tickets],
        "events": by_number(TicketEvent),
        "messages": by_number(Message),
        "keys": by_number(IdempotencyKey),
        "numbers": [plain(s) for s in sequences],
        "line revision": line.revision if line is not None else None,
    }
    db.session.rollback()
    return rows


def test_a_kiosks_walk_ins_are_the_rows_the_orm_writes(
    client, make_branch, make_token, clock, monkeypatch
):
    fast, orm = (
        make_branch(code, services=SERVICES, channels="sms,whatsapp") for code in ("fast", "orm")
    )
    fast_kiosk, orm_kiosk = make_token("kiosk", "fast"), make_token("kiosk", "orm")
    answers: dict[str, list[dict[str, Any]]] = {"fast": [], "orm": []}
    with monkeypatch.context() as patch:
        for n, asked in enumerate(REQUESTS):
            patch.setattr(ticket_rows, "fits", _real_fits)
            answers["fast"].append(_take(client, fast_kiosk, "fast", asked))
            patch.setattr(ticket_rows, "fits", lambda session, ticket: False)
            answers["orm"].append(_take(client, orm_kiosk, "orm", asked))
            if n % 2:
                clock.advance(seconds=40)
    fast_rows, orm_rows = _rows(fast.id), _rows(orm.id)
    assert fast_rows == orm_rows
    assert [t for t, _ in fast_rows["tickets"]] == [
        "A-001",
        "A-002",
        "B-001",
        "A-003",
        "B-002",
        "A-004",
    ]
    assert len(fast_rows["messages"]) == 4
    assert len(fast_rows["keys"]) == 2
    assert fast_rows["line revision"] is not None  # the priority ticket moved the others back

    def shown(answer: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v for k, v in answer.items() if k not in {"token", "branch", "status_url", "qr_url"}
        }

    assert [shown(a) for a in answers["fast"]] == [shown(a) for a in answers["orm"]]
    assert all(
        a["history"] == [{"at": a["issued_at"], "event": "issued", "note": None}]
        for a in answers["fast"]
    )


_real_fits = ticket_rows.fits


def test_each_days_first_ticket_makes_its_number_row(client, make_branch, make_token, clock):
    make_branch()
    kiosk = make_token("kiosk")
    first = _take(client, kiosk, "cairo-civil", {"service": "id-card"})
    clock.advance(days=1)
    second = _take(client, kiosk, "cairo-civil", {"service": "id-card"})
    third = _take(client, kiosk, "cairo-civil", {"service": "id-card"})
    assert [a["number"] for a in (first, second, third)] == ["A-001", "A-001", "A-002"]
    days = db.session.scalars(select(TicketNumberSequence.last_number)).all()
    assert sorted(days) == [1, 2]


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_on_postgresql_the_number_and_the_ticket_are_one_statement(
    client, make_branch, make_token, statements
):
    make_branch()
    kiosk = make_token("kiosk")
    _take(client, kiosk, "cairo-civil", {"service": "id-card"})  # the day's number row
    statements.clear()
    _take(client, kiosk, "cairo-civil", {"service": "id-card", "phone": "01001234567", "key": "k"})
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "WITH"))]
    # The number, the ticket, its event and its key; then the message, whose text holds the number.
    assert len(writes) == 2, writes
    assert "INSERT INTO idempotency_keys" in writes[0]
    assert "INSERT INTO messages" in writes[1]
