"""Signing in and out: per-person accounts, sessions in a cookie no script reads, CSRF on every
form, throttling, the second factor, and the API called with the session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from queue_app import people
from queue_app.models import SignedInSession
from queue_app.web.extensions import db
from queue_app.web.sign_in import COOKIE
from tests.conftest import PASSWORD, csrf_of, sign_in


def _cookie(client):
    found = client.get_cookie(COOKIE)
    return found.value if found else None


def test_sign_in_page_is_arabic_first_with_a_csrf_token(client, make_branch):
    make_branch()
    response = client.get("/sign-in")
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in response.text
    assert "تسجيل الدخول" in response.text
    assert csrf_of(response.text)
    assert 'autocomplete="current-password"' in response.text
    english = client.get("/sign-in?lang=en").text
    assert "Sign in" in english
    assert "User name" in english


def test_staff_sign_in_lands_on_their_branch_counters_and_opens_the_counter_screen(
    client, make_branch, make_person
):
    make_branch(counters=2)
    make_person("mona", "staff")
    answer = sign_in(client, "Mona")  # user names are not case sensitive
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/counter/cairo-civil"
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    page = client.get("/counter/cairo-civil")
    assert page.status_code == 200
    assert 'href="/counter/cairo-civil/2"' in page.text
    screen = client.get("/counter/cairo-civil/1")
    assert screen.status_code == 200
    assert "Mona" in screen.text  # who is signed in, with the way out


def test_manager_lands_on_the_console(client, make_branch, make_person):
    make_branch()
    make_person("samir", "manager")
    answer = sign_in(client, "samir")
    assert answer.headers["Location"] == "/manage/cairo-civil"
    assert client.get("/manage/cairo-civil").status_code == 200


def test_next_is_followed_only_within_this_server(client, make_branch, make_person):
    make_branch()
    make_person("mona", "staff")
    for target, expected in [
        ("/counter/cairo-civil/1", "/counter/cairo-civil/1"),
        ("https://evil.example/", "/counter/cairo-civil"),
        ("//evil.example/x", "/counter/cairo-civil"),
        ("/\\evil.example", "/counter/cairo-civil"),
    ]:
        token = csrf_of(client.get("/sign-in").text)
        answer = client.post(
            "/sign-in",
            query_string={"next": target},
            data={"username": "mona", "password": PASSWORD, "csrf_token": token},
        )
        assert answer.headers["Location"] == expected, target


def test_pages_send_a_signed_out_person_to_sign_in_and_back(client, make_branch):
    make_branch()
    answer = client.get("/counter/cairo-civil/1")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/sign-in?next=/counter/cairo-civil/1"
    answer = client.get("/manage/cairo-civil")
    assert answer.headers["Location"] == "/sign-in?next=/manage/cairo-civil"


def test_wrong_password_and_unknown_name_read_the_same(client, make_branch, make_person):
    make_branch()
    make_person("mona", "staff")
    wrong = sign_in(client, "mona", "not the password")
    nobody = sign_in(client, "nobody", "not the password")
    assert wrong.status_code == nobody.status_code == 401
    assert "اسم المستخدم أو كلمة المرور غير صحيحة" in wrong.text

    def without_csrf(html: str) -> str:
        return html.replace(csrf_of(html), "")

    assert without_csrf(wrong.text).replace("mona", "") == without_csrf(nobody.text).replace(
        "nobody", ""
    )
    assert _cookie(client) is None


def test_sign_in_without_the_csrf_token_is_refused(client, make_branch, make_person):
    make_branch()
    make_person("mona", "staff")
    answer = client.post("/sign-in", data={"username": "mona", "password": PASSWORD})
    assert answer.status_code == 400
    assert _cookie(client) is None
    answer = client.post(
        "/sign-in", data={"username": "mona", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert answer.status_code == 400
    assert _cookie(client) is None


def test_five_wrong_passwords_lock_the_account_from_any_address(
    app, client, make_branch, make_person, clock
):
    make_branch()
    make_person("mona", "staff")
    for n in range(people.LOCK_AFTER):
        # Each from another address: the lock is the account's, not the address's.
        token = csrf_of(client.get("/sign-in").text)
        answer = client.post(
            "/sign-in",
            data={"username": "mona", "password": f"wrong {n}", "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n + 1}"},
        )
        assert answer.status_code == 401
    locked = sign_in(client, "mona")  # even the right password
    assert locked.status_code == 429
    assert _cookie(client) is None
    clock.advance(seconds=(timedelta(minutes=people.LOCK_MINUTES + 1)).total_seconds())
    assert sign_in(client, "mona").status_code == 303


def test_sign_in_is_throttled_per_address(client, make_branch):
    make_branch()
    statuses = []
    for n in range(12):
        token = csrf_of(client.get("/sign-in").text)
        statuses.append(
            client.post(
                "/sign-in",
                data={"username": f"guess{n}", "password": "x" * 10, "csrf_token": token},
            ).status_code
        )
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


def test_a_new_session_every_sign_in_and_the_old_one_is_worth_nothing(
    client, make_branch, make_person
):
    """Session fixation: a cookie set before signing in (by an attacker, say) is never
    promoted; each sign-in issues a new one."""
    make_branch()
    make_person("mona", "staff")
    client.set_cookie(COOKIE, "planted-by-someone-else")
    sign_in(client, "mona")
    first = _cookie(client)
    assert first
    assert first != "planted-by-someone-else"
    sign_in(client, "mona")
    second = _cookie(client)
    assert second != first
    client.set_cookie(COOKIE, "planted-by-someone-else")
    assert client.get("/counter/cairo-civil/1").status_code == 303


def test_sign_out_ends_the_session_on_the_server(client, make_branch, make_person):
    make_branch()
    make_person("mona", "staff")
    sign_in(client, "mona")
    token = _cookie(client)
    page = client.get("/counter/cairo-civil/1").text
    answer = client.post("/sign-out", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    assert _cookie(client) is None
    # The old cookie, replayed, opens nothing.
    client.set_cookie(COOKIE, token)
    assert client.get("/counter/cairo-civil/1").status_code == 303


def test_sign_out_without_csrf_is_refused(client, make_branch, make_person):
    make_branch()
    make_person("mona", "staff")
    sign_in(client, "mona")
    assert client.post("/sign-out").status_code == 403
    assert client.get("/counter/cairo-civil/1").status_code == 200


def test_sessions_end_when_idle_and_after_a_working_day(client, make_branch, make_person, clock):
    make_branch()
    make_person("mona", "staff")
    sign_in(client, "mona")
    clock.advance(seconds=(people.IDLE - timedelta(minutes=1)).total_seconds())
    assert client.get("/counter/cairo-civil/1").status_code == 200
    clock.advance(seconds=(people.IDLE + timedelta(seconds=1)).total_seconds())
    assert client.get("/counter/cairo-civil/1").status_code == 303
    sign_in(client, "mona")
    for _ in range(6):  # active all day (11 hours), never idle
        clock.advance(seconds=(timedelta(hours=1, minutes=50)).total_seconds())
        assert client.get("/counter/cairo-civil/1").status_code == 200
    clock.advance(seconds=(timedelta(hours=1, minutes=1)).total_seconds())  # past 12 hours
    assert client.get("/counter/cairo-civil/1").status_code == 303


def test_disabling_or_resetting_ends_every_session(app, client, make_branch, make_person, clock):
    make_branch()
    make_person("mona", "staff")
    sign_in(client, "mona")
    people.set_disabled(db.session, clock, "mona", True)
    assert client.get("/counter/cairo-civil/1").status_code == 303
    assert sign_in(client, "mona").status_code == 403
    people.set_disabled(db.session, clock, "mona", False)
    assert sign_in(client, "mona").status_code == 303
    new = people.reset_password(db.session, clock, "mona")
    assert client.get("/counter/cairo-civil/1").status_code == 303
    assert sign_in(client, "mona").status_code == 401
    assert sign_in(client, "mona", new).status_code == 303


def test_the_session_token_is_stored_hashed(app, client, make_branch, make_person):
    make_branch()
    make_person("mona", "staff")
    sign_in(client, "mona")
    raw = _cookie(client)
    stored = db.session.scalars(select(SignedInSession.token_hash)).all()
    assert raw not in stored
    assert len(stored) == 1


def test_second_factor_asks_for_a_code_once(app, client, make_branch, make_person, clock):
    make_branch()
    make_person("samir", "manager")
    uri = people.set_second_factor(db.session, "samir", True)
    assert uri
    assert uri.startswith("otpauth://totp/")
    answer = sign_in(client, "samir")
    assert answer.headers["Location"].startswith("/sign-in/code")
    # Nothing opens until the code is given.
    assert client.get("/manage/cairo-civil").status_code == 303
    page = client.get("/sign-in/code")
    assert page.status_code == 200
    wrong = client.post("/sign-in/code", data={"code": "000000", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401
    secret = people.find_person(db.session, "samir").totp_secret
    code = people.current_code(secret, clock.now())
    right = client.post("/sign-in/code", data={"code": code, "csrf_token": csrf_of(page.text)})
    assert right.status_code == 303
    assert right.headers["Location"] == "/manage/cairo-civil"
    assert client.get("/manage/cairo-civil").status_code == 200
    # The same code a second time (another sign-in within its 30 seconds) is refused.
    sign_in(client, "samir")
    again = client.post("/sign-in/code", data={"code": code, "csrf_token": csrf_of(page.text)})
    assert again.status_code == 401


def test_staff_cannot_have_a_second_factor(app, make_branch, make_person):
    make_branch()
    make_person("mona", "staff")
    with pytest.raises(people.InvalidInput):
        people.set_second_factor(db.session, "mona", True)


@pytest.mark.parametrize(
    ("username", "role", "branches", "password"),
    [
        ("x", "staff", ("cairo-civil",), PASSWORD),  # too short a name
        ("mona lisa", "staff", ("cairo-civil",), PASSWORD),  # a space
        ("mona", "kiosk", ("cairo-civil",), PASSWORD),  # not a person's role
        ("mona", "staff", (), PASSWORD),  # no branch
        ("mona", "admin", ("cairo-civil",), PASSWORD),  # an admin has no branch
        ("mona", "staff", ("cairo-civil",), "short"),  # a weak password
        ("mona", "staff", ("nowhere",), PASSWORD),  # no such branch
    ],
)
def test_bad_accounts_are_refused_and_nothing_is_stored(
    app, make_branch, clock, username, role, branches, password
):
    make_branch()
    with pytest.raises(people.QueueError):
        people.create_person(
            db.session,
            clock,
            username,
            role=role,
            branch_codes=branches,
            password=password,
        )
    db.session.rollback()
    assert people.list_people(db.session, clock) == []


def test_a_user_name_is_taken_once(app, make_branch, make_person):
    make_branch()
    make_person("mona", "staff")
    with pytest.raises(people.StateConflict):
        make_person("MONA", "manager")


def test_passwords_are_argon2_hashes(app, make_branch, make_person):
    make_branch()
    person = make_person("mona", "staff")
    assert person.password_hash.startswith("$argon2id$")
    assert PASSWORD not in person.password_hash


def test_signing_in_and_out_is_in_the_audit_trail(client, make_branch, make_person):
    from queue_app.models import AuditEvent

    make_branch()
    make_person("mona", "staff")
    sign_in(client, "mona", "not the password")
    sign_in(client, "nobody", "not the password")  # no account: nothing to record it under
    sign_in(client, "mona")
    page = client.get("/counter/cairo-civil/1").text
    client.post("/sign-out", data={"csrf_token": csrf_of(page)})
    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.outcome, AuditEvent.actor, AuditEvent.note).order_by(
            AuditEvent.id
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("person.sign_in", "refused", "Mona (staff)", "wrong password"),
        ("person.sign_in", "done", "Mona (staff)", None),
        ("person.sign_out", "done", "Mona (staff)", None),
    ]
    assert all(PASSWORD not in str(r) for r in rows)
