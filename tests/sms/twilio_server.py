"""A stand-in for Twilio's Messages API on loopback, for the real ``twilio`` client to talk to.

It checks HTTP Basic auth as Twilio does, records every request and its answer, creates
message resources shaped as Twilio's (201, then listed by GET), and plays scripted failures
first: HTTP errors with Twilio's error body, a connection dropped without an answer, or an
answer slower than the client's timeout.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sms.segments import segments

MESSAGES_PATH = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json")


@dataclass(frozen=True)
class Failure:
    """A scripted answer: an HTTP status with Twilio's error body, or ``drop`` / ``slow``."""

    status: int | None = None
    code: int | None = None
    message: str = ""
    json_body: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection after reading the request, answer nothing
    slow: bool = False  # answer nothing until the server stops (beyond any client timeout)


RATE_LIMITED = Failure(429, 20429, "Too Many Requests", headers={"Retry-After": "7"})
INTERNAL_ERROR = Failure(500, 20500, "An internal server error has occurred")
UNAVAILABLE = Failure(503, json_body=False, message="<html>Service Unavailable</html>")
INVALID_NUMBER = Failure(400, 21211, "Invalid 'To' Phone Number: +2010123")
NOT_ON_WHATSAPP = Failure(400, 63003, "Channel could not find To address")
OUTSIDE_WINDOW = Failure(400, 63016, "Failed to send freeform message outside the window")
UNSUBSCRIBED = Failure(400, 21610, "Attempt to send to unsubscribed recipient")
DROPPED = Failure(drop=True)
SLOW = Failure(slow=True)


@dataclass
class Exchange:
    """One request as it arrived, and what the server answered (status None: no answer)."""

    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)

    def field(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.exchanges: list[Exchange] = []
        self.messages: list[dict[str, Any]] = []
        self._script: deque[Failure] = deque()
        # Numbers that have no WhatsApp: a WhatsApp message to one is refused with 63003.
        self.not_on_whatsapp: set[str] = set()
        # While set, every request gets a 503: the provider is down.
        self.down = False
        self._lock = threading.Lock()
        self.release = threading.Event()  # lets a SLOW answer end
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll: stop() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fail_next(self, *failures: Failure) -> None:
        with self._lock:
            self._script.extend(failures)

    def next_failure(self) -> Failure | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def authorized(self, header: str | None, account: str) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return False
        return (
            secrets.compare_digest(user, self.account_sid)
            and secrets.compare_digest(password, self.auth_token)
            and account == self.account_sid
        )

    def create(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        def one(name: str) -> str | None:
            values = form.get(name)
            return values[0] if values else None

        to, sender, service = one("To"), one("From"), one("MessagingServiceSid")
        if not to:
            return error_body(400, 21604, "A 'To' phone number is required.")
        if not sender and not service:
            return error_body(400, 21603, "A 'From' phone number is required.")
        if sender and to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
            return error_body(400, 21910, "Invalid From and To pair.")
        if to.removeprefix("whatsapp:") in self.not_on_whatsapp and to.startswith("whatsapp:"):
            return error_body(400, 63003, "Channel could not find To address")
        content_sid = one("ContentSid")
        if content_sid and one("Body"):
            return error_body(400, 21619, "A template is sent with ContentSid, without Body.")
        if content_sid:
            # Twilio words the template; ours carry the message whole in {{1}}.
            variables = json.loads(one("ContentVariables") or "{}")
            body = f"[{content_sid}] " + " ".join(variables[key] for key in sorted(variables))
        else:
            body = one("Body") or ""
        if not body:
            return error_body(400, 21602, "Message body is required.")
        now = format_datetime(datetime.now(UTC))
        sid = "SM" + secrets.token_hex(16)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            # Through a messaging service Twilio picks the sender later, and counts no segment.
            "from": sender,
            "messaging_service_sid": service,
            # Not in Twilio's message resource: kept for the tests, stripped from answers.
            "_content_sid": content_sid,
            "num_media": "0",
            "num_segments": str(segments(body).segments) if sender and not service else "0",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        with self._lock:
            self.messages.append(message)
        return 201, _public(message)

    def list(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        def matches(message: dict[str, Any]) -> bool:
            return all(
                message[key] == query[name][0]
                for name, key in (("To", "to"), ("From", "from"))
                if name in query
            )

        page_size = int(query.get("PageSize", ["50"])[0])
        with self._lock:
            found = [_public(m) for m in reversed(self.messages) if matches(m)][:page_size]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json?PageSize={page_size}&Page=0"
        return 200, {
            "messages": found,
            "end": max(len(found) - 1, 0),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": page_size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if not key.startswith("_")}


def error_body(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    """Twilio's error answer."""
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _handler_for(twilio: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as Twilio's servers do: a client must not pay a new connection per message.
        protocol_version = "HTTP/1.1"
        # The answer leaves in one write (headers and body buffered, flushed after each request)
        # with Nagle off: otherwise each answer waits out the client's delayed ACK (40 ms).
        wbufsize = 64 * 1024
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test reads the exchanges, not a log

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            exchange = Exchange(
                method=self.command,
                target=self.path,
                headers=dict(self.headers.items()),
                body=self.rfile.read(length),
            )
            twilio.record(exchange)
            match = MESSAGES_PATH.fullmatch(exchange.path)
            if match is None:
                self._answer(
                    exchange, *error_body(404, 20404, "The requested resource was not found")
                )
                return
            if not twilio.authorized(self.headers.get("Authorization"), match["account"]):
                self._answer(exchange, *error_body(401, 20003, "Authenticate"))
                return
            failure = UNAVAILABLE if twilio.down else twilio.next_failure()
            if failure is not None:
                self._fail(exchange, failure)
            elif self.command == "POST":
                self._answer(exchange, *twilio.create(exchange.form))
            else:
                self._answer(exchange, *twilio.list(exchange.query))

        def _fail(self, exchange: Exchange, failure: Failure) -> None:
            if failure.slow:
                twilio.release.wait(timeout=30)
            if failure.drop or failure.slow:
                self.close_connection = True
                with contextlib.suppress(OSError):  # the client may have hung up already
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            assert failure.status is not None
            if failure.json_body:
                assert failure.code is not None
                status, body = error_body(failure.status, failure.code, failure.message)
                self._answer(exchange, status, body, failure.headers)
            else:
                self._send(exchange, failure.status, failure.message.encode(), "text/html", {})

        def _answer(
            self,
            exchange: Exchange,
            status: int,
            body: dict[str, Any],
            headers: dict[str, str] | None = None,
        ) -> None:
            data = json.dumps(body).encode("utf-8")
            self._send(exchange, status, data, "application/json", headers or {})

        def _send(
            self,
            exchange: Exchange,
            status: int,
            data: bytes,
            content_type: str,
            headers: dict[str, str],
        ) -> None:
            all_headers = {"Content-Type": content_type, "Content-Length": str(len(data))}
            all_headers.update(headers)
            exchange.status = status
            exchange.response_headers = all_headers
            exchange.response_body = data
            self.send_response(status)
            for name, value in all_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    """Serve the stand-in in a process of its own (for the benchmarks): prints its URL, runs
    until SIGTERM or SIGINT. ``python -m tests.sms.twilio_server ACCOUNT_SID AUTH_TOKEN``."""
    import signal
    import sys

    account_sid, auth_token = sys.argv[1], sys.argv[2]
    twilio = FakeTwilio(account_sid, auth_token).start()
    stop = threading.Event()
    for name in ("SIGTERM", "SIGINT"):
        signal.signal(getattr(signal, name), lambda *_: stop.set())
    print(twilio.url, flush=True)
    stop.wait()
    twilio.stop()


if __name__ == "__main__":
    main()
