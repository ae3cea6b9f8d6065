"""Waiting anywhere on the screens: the kiosk takes tickets before the opening and says when the
office opens; the ticket page shows the wait from the opening, and the "turn near" text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from queue_app import turn_near
from queue_app.web.extensions import db
from tests.pages.conftest import page_blob

KIOSK = "/kiosk/cairo-civil"
TUESDAY_0700 = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # Cairo; the branch opens at 08:00


@pytest.fixture
def early_branch(make_branch, clock):
    branch = make_branch()
    branch.early_tickets_minutes = 90
    branch.turn_near_minutes = 15
    db.session.commit()
    clock.set(TUESDAY_0700)
    return branch


def _tile(html: str, service: str) -> str:
    match = re.search(rf'<button[^>]*data-service="{service}".*?</button>', html, re.S)
    assert match, f"no tile for {service}"
    return match.group(0)


def test_the_kiosk_takes_tickets_before_the_opening_and_says_when_it_opens(client, early_branch):
    tile = _tile(client.get(KIOSK).text, "id-card")
    assert 'data-mode="ticket"' in tile
    assert "يفتح المكتب الساعة ٨:٠٠ ص. يمكنك أخذ تذكرتك الآن" in tile
    english = _tile(client.get(KIOSK + "?lang=en").text, "id-card")
    assert "The office opens at 8:00\u202fAM. You can take your ticket now" in english


def test_before_the_window_the_kiosk_offers_no_ticket(client, early_branch, clock):
    clock.set(datetime(2026, 11, 24, 4, 0, tzinfo=UTC))  # 06:00, the window opens at 06:30
    tile = _tile(client.get(KIOSK).text, "id-card")
    assert 'data-mode="ticket"' not in tile
    assert "يفتح المكتب الساعة" not in tile


def test_the_ticket_page_counts_the_wait_from_the_opening(client, early_branch, take_ticket):
    take_ticket()
    second = take_ticket(phone="010 1234 5678")
    html = client.get(f"/t/{second['token']}").text
    # An hour to 08:00, then the six minutes of the one ahead.
    assert second["eta_minutes"] == 66
    assert 'id="eta-row" hidden' not in html
    assert "يفتح المكتب الساعة ٨:٠٠ ص" in html
    assert page_blob(html)["closed"]["early_tickets"] is True


def test_the_ticket_page_history_shows_the_turn_near_text(client, early_branch, take_ticket, clock):
    ticket = take_ticket(phone="010 1234 5678")
    clock.set(datetime(2026, 11, 24, 5, 50, tzinfo=UTC))  # 07:50: ten minutes to go
    assert turn_near.tell_turn_near(db.session, clock) == 1
    assert "أُبلغت برسالة نصية أن دورك اقترب" in client.get(f"/t/{ticket['token']}").text
    english = client.get(f"/t/{ticket['token']}?lang=en").text
    assert "Told by text message that your turn is near" in english
