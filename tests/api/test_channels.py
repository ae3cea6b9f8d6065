"""The citizen's channel: a branch's ``channels`` in GET /branches, ``channel`` in the ticket and
booking bodies, stored on the ticket and on its messages; a channel the branch lacks is 422."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_app.models import Message, Ticket
from queue_app.web.extensions import db

BRANCHES = "/api/v1/branches"
AT_11 = "2026-11-24T11:00:00+02:00"  # the fixture's clock is 10:00 in Cairo that Tuesday


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _take(client, make_token, branch: str = "cairo-civil", **body):
    return client.post(
        f"{BRANCHES}/{branch}/tickets",
        json={"service": "id-card", "phone": "01012345678", **body},
        headers=make_token("kiosk", branch),
    )


def test_branches_say_which_channels_they_offer(client, make_branch):
    make_branch("cairo-civil", channels="whatsapp,sms")
    make_branch("giza-traffic")
    listed = {b["code"]: b["channels"] for b in client.get(f"{BRANCHES}").json}
    assert listed == {"cairo-civil": ["whatsapp", "sms"], "giza-traffic": ["sms"]}
    assert client.get(f"{BRANCHES}/cairo-civil").json["channels"] == ["whatsapp", "sms"]


@pytest.mark.parametrize(("asked", "stored"), [(None, "whatsapp"), ("sms", "sms")])
def test_a_ticket_goes_on_the_channel_asked_or_the_branchs_first(
    client, make_branch, make_token, asked, stored
):
    make_branch(channels="whatsapp,sms")
    body = {} if asked is None else {"channel": asked}
    answer = _take(client, make_token, **body)
    assert answer.status_code == 201, answer.json
    assert answer.json["channel"] == stored
    db.session.expire_all()
    assert db.session.scalar(select(Ticket.channel)) == stored
    assert db.session.scalar(select(Message.channel).where(Message.event == "issued")) == stored


@pytest.mark.parametrize(
    ("channels", "asked", "field"),
    [
        ("sms", "whatsapp", "not offered here; choose among sms"),
        ("whatsapp,sms", "telegram", "Must be one of: sms, whatsapp."),
    ],
)
def test_a_channel_the_branch_lacks_is_refused(
    client, make_branch, make_token, channels, asked, field
):
    make_branch(channels=channels)
    answer = _take(client, make_token, channel=asked)
    assert answer.status_code == 422
    assert answer.json["error"] == "invalid_input"
    assert answer.json["fields"]["channel"] == [field]
    assert (_count(Ticket), _count(Message)) == (0, 0)


def test_a_booking_goes_on_its_channel(client, make_branch):
    make_branch(channels="whatsapp,sms")
    answer = client.post(
        f"{BRANCHES}/cairo-civil/appointments",
        json={"service": "id-card", "start": AT_11, "phone": "01012345678", "channel": "sms"},
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["channel"] == "sms"
    db.session.expire_all()
    assert db.session.scalar(select(Message.channel).where(Message.event == "booked")) == "sms"


def test_a_booking_on_a_channel_the_branch_lacks_is_refused(client, make_branch):
    make_branch()
    answer = client.post(
        f"{BRANCHES}/cairo-civil/appointments",
        json={"service": "id-card", "start": AT_11, "phone": "01012345678", "channel": "whatsapp"},
    )
    assert answer.status_code == 422
    assert answer.json["fields"]["channel"] == ["not offered here; choose among sms"]
    assert (_count(Ticket), _count(Message)) == (0, 0)
