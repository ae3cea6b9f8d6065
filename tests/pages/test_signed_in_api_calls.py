"""The API called with a signed-in person's session (the counter screen, the console) instead of
a bearer token: the CSRF header is required on every call that changes something, and the
person's branches bound what they may touch."""

from __future__ import annotations

from tests.conftest import csrf_of


def _csrf(client):
    """The CSRF token of the pages this session opens."""
    return csrf_of(client.get("/counter/cairo-civil").text)


def test_staff_call_next_with_the_session_and_the_csrf_header(
    client, make_branch, take_ticket, signed_in
):
    make_branch()
    take_ticket()
    signed_in("staff")
    answer = client.post(
        "/api/v1/branches/cairo-civil/counters/1/call-next",
        headers={"X-CSRFToken": _csrf(client)},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["number"] == "A-001"


def test_a_cookie_alone_changes_nothing(client, make_branch, take_ticket, signed_in):
    """A page on another site can make the browser send our cookie, not our CSRF token."""
    make_branch()
    take_ticket()
    signed_in("staff")
    answer = client.post("/api/v1/branches/cairo-civil/counters/1/call-next")
    assert answer.status_code == 403
    assert answer.json["error"] == "forbidden"
    forged = client.post(
        "/api/v1/branches/cairo-civil/counters/1/call-next", headers={"X-CSRFToken": "forged"}
    )
    assert forged.status_code == 403
    # Nothing was called.
    assert client.get("/api/v1/branches/cairo-civil").json["counters"][0]["now_serving"] is None


def test_reading_needs_no_csrf_header(client, make_branch, signed_in):
    make_branch()
    signed_in("staff")
    assert client.get("/api/v1/branches/cairo-civil").status_code == 200


def test_the_person_s_branches_bound_the_api(client, make_branch, take_ticket, signed_in):
    make_branch()
    make_branch("giza-civil")
    take_ticket()
    signed_in("staff", branches=("giza-civil",))
    csrf = csrf_of(client.get("/counter/giza-civil").text)
    answer = client.post(
        "/api/v1/branches/cairo-civil/counters/1/call-next", headers={"X-CSRFToken": csrf}
    )
    assert answer.status_code == 403


def test_a_person_of_two_branches_acts_in_both(client, make_branch, take_ticket, signed_in):
    make_branch()
    make_branch("giza-civil")
    take_ticket()
    signed_in("staff", branches=("giza-civil", "cairo-civil"))
    csrf = csrf_of(client.get("/counter/giza-civil").text)
    answer = client.post(
        "/api/v1/branches/cairo-civil/counters/1/call-next", headers={"X-CSRFToken": csrf}
    )
    assert answer.status_code == 200


def test_without_token_or_session_the_api_answers_401(client, make_branch):
    make_branch()
    answer = client.post("/api/v1/branches/cairo-civil/counters/1/call-next")
    assert answer.status_code == 401
    assert answer.json["error"] == "unauthorized"
