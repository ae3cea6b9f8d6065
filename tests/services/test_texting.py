"""texting: the link to a ticket's page is built from the public URL that every session of the
app and the worker carries; a session without it is refused rather than sending a broken link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from queue_app import texting
from queue_app.settings import Settings
from queue_app.web.extensions import db
from queue_app.worker.loop import sessions_for


def test_the_app_s_session_links_to_the_public_url(app: Flask) -> None:
    assert texting.ticket_link(db.session, "abc") == "http://queue.test/t/abc"


def test_the_worker_s_sessions_link_to_the_public_url(tmp_path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'q.sqlite3'}",
        secret_key="test-secret",
        public_url="https://queue.example.eg/",
        instance_path=tmp_path,
    )
    engine = create_engine(settings.database_url)
    try:
        with sessions_for(settings, engine)() as session:
            assert texting.ticket_link(session, "xyz") == "https://queue.example.eg/t/xyz"
    finally:
        engine.dispose()


def test_a_session_without_the_public_url_is_refused() -> None:
    with Session() as session, pytest.raises(texting.NoPublicUrl):
        texting.ticket_link(session, "abc")


class _Branch:
    timezone = "Africa/Cairo"

    def __init__(self, country: str = "EG") -> None:
        self.country = country

    def name(self, locale: str) -> str:
        return "Giza post office" if locale == "en" else "بريد الجيزة"


class _Service:
    def __init__(self, country: str = "EG") -> None:
        self.branch = _Branch(country)


class _Row:
    token = "tok"

    def __init__(self, locale: str, channel: str = "sms", phone: str | None = None) -> None:
        self.locale = locale
        self.channel = channel
        self.phone = phone


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_moved_names_why_and_links_the_ticket(locale: str) -> None:
    session = Session()
    texting.set_public_url(session.info, "http://q.test")
    start = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    system = {"ar": "نظام الأحوال المدنية", "en": "Civil registry system"}.get
    outage = texting.moved(session, "outage", system=lambda lang: system(lang) or "")
    maintenance = texting.moved(session, "maintenance", system=lambda lang: system(lang) or "")
    capacity = texting.moved(session, "capacity")
    row, service = _Row(locale), _Service()
    for word in (outage, maintenance, capacity):
        body = word(row, service, start)  # type: ignore[arg-type]
        assert "http://q.test/t/tok" in body
    assert system(locale) in outage(row, service, start)  # type: ignore[arg-type, operator]
    assert system(locale) in maintenance(row, service, start)  # type: ignore[arg-type, operator]
    assert _Branch().name(locale) in capacity(row, service, start)  # type: ignore[arg-type]
    assert len({outage(row, service, start), maintenance(row, service, start)}) == 2  # type: ignore[arg-type]


def test_a_move_for_a_system_must_name_it() -> None:
    session = Session()
    texting.set_public_url(session.info, "http://q.test")
    with pytest.raises(ValueError, match="names its system"):
        texting.moved(session, "outage")


@pytest.mark.parametrize(
    ("country", "channel", "one_way", "asks_for_a_reply"),
    [
        ("EG", "sms", None, False),  # Egypt: SMS one-way by default, the choices are on the page
        ("SA", "sms", None, False),
        ("AE", "sms", None, True),
        ("EG", "whatsapp", None, True),  # WhatsApp always carries replies
        ("EG", "sms", frozenset(), True),  # a deployment whose SMS sender takes replies
        ("AE", "sms", frozenset({"AE"}), False),
    ],
)
def test_a_move_asks_for_a_reply_only_where_one_can_arrive(
    country: str, channel: str, one_way: frozenset[str] | None, asks_for_a_reply: bool
) -> None:
    session = Session()
    texting.set_public_url(session.info, "http://q.test")
    if one_way is not None:
        texting.set_reply_rules(session.info, one_way)
    start = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    word = texting.moved(session, "capacity")
    for locale in ("ar", "en"):
        body = word(_Row(locale, channel), _Service(country), start)  # type: ignore[arg-type]
        asks = "رد ١" in body or "١ تأكيد" in body or "reply 1" in body.lower()
        assert asks is asks_for_a_reply, body
        assert "http://q.test/t/tok" in body


def test_the_one_way_countries_come_from_the_settings(tmp_path) -> None:
    from queue_app.settings import SettingsError

    base = {"QUEUE_INSTANCE_PATH": str(tmp_path)}
    assert Settings.from_env(base).sms_one_way_countries == frozenset({"EG", "SA"})
    assert (
        Settings.from_env({**base, "QUEUE_SMS_ONE_WAY_COUNTRIES": ""}).sms_one_way_countries
        == frozenset()
    )
    assert Settings.from_env(
        {**base, "QUEUE_SMS_ONE_WAY_COUNTRIES": " eg, ae "}
    ).sms_one_way_countries == frozenset({"EG", "AE"})
    with pytest.raises(SettingsError, match="two-letter"):
        Settings.from_env({**base, "QUEUE_SMS_ONE_WAY_COUNTRIES": "EG,Egypt"})


def test_the_worker_s_sessions_know_the_one_way_countries(tmp_path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'q.sqlite3'}",
        secret_key="test-secret",
        public_url="https://queue.example.eg/",
        instance_path=tmp_path,
        sms_one_way_countries=frozenset({"AE"}),
    )
    engine = create_engine(settings.database_url)
    try:
        with sessions_for(settings, engine)() as session:
            assert not texting.replies_arrive(session, "sms", "AE")
            assert texting.replies_arrive(session, "sms", "EG")
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("environ", "two_way", "one_way"),
    [
        # A Saudi sender name: Saudi Arabia is one-way even though not listed as such.
        ({"QUEUE_SMS_SENDERS": "SA=GOVQUEUE,AE=+971500000000"}, {"EG", "AE"}, {"SA"}),
        # A name for every other country: all of them one-way, listed numbers stay two-way.
        ({"QUEUE_SMS_SENDERS": "EG=+201000000000,*=GOVQUEUE"}, {"EG"}, {"SA", "AE", "JO"}),
        # The deployment's own sender is a name: no country can answer.
        ({"TWILIO_FROM": "GOVQUEUE"}, set(), {"EG", "AE"}),
        # Its own sender a number, or a Messaging Service: every country can.
        ({"TWILIO_FROM": "+15005550006"}, {"EG", "SA", "AE"}, set()),
        ({"TWILIO_MESSAGING_SERVICE_SID": "MG" + "ab" * 16}, {"EG", "SA"}, set()),
        # Listed one-way stays one-way whatever the sender.
        (
            {"QUEUE_SMS_SENDERS": "EG=+201000000000", "QUEUE_SMS_ONE_WAY_COUNTRIES": "EG"},
            {"SA"},
            {"EG"},
        ),
    ],
)
def test_a_country_sent_to_from_a_sender_name_is_one_way(
    tmp_path, environ: dict[str, str], two_way: set[str], one_way: set[str]
) -> None:
    settings = Settings.from_env(
        {"QUEUE_INSTANCE_PATH": str(tmp_path), "QUEUE_SMS_ONE_WAY_COUNTRIES": "", **environ}
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    try:
        with sessions_for(settings, engine)() as session:
            texting.set_public_url(session.info, "http://q.test")
            for country in two_way | one_way:
                arrive = country in two_way
                assert texting.replies_arrive(session, "sms", country) is arrive, country
                assert settings.sms_replies_arrive(country) is arrive, country
                assert texting.replies_arrive(session, "whatsapp", country)
            # And the texts say so: "reply 1" only where a reply can arrive.
            start = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
            word = texting.moved(session, "capacity")
            for country in two_way | one_way:
                body = word(_Row("en"), _Service(country), start)  # type: ignore[arg-type]
                assert ("reply 1" in body.lower()) is (country in two_way), (country, body)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("environ", "name", "complaint"),
    [
        ({"QUEUE_SMS_SENDERS": "SA=GOV_QUEUE"}, "QUEUE_SMS_SENDERS", "letters, digits and spaces"),
        ({"QUEUE_SMS_SENDERS": "SA=GOVERNMENTQUEUE"}, "QUEUE_SMS_SENDERS", "up to 11"),
        ({"QUEUE_SMS_SENDERS": "EG=+20100"}, "QUEUE_SMS_SENDERS", "E.164"),
        ({"QUEUE_SMS_SENDERS": "EG=MG123"}, "QUEUE_SMS_SENDERS", "Messaging Service SID"),
        ({"QUEUE_SMS_SENDERS": "EGY=+201000000000"}, "QUEUE_SMS_SENDERS", "country code"),
        ({"QUEUE_SMS_SENDERS": "CA=GOVQUEUE"}, "QUEUE_SMS_SENDERS", "shares the calling code"),
        ({"QUEUE_SMS_SENDERS": "+201000000000"}, "QUEUE_SMS_SENDERS", "COUNTRY=SENDER"),
        ({"QUEUE_WHATSAPP_SENDERS": "SA=GOVQUEUE"}, "QUEUE_WHATSAPP_SENDERS", "neither"),
        ({"TWILIO_FROM": "GOV QUEUE 12"}, "TWILIO_FROM", "up to 11"),
    ],
)
def test_a_bad_sender_setting_stops_the_start_naming_it(
    tmp_path, environ: dict[str, str], name: str, complaint: str
) -> None:
    from queue_app.settings import SettingsError

    with pytest.raises(SettingsError, match=f"^{name}: .*{complaint}"):
        Settings.from_env({"QUEUE_INSTANCE_PATH": str(tmp_path), **environ})


def test_the_sender_of_the_citizen_s_number_decides_whether_replies_arrive(tmp_path) -> None:
    """A Saudi number at a branch elsewhere gets its SMS from the Saudi sender name: nobody
    can answer it, so the text points to the page, whatever the branch's country."""
    settings = Settings.from_env(
        {
            "QUEUE_INSTANCE_PATH": str(tmp_path),
            "QUEUE_SMS_ONE_WAY_COUNTRIES": "",
            "QUEUE_SMS_SENDERS": "SA=GOVQUEUE,*=+15005550006",
        }
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    try:
        with sessions_for(settings, engine)() as session:
            assert not texting.replies_arrive(session, "sms", "AE", "+966501234567")
            assert texting.replies_arrive(session, "sms", "AE", "+971501234567")
            assert texting.replies_arrive(session, "sms", "AE")
            texting.set_public_url(session.info, "http://q.test")
            start = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
            word = texting.moved(session, "capacity")
            saudi = word(_Row("en", phone="+966501234567"), _Service("AE"), start)  # type: ignore[arg-type]
            local = word(_Row("en", phone="+971501234567"), _Service("AE"), start)  # type: ignore[arg-type]
            assert "reply 1" not in saudi.lower()
            assert "reply 1" in local.lower()
    finally:
        engine.dispose()
