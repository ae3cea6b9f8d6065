"""The real ``twilio`` client, through TwilioGateway, against a Twilio stand-in on loopback."""

from __future__ import annotations

import base64
import socket
from datetime import UTC, datetime, timedelta

import pytest

from sms.gateways import (
    TWILIO_PERMANENT_CODES,
    TWILIO_TEMPORARY_CODES,
    ConsoleGateway,
    FailureKind,
    OutgoingSms,
    ProviderUnavailable,
    TwilioGateway,
    classify_twilio_error,
    gateway_from_settings,
)
from tests.sms import twilio_server as fake
from tests.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, MESSAGING_SERVICE_SID, SENDER

TO = "+201012345678"
BODY = "عطل: موعدك الأحد ٦ ديسمبر ١٢:٣٠ م\n١ تأكيد ٢ تغيير ٠ إلغاء\nhttps://q.example.gov.eg/t/abc"
CALLBACK = "https://q.example.gov.eg/sms/twilio/status"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def test_sends_from_a_number_with_a_status_callback(make_gateway, twilio_server):
    result = make_gateway().send(OutgoingSms(to=TO, body=BODY, status_callback=CALLBACK))

    assert result.ok
    assert result.sid is not None
    assert result.sid.startswith("SM")
    assert result.status == "queued"
    [exchange] = twilio_server.exchanges
    assert (exchange.method, exchange.path) == ("POST", MESSAGES)
    assert exchange.form == {
        "To": [TO],
        "From": [SENDER],
        "Body": [BODY],  # Arabic, line breaks and all, as written
        "StatusCallback": [CALLBACK],
    }
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert exchange.headers["Authorization"] == f"Basic {credentials}"
    assert twilio_server.messages[0]["sid"] == result.sid


def test_sends_through_a_messaging_service(make_gateway, twilio_server):
    gateway = make_gateway(from_=None, messaging_service_sid=MESSAGING_SERVICE_SID)

    result = gateway.send(OutgoingSms(to=TO, body="Your ticket A-001"))

    assert result.ok
    assert result.status == "accepted"
    assert twilio_server.exchanges[0].form == {
        "To": [TO],
        "MessagingServiceSid": [MESSAGING_SERVICE_SID],
        "Body": ["Your ticket A-001"],
    }


def test_no_status_callback_sends_none(make_gateway, twilio_server):
    make_gateway().send(OutgoingSms(to=TO, body="hello"))
    assert "StatusCallback" not in twilio_server.exchanges[0].form


@pytest.mark.parametrize(
    ("failure", "code", "retry_after"),
    [
        (fake.RATE_LIMITED, 20429, 7.0),
        (fake.INTERNAL_ERROR, 20500, None),
        (fake.UNAVAILABLE, None, None),  # a proxy's HTML page: no Twilio code at all
    ],
    ids=["429", "500", "503-html"],
)
def test_provider_trouble_is_temporary(make_gateway, twilio_server, failure, code, retry_after):
    gateway = make_gateway()
    twilio_server.fail_next(failure)

    result = gateway.send(OutgoingSms(to=TO, body=BODY))

    assert not result.ok
    assert result.failure == FailureKind.TEMPORARY
    assert result.error_code == code
    assert result.retry_after == retry_after
    assert result.sid is None
    assert not result.may_have_been_sent  # Twilio answered: it took nothing
    assert result.error
    # The failure is over: the same gateway sends the retry.
    assert gateway.send(OutgoingSms(to=TO, body=BODY)).ok


def test_dropped_connection_is_temporary_and_maybe_sent(make_gateway, twilio_server):
    gateway = make_gateway()
    twilio_server.fail_next(fake.DROPPED)

    result = gateway.send(OutgoingSms(to=TO, body=BODY))

    assert result.failure == FailureKind.TEMPORARY
    assert result.may_have_been_sent
    assert result.error_code is None
    assert gateway.send(OutgoingSms(to=TO, body=BODY)).ok


def test_a_slow_answer_times_out(make_gateway, twilio_server):
    gateway = make_gateway(timeout=0.5)
    twilio_server.fail_next(fake.SLOW)

    started = datetime.now(UTC)
    result = gateway.send(OutgoingSms(to=TO, body=BODY))

    assert datetime.now(UTC) - started < timedelta(seconds=5)
    assert result.failure == FailureKind.TEMPORARY
    assert result.may_have_been_sent
    assert "Timeout" in (result.error or "")


def test_nobody_listening_is_temporary_and_surely_not_sent(make_gateway):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    gateway = make_gateway(api_base=f"http://127.0.0.1:{closed_port}")

    result = gateway.send(OutgoingSms(to=TO, body=BODY))

    assert result.failure == FailureKind.TEMPORARY
    assert not result.may_have_been_sent


@pytest.mark.parametrize(
    ("failure", "code", "opted_out"),
    [(fake.INVALID_NUMBER, 21211, False), (fake.UNSUBSCRIBED, 21610, True)],
    ids=["invalid-number", "unsubscribed"],
)
def test_refusals_about_the_number_are_permanent(
    make_gateway, twilio_server, failure, code, opted_out
):
    twilio_server.fail_next(failure)

    result = make_gateway().send(OutgoingSms(to=TO, body=BODY))

    assert result.failure == FailureKind.PERMANENT
    assert result.error_code == code
    assert result.opted_out is opted_out
    assert failure.message in (result.error or "")


def test_wrong_credentials_keep_the_message_for_later(make_gateway, twilio_server):
    result = make_gateway(auth_token="rotated-token").send(OutgoingSms(to=TO, body=BODY))

    assert twilio_server.exchanges[0].status == 401
    assert result.error_code == 20003
    assert result.failure == FailureKind.TEMPORARY


def test_find_sent_finds_what_twilio_took(make_gateway):
    gateway = make_gateway()
    before = datetime.now(UTC)
    sent = gateway.send(OutgoingSms(to=TO, body=BODY))
    gateway.send(OutgoingSms(to="+966501234567", body=BODY))

    assert gateway.find_sent(TO, BODY, since=before) == sent.sid
    assert gateway.find_sent(TO, "another text", since=before) is None
    assert gateway.find_sent("+201099999999", BODY, since=before) is None
    # Created well before the claim: another message that happens to read the same.
    assert gateway.find_sent(TO, BODY, since=before + timedelta(hours=1)) is None


def test_find_sent_does_not_guess_when_twilio_cannot_answer(make_gateway, twilio_server):
    gateway = make_gateway()
    twilio_server.fail_next(fake.INTERNAL_ERROR)
    with pytest.raises(ProviderUnavailable):
        gateway.find_sent(TO, BODY, since=datetime.now(UTC))


# --- classification and settings -----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        (20429, 429, FailureKind.TEMPORARY),
        (21211, 400, FailureKind.PERMANENT),
        (21408, 400, FailureKind.PERMANENT),
        (21610, 400, FailureKind.PERMANENT),
        (21612, 400, FailureKind.PERMANENT),
        (21614, 400, FailureKind.PERMANENT),
        # Delivery errors, from status callbacks (no HTTP status):
        (30003, None, FailureKind.TEMPORARY),
        (30004, None, FailureKind.PERMANENT),
        (30005, None, FailureKind.PERMANENT),
        (30006, None, FailureKind.PERMANENT),
        (30007, None, FailureKind.PERMANENT),
        (30008, None, FailureKind.TEMPORARY),
        # Codes we do not know go by the status:
        (99999, 400, FailureKind.PERMANENT),
        (99999, 502, FailureKind.TEMPORARY),
        (None, 429, FailureKind.TEMPORARY),
        (None, 403, FailureKind.TEMPORARY),
        (None, 404, FailureKind.PERMANENT),
    ],
)
def test_classification(code, status, kind):
    assert classify_twilio_error(code, status) == kind


def test_no_code_is_both_temporary_and_permanent():
    assert not TWILIO_TEMPORARY_CODES & TWILIO_PERMANENT_CODES


def test_gateway_from_settings(twilio_server):
    assert isinstance(gateway_from_settings("console", account_sid=ACCOUNT_SID), ConsoleGateway)

    gateway = gateway_from_settings(
        "twilio",
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_=SENDER,
        messaging_service_sid=None,
        api_base=twilio_server.url,
    )
    assert isinstance(gateway, TwilioGateway)
    try:
        assert gateway.send(OutgoingSms(to=TO, body="hello")).ok
    finally:
        gateway.close()


@pytest.mark.parametrize(
    ("name", "settings", "complaint"),
    [
        ("smpp", {}, "unknown SMS gateway"),
        ("twilio", {"account_sid": ACCOUNT_SID, "from_": SENDER}, "TWILIO_AUTH_TOKEN"),
        ("twilio", {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}, "TWILIO_FROM"),
        (
            "twilio",
            {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from_": SENDER,
                "api_base": "127.0.0.1:9",
            },
            "TWILIO_API_BASE",
        ),
    ],
)
def test_gateway_from_settings_refuses_what_cannot_work(name, settings, complaint):
    with pytest.raises(ValueError, match=complaint):
        gateway_from_settings(name, **settings)
