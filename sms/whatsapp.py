"""WhatsApp's rules for one message: free text inside the citizen's 24-hour window, an approved
template outside it, and the Content API requests that register those templates.

WhatsApp lets a business write freely only within 24 hours of the citizen's last message to
it; a message that starts a conversation must use a template approved by WhatsApp, sent with
Twilio's ``ContentSid`` and ``ContentVariables``. Our templates are one per message kind and
locale, each a fixed sentence around one variable, ``{{1}}``, that carries the message as the
SMS would word it: the wording stays in ``sms.templates``, in one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from sms.gateways import Channel, OutgoingSms
from sms.senders import Sender

# How long after the citizen's last message free text may go (WhatsApp's customer service window).
WINDOW = timedelta(hours=24)

# The kind used when a message kind has no template of its own.
DEFAULT_KIND = "default"

# One-time codes: WhatsApp wants them in an authentication template, its own fixed words around
# the code alone (with a button that copies it), not in our sentence around the whole text.
CODE_KIND = "code"
CODE_VALID_MINUTES = 10
_CODE_IN_TEXT = re.compile(r"\b(\d{4,8})\b")

_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
_KIND = re.compile(r"[a-z_-]{1,40}")


def in_window(last_inbound: datetime | None, now: datetime) -> bool:
    """Whether free text may go now, the citizen's last WhatsApp message being ``last_inbound``."""
    return last_inbound is not None and now - last_inbound < WINDOW


def message_kind(event: str) -> str:
    """The kind of an outbox event, as the templates are keyed: ``moved:2`` is ``moved``."""
    return event.split(":", 1)[0]


@dataclass(frozen=True)
class Templates:
    """The approved Content templates: message kind -> locale -> ``HX…`` SID."""

    sids: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_json(cls, text: str | None) -> Templates:
        """``{"default": {"ar": "HX…", "en": "HX…"}, "booked": {...}}``; raises ValueError."""
        if not text or not text.strip():
            return cls()
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        return cls.from_mapping(raw)

    @classmethod
    def from_mapping(cls, raw: object) -> Templates:
        if not isinstance(raw, Mapping):
            raise ValueError("an object of message kinds, each an object of locales")
        sids: dict[str, Mapping[str, str]] = {}
        for kind, by_locale in raw.items():
            if not isinstance(kind, str) or not _KIND.fullmatch(kind):
                raise ValueError(f"{kind!r} is not a message kind")
            if not isinstance(by_locale, Mapping) or not by_locale:
                raise ValueError(f"{kind}: an object of locales to template SIDs")
            for locale, sid in by_locale.items():
                if not isinstance(sid, str) or not _CONTENT_SID.fullmatch(sid):
                    raise ValueError(f"{kind}.{locale}: {sid!r} is not a Content SID (HX + 32 hex)")
            sids[kind] = MappingProxyType(dict(by_locale))
        return cls(MappingProxyType(sids))

    def sid_for(self, kind: str, locale: str) -> str | None:
        """The template of this kind in this locale, else the default kind's, else None."""
        for key in (kind, DEFAULT_KIND):
            sid = self.sids.get(key, {}).get(locale)
            if sid:
                return sid
        return None


def compose(
    *,
    to: str,
    body: str,
    locale: str,
    kind: str,
    last_inbound: datetime | None,
    now: datetime,
    templates: Templates,
    status_callback: str | None = None,
    sender: Sender | None = None,
) -> OutgoingSms | None:
    """The WhatsApp message to send now (from ``sender``, None: the gateway's own): free text
    inside the window, else the kind's template carrying ``body`` as its variable; None when a
    template is needed and there is none (then the message goes by SMS)."""
    if in_window(last_inbound, now):
        return OutgoingSms(
            to=to,
            body=body,
            status_callback=status_callback,
            channel=Channel.WHATSAPP,
            sender=sender,
        )
    sid = templates.sid_for(kind, locale)
    if sid is None:
        return None
    return OutgoingSms(
        to=to,
        body=body,
        status_callback=status_callback,
        channel=Channel.WHATSAPP,
        content_sid=sid,
        content_variables=_variables(kind, locale, body, templates),
        sender=sender,
    )


def _variables(kind: str, locale: str, body: str, templates: Templates) -> dict[str, str]:
    """The template's ``{{1}}``: the message as the SMS words it, or, for a one-time code sent
    with the authentication template of its own kind, the code alone."""
    own = templates.sids.get(kind, {}).get(locale)
    if kind == CODE_KIND and own and (found := _CODE_IN_TEXT.search(body)):
        return {"1": found.group(1)}
    return {"1": body}


# --- registering the templates (Twilio's Content API, docs/sms.md) ------------------------

# The fixed words around the message: WhatsApp refuses a template that is a variable alone.
TEMPLATE_TEXT = MappingProxyType(
    {
        "ar": "رسالة من مكتبكم الحكومي بخصوص تذكرتك:\n{{1}}\nشكرًا لكم.",
        "en": "A message from your government office about your ticket:\n{{1}}\nThank you.",
    }
)


# The buttons of the messages that offer a choice: a tap sends its id as ButtonPayload, the
# same digit a reply by text would be (``sms.replies``).
_CHOICES = MappingProxyType(
    {
        "ar": (("1", "تأكيد"), ("2", "موعد آخر"), ("0", "إلغاء")),
        "en": (("1", "Confirm"), ("2", "Another time"), ("0", "Cancel")),
    }
)
_OFFER = MappingProxyType({"ar": (("1", "موعد اليوم"),), "en": (("1", "Take today's time"),)})
# The message kinds (outbox events) whose template carries buttons, and which.
BUTTONS = MappingProxyType(
    {
        "rescheduled": _CHOICES,
        "moved": _CHOICES,
        "booked": _CHOICES,
        "reminder": _CHOICES,
        "offer": _OFFER,
    }
)


def content_create_request(kind: str, locale: str) -> dict[str, object]:
    """The JSON body of ``POST https://content.twilio.com/v1/Content`` that creates our template
    of ``kind`` in ``locale``: text with one variable, and buttons for a kind that offers a
    choice (quick replies; the text alone where buttons cannot show)."""
    if locale not in TEMPLATE_TEXT:
        raise ValueError(f"no template wording for locale {locale!r}")
    if kind == CODE_KIND:
        copy = "نسخ الرمز" if locale == "ar" else "Copy code"
        return {
            "friendly_name": f"queue_{kind}_{locale}",
            "language": locale,
            "variables": {"1": "123456"},
            "types": {
                "whatsapp/authentication": {
                    "add_security_recommendation": True,
                    "code_expiration_minutes": CODE_VALID_MINUTES,
                    "actions": [{"type": "COPY_CODE", "copy_code_text": copy}],
                }
            },
        }
    text = TEMPLATE_TEXT[locale]
    types: dict[str, object] = {"twilio/text": {"body": text}}
    if kind in BUTTONS:
        actions = [{"id": payload, "title": title} for payload, title in BUTTONS[kind][locale]]
        types["twilio/quick-reply"] = {"body": text, "actions": actions}
    return {
        "friendly_name": f"queue_{kind}_{locale}".replace("-", "_"),
        "language": locale,
        "variables": {"1": "..."},
        "types": types,
    }


def approval_request(kind: str, locale: str) -> dict[str, str]:
    """The JSON body of ``POST /v1/Content/{Sid}/ApprovalRequests/whatsapp``: WhatsApp's name
    of the template (lower case, digits and underscores) and its category: a utility message,
    or an authentication one for the one-time code."""
    category = "AUTHENTICATION" if kind == CODE_KIND else "UTILITY"
    return {"name": f"queue_{kind}_{locale}".replace("-", "_"), "category": category}
