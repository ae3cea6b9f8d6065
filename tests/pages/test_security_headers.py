"""Security headers on every kind of answer (queue_app/web/security_headers.py), and pages that
keep to the Content-Security-Policy: no inline script, style or event handler."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from queue_app.app import create_app

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "accelerometer=(), camera=()",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'",
}


def _assert_headers(response: Any, *, token_in_url: bool = False) -> None:
    for name, start in EVERYWHERE.items():
        assert response.headers.get(name, "").startswith(start), (name, response.headers)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    referrer = "no-referrer" if token_in_url else "strict-origin-when-cross-origin"
    assert response.headers["Referrer-Policy"] == referrer
    # The test settings' public URL is http and the test client's requests too.
    assert "Strict-Transport-Security" not in response.headers


@pytest.fixture
def ticket(make_branch: Callable[..., Any], take_ticket: Callable[..., dict[str, Any]]) -> str:
    make_branch()
    return take_ticket()["token"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/status", 200),
        ("/book/cairo-civil", 200),
        ("/display/cairo-civil", 200),
        ("/counter/cairo-civil/1", 303),  # to the sign-in
        ("/manage/cairo-civil", 303),
        ("/sign-in", 200),
        ("/kiosk/cairo-civil", 200),
        ("/healthz", 200),
        ("/api/v1/branches", 200),  # the JSON API
        ("/api/v1/branches/nowhere", 404),  # an API error
        ("/no/such/page", 404),  # the error page
        ("/display/nowhere", 404),
    ],
)
def test_every_kind_of_answer_carries_the_headers(
    client: FlaskClient, ticket: str, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status
    _assert_headers(response)


def test_an_api_error_from_a_post_carries_the_headers(client: FlaskClient, ticket: str) -> None:
    response = client.post("/api/v1/branches/cairo-civil/tickets", json={"service": "id-card"})
    assert response.status_code == 401
    assert response.is_json
    _assert_headers(response)


@pytest.mark.parametrize(
    "path", ["/static/queue.css", "/static/pages.js", "/kiosk-static/kiosk.js"]
)
def test_static_files_carry_the_headers(client: FlaskClient, path: str) -> None:
    with client.get(path) as response:  # a file response: close it
        assert response.status_code == 200
        _assert_headers(response)


@pytest.mark.parametrize(
    "path", ["/t/{token}", "/api/v1/tickets/{token}", "/t/{token}/qr.png", "/t/nonsense-token"]
)
def test_answers_under_a_ticket_address_send_no_referrer(
    client: FlaskClient, ticket: str, path: str
) -> None:
    response = client.get(path.format(token=ticket))
    _assert_headers(response, token_in_url=True)


@pytest.mark.parametrize("path", ["/t/{token}", "/api/v1/tickets/{token}"])
def test_a_ticket_is_never_kept_in_a_cache(client: FlaskClient, ticket: str, path: str) -> None:
    response = client.get(path.format(token=ticket))
    assert response.status_code == 200
    assert response.cache_control.no_store


def test_the_qr_image_keeps_its_own_private_caching(client: FlaskClient, ticket: str) -> None:
    response = client.get(f"/t/{ticket}/qr.png")
    assert response.cache_control.private
    assert not response.cache_control.no_store


def test_hsts_when_the_request_is_https(client: FlaskClient, ticket: str) -> None:
    response = client.get("/status", base_url="https://queue.test")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"


def test_hsts_when_the_public_url_is_https_behind_a_proxy(app: Flask) -> None:
    settings = dataclasses.replace(
        app.extensions["queue_app"].settings, public_url="https://queue.gov.example"
    )
    behind_tls = create_app(settings, clock=app.extensions["queue_app"].clock)
    response = behind_tls.test_client().get("/healthz")  # plain http from the proxy
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"


class _InlineCode(HTMLParser):
    """Collects what a strict Content-Security-Policy would refuse to run or apply."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/status",
        "/book/cairo-civil",
        "/display/cairo-civil",
        "/counter/cairo-civil/1",
        "/counter/cairo-civil",
        "/manage/cairo-civil",
        "/sign-in",
        "/kiosk/cairo-civil",
        "/t/{token}",
        "/kiosk/cairo-civil/tickets/{token}/print",
        "/no/such/page",
    ],
)
def test_pages_have_no_inline_script_or_style(
    client: FlaskClient, ticket: str, signed_in: Callable[..., FlaskClient], path: str
) -> None:
    signed_in("admin")  # the pages for staff and managers render, not their redirect
    response = client.get(path.format(token=ticket))
    assert response.status_code in (200, 404), path
    parser = _InlineCode()
    parser.feed(response.get_data(as_text=True))
    assert parser.found == [], path
