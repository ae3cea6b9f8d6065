"""Checks of one value each (a code, a time, a list of days), recording what is wrong with it.

PyYAML reads YAML 1.1, whose plain scalars hold traps: ``18:00`` is the integer 1080, ``NO`` is
False, ``010`` is 8. Values are therefore checked by type, and a value that YAML turned into
something else is answered with "write it in quotes" and the text the user typed.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from queue_app import printers
from queue_app.config_file.document import _Document, _Problem
from queue_app.config_file.spec import (
    DAY_KEYS,
    REMINDER_KEYS,
    REMINDER_TIMES,
    SPECIAL_HOURS_KEYS,
    SPECIAL_HOURS_REQUIRED,
    KeyPath,
    Reference,
    SpecialRange,
)
from queue_app.locales import LOCALES
from queue_app.opening_hours import WEEKDAYS
from sms.gateways import Channel

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Column lengths of the models.
CODE_LENGTH, COUNTER_CODE_LENGTH, NAME_LENGTH, URL_LENGTH = 64, 32, 200, 500
MINUTES_PER_DAY = 24 * 60


class _Invalid(Exception):
    """One value is wrong; the reader records it and goes on with the next key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _closest(word: str, choices: Any) -> str | None:
    """The choice the user probably meant: "Timezone" is timezone, "sunday" is sun."""
    choices = sorted(choices)
    lower = word.lower()
    prefixes = [c for c in choices if len(c) >= 3 and lower.startswith(c.lower())]
    if prefixes:
        return max(prefixes, key=len)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.75)
    return close[0] if close else None


def _did_you_mean(word: str, choices: Any) -> str:
    close = _closest(word, choices)
    return f' (did you mean "{close}"?)' if close else ""


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "text"


class _Values:
    """The checks of one value or shape each: a wrong one is recorded, or raised as _Invalid."""

    def __init__(self, document: _Document, problems: list[_Problem]) -> None:
        self.document = document
        self.problems = list(problems)

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append(_Problem(path, message))

    # -- shapes --

    def mapping(
        self, value: Any, path: KeyPath, keys: tuple[str, ...], required: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The mapping at ``path``, after reporting its unknown and missing keys."""
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping of {', '.join(keys)}; found {_kind(value)}")
            return None
        meant = set()
        for key in value:
            if key not in keys:
                close = _closest(str(key), keys)
                meant.add(close)
                hint = (
                    f' (did you mean "{close}"?)' if close else f"; known keys: {', '.join(keys)}"
                )
                self.problem((*path, str(key)), f"unknown key{hint}")
        for key in required:
            # A misspelt key is also a missing one; the typo alone says what to fix.
            if key not in value and key not in meant:
                self.problem((*path, key), "missing")
        return {key: item for key, item in value.items() if key in keys}

    def items(self, value: Any, path: KeyPath) -> list[tuple[KeyPath, Any]]:
        if not isinstance(value, list):
            self.problem(path, f"expected a list; found {_kind(value)}")
            return []
        return [((*path, index), item) for index, item in enumerate(value)]

    def fields(
        self,
        found: dict[str, Any],
        path: KeyPath,
        checks: Mapping[str, Callable[[Any, KeyPath], Any]],
    ) -> dict[str, Any]:
        """Check each present key with its check; a wrong value is recorded and left out."""
        checked = {}
        for key, check in checks.items():
            if key in found:
                try:
                    checked[key] = check(found[key], (*path, key))
                except _Invalid as bad:
                    self.problem((*path, key), bad.message)
        return checked

    # -- scalars; each raises _Invalid --

    def text(self, value: Any, path: KeyPath) -> str:
        if isinstance(value, str):
            if not value.strip():
                raise _Invalid("is empty")
            return value
        raw = self.document.raw(path)
        if value is not None and raw is not None:
            # YAML made a number, a boolean or a date of what the user meant as text.
            raise _Invalid(
                f'write it in quotes, "{raw}" (unquoted, YAML reads it as {_kind(value)})'
            )
        raise _Invalid(f"expected text; found {_kind(value)}")

    def code(self, value: Any, path: KeyPath, length: int = CODE_LENGTH) -> str:
        code = self.text(value, path)
        if not SLUG.fullmatch(code):
            suggestion = "-".join(re.findall(r"[a-z0-9]+", code.lower()))
            like = f', like "{suggestion}"' if suggestion else ""
            raise _Invalid(
                f'"{code}" is not a code: use lowercase letters, digits and hyphens{like}'
            )
        if len(code) > length:
            raise _Invalid(f"is longer than {length} characters")
        return code

    def counter_code(self, value: Any, path: KeyPath) -> str:
        return self.code(value, path, COUNTER_CODE_LENGTH)

    def names(self, value: Any, path: KeyPath) -> dict[str, str]:
        if not isinstance(value, dict):
            raise _Invalid(
                f'expected names in both languages, {{ar: "...", en: "..."}}; found {_kind(value)}'
            )
        found = self.mapping(value, path, LOCALES, LOCALES) or {}
        names = {}
        for locale in LOCALES:
            if locale in found:
                try:
                    name = self.text(found[locale], (*path, locale)).strip()
                    if len(name) > NAME_LENGTH:
                        raise _Invalid(f"is longer than {NAME_LENGTH} characters")
                    names[f"name_{locale}"] = name
                except _Invalid as bad:
                    self.problem((*path, locale), bad.message)
        return names

    def whole(self, value: Any, path: KeyPath, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise _Invalid(
                    f"expected a whole number from {low} to {high}; found {_kind(value)}"
                )
        if not low <= value <= high:
            raise _Invalid(f"expected a whole number from {low} to {high}; found {value}")
        return value

    def positive_whole(self, value: Any, path: KeyPath) -> int:
        return self.whole(value, path, 1, MINUTES_PER_DAY)

    def minutes(self, value: Any, path: KeyPath) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(f"expected a number of minutes; found {_kind(value)}")
        if not (math.isfinite(value) and 0 < value <= MINUTES_PER_DAY):
            raise _Invalid(f"expected more than 0 minutes and at most a day; found {value}")
        return float(value)

    def flag(self, value: Any, path: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise _Invalid(f"expected true or false; found {_kind(value)}")
        return value

    def time_of_day(self, value: Any, path: KeyPath) -> time:
        if isinstance(value, str) and (match := TIME.fullmatch(value.strip())):
            return time(int(match[1]), int(match[2]))
        raw = self.document.raw(path)
        if isinstance(value, int) and not isinstance(value, bool) and raw and ":" in raw:
            # YAML 1.1 reads 18:00 as sexagesimal 18 * 60 + 0 = 1080.
            hours, minutes = divmod(value, 60)
            quoted = f"{hours:02d}:{minutes:02d}" if value < MINUTES_PER_DAY else raw
            raise _Invalid(
                f'write times in quotes, "{quoted}" '
                f"(unquoted, YAML reads {raw} as the number {value})"
            )
        if isinstance(value, str) and (
            match := re.fullmatch(r"([0-9]):([0-5][0-9])", value.strip())
        ):
            raise _Invalid(f'write times with two-digit hours, "0{match[1]}:{match[2]}"')
        shown = f'"{value}"' if isinstance(value, str) else _kind(value)
        raise _Invalid(f'expected a time "HH:MM" (00:00 to 23:59); found {shown}')

    def day(self, value: Any, path: KeyPath) -> date:
        # YAML turns an unquoted 2026-12-24 into a date, a quoted one stays text: take both.
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and ISO_DAY.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise _Invalid(f'"{value}" is not a date in the calendar') from None
        shown = f'"{value}"' if isinstance(value, str) else _kind(value)
        raise _Invalid(f'expected a date "YYYY-MM-DD"; found {shown}')

    def timezone(self, value: Any, path: KeyPath) -> str:
        zone = self.text(value, path)
        if zone not in _time_zones():
            hint = _did_you_mean(zone, _time_zones()) or ', e.g. "Africa/Cairo" or "Asia/Riyadh"'
            raise _Invalid(f'"{zone}" is not an IANA time zone{hint}')
        return zone

    def country(self, value: Any, path: KeyPath) -> str:
        country = self.text(value, path)
        if re.fullmatch(r"[a-z]{2}", country) and country.upper() in phonenumbers.SUPPORTED_REGIONS:
            raise _Invalid(f'write country codes in capitals, "{country.upper()}"')
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise _Invalid(f'"{country}" is not a two-letter country code, like "EG" or "SA"')
        return country

    def letter(self, value: Any, path: KeyPath) -> str:
        letter = self.text(value, path)
        if re.fullmatch(r"[A-Z]", letter):
            return letter
        if re.fullmatch(r"[a-z]", letter):
            raise _Invalid(f'use a capital letter, "{letter.upper()}"')
        raise _Invalid(f'expected one capital letter A-Z; found "{letter}"')

    def url(self, value: Any, path: KeyPath) -> str | None:
        if value is None:  # written as null: the backend is no longer polled
            return None
        url = self.text(value, path).strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Invalid(f'expected an http:// or https:// address; found "{url}"')
        if len(url) > URL_LENGTH:
            raise _Invalid(f"is longer than {URL_LENGTH} characters")
        return url

    def printer(self, value: Any, path: KeyPath) -> str | None:
        if value is None:  # written as null: the kiosk prints through its browser
            return None
        url = self.text(value, path).strip()
        try:
            printers.parse(url)
        except printers.BadPrinterAddress as bad:
            raise _Invalid(
                f'"{url}" is not a ticket printer\'s address ({bad}); expected {printers.EXPECTED}'
            ) from None
        if len(url) > URL_LENGTH:
            raise _Invalid(f"is longer than {URL_LENGTH} characters")
        return url

    def channels(self, value: Any, path: KeyPath) -> str:
        known = [channel.value for channel in Channel]
        """``[whatsapp, sms]``: how the branch may tell its citizens, the first the default;
        stored as ``whatsapp,sms``."""
        if not isinstance(value, list) or not value:
            raise _Invalid("expected a list of channels, such as [whatsapp, sms]")
        chosen: list[str] = []
        for item in value:
            if item not in known:
                raise _Invalid(f'"{item}" is not a channel; choose among {", ".join(known)}')
            if item in chosen:
                raise _Invalid(f'"{item}" is listed twice')
            chosen.append(item)
        return ",".join(chosen)

    def reminders(self, value: Any, path: KeyPath) -> dict[str, time | None]:
        """``{evening: "19:00", morning: "07:30"}``: the local times of a branch's appointment
        reminders, as the columns ``reminder_evening`` and ``reminder_morning``. Within the
        mapping, a reminder left out, null or false is not sent; ``reminders: false`` (or null)
        sends none."""
        if value is None or value is False:
            return {f"reminder_{key}": None for key in REMINDER_KEYS}
        if not isinstance(value, dict):
            raise _Invalid(
                'expected {evening: "19:00", morning: "07:30"} (either null or false to send '
                f"none), or false for no reminders; found {_kind(value)}"
            )
        found = self.mapping(value, path, REMINDER_KEYS, ()) or {}
        times: dict[str, time | None] = {}
        for key in REMINDER_KEYS:
            written = found.get(key)
            if written is None or written is False:
                times[f"reminder_{key}"] = None
                continue
            try:
                moment = self.time_of_day(written, (*path, key))
            except _Invalid as bad:
                self.problem((*path, key), bad.message)
                continue
            low, high = REMINDER_TIMES[key]
            if not low <= moment <= high:
                self.problem(
                    (*path, key),
                    f"the {key} reminder goes from {low:%H:%M} to {high:%H:%M}; "
                    f"found {moment:%H:%M}",
                )
                continue
            times[f"reminder_{key}"] = moment
        return times

    def codes(
        self, value: Any, path: KeyPath, check: Callable[[Any, KeyPath], str]
    ) -> tuple[Reference, ...]:
        references: list[Reference] = []
        for item_path, item in self.items(value, path):
            try:
                code = check(item, item_path)
            except _Invalid as bad:
                self.problem(item_path, bad.message)
                continue
            if any(ref.code == code for ref in references):
                self.problem(item_path, f'"{code}" is listed twice')
                continue
            references.append(Reference(code, item_path))
        return tuple(references)

    def hours(self, value: Any, path: KeyPath) -> dict[int, tuple[time, time]]:
        if not isinstance(value, dict):
            raise _Invalid(
                'expected a mapping of days to ["HH:MM", "HH:MM"], '
                f'like {{sun: ["08:00", "15:00"]}}; found {_kind(value)}'
            )
        found = self.mapping(value, path, DAY_KEYS, ()) or {}
        week: dict[int, tuple[time, time]] = {}
        for day, written in found.items():
            window = self.window(written, (*path, day))
            if window is not None:
                week[WEEKDAYS.index(day)] = window
        return week

    def window(self, value: Any, path: KeyPath) -> tuple[time, time] | None:
        """``["opens", "closes"]``, or None after recording what is wrong with it."""
        if not isinstance(value, list) or len(value) != 2:
            self.problem(path, 'expected ["opens", "closes"], like ["08:00", "15:00"]')
            return None
        times = []
        for index, written in enumerate(value):
            try:
                times.append(self.time_of_day(written, (*path, index)))
            except _Invalid as bad:
                self.problem((*path, index), bad.message)
        if len(times) != 2:
            return None
        opens, closes = times
        if not opens < closes:
            self.problem(path, f"opens at {opens:%H:%M}, which is not before {closes:%H:%M}")
            return None
        return opens, closes

    def holidays(self, value: Any, path: KeyPath) -> tuple[date, ...]:
        days: list[date] = []
        for item_path, item in self.items(value, path):
            try:
                day = self.day(item, item_path)
            except _Invalid as bad:
                self.problem(item_path, bad.message)
                continue
            if day in days:
                self.problem(item_path, f"{day.isoformat()} is listed twice")
                continue
            days.append(day)
        return tuple(sorted(days))

    def special_hours(self, value: Any, path: KeyPath) -> tuple[SpecialRange, ...]:
        """Ranges of days with other hours. Two ranges may not share a day: which one would hold
        on it is nowhere to be seen in the file."""
        ranges: list[tuple[SpecialRange, KeyPath]] = []
        for item_path, item in self.items(value, path):
            found = self.mapping(item, item_path, SPECIAL_HOURS_KEYS, SPECIAL_HOURS_REQUIRED)
            if found is None:
                continue
            checked = self.fields(
                found, item_path, {"from": self.day, "to": self.day, "note": self.text}
            )
            window = (
                self.window(found["hours"], (*item_path, "hours")) if "hours" in found else None
            )
            if "from" not in checked or "to" not in checked:
                continue
            first, last = checked["from"], checked["to"]
            if last < first:
                self.problem(
                    (*item_path, "to"),
                    f"ends on {last.isoformat()}, before it begins on {first.isoformat()}",
                )
                continue
            for (other_first, other_last, *_), other_path in ranges:
                if first <= other_last and other_first <= last:
                    line = self.document.line_of(other_path)
                    self.problem(
                        (*item_path, "from"),
                        f"{first.isoformat()} to {last.isoformat()} shares days with "
                        f"{other_first.isoformat()} to {other_last.isoformat()} (line {line}); "
                        "ranges of special hours may not overlap",
                    )
                    break
            else:
                if window is not None:
                    ranges.append(((first, last, *window), item_path))
        return tuple(sorted(spec for spec, _ in ranges))
