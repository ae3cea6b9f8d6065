"""Contract: what the gateway sends, and what our Twilio stand-in answers, against Twilio's own
OpenAPI description of its API (shared/twilio/twilio_api_v2010.json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from openapi_core.exceptions import OpenAPIError

from sms.gateways import OutgoingSms
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
