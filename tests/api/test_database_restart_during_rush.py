"""PostgreSQL drops every connection in the middle of a rush of kiosks (what a restart does to
a pool): each request is served (201) or refused whole (503 with Retry-After), never a 500;
nothing is half written (a refused ticket left no row, no number is given twice), and the
kiosks are served again without anyone restarting anything."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, func, make_url, select, text
from sqlalchemy.orm import Session

from queue_app.models import Ticket
from queue_app.web.extensions import db
from tests.conftest import POSTGRES_URL, needs_postgresql

TICKETS = "/api/v1/branches/cairo-civil/tickets"
KIOSKS = 6
EACH = 15


def _cut_every_connection() -> int:
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with admin.begin() as conn:
            return conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        admin.dispose()


@needs_postgresql
@pytest.mark.postgresql
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_connections_cut_mid_rush(app, make_branch, make_token, db_kind):
    make_branch(counters=2)
    kiosk = make_token("kiosk")
    db.session.commit()
    db.session.close()
    halfway = threading.Barrier(KIOSKS + 1)

    def kiosk_rush(_: int) -> list[tuple[int, str | None, str | None]]:
        client = app.test_client()
        answers = []
        for n in range(EACH):
            if n == EACH // 2:
                halfway.wait(timeout=60)  # everyone mid-rush while the connections are cut
            response = client.post(TICKETS, json={"service": "id-card"}, headers=kiosk)
            body = response.get_json(silent=True) or {}
            answers.append(
                (response.status_code, body.get("number"), response.headers.get("Retry-After"))
            )
        return answers

    with ThreadPoolExecutor(max_workers=KIOSKS) as pool:
        futures = [pool.submit(kiosk_rush, k) for k in range(KIOSKS)]
        halfway.wait(timeout=60)
        assert _cut_every_connection() >= 1
        answers = [answer for future in futures for answer in future.result(timeout=120)]

    statuses = [status for status, _, _ in answers]
    assert 503 in statuses  # the cut was felt: pooled connections were dead
    assert set(statuses) <= {201, 503}, statuses
    assert all(retry for status, _, retry in answers if status == 503)
    served = [number for status, number, _ in answers if status == 201]
    assert len(served) == len(set(served))  # no number given twice
    db.session.remove()
    stored = db.session.scalar(select(func.count()).select_from(Ticket))
    assert stored == len(served)  # a refused ticket left nothing behind
    # And the kiosks are served again, with the next number.
    after = app.test_client().post(TICKETS, json={"service": "id-card"}, headers=kiosk)
    assert after.status_code == 201


@contextmanager
def _after_the_commit(action: Callable[[], object]) -> Iterator[list[bool]]:
    """Run ``action`` once, just before the first statement that follows a commit is sent; the
    list yielded says whether it ran."""
    committed: list[bool] = []
    ran: list[bool] = []

    def after_commit(session: Session) -> None:
        committed.append(True)

    def before_statement(*args: object) -> None:
        if committed and not ran:
            ran.append(True)
            action()

    event.listen(Session, "after_commit", after_commit)
    event.listen(db.engine, "before_cursor_execute", before_statement)
    try:
        yield ran
    finally:
        event.remove(Session, "after_commit", after_commit)
        event.remove(db.engine, "before_cursor_execute", before_statement)


@needs_postgresql
@pytest.mark.postgresql
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_a_ticket_committed_just_before_its_connection_is_cut_is_given_out(
    app, client, make_branch, make_token, db_kind
):
    """The cut comes between the ticket's commit and the reading of its place in line: the
    ticket is in the line, so the kiosk prints it (201, without a place and wait, which its page
    shows once the database is back), rather than a 503 saying nothing was changed."""
    make_branch()
    kiosk = make_token("kiosk")
    db.session.commit()
    with _after_the_commit(_cut_every_connection) as cut:
        answer = client.post(TICKETS, json={"service": "id-card"}, headers=kiosk)
    assert cut  # the connection was cut after the commit
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["number"], body["position"], body["eta_minutes"]) == ("A-001", None, None)
    db.session.remove()
    token = db.session.scalar(select(Ticket.token))
    assert token == body["token"]
    # Its page, asked again, has the place and wait.
    page = client.get(f"/api/v1/tickets/{token}")
    assert (page.status_code, page.get_json()["position"]) == (200, 1)


@needs_postgresql
@pytest.mark.postgresql
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_a_ticket_committed_just_before_the_database_goes_away_is_given_out(
    app, client, make_branch, make_token, db_kind
):
    """The database stops taking connections right after the ticket's commit and stays away
    while the answer is made: the answer needs nothing more from it."""
    make_branch()
    kiosk = make_token("kiosk")
    db.session.commit()
    url = make_url(POSTGRES_URL)
    admin = create_engine(
        url.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )

    def go_away() -> None:
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false'))
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": url.database},
            )

    try:
        with _after_the_commit(go_away) as gone:
            answer = client.post(TICKETS, json={"service": "id-card"}, headers=kiosk)
    finally:
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    assert gone
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["number"], body["position"], body["eta_minutes"]) == ("A-001", None, None)
    assert [entry["event"] for entry in body["history"]] == ["issued"]
    db.session.remove()
    assert db.session.scalar(select(Ticket.token)) == body["token"]
