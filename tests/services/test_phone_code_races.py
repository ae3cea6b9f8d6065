"""Races on one-time codes (PostgreSQL, threads with sessions of their own): one code issues one
ticket however many requests bring it at once, and parallel wrong guesses get no more than
``MAX_TRIES`` tries between them."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from queue_app import joining, phone_codes
from queue_app.clock import FixedClock
from queue_app.errors import QueueError
from queue_app.models import Message, PhoneCode, Ticket
from queue_app.web.extensions import db
from tests.services.test_concurrency import POSTGRESQL_ONLY, _in_threads

SECRET = "test-secret"
PHONE = "01012345678"


@pytest.fixture
def code(app: Flask, make_branch, clock: FixedClock) -> str:
    branch = make_branch()
    branch.join_from_phone = True
    db.session.commit()
    joining.ask_code(
        db.session, clock, SECRET, "cairo-civil", "id-card", phone=PHONE, channel=None, locale="ar"
    )
    body = db.session.scalar(select(Message.body).where(Message.event.like("code:%")))
    db.session.remove()  # the main thread holds no connection while the threads race
    return re.search(r"\b(\d{6})\b", body).group(1)


def _take(app: Flask, clock: FixedClock, typed: str) -> list[object]:
    with app.app_context():
        try:
            view = joining.take_ticket(
                db.session,
                clock,
                SECRET,
                "cairo-civil",
                "id-card",
                phone=PHONE,
                channel=None,
                locale="ar",
                code=typed,
            )
        except QueueError as err:
            db.session.rollback()
            return [err.code]
        return [view.ticket.number]


@POSTGRESQL_ONLY
def test_one_code_brought_at_once_by_many_issues_one_ticket(app, clock, code) -> None:
    answers = [a for batch in _in_threads(8, lambda i: _take(app, clock, code)) for a in batch]
    assert sorted(answers, key=str).count("A-001") == 1
    assert set(answers) - {"A-001"} <= {"code_used", "already_in_line"}
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


@POSTGRESQL_ONLY
def test_parallel_guesses_share_the_five_tries(app, clock, code) -> None:
    guesses = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 13)]
    answers = [
        a for batch in _in_threads(12, lambda i: _take(app, clock, guesses[i])) for a in batch
    ]
    assert answers.count("code_wrong") == phone_codes.MAX_TRIES - 1
    assert answers.count("code_tries_exhausted") == 12 - (phone_codes.MAX_TRIES - 1)
    assert db.session.scalar(select(PhoneCode.tries)) == phone_codes.MAX_TRIES
    assert _take(app, clock, code) == ["code_tries_exhausted"]
