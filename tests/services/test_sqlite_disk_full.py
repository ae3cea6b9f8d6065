"""The SQLite file's disk fills up (simulated with max_page_count, which SQLite reports exactly
as a full disk: SQLITE_FULL): every write answers a clear 503 with Retry-After, nothing is half
written, the file stays sound, and the office goes on once there is room again."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text

from queue_app.models import Ticket
from queue_app.web.extensions import db

TICKETS = "/api/v1/branches/cairo-civil/tickets"


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_a_full_disk_is_a_clear_503_and_no_corruption(client, make_branch, make_token, db_kind):
    make_branch()
    kiosk = make_token("kiosk")
    assert client.post(TICKETS, json={"service": "id-card"}, headers=kiosk).status_code == 201
    # The run's earlier tests left free pages in the file, which inserts would reuse before
    # growing it: without them, the cap is met within a few tickets.
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM"))
    pages = db.session.execute(text("PRAGMA page_count")).scalar_one()
    room = {"pages": pages}

    def cap(connection, _record) -> None:
        connection.execute(f"PRAGMA max_page_count = {room['pages']}")

    db.session.remove()
    db.engine.dispose()
    event.listen(db.engine, "connect", cap)
    try:
        answers = []
        for n in range(200):  # bounded: the file is full long before
            phone = f"+2010{n:08d}"
            response = client.post(
                TICKETS, json={"service": "id-card", "phone": phone}, headers=kiosk
            )
            answers.append(response.status_code)
            if response.status_code == 503:
                break
        assert answers[-1] == 503, answers
        assert response.json["error"] == "unavailable"
        assert int(response.headers["Retry-After"]) > 0
        issued = answers.count(201)
        assert issued >= 1, answers  # it filled up while in use, not at once
    finally:
        event.remove(db.engine, "connect", cap)
        db.session.remove()
        db.engine.dispose()
    assert db.session.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    # Every ticket answered 201 is there, whole; the refused one left nothing behind.
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1 + issued
    numbers = db.session.scalars(select(Ticket.sequence).order_by(Ticket.sequence)).all()
    assert numbers == list(range(1, 2 + issued))
    # Room again: the next ticket takes the next number.
    again = client.post(TICKETS, json={"service": "id-card"}, headers=kiosk)
    assert again.status_code == 201
    assert db.session.scalar(select(func.max(Ticket.sequence))) == 2 + issued
