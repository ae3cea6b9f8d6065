"""The 80 mm printable ticket, through the test client: Arabic first, the QR code decodes to the
ticket's page, and only the ticket's own branch shows it."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

import pytest
from flask_babel import force_locale, gettext
from werkzeug.serving import make_server

from tests.helpers.qr_reading import decode, raster

CHROMIUM = shutil.which("chromium")

INLINE_SVG = re.compile(r"<svg\b.*?</svg>", re.S)


@pytest.fixture
def take_ticket(client, make_token):
    def take(branch: str = "cairo-civil", **body):
        response = client.post(
            f"/api/v1/branches/{branch}/tickets",
            json={"service": "id-card", **body},
            headers=make_token("kiosk", branch),
        )
        assert response.status_code == 201, response.json
        return response.json

    return take


def _page(client, ticket, branch="cairo-civil", query=""):
    return client.get(f"/kiosk/{branch}/tickets/{ticket['token']}/print{query}")


def test_the_page_is_arabic_first_with_the_number(client, make_branch, take_ticket):
    make_branch()
    ticket = take_ticket()
    response = _page(client, ticket)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert f'<p class="number" dir="ltr" id="number">{ticket["number"]}</p>' in html
    # Each line in Arabic, then in English under it.
    arabic = html.index('<span lang="ar" dir="rtl">سجل مدني مدينة نصر</span>')
    english = html.index('<span lang="en" dir="ltr">Nasr City civil registry</span>')
    assert arabic < english
    assert '<span lang="ar" dir="rtl">خدمة A</span>' in html
    assert "/kiosk-static/printed_ticket.css" in html
    with client.get("/kiosk-static/printed_ticket.css") as style:  # a file response: close it
        assert "@page { size: 80mm " in style.get_data(as_text=True)


def test_the_qr_code_on_the_page_decodes_to_exactly_the_ticket_page(
    client, make_branch, take_ticket
):
    make_branch()
    ticket = take_ticket()
    html = _page(client, ticket).get_data(as_text=True)
    svgs = INLINE_SVG.findall(html)
    assert len(svgs) == 1
    assert decode(raster(svgs[0])) == [ticket["status_url"]]
    assert ticket["status_url"] == f"http://queue.test/t/{ticket['token']}"


def test_people_ahead_in_both_languages(client, make_branch, take_ticket):
    make_branch()
    first = take_ticket()
    take_ticket()
    third = take_ticket()
    html = _page(client, third).get_data(as_text=True)
    assert '<div class="fact" lang="ar" dir="rtl">' in html
    assert "<dd>٢</dd>" in html  # Arabic-Indic digits on the Arabic line
    assert "<dd>2</dd>" in html
    assert "<dd>12 minutes</dd>" in html  # two people at six minutes each, one counter
    first_html = _page(client, first).get_data(as_text=True)
    assert "<dd>You are next</dd>" in first_html
    with force_locale("ar"):  # the catalog's words, whatever they are
        assert f"<dd>{gettext('You are next')}</dd>" in first_html
        assert f"<dt>{gettext('People ahead of you')}</dt>" in first_html


def test_priority_tickets_say_so(client, make_branch, take_ticket):
    make_branch()
    html = _page(client, take_ticket(priority=True)).get_data(as_text=True)
    assert 'class="priority pair"' in html
    assert "Priority ticket" in html
    assert "Priority ticket" not in _page(client, take_ticket()).get_data(as_text=True)


def test_prints_on_load_only_when_asked(client, make_branch, take_ticket):
    make_branch()
    ticket = take_ticket()
    assert '<body data-autoprint="0">' in _page(client, ticket).get_data(as_text=True)
    asked = _page(client, ticket, query="?autoprint=1").get_data(as_text=True)
    assert '<body data-autoprint="1">' in asked
    with client.get("/kiosk-static/printed_ticket.js") as script:
        assert "if (autoprint) window.print();" in script.get_data(as_text=True)


def test_the_kiosk_page_may_frame_it_and_no_other_site(client, make_branch, take_ticket):
    make_branch()
    response = _page(client, take_ticket())
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert "<style" not in response.get_data(as_text=True)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM, reason="needs Debian's chromium")
@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)  # the browser is the point here
def test_a_browser_prints_it_on_one_page_80_mm_wide(
    client, make_branch, take_ticket, tmp_path, db_kind
):
    make_branch()
    ticket = take_ticket(priority=True)
    # Served over http, as the kiosk gets it: its style sheet and script are static files, and
    # the script changes the sheet, which a browser allows only for a sheet of the page's origin.
    server = make_server("127.0.0.1", 0, client.application, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    pdf = tmp_path / "ticket.pdf"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--print-to-pdf={pdf}",
            f"http://127.0.0.1:{server.port}/kiosk/cairo-civil/tickets/{ticket['token']}/print",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    server.shutdown()
    serving.join()
    server.server_close()
    pages = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf.read_bytes())
    assert len(pages) == 1
    width, length = (float(points) * 25.4 / 72 for points in pages[0])
    assert width == pytest.approx(80, abs=0.5)
    # As long as the ticket: not the 200 mm the style sheet holds until the script measures.
    assert 100 < length < 195


def test_never_cached(client, make_branch, take_ticket):
    make_branch()
    response = _page(client, take_ticket())
    assert "no-store" in response.headers["Cache-Control"]


def test_forged_token_gets_a_not_found_page(client, make_branch):
    make_branch()
    response = client.get("/kiosk/cairo-civil/tickets/forged-token-forged-token/print")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "forged" not in response.get_data(as_text=True)


@pytest.mark.parametrize("branch", ["giza-traffic", "no-such-branch"])
def test_another_branchs_address_does_not_show_the_ticket(client, make_branch, take_ticket, branch):
    make_branch()
    make_branch("giza-traffic")
    ticket = take_ticket()
    response = _page(client, ticket, branch=branch)
    assert response.status_code == 404
    assert ticket["number"] not in response.get_data(as_text=True)


def test_a_booking_without_a_number_prints_its_time_the_warning_and_its_code(
    client, make_branch, make_token
):
    make_branch()
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": "2026-11-25T11:00:00+02:00"},
        headers=make_token("kiosk"),
    )
    assert booked.status_code == 201, booked.json
    html = _page(client, booked.json).get_data(as_text=True)
    warning = (
        "No text message will come: you left no mobile number. Keep this slip. If your time "
        "changes, the new time is shown on the board in the hall and on this ticket's page "
        "(scan the code)."
    )
    with force_locale("ar"):
        arabic_label, arabic_warning = gettext("Your time"), gettext(warning)
    assert arabic_warning.startswith("لن")  # translated
    # The time: Arabic first, with Arabic-Indic digits, then English.
    assert html.index(f"<dt>{arabic_label}</dt><dd>الأربعاء ٢٥ نوفمبر") < html.index(
        "<dt>Your time</dt><dd>Wednesday 25 November at 11:00\u202fAM</dd>"
    )
    warning = html.index('id="no-phone"')
    assert html.index(arabic_warning, warning) < html.index("No text message will come", warning)
    [svg] = INLINE_SVG.findall(html)
    assert decode(raster(svg)) == [booked.json["status_url"]]
