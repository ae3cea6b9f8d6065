"""Twilio's webhooks: replies from citizens (SMS or WhatsApp) and delivery reports of our
messages.

Both check ``X-Twilio-Signature`` over ``QUEUE_PUBLIC_URL`` + the path (the URL Twilio was
given, whatever proxy stands in front of us) before reading anything; a bad one gets 403 and
changes nothing. Answers to replies go through the outbox like every other message, so the
webhook answers Twilio with an empty TwiML document.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from queue_app import outbox, replies
from queue_app.errors import Forbidden, InvalidInput
from queue_app.web.extensions import current_clock, current_settings, db
from sms.gateways import WHATSAPP_PREFIX, Channel
from sms.signatures import SIGNATURE_HEADER, signature_is_valid

bp = Blueprint("sms_webhooks", __name__, url_prefix="/sms/twilio")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _check_signature() -> None:
    settings = current_settings()
    url = f"{settings.public_url}{request.path}"
    if not signature_is_valid(
        settings.twilio_auth_token, url, request.form, request.headers.get(SIGNATURE_HEADER)
    ):
        raise Forbidden(
            "bad or missing X-Twilio-Signature"
            + ("" if settings.twilio_auth_token else " (TWILIO_AUTH_TOKEN is not set)")
        )


def _required(*names: str) -> dict[str, str]:
    missing = {name: ["required"] for name in names if not request.form.get(name)}
    if missing:
        raise InvalidInput("missing form fields", **missing)
    return {name: request.form[name] for name in names}


def _sender(raw: str) -> tuple[str, Channel]:
    """The number (E.164) and channel of From: ``+…`` by SMS, ``whatsapp:+…`` by WhatsApp."""
    channel = Channel.WHATSAPP if raw.startswith(WHATSAPP_PREFIX) else Channel.SMS
    number = raw.removeprefix(WHATSAPP_PREFIX)
    # Twilio sends From in E.164 already; anything else is not a reply we can route.
    if not number.startswith("+") or not number[1:].isdigit() or not 8 <= len(number) <= 16:
        raise InvalidInput("From is not an E.164 number", From=["not an E.164 number"])
    return number, channel


@bp.post("/inbound")
def inbound() -> Response:
    """An SMS or WhatsApp message from a citizen. A WhatsApp button (a template's quick reply)
    sends its payload ("1", "2", "0") in ButtonPayload and its label in ButtonText: the payload
    is read as the same reply the digits are."""
    _check_signature()
    form = _required("From", "MessageSid")
    phone, channel = _sender(form["From"])
    body = request.form.get("ButtonPayload") or request.form.get("Body", "")
    replies.apply_reply(
        db.session,
        current_clock(),
        provider_sid=form["MessageSid"],
        phone=phone,
        body=body,
        channel=channel.value,
    )
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.post("/status")
def status() -> Response:
    _check_signature()
    form = _required("MessageSid", "MessageStatus")
    outbox.record_delivery(
        db.session,
        current_clock().now(),
        form["MessageSid"],
        form["MessageStatus"],
        error_code=request.form.get("ErrorCode") or None,
    )
    return Response(status=204)
