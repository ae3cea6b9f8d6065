"""Contract: every WhatsApp request the gateway sends (template and free text), and the Content
API requests that register our templates, against Twilio's own OpenAPI descriptions
(shared/twilio/twilio_api_v2010.json and twilio_content_v1.json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.exceptions import OpenAPIError
from werkzeug.test import EnvironBuilder

from sms import whatsapp
from sms.gateways import Channel, OutgoingSms
from tests.sms import twilio_server as fake
from tests.sms.openapi_contract import spec_path

TO = "+966501234567"
WHATSAPP_SENDER = "+14155238886"
BODY = "صيانة: موعدك الأربعاء ٣٠ سبتمبر ١١:٣٠ ص\nhttps://q.example.gov.sa/t/x"
TEMPLATE = "HX" + "0123456789abcdef" * 2
CALLBACK = "https://q.example.gov.sa/sms/twilio/status"


def content_spec() -> Path:
    path = spec_path().parent / "twilio_content_v1.json"
    assert path.is_file(), f"Twilio's Content API description is missing: {path}"
    return path


@cache
def _content(path: Path) -> tuple[dict[str, Any], OpenAPI]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return document, OpenAPI.from_dict(document)


def check_content_request(path: str, body: dict[str, Any]) -> None:
    """A JSON request to the Content API, as Twilio would receive it, valid against its file."""
    _, openapi = _content(content_spec())
    builder = EnvironBuilder(
        method="POST",
        base_url="https://content.twilio.com",
        path=path,
        headers={"Authorization": "Basic QUM6dG9rZW4="},
        content_type="application/json",
        data=json.dumps(body),
    )
    try:
        openapi.validate_request(WerkzeugOpenAPIRequest(builder.get_request()))
    finally:
        builder.close()


def test_whatsapp_template_and_free_text_are_twilios(make_gateway, twilio_server, twilio_contract):
    gateway = make_gateway(whatsapp_from=WHATSAPP_SENDER)
    template = OutgoingSms(
        to=TO,
        body=BODY,
        status_callback=CALLBACK,
        channel=Channel.WHATSAPP,
        content_sid=TEMPLATE,
        content_variables={"1": BODY},
    )
    free_text = OutgoingSms(to=TO, body=BODY, channel=Channel.WHATSAPP)
    since = datetime.now(UTC)
    assert gateway.send(template).ok
    assert gateway.send(free_text).ok
    # After a crash, both are found again: the template's body carries the message whole.
    assert gateway.find_sent(TO, BODY, since=since, channel=Channel.WHATSAPP) is not None
    twilio_server.fail_next(fake.NOT_ON_WHATSAPP)
    refused = gateway.send(template)
    assert (refused.ok, refused.falls_back, refused.error_code) == (False, True, 63003)

    exchanges = twilio_server.exchanges
    assert [(e.method, e.status) for e in exchanges] == [
        ("POST", 201),
        ("POST", 201),
        ("GET", 200),
        ("POST", 400),
    ]
    for exchange in exchanges:
        twilio_contract.check_request(exchange)
    for exchange in exchanges[:3]:
        twilio_contract.check_response(exchange)
    sent_template, sent_text = exchanges[0], exchanges[1]
    assert sent_template.field("To") == f"whatsapp:{TO}"
    assert sent_template.field("From") == f"whatsapp:{WHATSAPP_SENDER}"
    assert sent_template.field("ContentSid") == TEMPLATE
    assert json.loads(sent_template.field("ContentVariables") or "") == {"1": BODY}
    assert sent_template.field("Body") is None  # a Body beside a template is refused
    assert (sent_text.field("Body"), sent_text.field("ContentSid")) == (BODY, None)
    assert exchanges[2].query["To"] == [f"whatsapp:{TO}"]


def test_the_template_sid_is_a_content_sid(twilio_contract):
    """What ContentSid takes (2010 API) is what the Content API names its templates."""
    document, _ = _content(content_spec())
    messages = twilio_contract.document["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]
    form = messages["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    taken = form["schema"]["properties"]["ContentSid"]["pattern"]
    fetched = document["paths"]["/v1/Content/{Sid}"]["get"]["responses"]["200"]["content"]
    schema_ref = fetched["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    named = document["components"]["schemas"][schema_ref]["properties"]["sid"]["pattern"]
    assert taken == named
    templates = whatsapp.Templates.from_json(json.dumps({"default": {"ar": TEMPLATE}}))
    assert templates.sid_for("booked", "ar") == TEMPLATE


@pytest.mark.parametrize("kind", ["default", "rescheduled", "offer"])
@pytest.mark.parametrize("locale", ["ar", "en"])
def test_registering_a_template_is_twilios(kind, locale):
    created = whatsapp.content_create_request(kind, locale)
    check_content_request("/v1/Content", created)
    check_content_request(
        f"/v1/Content/{TEMPLATE}/ApprovalRequests/whatsapp",
        whatsapp.approval_request(kind, locale),
    )
    assert "{{1}}" in created["types"]["twilio/text"]["body"]  # type: ignore[index]


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_the_code_template_is_an_authentication_one(locale):
    created = whatsapp.content_create_request("code", locale)
    check_content_request("/v1/Content", created)
    approval = whatsapp.approval_request("code", locale)
    check_content_request(f"/v1/Content/{TEMPLATE}/ApprovalRequests/whatsapp", approval)
    assert approval["category"] == "AUTHENTICATION"
    assert set(created["types"]) == {"whatsapp/authentication"}  # type: ignore[arg-type]


def test_a_code_goes_alone_in_its_own_template_and_whole_in_the_default():
    now = datetime(2026, 12, 7, 10, tzinfo=UTC)
    body = "رمز التحقق: 042917\nصالح ١٠ دقائق. لا تعطه لأحد."

    def variables(mapping: dict[str, dict[str, str]]) -> object:
        sent = whatsapp.compose(
            to=TO,
            body=body,
            locale="ar",
            kind="code",
            last_inbound=None,
            now=now,
            templates=whatsapp.Templates.from_mapping(mapping),
        )
        assert sent is not None
        return sent.content_variables

    assert variables({"code": {"ar": TEMPLATE}}) == {"1": "042917"}
    assert variables({"default": {"ar": TEMPLATE}}) == {"1": body}


def test_the_content_contract_refuses_what_twilio_would_not_take():
    with pytest.raises(OpenAPIError):
        check_content_request("/v1/Content", {"friendly_name": "no language, no types"})
    bad_button = whatsapp.content_create_request("offer", "en")
    bad_button["types"]["twilio/quick-reply"]["actions"][0]["label"] = "x"  # type: ignore[index]
    with pytest.raises(OpenAPIError):
        check_content_request("/v1/Content", bad_button)


def test_free_text_inside_the_window_and_a_template_outside_it():
    now = datetime(2026, 12, 7, 10, tzinfo=UTC)
    templates = whatsapp.Templates.from_mapping({"booked": {"ar": TEMPLATE}})

    def compose(last: datetime | None, kind: str = "booked") -> OutgoingSms | None:
        return whatsapp.compose(
            to=TO,
            body=BODY,
            locale="ar",
            kind=kind,
            last_inbound=last,
            now=now,
            templates=templates,
        )

    inside = compose(now - timedelta(hours=23, minutes=59))
    assert inside is not None
    assert (inside.content_sid, inside.body) == (None, BODY)
    for last in (None, now - timedelta(hours=24)):
        outside = compose(last)
        assert outside is not None
        assert outside.content_sid == TEMPLATE
        assert outside.content_variables == {"1": BODY}
    assert compose(None, kind="turn_near") is None  # no template of its own, no default


@pytest.mark.parametrize(
    "raw",
    ['{"booked": {"ar": "SM123"}}', '{"Booked!": {"ar": "' + TEMPLATE + '"}}', "[1]", "{"],
)
def test_template_settings_are_checked(raw):
    with pytest.raises(ValueError, match=r"Content SID|message kind|JSON|an object"):
        whatsapp.Templates.from_json(raw)


def test_a_template_is_whatsapp_only():
    with pytest.raises(ValueError, match="WhatsApp"):
        OutgoingSms(to=TO, body=BODY, content_sid=TEMPLATE)


def test_without_a_whatsapp_sender_the_message_falls_back(make_gateway, twilio_server):
    result = make_gateway().send(OutgoingSms(to=TO, body=BODY, channel=Channel.WHATSAPP))
    assert (result.ok, result.falls_back, result.channel_unavailable) == (False, True, True)
    assert twilio_server.exchanges == []


@pytest.mark.parametrize(
    ("code", "falls_back"),
    [
        (63003, True),  # not on WhatsApp
        ("63016", True),  # outside the window (a callback's ErrorCode is text)
        (63024, True),
        (63027, True),  # the template does not exist for the locale: refused
        (63028, True),  # the template's parameters do not match: refused
        (63032, True),
        (63049, True),
        (63007, False),  # our WhatsApp sender is not set up: a failure to fix, not SMS
        (63018, False),  # our rate limit
        (30003, False),  # an SMS error
        (None, False),
        ("x", False),
    ],
)
def test_which_whatsapp_errors_go_by_sms(code, falls_back):
    from sms.gateways import falls_back_to_sms

    assert falls_back_to_sms(code) is falls_back
