"""X-Twilio-Signature on inbound and status webhooks: HMAC-SHA1, keyed with the account's auth
token, over the full URL Twilio was given and the POST parameters sorted by name, in base64.

The URL must be the one configured at Twilio (``QUEUE_PUBLIC_URL`` + the webhook's path), not
the one a proxy in front of us rewrote the request to; the caller builds it. Twilio's own
validator does the work: it also accepts the URL with or without its default port, as Twilio
signs it either way.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send for a POST of ``params`` to ``url`` (for tests, and for
    anyone who must call our webhooks as Twilio does)."""
    return RequestValidator(auth_token).compute_signature(url, params)


def signature_is_valid(
    auth_token: str | None, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """True if ``signature`` (the X-Twilio-Signature header) is Twilio's for this POST.

    ``params`` is the form as received: a dict, or a multidict (Flask's ``request.form``) when a
    name can repeat. Without an auth token or a signature, nothing is valid."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))
