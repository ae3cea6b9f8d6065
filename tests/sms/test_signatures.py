"""X-Twilio-Signature: a valid one passes; any change to the URL, the form or the token fails."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from werkzeug.datastructures import MultiDict

from sms.signatures import sign, signature_is_valid

TOKEN = "0123456789abcdef0123456789abcdef"
URL = "https://q.example.gov.eg/sms/twilio/inbound"
FORM = {
    "MessageSid": "SM" + "ab" * 16,
    "AccountSid": "AC" + "cd" * 16,
    "From": "+201012345678",
    "To": "+15005550006",
    "Body": "نعم",
}


def by_hand(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's documented algorithm, written out without Twilio's library."""
    signed = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode(), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def test_sign_follows_twilios_algorithm():
    assert sign(TOKEN, URL, FORM) == by_hand(TOKEN, URL, FORM)


def test_a_valid_signature_passes():
    assert signature_is_valid(TOKEN, URL, FORM, sign(TOKEN, URL, FORM))


def test_twilio_may_sign_with_or_without_the_default_port():
    signature = sign(TOKEN, URL, FORM)
    assert signature_is_valid(
        TOKEN, "https://q.example.gov.eg:443/sms/twilio/inbound", FORM, signature
    )


def test_a_repeated_field_is_signed_with_all_its_values():
    form = MultiDict(
        [*FORM.items(), ("MediaUrl0", "https://a.test/1"), ("MediaUrl0", "https://a.test/2")]
    )
    signature = sign(TOKEN, URL, form)
    assert signature_is_valid(TOKEN, URL, form, signature)
    assert not signature_is_valid(TOKEN, URL, MultiDict(list(form.items())), signature)


@pytest.mark.parametrize(
    ("url", "form"),
    [
        (URL, {**FORM, "Body": "إلغاء"}),  # a changed parameter
        (URL, {**FORM, "NumMedia": "0"}),  # an added one
        (URL, {k: v for k, v in FORM.items() if k != "Body"}),  # a removed one
        ("https://q.example.gov.eg/sms/twilio/status", FORM),  # another webhook
        ("https://evil.example/sms/twilio/inbound", FORM),  # another host
        ("http://q.example.gov.eg/sms/twilio/inbound", FORM),  # another scheme
        (URL + "?x=1", FORM),  # a query added
    ],
    ids=[
        "changed-param",
        "added-param",
        "removed-param",
        "other-path",
        "other-host",
        "other-scheme",
        "query",
    ],
)
def test_a_changed_request_fails(url, form):
    assert not signature_is_valid(TOKEN, url, form, sign(TOKEN, URL, FORM))


def test_a_forged_signature_fails():
    forged = sign("some-other-token", URL, FORM)
    assert not signature_is_valid(TOKEN, URL, FORM, forged)
    assert not signature_is_valid(TOKEN, URL, FORM, "not base64 at all")


@pytest.mark.parametrize(
    ("token", "signature"), [(TOKEN, None), (TOKEN, ""), (None, "x"), ("", "x")]
)
def test_nothing_is_valid_without_a_token_or_a_signature(token, signature):
    assert not signature_is_valid(token, URL, FORM, signature)
