"""What a config file says, once checked: the keys it may have and a dataclass per thing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

KeyPath = tuple[str | int, ...]
# (first day, last day, opens, closes): other hours over a range of days, such as Ramadan's.
SpecialRange = tuple[date, date, time, time]

# The day keys of ``hours``, in the order people in Egypt and Saudi Arabia write the week.
DAY_KEYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

# The keys each thing may have in the file (DESIGN.md), and those it must have.
BACKEND_KEYS = (
    "code", "name", "health_url", "check_interval_s", "failure_threshold", "recovery_threshold",
)  # fmt: skip
BRANCH_KEYS = (
    "code", "name", "timezone", "country", "hours", "holidays", "special_hours",
    "reschedule_after_minutes", "evening_notice", "early_tickets_minutes", "turn_near_minutes",
    "late_grace_minutes", "channels", "reminders", "join_from_phone", "booking_code", "services",
    "counters", "kiosks",
)  # fmt: skip
# A branch's ``reminders``: which may be sent, each with the local time range it must fall in
# (an evening reminder after midnight would be a morning one; a morning one in the afternoon
# would meet many citizens already at their appointment).
REMINDER_KEYS = ("evening", "morning")
REMINDER_TIMES = {"evening": (time(12, 0), time(23, 59)), "morning": (time(0, 0), time(11, 59))}
BRANCH_REQUIRED = ("code", "name", "timezone", "country", "hours")
SERVICE_KEYS = (
    "code", "letter", "name", "backends", "avg_service_minutes", "slot_minutes",
    "manual_fallback_percent", "walk_in_percent", "turn_near_minutes", "turn_near_people",
)  # fmt: skip
SERVICE_REQUIRED = ("code", "letter", "name", "avg_service_minutes")
COUNTER_KEYS = ("code", "open", "services")
KIOSK_KEYS = ("code", "name", "printer")
# ``note`` is for the reader of the file ("Ramadan"): it is checked as text and not stored.
SPECIAL_HOURS_KEYS = ("from", "to", "hours", "note")
SPECIAL_HOURS_REQUIRED = ("from", "to", "hours")


@dataclass(frozen=True)
class Reference:
    """A code that names something else (a service's backend, a counter's service)."""

    code: str
    path: KeyPath


@dataclass(frozen=True)
class BackendSpec:
    code: str
    path: KeyPath
    # Column name -> value, only for the keys present in the file.
    values: Mapping[str, Any]


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    path: KeyPath
    values: Mapping[str, Any]
    backends: tuple[Reference, ...] | None  # None: the key is left out


@dataclass(frozen=True)
class CounterSpec:
    code: str
    path: KeyPath
    values: Mapping[str, Any]
    services: tuple[Reference, ...] | None  # None: the key is left out


@dataclass(frozen=True)
class KioskSpec:
    code: str
    path: KeyPath
    values: Mapping[str, Any]  # name_ar, name_en, printer_url: those the file writes


@dataclass(frozen=True)
class BranchSpec:
    code: str
    path: KeyPath
    values: Mapping[str, Any]
    hours: Mapping[int, tuple[time, time]]  # weekday (Monday is 0) -> (opens, closes)
    holidays: tuple[date, ...] | None  # None: the key is left out
    services: tuple[ServiceSpec, ...]
    counters: tuple[CounterSpec, ...]
    kiosks: tuple[KioskSpec, ...] = ()
    # In order of their first day, none sharing a day; None: the key is left out.
    special_hours: tuple[SpecialRange, ...] | None = None


@dataclass(frozen=True)
class ConfigFile:
    """A config file that passed every check that needs no database."""

    source: str
    backends: tuple[BackendSpec, ...]
    branches: tuple[BranchSpec, ...]
