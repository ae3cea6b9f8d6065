"""When the database cannot be reached, every answer is a 503 with Retry-After in the usual
shape (JSON under /api/v1, a page elsewhere), never a bare 500; /healthz stays a liveness check
and /readyz asks the database."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from queue_app.app import create_app
from queue_app.clock import FixedClock
from tests.conftest import POSTGRES_URL, TUESDAY_MORNING, needs_postgresql

# Nothing listens on port 1 of the loopback: every connection is refused at once.
NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/test"


@pytest.fixture
def cut_off(settings, tmp_path):
    app = create_app(settings(NOWHERE), clock=FixedClock(TUESDAY_MORNING))
    app.config["TESTING"] = True
    return app.test_client()


def _unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert int(response.headers["Retry-After"]) > 0


def test_the_api_answers_503_with_retry_after(cut_off):
    for response in (
        cut_off.get("/api/v1/tickets/abc"),
        cut_off.post(
            "/api/v1/branches/cairo-civil/tickets",
            json={"service": "id-card"},
            headers={"Authorization": "Bearer some-kiosk-token"},
        ),
        cut_off.get("/api/v1/branches"),
    ):
        _unavailable(response)
        assert response.json["error"] == "unavailable"
        assert set(response.json) == {"error", "message", "fields"}


def test_pages_answer_a_readable_503(cut_off):
    response = cut_off.get("/t/abc", headers={"Accept-Language": "ar"})
    _unavailable(response)
    assert response.mimetype == "text/html"
    assert 'dir="rtl"' in response.get_data(as_text=True)


def test_liveness_does_not_ask_the_database_and_readiness_does(cut_off):
    assert cut_off.get("/healthz").status_code == 200
    ready = cut_off.get("/readyz")
    _unavailable(ready)
    assert ready.json["status"] == "unavailable"


def test_readiness_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "database": "ok"}


@needs_postgresql
@pytest.mark.postgresql
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_after_a_database_restart_the_first_request_is_a_503_and_the_next_is_served(
    client, make_branch, db_kind
):
    """A restart ends every pooled connection; the first request to find one dead must not be
    a 500, and the pool must heal by itself."""
    make_branch()
    assert client.get("/api/v1/branches").status_code == 200  # a pooled connection exists
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    admin.dispose()
    assert ended >= 1
    first = client.get("/api/v1/branches")
    _unavailable(first)
    assert first.json["error"] == "unavailable"
    assert client.get("/api/v1/branches").status_code == 200
