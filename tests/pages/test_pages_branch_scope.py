"""Every page for staff and managers, and every console form, refuses the people of another
branch (403) and sends anyone signed out to the sign-in; staff may not open a manager's page.
Walked from the app's own routes, so a new page is covered the day it is added."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.conftest import csrf_of, sign_in

SIGNED_IN_PAGES = ("/manage/", "/counter/")
# Values for the routes' other parts: a counter, a weekday, ids, a system.
PARTS = {
    "counter_code": "1",
    "override_id": "1",
    "holiday_id": "1",
    "special_id": "1",
    "weekday": "0",
    "window_id": "1",
    "backend_code": "civil-registry",
}


def _routes(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(SIGNED_IN_PAGES):
            continue
        path = rule.rule.replace("<branch_code>", "cairo-civil")
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: PARTS[m.group(1)], path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_there_are_pages_to_check(app):
    assert len(_routes(app)) >= 15


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_another_branch_s_people_are_refused_everywhere(
    app, client, make_branch, make_person, role
):
    make_branch()
    make_branch("giza")
    make_person("giza-person", role, branches=("giza",))
    sign_in(client, "giza-person")
    csrf = csrf_of(client.get("/counter/giza").text)
    answers = {
        (method, path): client.open(
            path, method=method, data={"csrf_token": csrf, "confirmed": "yes"}
        ).status_code
        for method, path in _routes(app)
    }
    assert {k: v for k, v in answers.items() if v != 403} == {}


def test_staff_may_not_open_manager_pages(app, client, make_branch, make_person):
    make_branch()
    make_person("mona", "staff")
    sign_in(client, "mona")
    csrf = csrf_of(client.get("/counter/cairo-civil").text)
    manager_pages = [(m, p) for m, p in _routes(app) if p.startswith("/manage/")]
    answers = {
        (method, path): client.open(
            path, method=method, data={"csrf_token": csrf, "confirmed": "yes"}
        ).status_code
        for method, path in manager_pages
    }
    assert {k: v for k, v in answers.items() if v != 403} == {}


def test_signed_out_everyone_is_sent_to_sign_in(app, client, make_branch):
    make_branch()
    for method, path in _routes(app):
        answer = client.open(path, method=method)
        assert answer.status_code == 303, (method, path)
        # A page comes back to itself; a form to the console that holds it.
        back = path if method == "GET" else "/manage/cairo-civil"
        assert answer.headers["Location"] == f"/sign-in?next={back}", (method, path)
