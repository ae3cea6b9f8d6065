"""Contract: what the gateway sends, and what our Twilio stand-in answers, against Twilio's own
OpenAPI description of its API (shared/twilio/twilio_api_v2010.json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from openapi_core.exceptions import OpenAPIError

from sms.gateways import Channel, OutgoingSms
from sms.senders import Sender, SenderKind
from tests.sms import twilio_server as fake
from tests.sms.conftest import ACCOUNT_SID, MESSAGING_SERVICE_SID
from tests.sms.twilio_server import Exchange

TO = "+966501234567"
BODY = "صيانة: موعدك الأربعاء ٣٠ سبتمبر ١١:٣٠ ص\nhttps://q.example.gov.sa/t/x"
CALLBACK = "https://q.example.gov.sa/sms/twilio/status"


def test_every_request_and_answer_is_twilios(make_gateway, twilio_server, twilio_contract):
    by_number = make_gateway()
    by_service = make_gateway(from_=None, messaging_service_sid=MESSAGING_SERVICE_SID)
    since = datetime.now(UTC)

    assert by_number.send(OutgoingSms(to=TO, body=BODY, status_callback=CALLBACK)).ok
    assert by_service.send(OutgoingSms(to=TO, body=BODY)).ok
    assert by_number.find_sent(TO, BODY, since=since) is not None
    twilio_server.fail_next(fake.RATE_LIMITED, fake.INVALID_NUMBER)
    assert not by_number.send(OutgoingSms(to=TO, body=BODY)).ok
    assert not by_number.send(OutgoingSms(to=TO, body=BODY)).ok

    exchanges = twilio_server.exchanges
    assert [(e.method, e.status) for e in exchanges] == [
        ("POST", 201),
        ("POST", 201),
        ("GET", 200),
        ("POST", 429),
        ("POST", 400),
    ]
    for exchange in exchanges:
        twilio_contract.check_request(exchange)
    for exchange in exchanges[:3]:
        twilio_contract.check_response(exchange)
    for exchange in exchanges[3:]:
        # The file describes no error answers; ours have the shape of Twilio's error body.
        error = json.loads(exchange.response_body)
        assert set(error) == {"code", "message", "more_info", "status"}
        assert error["status"] == exchange.status


SAUDI_NAME = Sender("GOVQUEUE", SenderKind.NAME)
EGYPT_NUMBER = Sender("+201000000000", SenderKind.NUMBER)
SERVICE = Sender("MG" + "0123456789abcdef" * 2, SenderKind.SERVICE)


def test_each_kind_of_sender_per_country_is_sent_as_twilio_takes_it(
    make_gateway, twilio_server, twilio_contract
):
    """A message from the destination's sender (sms.senders): a number or a name as From, a
    Messaging Service as MessagingServiceSid alone (it picks the sender), whatever the
    gateway's own sender is; and crash recovery looks for it from that sender."""
    gateway = make_gateway(messaging_service_sid=MESSAGING_SERVICE_SID)  # From and a service
    since = datetime.now(UTC)
    for sender in (EGYPT_NUMBER, SAUDI_NAME, SERVICE):
        message = OutgoingSms(to=TO, body=BODY, status_callback=CALLBACK, sender=sender)
        assert gateway.send(message).ok
    assert gateway.find_sent(TO, BODY, since=since, sender=SAUDI_NAME) is not None
    assert gateway.find_sent(TO, BODY, since=since, sender=SERVICE) is not None

    exchanges = twilio_server.exchanges
    sent = [
        (e.field("From"), e.field("MessagingServiceSid")) for e in exchanges if e.method == "POST"
    ]
    assert sent == [
        ("+201000000000", None),
        ("GOVQUEUE", None),
        (None, SERVICE.value),
    ]
    lists = [e.query.get("From") for e in exchanges if e.method == "GET"]
    assert lists == [["GOVQUEUE"], None]  # a service's From is its pick: not filtered by
    for exchange in exchanges:
        twilio_contract.check_request(exchange)
        twilio_contract.check_response(exchange)


def test_a_whatsapp_message_comes_from_a_number_or_a_service_not_a_name():
    with pytest.raises(ValueError, match="WhatsApp message comes from a number"):
        OutgoingSms(to=TO, body=BODY, channel=Channel.WHATSAPP, sender=SAUDI_NAME)


def test_a_whatsapp_sender_per_country_is_sent_with_its_prefix(
    make_gateway, twilio_server, twilio_contract
):
    gateway = make_gateway(whatsapp_from="+14155238886")
    for sender in (Sender("+966110000000", SenderKind.NUMBER), SERVICE):
        message = OutgoingSms(to=TO, body=BODY, channel=Channel.WHATSAPP, sender=sender)
        assert gateway.send(message).ok
    exchanges = twilio_server.exchanges
    assert [(e.field("From"), e.field("MessagingServiceSid")) for e in exchanges] == [
        ("whatsapp:+966110000000", None),
        (None, SERVICE.value),
    ]
    assert {e.field("To") for e in exchanges} == {f"whatsapp:{TO}"}
    for exchange in exchanges:
        twilio_contract.check_request(exchange)
        twilio_contract.check_response(exchange)


def post(form: dict[str, str]) -> Exchange:
    return Exchange(
        method="POST",
        target=f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic QUM6dG9rZW4=",
        },
        body=urlencode(form).encode(),
    )


@pytest.mark.parametrize(
    "form",
    [
        {"Body": "no To"},  # a required field missing
        {"To": TO, "Body": "x", "ProvideFeedback": "maybe"},  # a field of the wrong type
        {"To": TO, "Body": "x", "StatusCallbak": CALLBACK},  # a field Twilio does not know
    ],
    ids=["missing-To", "wrong-type", "undeclared"],
)
def test_the_contract_refuses_what_twilio_would_not_take(twilio_contract, form):
    with pytest.raises((AssertionError, OpenAPIError)):
        twilio_contract.check_request(post(form))


def test_the_contract_refuses_an_answer_twilio_would_not_give(twilio_contract):
    exchange = post({"To": TO, "Body": "x"})
    exchange.status = 201
    exchange.response_headers = {"Content-Type": "application/json"}
    exchange.response_body = json.dumps({"sid": "not a sid", "status": "posted"}).encode()
    with pytest.raises(OpenAPIError):
        twilio_contract.check_response(exchange)


def test_the_contract_knows_no_other_path(twilio_contract):
    exchange = post({"To": TO})
    exchange.target = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Texts.json"
    with pytest.raises(AssertionError, match="not a path"):
        twilio_contract.check_request(exchange)


def test_the_contract_asks_for_basic_auth(twilio_contract):
    exchange = post({"To": TO, "Body": "x"})
    del exchange.headers["Authorization"]
    with pytest.raises(OpenAPIError, match="Security"):
        twilio_contract.check_request(exchange)
