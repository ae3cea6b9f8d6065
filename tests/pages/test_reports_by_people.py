"""Staff reports from the counter screen, made by signed-in people: each person counts once,
however often they press, and enough people of one branch pause it there."""

from __future__ import annotations

from sqlalchemy import update

from queue_app.models import Branch
from queue_app.web.extensions import db
from tests.conftest import csrf_of, sign_in


def _report(client, branch: str = "cairo-civil"):
    csrf = csrf_of(client.get(f"/counter/{branch}/1").text)
    return client.post(
        "/api/v1/backends/civil-registry/reports",
        json={"branch": branch},
        headers={"X-CSRFToken": csrf},
    )


def test_one_person_pressing_three_times_is_one_report(
    app, client, make_branch, make_backend, make_person
):
    backend = make_backend()
    make_branch(backends=[backend])
    db.session.execute(update(Branch).values(reports_needed=2))
    db.session.commit()
    make_person("mona", "staff")
    make_person("omar", "staff")
    sign_in(client, "mona")
    for _ in range(3):
        answer = _report(client)
        assert answer.status_code == 200, answer.json
        assert answer.json["reports"] == 1
    assert answer.json["backend"]["down_at"] == []
    other = app.test_client()
    sign_in(other, "omar")
    answer = _report(other)
    assert answer.status_code == 200, answer.json
    assert answer.json["reports"] == 2
    assert answer.json["backend"]["down_at"] == ["cairo-civil"]
    # Staff say it works again: their reports raised it, so they may.
    csrf = csrf_of(other.get("/counter/cairo-civil/1").text)
    back = other.post(
        "/api/v1/backends/civil-registry/back",
        json={"branch": "cairo-civil"},
        headers={"X-CSRFToken": csrf},
    )
    assert back.status_code == 200, back.json
    assert back.json["down_at"] == []


def test_the_counter_screen_offers_the_report_for_its_systems(
    client, make_branch, make_backend, signed_in
):
    backend = make_backend()
    make_branch(backends=[backend])
    signed_in("staff")
    html = client.get("/counter/cairo-civil/1").text
    assert 'data-test="report-civil-registry"' in html
    assert 'data-test="back-civil-registry"' in html
    assert "الأنظمة الحكومية" in html
