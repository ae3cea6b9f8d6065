"""The floor of ticket issue (bench/floor_server.py) writes what the product's issue writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from bench.floor_server import add_floor
from queue_app.db import Base
from queue_app.web.extensions import db

TABLES = (
    "tickets",
    "ticket_events",
    "messages",
    "ticket_number_sequences",
)
# What differs between two tickets by nature: their ids, tokens, numbers, phones, texts.
OWN = {"id", "ticket_id", "token", "sequence", "last_number", "phone", "to", "body"}


def rows(table: str) -> list[dict[str, Any]]:
    # In the order they were made: without ORDER BY, PostgreSQL may return them in any order.
    result = db.session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
    found = [dict(row._mapping) for row in result]
    db.session.rollback()
    return found


def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {table: rows(table) for table in TABLES}


def counts() -> dict[str, int]:
    """Rows in every table of the schema."""
    found: dict[str, int] = {
        table.name: db.session.execute(text(f"SELECT count(*) FROM {table.name}")).scalar_one()
        for table in Base.metadata.sorted_tables
    }
    db.session.rollback()
    return found


def grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def test_the_floor_writes_the_same_rows_as_the_product(
    app: Flask,
    client: FlaskClient,
    make_branch: Callable[..., Any],
    make_token: Callable[..., dict[str, str]],
) -> None:
    make_branch(services=[("id-card", "A"), ("birth-cert", "B")], counters=2)
    kiosk = make_token("kiosk")
    add_floor(app)
    before = snapshot()
    assert all(not found for found in before.values())

    counted = counts()
    product = client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card", "phone": "+201012345678"},
        headers=kiosk,
    )
    assert product.status_code == 201, product.get_json()
    after_product = snapshot()
    counted_after_product = counts()
    floor = client.post(
        "/bench/floor/branches/cairo-civil/tickets",
        json={"service": "id-card", "phone": "+201012345679"},
        headers=kiosk,
    )
    assert floor.status_code == 201, floor.get_json()
    after_floor = snapshot()

    # No other table gains rows, on either side (a kiosk's issue is not audited, and a walk-in
    # joining behind everyone leaves the branch's line revision). The product's ticket, the
    # branch's first today, also made the number row the floor bumps.
    assert set(grown(counted, counted_after_product)) <= set(TABLES)
    assert grown(counted_after_product, counts()) == dict.fromkeys(TABLES[:3], 1)

    # One row more in every table but the day's number, which bumps its one row.
    for table in ("tickets", "ticket_events", "messages"):
        assert len(after_product[table]) == 1, table
        assert len(after_floor[table]) == 2, table
    assert [r["last_number"] for r in after_product["ticket_number_sequences"]] == [1]
    assert [r["last_number"] for r in after_floor["ticket_number_sequences"]] == [2]
    assert product.get_json()["number"] == "A-001"
    assert floor.get_json() == {"number": "A-002", "token": floor.get_json()["token"]}

    # Column by column, the same values but for what is each ticket's own.
    for table in ("tickets", "ticket_events", "messages", "ticket_number_sequences"):
        made_by_product, made_by_floor = after_product[table][0], after_floor[table][-1]
        assert made_by_product.keys() == made_by_floor.keys()
        same = {k: v for k, v in made_by_product.items() if k not in OWN}
        assert same == {k: v for k, v in made_by_floor.items() if k not in OWN}, table
    ticket = after_floor["tickets"][-1]
    assert (ticket["token"], ticket["sequence"], ticket["phone"]) == (
        floor.get_json()["token"],
        2,
        "+201012345679",
    )
    message = after_floor["messages"][-1]
    assert message["ticket_id"] == ticket["id"]
    assert message["to"] == "+201012345679"
    assert message["body"] == f"A-002 http://queue.test/t/{ticket['token']}"
    assert after_floor["ticket_events"][-1]["ticket_id"] == ticket["id"]


def test_the_floor_refuses_a_token_it_does_not_know_and_another_branchs(
    app: Flask,
    client: FlaskClient,
    make_branch: Callable[..., Any],
    make_token: Callable[..., dict[str, str]],
) -> None:
    make_branch()
    make_branch("giza-civil")
    giza = make_token("kiosk", "giza-civil")
    add_floor(app)
    body = {"service": "id-card", "phone": "+201012345678"}
    path = "/bench/floor/branches/cairo-civil/tickets"
    assert client.post(path, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post(path, json=body, headers=giza).status_code == 403
    assert not rows("tickets")
