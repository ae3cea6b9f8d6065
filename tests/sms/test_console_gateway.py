"""The default gateway: messages are kept and printed, and nothing leaves the machine."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from sms.gateways import ConsoleGateway, OutgoingSms

ARABIC = "عطل: موعدك الأحد ٦ ديسمبر ١٢:٣٠ م\nhttps://q.example.gov.eg/t/abc"


def test_prints_arabic_as_text_and_keeps_the_message(capsys):
    gateway = ConsoleGateway()
    message = OutgoingSms(to="+201012345678", body=ARABIC, status_callback="http://q.test/s")

    result = gateway.send(message)

    assert result.ok
    assert result.sid == "console-1"
    assert gateway.sent == [message]
    printed = capsys.readouterr().out
    assert printed.startswith("--- SMS console-1 to +201012345678 (UCS-2, 1 segment)\n")
    assert "status callback: http://q.test/s" in printed
    assert ARABIC in printed


def test_finds_what_it_sent():
    gateway = ConsoleGateway(io.StringIO())
    gateway.send(OutgoingSms(to="+201012345678", body="one"))
    gateway.send(OutgoingSms(to="+201012345678", body="two"))

    assert gateway.find_sent("+201012345678", "two", since=datetime.now(UTC)) == "console-2"
    assert gateway.find_sent("+201012345678", "three", since=datetime.now(UTC)) is None


def test_a_terminal_without_arabic_does_not_fail_the_send():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")

    assert ConsoleGateway(stream).send(OutgoingSms(to="+201012345678", body=ARABIC)).ok
    assert b"\\u0639" in raw.getvalue()  # ع, escaped


@pytest.mark.parametrize("to", ["01012345678", "+0123456789", "+20 101 234 5678", ""])
def test_a_message_needs_an_e164_number(to):
    with pytest.raises(ValueError, match=r"E\.164"):
        OutgoingSms(to=to, body="x")


def test_a_message_needs_a_body():
    with pytest.raises(ValueError, match="body"):
        OutgoingSms(to="+201012345678", body="")


def test_a_whatsapp_message_is_printed_as_whatsapp_saying_how_it_goes(capsys):
    from sms.gateways import Channel
    from sms.senders import Sender, SenderKind

    gateway = ConsoleGateway()
    template = "HX" + "ab" * 16
    gateway.send(
        OutgoingSms(
            to="+201012345678",
            body=ARABIC,
            channel=Channel.WHATSAPP,
            content_sid=template,
            content_variables={"1": ARABIC},
        )
    )
    gateway.send(
        OutgoingSms(
            to="+966501234567",
            body="free",
            channel=Channel.WHATSAPP,
            sender=Sender("+966110000000", SenderKind.NUMBER),
        )
    )
    printed = capsys.readouterr().out
    first, second = printed.split("\n---\n")[:2]
    assert first.startswith(
        f"--- WhatsApp console-1 to whatsapp:+201012345678 (template {template}, "
        "outside the 24-hour window)\n"
    )
    assert ARABIC in first
    assert second.startswith(
        "--- WhatsApp console-2 to whatsapp:+966501234567 (free text, inside the 24-hour window)"
    )
    assert "from: +966110000000 (number)" in second
