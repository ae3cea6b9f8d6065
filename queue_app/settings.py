"""Settings, read once from the environment into a frozen object.

Nothing else in the project reads ``os.environ``: the factory takes a ``Settings`` and tests build
their own with ``Settings.from_env(environ={...})`` or ``dataclasses.replace``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sms.senders import Sender, SenderKind, Senders, parse_sender
from sms.whatsapp import Templates


def normalise_database_url(url: str) -> str:
    """SQLAlchemy reads a bare ``postgresql://`` as psycopg2; we ship psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


class SettingsError(ValueError):
    """An environment variable that cannot be used; the message names it."""


def _number(env: Mapping[str, str], name: str, default: float, kind: type = float) -> Any:
    raw = env.get(name)
    if not raw:
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number above zero, not {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be above zero, not {raw!r}")
    return value


def _trusted_proxies(env: Mapping[str, str]) -> int:
    """QUEUE_TRUSTED_PROXIES: how many proxies in front of us add X-Forwarded-For (0 to 5)."""
    raw = env.get("QUEUE_TRUSTED_PROXIES") or "0"
    if not raw.isdigit() or int(raw) > 5:
        raise SettingsError(
            f"QUEUE_TRUSTED_PROXIES must be how many proxies stand in front (0 to 5), not {raw!r}"
        )
    return int(raw)


def _rates(raw: str) -> tuple[tuple[str, str, float], ...]:
    """QUEUE_SMS_RATES: comma-separated ``channel:sender=rate``."""
    rates = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, _, number = item.rpartition("=")
        channel, _, sender = key.partition(":")
        try:
            rate = float(number)
        except ValueError:
            rate = 0.0
        if not channel or not sender or not rate > 0:
            raise SettingsError(
                f"QUEUE_SMS_RATES takes channel:sender=rate items (sms:+201000000000=5), "
                f"not {item!r}"
            )
        rates.append((channel, sender, rate))
    return tuple(rates)


def _whatsapp_templates(env: Mapping[str, str]) -> Templates:
    """TWILIO_WHATSAPP_TEMPLATES (JSON) or the file TWILIO_WHATSAPP_TEMPLATES_FILE names."""
    name, text = "TWILIO_WHATSAPP_TEMPLATES", env.get("TWILIO_WHATSAPP_TEMPLATES")
    path = env.get("TWILIO_WHATSAPP_TEMPLATES_FILE")
    if path and not text:
        name = "TWILIO_WHATSAPP_TEMPLATES_FILE"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"{name}: cannot read {path}: {exc.strerror}") from None
    try:
        return Templates.from_json(text)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def _senders(env: Mapping[str, str], name: str, *, names: bool) -> Senders:
    """QUEUE_SMS_SENDERS / QUEUE_WHATSAPP_SENDERS: ``EG=+201000000000,SA=GOVQUEUE,*=MG…``."""
    try:
        return Senders.parse(env.get(name), names=names)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def _sender(env: Mapping[str, str], name: str, *, names: bool = True) -> str | None:
    """A single sender setting (TWILIO_FROM), checked as ``sms.senders`` reads it."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_sender(raw, names=names).value
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def _countries(env: Mapping[str, str], name: str, default: str) -> frozenset[str]:
    """A comma-separated list of ISO 3166 country codes ("" for none)."""
    raw = env.get(name, default)
    codes = frozenset(c.strip().upper() for c in raw.split(",") if c.strip())
    bad = sorted(c for c in codes if len(c) != 2 or not c.isalpha())
    if bad:
        raise SettingsError(f"{name} lists two-letter country codes, not {', '.join(bad)}")
    return codes


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    public_url: str = DEFAULT_PUBLIC_URL
    sms_gateway: str = "console"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base: str | None = None
    # WhatsApp (docs/sms.md): the WhatsApp sender's number, and the approved Content templates
    # per message kind and locale (TWILIO_WHATSAPP_TEMPLATES, JSON, or a file of it).
    twilio_whatsapp_from: str | None = None
    whatsapp_templates: Templates = field(default_factory=Templates)
    sms_rate: float = 10.0
    # Messages per second of one sender on one channel, where it differs from ``sms_rate``:
    # QUEUE_SMS_RATES="sms:+201000000000=5,sms:MG0123=30". Shared by every worker (send_rates).
    sms_rates: tuple[tuple[str, str, float], ...] = ()
    # Messages one number may get in a day (the branch's day), whatever anyone asks (daily_cap).
    sms_daily_cap: int = 8
    # Seconds after which a message claimed but never recorded counts as its worker's crash.
    sms_lease_seconds: float = 120.0
    web_workers: int = 2
    web_threads: int = 8
    max_body_bytes: int = 64 * 1024
    # Where rate-limit counts live: memory:// (one process) or redis://host:6379 (shared).
    rate_limit_storage: str = "memory://"
    # Days after a ticket's day when its phone, messages, replies and notes are erased (privacy).
    retention_days: int = 90
    # Proxies in front of the web server whose X-Forwarded-For and -Proto are believed (nginx: 1).
    # 0 believes none: the client is the connection's own address.
    trusted_proxies: int = 0
    # Countries where SMS replies never arrive: texts point to the ticket's page instead. A
    # country whose sender is an alphanumeric name is one-way too (``sms_replies_arrive``).
    sms_one_way_countries: frozenset[str] = frozenset({"EG", "SA"})
    # The sender per destination country (sms.senders), else TWILIO_FROM / the service:
    # QUEUE_SMS_SENDERS="EG=+201000000000,SA=GOVQUEUE,*=MG…"; WhatsApp's, numbers or services.
    sms_senders: Senders = field(default_factory=Senders)
    whatsapp_senders: Senders = field(default_factory=Senders)
    # ``queue-app demo`` only: serve the simulated back-end systems and their switch.
    demo: bool = False
    # The kiosks' ticket printer: tcp://HOST[:PORT][?options] (kiosk/printing.py), or None.
    kiosk_printer_url: str | None = None
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, instance_path: Path | None = None
    ) -> Settings:
        env = os.environ if environ is None else environ
        instance = Path(env.get("QUEUE_INSTANCE_PATH") or instance_path or Path.cwd() / "instance")
        default_db = f"sqlite:///{instance / 'queue.sqlite3'}"
        database_url = normalise_database_url(env.get("QUEUE_DATABASE_URL") or default_db)
        rate_limit_storage = env.get("QUEUE_RATE_LIMIT_STORAGE") or "memory://"
        # One web process unless told: on SQLite its threads take turns writing without the
        # file's busy-wait (sqlite_writers; bench/README.md, bench.issue_floor), and with
        # rate-limit counts in memory a second process would count apart (cli serve refuses).
        one_process = database_url.startswith("sqlite") or rate_limit_storage.startswith(
            "memory://"
        )
        return cls(
            database_url=database_url,
            # A random key per process is safe only for a single process; production sets one.
            secret_key=env.get("QUEUE_SECRET_KEY") or secrets.token_hex(32),
            public_url=(env.get("QUEUE_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/"),
            sms_gateway=env.get("QUEUE_SMS_GATEWAY") or "console",
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN"),
            twilio_from=_sender(env, "TWILIO_FROM"),
            twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID"),
            twilio_api_base=env.get("TWILIO_API_BASE"),
            twilio_whatsapp_from=env.get("TWILIO_WHATSAPP_FROM") or None,
            whatsapp_templates=_whatsapp_templates(env),
            sms_rate=_number(env, "QUEUE_SMS_RATE", 10.0),
            sms_rates=_rates(env.get("QUEUE_SMS_RATES") or ""),
            sms_daily_cap=_number(env, "QUEUE_SMS_DAILY_CAP", 8, int),
            sms_lease_seconds=_number(env, "QUEUE_SMS_LEASE_SECONDS", 120.0),
            web_workers=_number(env, "QUEUE_WEB_WORKERS", 1 if one_process else 2, int),
            web_threads=_number(env, "QUEUE_WEB_THREADS", 8, int),
            kiosk_printer_url=env.get("QUEUE_KIOSK_PRINTER_URL") or None,
            rate_limit_storage=rate_limit_storage,
            trusted_proxies=_trusted_proxies(env),
            retention_days=_number(env, "QUEUE_RETENTION_DAYS", 90, int),
            sms_one_way_countries=_countries(env, "QUEUE_SMS_ONE_WAY_COUNTRIES", "EG,SA"),
            sms_senders=_senders(env, "QUEUE_SMS_SENDERS", names=True),
            whatsapp_senders=_senders(env, "QUEUE_WHATSAPP_SENDERS", names=False),
            instance_path=instance,
        )

    def rate_for(self, channel: str, sender: str) -> float:
        """Messages per second that ``sender`` may send on ``channel``."""
        for rate_channel, rate_sender, rate in self.sms_rates:
            if (rate_channel, rate_sender) == (channel, sender):
                return rate
        return self.sms_rate

    @property
    def sms_reply_senders(self) -> Senders:
        """The SMS sender of every country as far as replies go: QUEUE_SMS_SENDERS, and for
        the others TWILIO_FROM (Twilio sends From when both it and a service are given), else
        the Messaging Service."""
        own: Sender | None = None
        if self.twilio_from:
            own = parse_sender(self.twilio_from)
        elif self.twilio_messaging_service_sid:
            own = Sender(self.twilio_messaging_service_sid, SenderKind.SERVICE)
        return self.sms_senders.with_default(own)

    def sms_replies_arrive(self, country: str) -> bool:
        """Whether an SMS reply from ``country`` can reach us: not where listed one-way, nor
        where its sender is an alphanumeric name (nobody can answer a name)."""
        if country.upper() in self.sms_one_way_countries:
            return False
        sender = self.sms_reply_senders.for_country(country)
        return sender is None or sender.takes_replies

    @property
    def shares_rate_limits(self) -> bool:
        """True when rate-limit counts live outside the process (several web processes agree)."""
        return not self.rate_limit_storage.startswith("memory://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
