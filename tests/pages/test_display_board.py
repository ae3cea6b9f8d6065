"""The waiting-room board: both languages at once, Arabic first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queue_app.models import BackendState
from queue_app.web.extensions import db
from tests.pages.conftest import page_blob


def test_board_shows_counters_and_services_in_both_languages(
    client, make_branch, take_ticket, make_token
):
    make_branch(counters=2)
    for _ in range(3):
        take_ticket()
    client.post("/api/v1/branches/cairo-civil/counters/2/call-next", headers=make_token("staff"))
    response = client.get("/display/cairo-civil")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "سجل مدني مدينة نصر" in html
    assert "Nasr City civil registry" in html
    assert html.index("الرقم الحالي") < html.index("Now serving")  # Arabic first
    counter_two = html.split('data-counter="2"')[1]
    assert '<p class="now-serving" dir="ltr" data-field="now-serving">A-001</p>' in counter_two
    assert "شباك \u20662\u2069" in counter_two
    assert "Counter \u20662\u2069" in counter_two
    assert "في الانتظار: ٢" in html  # two still waiting, in Arabic-Indic digits...
    assert "Waiting: 2" in html  # ...and in Western digits beside it
    assert "خدمة A" in html
    assert "Service A" in html


def test_board_keeps_arabic_first_whatever_the_cookie(client, make_branch):
    make_branch()
    html = client.get("/display/cairo-civil?lang=en").text
    assert '<html lang="ar" dir="rtl">' in html
    assert html.index("الرقم الحالي") < html.index("Now serving")


def test_board_says_which_system_is_down_and_since_when(client, make_branch, make_backend, clock):
    backend = make_backend()
    make_branch(backends=[backend])
    backend.state = BackendState.DOWN
    backend.state_since = clock.now() - timedelta(minutes=30)  # 09:30 in Cairo
    db.session.commit()
    html = client.get("/display/cairo-civil").text
    assert 'class="service state-paused"' in html
    assert "يوجد عطل في منظومة الأحوال المدنية منذ ٩:٣٠ ص." in html
    assert "Civil registry system has been down since 9:30\u202fAM." in html


def test_board_script_polls_the_branch_in_both_languages(client, make_branch):
    make_branch()
    blob = page_blob(client.get("/display/cairo-civil").text)
    assert blob["api"] == "/api/v1/branches/cairo-civil"
    assert blob["locales"] == ["ar", "en"]
    assert blob["poll_seconds"] <= 5
    assert blob["ar"]["strings"]["now_serving"] == "الرقم الحالي"
    assert blob["en"]["strings"]["now_serving"] == "Now serving"
    assert blob["ar"]["digits"] == "arab"
    assert blob["en"]["digits"] == "latn"


@pytest.mark.parametrize("path", ["/display/nowhere", "/display/"])
def test_unknown_branch_is_a_404_page(client, make_branch, path):
    make_branch()
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "غير موجود" in response.text
