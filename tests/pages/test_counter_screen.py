"""The counter screen: staff sign in once; its buttons call the JSON API with the session cookie
and the page's CSRF token. No credential in the page or its storage."""

from __future__ import annotations

import pytest

from tests.pages.conftest import page_blob


def test_counter_screen_renders_buttons_and_the_current_ticket(
    client, make_branch, take_ticket, make_token, signed_in
):
    make_branch()
    signed_in("staff")
    first = take_ticket()
    take_ticket()
    client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=make_token("staff"))
    response = client.get("/counter/cairo-civil/1")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "شباك \u20661\u2069" in html
    for button in ("نداء التالي", "تمت الخدمة", "لم يحضر", "إعادة النداء"):
        assert button in html
    assert '<p class="number" dir="ltr" id="current">A-001</p>' in html
    assert 'type="password"' not in html  # no token to paste any more
    assert "في الانتظار: ١" in html
    # Nothing secret on a page anyone can open: not the called ticket's token.
    assert first["token"] not in html


def test_counter_script_gets_the_api_and_its_words(client, make_branch, signed_in):
    make_branch()
    signed_in("staff")
    blob = page_blob(client.get("/counter/cairo-civil/1?lang=en").text)
    assert blob["branch"] == "cairo-civil"
    assert blob["counter"] == "1"
    assert blob["call_next"] == "/api/v1/branches/cairo-civil/counters/1/call-next"
    assert blob["actions"] == {
        "done": f"/api/v1/tickets/{blob['token_slot']}/done",
        "no_show": f"/api/v1/tickets/{blob['token_slot']}/no-show",
        "recall": f"/api/v1/tickets/{blob['token_slot']}/recall",
        "hold": f"/api/v1/tickets/{blob['token_slot']}/hold",
        "resume": f"/api/v1/tickets/{blob['token_slot']}/resume",
        "back_to_line": f"/api/v1/tickets/{blob['token_slot']}/back-to-line",
        "transfer": f"/api/v1/tickets/{blob['token_slot']}/transfer",
        "came_back": f"/api/v1/tickets/{blob['token_slot']}/came-back",
    }
    assert blob["shortcuts"]["came_back"] == "C"
    words = blob["strings"]
    assert words["came_back"] == "%(number)s came back: called after the next one."
    assert "grace period is over" in words["came_back_late"]
    assert words["nobody_waiting"] == "Nobody is waiting for this counter's services."
    for status in ("unauthorized", "forbidden", "counter_closed", "not_now", "network"):
        assert words[status]
    assert blob["csrf_token"]


def test_counter_screen_in_english(client, make_branch, signed_in):
    make_branch()
    signed_in("staff")
    html = client.get("/counter/cairo-civil/1?lang=en").text
    assert '<html lang="en" dir="ltr">' in html
    assert "Call next" in html
    assert "Signed in as" in html
    assert "Sign out" in html


def test_another_branch_s_staff_cannot_open_the_screen(client, make_branch, signed_in):
    make_branch()
    make_branch("giza-civil")
    signed_in("staff", branches=("giza-civil",))
    assert client.get("/counter/cairo-civil/1").status_code == 403
    assert client.get("/counter/giza-civil/1").status_code == 200


@pytest.mark.parametrize("path", ["/counter/nowhere/1", "/counter/cairo-civil/99"])
def test_unknown_branch_or_counter_is_a_404_page(client, make_branch, signed_in, path):
    make_branch()
    signed_in("admin")
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "لا يوجد فرع أو شباك بهذا الاسم" in response.text
    assert "There is no such branch" in client.get(path + "?lang=en").text


def test_counter_screen_offers_hold_transfer_and_documents_its_keys(client, make_branch, signed_in):
    make_branch(services=[("id-card", "A"), ("birth-cert", "B")], counters=2)
    signed_in("staff")
    html = client.get("/counter/cairo-civil/1?lang=en").text
    for action, key in {
        "call_next": "N",
        "done": "D",
        "no_show": "M",
        "recall": "R",
        "hold": "H",
        "transfer": "T",
        "resume": "U",
        "back_to_line": "B",
    }.items():
        assert f'data-action="{action}" aria-keyshortcuts="{key}"' in html
    shortcuts = html.split('id="shortcuts"')[1].split("</dl>")[0]
    assert "<kbd>H</kbd></dt><dd>Put on hold</dd>" in shortcuts
    assert "<kbd>T</kbd></dt><dd>Transfer to the chosen service or counter</dd>" in shortcuts
    targets = html.split('id="transfer-to"')[1].split("</select>")[0]
    assert '<option value="service:birth-cert">Service B</option>' in targets
    assert '<option value="counter:2">Counter \u20662\u2069</option>' in targets
    assert 'value="counter:1"' not in targets  # not to itself
    blob = page_blob(html)
    assert blob["actions"]["transfer"] == f"/api/v1/tickets/{blob['token_slot']}/transfer"
    assert blob["actions"]["back_to_line"] == f"/api/v1/tickets/{blob['token_slot']}/back-to-line"
    assert blob["shortcuts"]["hold"] == "H"
    arabic = client.get("/counter/cairo-civil/1?lang=ar").text
    assert "تعليق" in arabic
    assert "اختصارات لوحة المفاتيح" in arabic
