"""Kiosk enrolment: a one-time code, made on the command line, exchanged at POST /kiosk/<b>/enrol
for a kiosk token. Every refusal changes nothing but the count of failed attempts."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from queue_app import kiosks
from queue_app.db import Base
from queue_app.errors import InvalidInput, NotFound
from queue_app.models import ApiToken, Branch, EnrolmentFailure, KioskEnrolment, Role
from queue_app.models.kiosks import Kiosk
from queue_app.web.extensions import db
from tests.conftest import needs_postgresql

ENROL = "/kiosk/cairo-civil/enrol"
TICKETS = "/api/v1/branches/cairo-civil/tickets"


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.json
    assert set(body) == {"error", "message", "fields"}
    assert body["error"] == code
    assert body["message"]
    return body


@pytest.fixture
def branches(make_branch):
    make_branch()
    make_branch("giza-traffic", services=[("licence-renewal", "L")])


@pytest.fixture
def new_code(app, clock, branches):
    def make(branch: str = "cairo-civil", label: str | None = "hall A") -> str:
        return kiosks.create_code(db.session, clock, branch, label=label).code

    return make


def _failures() -> int:
    return db.session.scalar(select(func.count()).select_from(EnrolmentFailure))


def _unchanged_but_failures(before: dict[str, int]) -> None:
    after = _row_counts()
    after.pop(EnrolmentFailure.__tablename__)
    before = dict(before)
    before.pop(EnrolmentFailure.__tablename__)
    assert after == before


def test_code_is_eight_digits_grouped_and_stored_hashed(app, clock, branches):
    made = kiosks.create_code(db.session, clock, "cairo-civil", label="hall A")
    assert made.code.isdigit()
    assert len(made.code) == 8
    assert made.grouped == f"{made.code[:4]} {made.code[4:]}"
    assert made.expires_at == clock.now() + timedelta(hours=24)
    stored = db.session.scalar(select(KioskEnrolment))
    assert stored.code_hash != made.code
    assert len(stored.code_hash) == 64
    assert stored.used_at is None
    assert stored.label == "hall A"


def test_good_code_gives_a_kiosk_token_that_issues_tickets(client, clock, new_code):
    code = new_code()
    response = client.post(ENROL, json={"code": code})
    assert response.status_code == 201, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["role"] == "kiosk"
    assert body["branch"] == "cairo-civil"
    assert body["label"] == "hall A"
    assert (
        body["kiosk"] is None
    )  # made without --kiosk: a kiosk of the branch, no printer of its own
    token = db.session.scalar(select(ApiToken))
    assert token.role == Role.KIOSK
    assert token.label == "hall A"
    assert token.kiosk_id is None
    assert token.token_hash != body["token"]  # only the hash is kept
    enrolment = db.session.scalar(select(KioskEnrolment))
    assert enrolment.used_at == clock.now()
    assert enrolment.token_id == token.id

    kiosk = {"Authorization": f"Bearer {body['token']}"}
    taken = client.post(TICKETS, json={"service": "id-card"}, headers=kiosk)
    assert taken.status_code == 201, taken.json
    # A kiosk token of this branch only.
    other = client.post(
        "/api/v1/branches/giza-traffic/tickets", json={"service": "licence-renewal"}, headers=kiosk
    )
    _assert_error(other, 403, "forbidden")


def _add_kiosk(branch: str, code: str) -> Kiosk:
    branch_id = db.session.scalars(select(Branch.id).where(Branch.code == branch)).one()
    kiosk = Kiosk(branch_id=branch_id, code=code, name_ar="القاعة أ", name_en="Hall A")
    db.session.add(kiosk)
    db.session.commit()
    return kiosk


def test_a_code_for_a_kiosk_gives_a_token_of_that_kiosk(client, clock, branches):
    hall_a = _add_kiosk("cairo-civil", "hall-a")
    _add_kiosk("giza-traffic", "hall-a")  # the same code at another branch is another kiosk
    made = kiosks.create_code(db.session, clock, "cairo-civil", kiosk_code="hall-a")
    assert made.kiosk_code == "hall-a"
    assert made.label == "kiosk hall-a"  # the token's label, when the technician gives none
    assert db.session.scalar(select(KioskEnrolment.kiosk_id)) == hall_a.id

    response = client.post(ENROL, json={"code": made.code})
    assert response.status_code == 201, response.json
    assert response.json["kiosk"] == "hall-a"
    assert response.json["label"] == "kiosk hall-a"
    token = db.session.scalar(select(ApiToken))
    assert token.kiosk_id == hall_a.id
    assert token.label == "kiosk hall-a"
    kiosk = {"Authorization": f"Bearer {response.json['token']}"}
    assert client.post(TICKETS, json={"service": "id-card"}, headers=kiosk).status_code == 201


def test_a_code_for_an_unknown_kiosk_writes_nothing(app, clock, branches):
    _add_kiosk("giza-traffic", "hall-a")
    before = _row_counts()
    with pytest.raises(NotFound, match="no kiosk 'hall-a' at cairo-civil") as caught:
        kiosks.create_code(db.session, clock, "cairo-civil", kiosk_code="hall-a")
    assert caught.value.fields == {"kiosk": "hall-a"}
    assert _row_counts() == before


@pytest.mark.parametrize(
    "typed",
    ["{code}", "{grouped}", "{dashed}", " {code} ", "{arabic}", "{persian}"],
)
def test_code_as_people_type_it(client, new_code, typed):
    code = new_code()
    response = client.post(
        ENROL,
        json={
            "code": typed.format(
                code=code,
                grouped=f"{code[:4]} {code[4:]}",
                dashed=f"{code[:4]}-{code[4:]}",
                arabic=code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
                persian=code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")),
            )
        },
    )
    assert response.status_code == 201, response.json


def test_wrong_code_changes_nothing(client, new_code):
    code = new_code()
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    before = _row_counts()
    body = _assert_error(client.post(ENROL, json={"code": wrong}), 403, "enrolment_code_wrong")
    assert body["fields"] == {}
    _unchanged_but_failures(before)
    assert _failures() == 1
    assert db.session.scalar(select(KioskEnrolment.used_at)) is None


def test_code_of_another_branch_is_wrong_here(client, new_code):
    giza = new_code("giza-traffic")
    before = _row_counts()
    _assert_error(client.post(ENROL, json={"code": giza}), 403, "enrolment_code_wrong")
    _unchanged_but_failures(before)
    # ... and still good where it belongs.
    assert client.post("/kiosk/giza-traffic/enrol", json={"code": giza}).status_code == 201


def test_used_code(client, new_code):
    code = new_code()
    assert client.post(ENROL, json={"code": code}).status_code == 201
    before = _row_counts()
    _assert_error(client.post(ENROL, json={"code": code}), 409, "enrolment_code_used")
    _unchanged_but_failures(before)
    assert _failures() == 1


def test_expired_code(client, clock, new_code):
    code = new_code()
    clock.advance(hours=24)
    before = _row_counts()
    _assert_error(client.post(ENROL, json={"code": code}), 409, "enrolment_code_expired")
    _unchanged_but_failures(before)


def test_code_works_until_it_expires(client, clock, new_code):
    code = new_code()
    clock.advance(hours=23, minutes=59)
    assert client.post(ENROL, json={"code": code}).status_code == 201


def test_too_many_failures_lock_the_branch_for_a_while(client, clock, new_code):
    code = new_code()
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(kiosks.MAX_FAILURES):
        clock.advance(seconds=10)
        _assert_error(client.post(ENROL, json={"code": wrong}), 403, "enrolment_code_wrong")
    before = _row_counts()
    # Locked: even the right code is refused, and refusing it is not counted again.
    locked = _assert_error(client.post(ENROL, json={"code": code}), 429, "rate_limited")
    assert 0 < locked["fields"]["retry_after_seconds"] <= 15 * 60
    assert _row_counts() == before
    # Another branch is not locked.
    assert client.post("/kiosk/giza-traffic/enrol", json={"code": new_code("giza-traffic")})
    # Once the oldest failure is older than the window, a try is allowed again.
    clock.advance(seconds=locked["fields"]["retry_after_seconds"])
    assert client.post(ENROL, json={"code": code}).status_code == 201


@pytest.mark.parametrize(
    ("kwargs", "status", "code", "field"),
    [
        ({"json": {}}, 422, "invalid_input", "code"),
        ({"json": {"code": ""}}, 422, "invalid_input", "code"),
        ({"json": {"code": 12345678}}, 422, "invalid_input", "code"),
        ({"json": {"code": "1234"}}, 422, "invalid_input", "code"),
        ({"json": {"code": "1234 567a"}}, 422, "invalid_input", "code"),
        ({"json": {"code": "1" * 40}}, 422, "invalid_input", "code"),
        ({"json": {"code": "12345678", "branch": "x"}}, 422, "invalid_input", "branch"),
        ({"data": "code=12345678"}, 422, "invalid_input", "code"),  # a form, not JSON
    ],
)
def test_bad_input(client, new_code, kwargs, status, code, field):
    new_code()
    before = _row_counts()
    body = _assert_error(client.post(ENROL, **kwargs), status, code)
    assert field in body["fields"]
    # The shape of a code is checked before it counts as a guess.
    assert _row_counts() == before


def test_malformed_json_and_unknown_branch(client, new_code):
    new_code()
    before = _row_counts()
    _assert_error(
        client.post(ENROL, data='{"code": "1', headers={"Content-Type": "application/json"}),
        400,
        "bad_request",
    )
    _assert_error(client.post("/kiosk/nowhere/enrol", json={"code": "12345678"}), 404, "not_found")
    assert _row_counts() == before


def test_opening_the_address_in_a_browser_gets_a_page(client, new_code):
    response = client.get(ENROL)
    assert response.status_code == 405
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("raw", ["1234567", "123456789", "abcdefgh", "١٢٣٤٥٦٧"])
def test_normalise_code_refuses_what_is_not_eight_digits(raw):
    with pytest.raises(InvalidInput):
        kiosks.normalise_code(raw)


@pytest.mark.parametrize("db_kind", [pytest.param("postgresql", marks=needs_postgresql)])
def test_two_screens_racing_for_one_code(app, clock, new_code):
    """A conditional UPDATE decides: one screen is enrolled, the other is told the code is used."""
    code = new_code()
    db.session.remove()
    start = threading.Barrier(4, timeout=60)

    def enrol(_: int) -> str:
        with app.app_context():
            start.wait()
            try:
                kiosks.enrol(db.session, clock, "cairo-civil", code)
            except kiosks.EnrolmentCodeUsed:
                return "used"
            return "enrolled"

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = sorted(pool.map(enrol, range(4), timeout=60))
    assert results == ["enrolled", "used", "used", "used"]
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
