"""Error pages: the reader's language, words about the page that failed, no stack trace."""

from __future__ import annotations


def test_unknown_address_in_arabic_and_english(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert '<html lang="ar" dir="rtl">' in response.text
    assert "هذه الصفحة غير موجودة" in response.text
    assert "٤٠٤" in response.text
    english = client.get("/no-such-page?lang=en")
    assert "This page does not exist" in english.text
    assert '<p class="error-status">404</p>' in english.text


def test_the_domains_english_message_stays_off_the_arabic_page(client, make_branch):
    make_branch()
    html = client.get("/t/forged-token-forged-token").text
    assert "no such ticket" not in html
    assert "لم نعثر على هذه التذكرة" in html


def test_wrong_method_is_explained(client, make_branch):
    make_branch()
    response = client.post("/display/cairo-civil")
    assert response.status_code == 405
    assert "لا يمكن استخدام هذه الصفحة بهذه الطريقة" in response.text


def test_the_api_keeps_its_json_errors(client):
    response = client.get("/api/v1/tickets/forged-token-forged-token")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
