"""Sending one text message: the Gateway interface, a console gateway and a Twilio gateway.

A message goes on a channel: SMS, or WhatsApp through the same Messages API with
``whatsapp:+…`` addresses. A WhatsApp message outside the citizen's 24-hour window carries an
approved template (``content_sid`` and ``content_variables``) instead of free text; which to
send is the caller's choice (``sms.whatsapp``), the gateway only writes the request.

``send`` never raises for what the provider or the network does: it answers a ``SendResult``
that says whether the message was accepted and, if not, whether trying again later can help
(``FailureKind.TEMPORARY``: back off and retry) or not (``FailureKind.PERMANENT``: give up on
this message). The outbox worker stores the answer; retries are its business, not the gateway's.

``find_sent`` answers the one question a crash leaves open: did the provider take a message
whose answer we never recorded?
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from sms.segments import segments
from sms.senders import Sender, SenderKind

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class FailureKind(StrEnum):
    TEMPORARY = "temporary"  # the network, the provider or our account: try again later
    PERMANENT = "permanent"  # the number or the message itself: it will never go


class Channel(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"


WHATSAPP_PREFIX = "whatsapp:"


def address(channel: Channel | str, number: str) -> str:
    """The provider's address of ``number`` (E.164) on ``channel``: ``whatsapp:+…`` or bare."""
    return f"{WHATSAPP_PREFIX}{number}" if channel == Channel.WHATSAPP else number


class ProviderUnavailable(Exception):
    """The provider could not be asked (``find_sent``): the answer is unknown, not "no"."""


@dataclass(frozen=True)
class OutgoingSms:
    to: str  # E.164, as sms.numbers.to_e164 writes it (the channel adds its prefix)
    body: str  # the text; for a template, what it says (kept to find it again after a crash)
    status_callback: str | None = None  # the URL the provider reports delivery to
    channel: Channel = Channel.SMS
    # WhatsApp outside the 24-hour window: the approved template (Content API, HX...) and its
    # variables ({"1": "..."}); then ``body`` is not sent.
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None
    # Who it comes from (``sms.senders``: a number, a sender name or a Messaging Service),
    # chosen for the destination's country; None: the gateway's own (TWILIO_FROM ...).
    sender: Sender | None = None

    def __post_init__(self) -> None:
        if not _E164.fullmatch(self.to):
            raise ValueError(f"{self.to!r} is not an E.164 number")
        if not self.body:
            raise ValueError("an SMS needs a body")
        if self.content_sid is not None and self.channel != Channel.WHATSAPP:
            raise ValueError("only a WhatsApp message is sent as a template")
        if (
            self.sender is not None
            and self.channel == Channel.WHATSAPP
            and self.sender.kind == SenderKind.NAME
        ):
            raise ValueError("a WhatsApp message comes from a number or a Messaging Service")


# The same thing, by the name a WhatsApp message deserves.
OutgoingMessage = OutgoingSms


@dataclass(frozen=True)
class SendResult:
    sid: str | None  # the provider's message id (Twilio's SM...); None when none was made
    status: str  # the provider's status ("queued", "accepted", ...) or "failed"
    failure: FailureKind | None = None
    error_code: int | None = None  # the provider's own code (Twilio's 21211, 20429, ...)
    error: str | None = None  # the provider's (or the network's) words
    retry_after: float | None = None  # seconds, when the provider said (Retry-After)
    # A timeout or a dropped connection after the request went out: the provider may have
    # taken the message. Ask ``find_sent`` before sending it again.
    may_have_been_sent: bool = False

    @property
    def ok(self) -> bool:
        return self.failure is None

    # The channel cannot be used at all here (no WhatsApp sender configured).
    channel_unavailable: bool = False

    @property
    def opted_out(self) -> bool:
        """The recipient has unsubscribed from our sender (STOP): record it, send no more."""
        return self.error_code == TWILIO_UNSUBSCRIBED

    @property
    def falls_back(self) -> bool:
        """A WhatsApp message that cannot go to this number this way: send it by SMS instead."""
        return self.channel_unavailable or falls_back_to_sms(self.error_code)


class Gateway(Protocol):
    def send(self, message: OutgoingSms) -> SendResult:
        """Hand one message to the provider. Raises nothing for provider or network errors."""
        ...

    def find_sent(
        self,
        to: str,
        body: str,
        *,
        since: datetime,
        channel: Channel = Channel.SMS,
        sender: Sender | None = None,
    ) -> str | None:
        """The id of a message with this body (or, for a template, carrying it) that the
        provider took for ``to`` on ``channel`` (from ``sender``, None: the gateway's own) at or
        after ``since`` (aware), or None. Raises
        ProviderUnavailable when it cannot tell."""
        ...


# --- console: the default; nothing leaves the machine -------------------------------------


class ConsoleGateway:
    """Keeps every message in ``sent`` and prints it, Arabic as it is, to ``stream`` (standard
    output, looked up at each send so that a test's capture sees it)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.sent: list[OutgoingSms] = []
        self._stream = stream
        self._lock = threading.Lock()  # the worker may send from several threads
        # Ids are unique in the database: a second worker, or the demo started again on the same
        # file, must not count "console-1" again (the second insert would stop its sending).
        self._run = secrets.token_hex(4)

    def send(self, message: OutgoingSms) -> SendResult:
        info = segments(message.body)
        with self._lock:
            self.sent.append(message)
            sid = self._sid(len(self.sent))
            plural = "" if info.segments == 1 else "s"
            if message.channel == Channel.WHATSAPP:
                # Outside the citizen's 24-hour window WhatsApp takes only an approved template,
                # which carries the text whole as its variable; inside, the text goes as it is.
                how = (
                    f"template {message.content_sid}, outside the 24-hour window"
                    if message.content_sid
                    else "free text, inside the 24-hour window"
                )
                lines = [f"--- WhatsApp {sid} to {address(message.channel, message.to)} ({how})"]
            else:
                lines = [
                    f"--- SMS {sid} to {message.to} "
                    f"({info.encoding}, {info.segments} segment{plural})"
                ]
            if message.sender is not None:
                lines.append(f"    from: {message.sender.value} ({message.sender.kind})")
            if message.status_callback:
                lines.append(f"    status callback: {message.status_callback}")
            lines += [message.body, "---", ""]
            self._write("\n".join(lines))
        return SendResult(sid=sid, status="sent")

    def find_sent(
        self,
        to: str,
        body: str,
        *,
        since: datetime,
        channel: Channel = Channel.SMS,
        sender: Sender | None = None,
    ) -> str | None:
        # Only this process's messages are known, so ``since`` cannot narrow them further.
        with self._lock:
            for number, message in reversed(list(enumerate(self.sent, start=1))):
                if message.to == to and message.body == body and message.channel == channel:
                    return self._sid(number)
        return None

    def _sid(self, number: int) -> str:
        return f"console-{self._run}-{number}"

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stdout
        try:
            stream.write(text)
        except UnicodeEncodeError:
            # A terminal that cannot show Arabic must not fail the send.
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
        stream.flush()

    def close(self) -> None:
        pass


# --- Twilio ---------------------------------------------------------------------------------

TWILIO_UNSUBSCRIBED = 21610

# Twilio's error codes (https://www.twilio.com/docs/api/errors), for the API's answer to a send
# and for the ErrorCode of a failed or undelivered status callback. Codes not listed fall back
# on the HTTP status: 429 and 5xx temporary, other 4xx permanent.
TWILIO_TEMPORARY_CODES = frozenset(
    {
        20003,  # authentication failed: our credentials, not the citizen's number; keep the
        20005,  #   message until an operator fixes the account (20005: account not active)
        20429,  # too many requests: back off
        20500,  # Twilio's internal error
        20503,  # Twilio unavailable
        21212,  # invalid From number: our configuration, as 20003
        21606,  # From cannot send SMS: our configuration
        21611,  # too many messages queued on our From number: they drain
        30001,  # queue overflow: it drains
        30002,  # account suspended: our account, as 20003
        30003,  # handset switched off or out of coverage: it may come back
        30008,  # unknown carrier error: Twilio's own advice is to try again
        30410,  # the carrier timed out
    }
)
TWILIO_PERMANENT_CODES = frozenset(
    {
        21211,  # not a valid To number
        21217,  # To does not look like a phone number
        21265,  # To is a short code
        21266,  # To and From are the same
        21408,  # the destination's country is not enabled on our account: not for this number
        21602,  # no body
        21604,  # no To
        21608,  # trial account, unverified number
        21610,  # the recipient has unsubscribed (STOP): never send to them again
        21612,  # no route to this number by SMS
        21614,  # not a mobile number (a landline)
        21617,  # body over 1600 characters: the same message would fail again
        30004,  # blocked by the recipient or the carrier
        30005,  # unknown destination: the number does not exist (any more)
        30006,  # landline, or a carrier that cannot be reached by SMS
        30007,  # filtered as spam by the carrier: the same text would be filtered again
    }
)


# WhatsApp errors that the same message by SMS gets around, checked against Twilio's error
# pages (twilio.com/docs/api/errors/<code>) and its WhatsApp error-code mapping. They come as
# the API's answer or, more often, as the ErrorCode of a failed status callback. Not here:
# errors of our account or sender (63007 no such WhatsApp sender, 63018 rate limit, 63112 the
# business account disabled): SMS would get around them too, but they say the deployment is
# broken, not the citizen's number, and must show as failures rather than quietly cost SMS.
WHATSAPP_FALLBACK_CODES = frozenset(
    {
        63003,  # "Channel could not find To address": the number is not on WhatsApp
        63016,  # "Outside messaging window": free text after the 24 hours (or a template in Body)
        63024,  # "Invalid message recipient": not on WhatsApp, terms not accepted, old app
        63027,  # "Template does not exist for a language and locale": the template refused
        63028,  # "Number of parameters ... does not match": the template refused
        63032,  # "cannot send this message to this user because of a WhatsApp limitation"
        63049,  # "Meta chose not to deliver this WhatsApp marketing message"
    }
)


def falls_back_to_sms(code: int | str | None) -> bool:
    """Whether a WhatsApp failure with this Twilio error code should be sent again by SMS."""
    try:
        return code is not None and int(code) in WHATSAPP_FALLBACK_CODES
    except ValueError:
        return False


def classify_twilio_error(code: int | None, http_status: int | None = None) -> FailureKind:
    """Whether a Twilio error is worth a retry: by its code, else by the HTTP status."""
    if code in TWILIO_TEMPORARY_CODES:
        return FailureKind.TEMPORARY
    if code in TWILIO_PERMANENT_CODES or code in WHATSAPP_FALLBACK_CODES:
        return FailureKind.PERMANENT
    if http_status is None or http_status == 429 or http_status >= 500:
        return FailureKind.TEMPORARY
    if http_status in (401, 403):  # credentials and permissions: ours to fix, as 20003
        return FailureKind.TEMPORARY
    return FailureKind.PERMANENT


class _HttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, remembering each thread's last response (the client raises
    its errors without their headers, and a 429's Retry-After is in them) and, given
    ``api_base``, sending every request there instead of Twilio's host (whichever edge or region
    the client picked), path and query kept."""

    def __init__(self, api_base: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._base = urlsplit(api_base) if api_base else None
        if self._base and (self._base.scheme not in ("http", "https") or not self._base.netloc):
            raise ValueError(f"TWILIO_API_BASE must be an http(s) URL, not {api_base!r}")
        self._last = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self._last.response = None
        if self._base:
            parts = urlsplit(url)
            path = self._base.path.rstrip("/") + parts.path
            url = urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, ""))
        response = super().request(method, url, *args, **kwargs)
        self._last.response = response
        return response

    def last_response(self) -> Response | None:
        return getattr(self._last, "response", None)


def _retry_after(response: Response | None) -> float | None:
    # Only the delta-seconds form: the date form would need a clock, and Twilio sends seconds.
    value = (response.headers or {}).get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _may_have_been_sent(exc: requests.exceptions.RequestException) -> bool:
    """False only when the request surely never reached the server: no connection was made."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        # requests wraps urllib3's MaxRetryError, whose reason tells a refused connection or an
        # unknown host from a connection dropped after the request was written.
        wrapped = exc.args[0] if exc.args else None
        reason = getattr(wrapped, "reason", wrapped)
        return not isinstance(reason, urllib3.exceptions.NewConnectionError)
    return True


# How far Twilio's clock may run behind ours when find_sent compares creation times.
CLOCK_SKEW = timedelta(minutes=5)
# find_sent looks at this many of the number's most recent messages.
RECENT_MESSAGES = 20


class TwilioGateway:
    """Sends through Twilio's REST API with the official ``twilio`` client.

    Give ``from_`` (a number or sender ID), ``messaging_service_sid``, or both (then Twilio
    uses that sender of the service). ``whatsapp_from`` is the WhatsApp sender's number (E.164,
    sent as ``whatsapp:+…``); without it WhatsApp goes through the messaging service's WhatsApp
    sender, and without either a WhatsApp message answers ``channel_unavailable``.
    ``api_base`` sends every request to another host, such as a test server on loopback.
    ``timeout`` (seconds) bounds each request: a worker must never hang on one message.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        whatsapp_from: str | None = None,
        api_base: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if whatsapp_from is not None:
            whatsapp_from = whatsapp_from.removeprefix(WHATSAPP_PREFIX)
            if not _E164.fullmatch(whatsapp_from):
                raise ValueError(f"the WhatsApp sender {whatsapp_from!r} is not an E.164 number")
        if not account_sid or not auth_token:
            raise ValueError("the Twilio gateway needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        if not from_ and not messaging_service_sid:
            raise ValueError("the Twilio gateway needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid
        self.whatsapp_from = whatsapp_from
        self._http = _HttpClient(api_base, timeout=timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)

    def _sender(self, channel: Channel) -> str | None:
        if channel == Channel.WHATSAPP:
            return address(channel, self.whatsapp_from) if self.whatsapp_from else None
        return self.from_

    def _from(self, channel: Channel, sender: Sender | None) -> tuple[str | None, str | None]:
        """From and MessagingServiceSid of a message from ``sender`` (None: the gateway's own).
        A Messaging Service goes alone: it picks the number or name for the destination."""
        if sender is None:
            return self._sender(channel), self.messaging_service_sid
        if sender.kind == SenderKind.SERVICE:
            return None, sender.value
        return address(channel, sender.value), None

    def send(self, message: OutgoingSms) -> SendResult:
        sender, service = self._from(message.channel, message.sender)
        if message.channel == Channel.WHATSAPP and not sender and not service:
            return SendResult(
                sid=None,
                status="failed",
                failure=FailureKind.PERMANENT,
                error="no WhatsApp sender is configured (TWILIO_WHATSAPP_FROM)",
                channel_unavailable=True,
            )
        optional: dict[str, str | None] = {
            "from_": sender,
            "messaging_service_sid": service,
            "status_callback": message.status_callback,
        }
        if message.content_sid is not None:
            # A template: Twilio words it; a Body beside it would be refused outside the window.
            optional["content_sid"] = message.content_sid
            optional["content_variables"] = json.dumps(
                message.content_variables or {}, ensure_ascii=False
            )
        else:
            optional["body"] = message.body
        try:
            created = self._client.messages.create(
                to=address(message.channel, message.to),
                **{name: value for name, value in optional.items() if value},
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            return self._refused(exc)
        except requests.exceptions.RequestException as exc:
            return SendResult(
                sid=None,
                status="failed",
                failure=FailureKind.TEMPORARY,
                error=f"{type(exc).__name__}: {exc}",
                may_have_been_sent=_may_have_been_sent(exc),
            )
        return SendResult(sid=created.sid, status=str(created.status or "queued"))

    def _refused(self, exc: TwilioRestException | TwilioServiceException) -> SendResult:
        # Without a JSON body the twilio client puts the HTTP status where the code goes.
        code = exc.code if exc.code is not None and exc.code != exc.status else None
        text = (exc.detail or exc.title) if isinstance(exc, TwilioServiceException) else exc.msg
        return SendResult(
            sid=None,
            status="failed",
            failure=classify_twilio_error(code, exc.status),
            error_code=code,
            error=text,
            retry_after=_retry_after(self._http.last_response()),
        )

    def find_sent(
        self,
        to: str,
        body: str,
        *,
        since: datetime,
        channel: Channel = Channel.SMS,
        sender: Sender | None = None,
    ) -> str | None:
        # Not filtered by DateSent: a message still queued at Twilio has none yet. Through a
        # Messaging Service the From is the service's pick: not filtered by it either.
        sender_address, _ = self._from(channel, sender)
        try:
            recent = self._client.messages.list(
                to=address(channel, to),
                **({"from_": sender_address} if sender_address else {}),
                limit=RECENT_MESSAGES,
            )
        except (TwilioException, requests.exceptions.RequestException) as exc:
            raise ProviderUnavailable(str(exc)) from exc
        for message in recent:
            created = message.date_created
            # A template's body is Twilio's wording around our text, which it carries whole.
            same = message.body == body or (
                channel == Channel.WHATSAPP and body in (message.body or "")
            )
            if same and (created is None or created >= since - CLOCK_SKEW):
                return message.sid
        return None

    def close(self) -> None:
        if self._http.session is not None:
            self._http.session.close()


# --- choosing one -------------------------------------------------------------------------

GATEWAY_NAMES = ("console", "twilio")


def gateway_from_settings(
    name: str,
    *,
    account_sid: str | None = None,
    auth_token: str | None = None,
    from_: str | None = None,
    messaging_service_sid: str | None = None,
    whatsapp_from: str | None = None,
    api_base: str | None = None,
    timeout: float = 10.0,
    stream: TextIO | None = None,
) -> ConsoleGateway | TwilioGateway:
    """The gateway ``QUEUE_SMS_GATEWAY`` names: ``console`` (which ignores the Twilio settings,
    so the app can pass all of them whichever runs) or ``twilio``. Raises ValueError for another
    name, or for a Twilio gateway without its credentials or a sender."""
    if name == "console":
        return ConsoleGateway(stream)
    if name == "twilio":
        return TwilioGateway(
            account_sid=account_sid or "",
            auth_token=auth_token or "",
            from_=from_,
            messaging_service_sid=messaging_service_sid,
            whatsapp_from=whatsapp_from,
            api_base=api_base,
            timeout=timeout,
        )
    raise ValueError(f"unknown SMS gateway {name!r}; choose one of {GATEWAY_NAMES}")
