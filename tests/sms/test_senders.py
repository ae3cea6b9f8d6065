"""The sender per destination country (sms.senders): what each kind of sender may be, and
which one a number gets."""

from __future__ import annotations

import pytest

from sms.senders import Sender, SenderKind, Senders, parse_sender

SERVICE = "MG" + "0123456789abcdef" * 2


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("+201000000000", SenderKind.NUMBER),
        ("GOVQUEUE", SenderKind.NAME),
        ("Gov Queue 1", SenderKind.NAME),  # 11 characters, spaces allowed
        ("MGOV", SenderKind.NAME),  # a name may start with MG
        (SERVICE, SenderKind.SERVICE),
        (f"  {SERVICE} ", SenderKind.SERVICE),
    ],
)
def test_each_kind_of_sender_is_recognised(raw: str, kind: SenderKind) -> None:
    sender = parse_sender(raw)
    assert sender == Sender(raw.strip(), kind)
    assert sender.takes_replies is (kind != SenderKind.NAME)


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("GOVERNMENTQ1", "up to 11"),  # 12 characters
        ("12345", "at least one letter"),  # digits only: it would look like a short code
        ("GOV-QUEUE", "letters, digits and spaces"),
        ("حكومة", "letters, digits and spaces"),  # ASCII letters only
        ("+20100", "E.164"),
        ("+2010000000a", "E.164"),
        ("MG0123456789abcdef0123", "Messaging Service SID"),
        ("MG" + "g" * 32, "Messaging Service SID"),
    ],
)
def test_a_bad_sender_is_refused_saying_why(raw: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_sender(raw)


def test_whatsapp_takes_no_sender_name() -> None:
    assert parse_sender("+201000000000", names=False).kind == SenderKind.NUMBER
    assert parse_sender(SERVICE, names=False).kind == SenderKind.SERVICE
    with pytest.raises(ValueError, match="neither a phone number"):
        parse_sender("GOVQUEUE", names=False)


def test_the_sender_follows_the_destination_s_country() -> None:
    senders = Senders.parse(f"EG=+201000000000, sa=GOVQUEUE, *={SERVICE}")
    assert senders.for_number("+201012345678") == Sender("+201000000000", SenderKind.NUMBER)
    assert senders.for_number("+966501234567") == Sender("GOVQUEUE", SenderKind.NAME)
    assert senders.for_number("+971501234567") == Sender(SERVICE, SenderKind.SERVICE)
    assert senders.for_country("sa") == Sender("GOVQUEUE", SenderKind.NAME)
    assert senders.for_country("AE") == Sender(SERVICE, SenderKind.SERVICE)
    assert senders.countries == ("EG", "SA")


def test_without_a_default_other_countries_keep_the_deployment_s_own_sender() -> None:
    senders = Senders.parse("SA=GOVQUEUE")
    assert senders.for_number("+201012345678") is None
    own = Sender("+15005550006", SenderKind.NUMBER)
    assert senders.with_default(own).for_number("+201012345678") == own
    # An explicit * is not overridden by the deployment's own sender.
    assert Senders.parse("*=GOVQUEUE").with_default(own).for_country("EG") == Sender(
        "GOVQUEUE", SenderKind.NAME
    )
    assert Senders.parse("") == Senders() == Senders.parse(None)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("EG", "COUNTRY=SENDER"),
        ("EG=", "COUNTRY=SENDER"),
        ("=GOVQUEUE", "COUNTRY=SENDER"),
        ("XX=GOVQUEUE", "not a country code"),
        ("Egypt=GOVQUEUE", "not a country code"),
        ("US=GOVQUEUE", "shares the calling code \\+1"),  # US and CA: +1 cannot tell them apart
        ("EG=GOVQUEUE,EG=+201000000000", "given twice"),
        ("*=GOVQUEUE,*=OTHER", "given twice"),
        ("SA=GOV-QUEUE", "'SA=GOV-QUEUE'"),  # the error names the item
    ],
)
def test_a_bad_list_of_senders_is_refused_saying_where(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Senders.parse(text)
