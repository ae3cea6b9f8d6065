"""texting: the link to a ticket's page is built from the public URL that every session of the
app and the worker carries; a session without it is refused rather than sending a broken link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from queue_app import texting
from queue_app.settings import Settings
from queue_app.web.extensions import db
from queue_app.worker.loop import sessions_for


def test_the_app_s_session_links_to_the_public_url(app: Flask) -> None:
    assert texting.ticket_link(db.session, "abc") == "http://queue.test/t/abc"


def test_the_worker_s_sessions_link_to_the_public_url(tmp_path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'q.sqlite3'}",
        secret_key="test-secret",
        public_url="https://queue.example.eg/",
        instance_path=tmp_path,
    )
    engine = create_engine(settings.database_url)
    try:
        with sessions_for(settings, engine)() as session:
            assert texting.ticket_link(session, "xyz") == "https://queue.example.eg/t/xyz"
    finally:
        engine.dispose()


def test_a_session_without_the_public_url_is_refused() -> None:
    with Session() as session, pytest.raises(texting.NoPublicUrl):
        texting.ticket_link(session, "abc")


class _Branch:
    timezone = "Africa/Cairo"

    def name(self, locale: str) -> str:
        return "Giza post office" if locale == "en" else "بريد الجيزة"


class _Service:
    branch = _Branch()


class _Row:
    token = "tok"

    def __init__(self, locale: str) -> None:
        self.locale = locale


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_moved_names_why_and_links_the_ticket(locale: str) -> None:
    session = Session()
    texting.set_public_url(session.info, "http://q.test")
    start = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    system = {"ar": "نظام الأحوال المدنية", "en": "Civil registry system"}.get
    outage = texting.moved(session, "outage", system=lambda lang: system(lang) or "")
    maintenance = texting.moved(session, "maintenance", system=lambda lang: system(lang) or "")
    capacity = texting.moved(session, "capacity")
    row, service = _Row(locale), _Service()
    for word in (outage, maintenance, capacity):
        body = word(row, service, start)  # type: ignore[arg-type]
        assert "http://q.test/t/tok" in body
    assert system(locale) in outage(row, service, start)  # type: ignore[arg-type, operator]
    assert system(locale) in maintenance(row, service, start)  # type: ignore[arg-type, operator]
    assert _Branch().name(locale) in capacity(row, service, start)  # type: ignore[arg-type]
    assert len({outage(row, service, start), maintenance(row, service, start)}) == 2  # type: ignore[arg-type]


def test_a_move_for_a_system_must_name_it() -> None:
    session = Session()
    texting.set_public_url(session.info, "http://q.test")
    with pytest.raises(ValueError, match="names its system"):
        texting.moved(session, "outage")
