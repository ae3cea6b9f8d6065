"""/manage/<branch>/statistics through the test client: who may open it (a bearer token until
sign-in exists), the tables under the charts, Arabic first, CSV, and bad dates."""

from __future__ import annotations

import re
from datetime import date

import pytest

from queue_app.models import Outage
from tests.helpers.statistics_day import build_day
from tests.pages.conftest import page_blob

MONDAY = "2026-11-23"
PAGE = f"/manage/cairo-civil/statistics?from={MONDAY}&to={MONDAY}"


@pytest.fixture
def monday(app, make_backend, make_branch) -> Outage:
    backend = make_backend()
    make_branch(services=[("id-card", "A"), ("passport", "B")], backends=[backend])
    make_branch("alex-civil", backends=[backend])
    return build_day("cairo-civil", date(2026, 11, 23), "id-card", "passport", backend.code)


def _rows(html: str, table: str) -> list[str]:
    body = re.search(rf'<table[^>]*id="{table}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, f"no table {table}"
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)


def test_without_signing_in_the_page_sends_to_the_sign_in(client, monday, make_token) -> None:
    for headers in ({}, make_token("manager")):  # a page answers people, not tokens
        response = client.get(PAGE, headers=headers)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/sign-in?next=")
        assert "page-data" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "branch"),
    [("staff", "cairo-civil"), ("manager", "alex-civil")],
)
def test_staff_and_other_branches_managers_get_403(client, monday, signed_in, role, branch) -> None:
    signed_in(role, branches=(branch,))
    response = client.get(PAGE)
    assert response.status_code == 403
    assert response.mimetype == "text/html"


def test_the_manager_s_page_in_arabic(client, monday, signed_in) -> None:
    response = signed_in("manager").get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "الإحصاءات" in html
    # The summary and the tables, with Arabic-Indic digits: the p90 wait is 60.0 minutes.
    assert re.search(r'data-test="p90">٦٠\.٠<', html)
    assert len(_rows(html, "table-hours")) == 4  # hours 0, 9, 10 and 11
    assert len(_rows(html, "table-waits")) == 10
    assert "خدمة A" in _rows(html, "table-services")[0]
    no_shows = _rows(html, "table-no-shows")[0]
    assert "٣٣.٣ %" in no_shows  # 2 of 6 finished
    (outage,) = _rows(html, "table-outages")
    assert "١.٢" in outage  # citizen-hours avoided
    blob = page_blob(html)
    assert blob["rtl"] is True
    assert blob["figures"]["wait"]["p90_minutes"] == 60.0
    assert blob["words"]["arrived"] == "وصلوا"
    assert (
        '<script src="/static/vendor/chartjs/chart.umd.min.js"></script>' in html
    )  # our own copy: no internet needed


def test_the_page_in_english(client, monday, signed_in) -> None:
    html = signed_in("admin").get(PAGE + "&lang=en").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in html
    assert "Tickets per hour of the day" in html
    assert re.search(r'data-test="p90">60\.0<', html)


def test_the_page_s_csv(client, monday, signed_in) -> None:
    response = signed_in("manager").get(PAGE + "&format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.get_data().startswith(b"\xef\xbb\xbfsummary\r\n")


@pytest.mark.parametrize(
    "query",
    [
        "from=yesterday&to=2026-11-23",
        "from=2026-11-24&to=2026-11-23",
        "from=2024-01-01&to=2025-01-01",
    ],
)
def test_bad_dates_answer_a_readable_422_page(client, monday, signed_in, query) -> None:
    response = signed_in("manager").get(f"/manage/cairo-civil/statistics?{query}")
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "page-data" not in response.get_data(as_text=True)


def test_without_a_range_the_last_week(client, monday, signed_in) -> None:
    html = signed_in("manager").get("/manage/cairo-civil/statistics").get_data(as_text=True)
    # The test clock stands on Tuesday 24 November: the week is the 18th to the 24th.
    assert page_blob(html)["figures"]["from"] == "2026-11-18"
    assert page_blob(html)["figures"]["to"] == "2026-11-24"


def test_an_unknown_branch_answers_404(client, monday, signed_in) -> None:
    response = signed_in("admin").get("/manage/nowhere/statistics")
    assert response.status_code == 404
