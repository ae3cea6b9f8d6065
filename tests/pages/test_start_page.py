"""/ through the test client, on both databases: the start page a newcomer finds at the server's
address. Public, Arabic first and right to left, every office with its links."""

from __future__ import annotations

from sqlalchemy import func, select

from queue_app.models import Branch, Message, Ticket
from queue_app.web.extensions import db


def test_arabic_right_to_left_with_every_office_and_its_links(client, make_branch):
    make_branch()
    jeddah = make_branch("jeddah-north", timezone="Asia/Riyadh", country="SA")
    jeddah.name_ar, jeddah.name_en = "بلدية شمال جدة", "North Jeddah municipality"
    db.session.commit()
    response = client.get("/")  # no Authorization header, no cookie
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "<h1>نظام الانتظار الإلكتروني</h1>" in html
    assert "Virtual queue" in html  # the product's name in English, beside
    assert "اختر مكتبك" in html
    for code, arabic, english in [
        ("cairo-civil", "سجل مدني مدينة نصر", "Nasr City civil registry"),
        ("jeddah-north", "بلدية شمال جدة", "North Jeddah municipality"),
    ]:
        assert f'data-test="branch-{code}"' in html
        assert f'<strong lang="ar" dir="rtl">{arabic}</strong>' in html
        assert f'<span class="name-en" lang="en" dir="ltr">{english}</span>' in html
        assert f'href="/book/{code}"' in html
        assert f'href="/display/{code}"' in html
        assert f'href="/kiosk/{code}"' in html
    assert html.count('href="/status#systems"') == 2
    assert 'href="/status"' in html
    assert "حجز موعد" in html


def test_english_left_to_right(client, make_branch):
    make_branch()
    html = client.get("/?lang=en").text
    assert '<html lang="en" dir="ltr">' in html
    assert "<h1>Virtual queue</h1>" in html
    assert "نظام الانتظار الإلكتروني" in html  # and the Arabic name beside
    assert "Book an appointment" in html
    assert 'href="/display/cairo-civil"' in html


def test_every_link_opens_without_a_token(client, make_branch):
    make_branch()
    html = client.get("/").text
    for path in ["/book/cairo-civil", "/display/cairo-civil", "/kiosk/cairo-civil", "/status"]:
        assert f'href="{path}' in html
        assert client.get(path).status_code == 200, path
    # And the way in for staff and managers.
    assert 'href="/sign-in" data-test="sign-in-link">دخول الموظفين</a>' in html
    assert client.get("/sign-in").status_code == 200


def test_no_offices_yet(client):
    response = client.get("/?lang=en")
    assert response.status_code == 200
    assert "No offices are set up yet." in response.text


def test_office_names_are_escaped_and_nothing_changes(client, make_branch):
    branch = make_branch()
    branch.name_en = "<script>alert(1)</script>"
    db.session.commit()
    counts = [
        db.session.scalar(select(func.count()).select_from(t)) for t in (Branch, Ticket, Message)
    ]
    html = client.get("/").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert [
        db.session.scalar(select(func.count()).select_from(t)) for t in (Branch, Ticket, Message)
    ] == counts
