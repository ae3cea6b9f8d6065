"""``queue-app load FILE``: backends and branches from a YAML or JSON file (DESIGN.md, "The config
file"). Loading is idempotent and matched by code.

What a reload does, so that a file can be loaded again and again:

- Backends and branches are matched by code, services, counters and kiosks by (branch, code). What
  the file names and the database lacks is created; what both have is updated; nothing is deleted.
- A key present in the file sets the value. A key left out takes the model's default when the thing
  is created and leaves the stored value alone when it already exists. This is what lets a manager's
  later change survive a reload: a counter's ``open`` is applied on create, and afterwards only when
  the file writes it; the same holds for a counter's ``services``, a branch's ``holidays`` and
  ``special_hours`` and a kiosk's ``printer`` (``printer: null`` takes a kiosk's printer away: it
  prints through its browser then).
- A list that is present replaces the stored one: a branch's ``hours`` (required), ``holidays``
  and ``special_hours`` (``[]`` takes them all away), a service's ``backends``, a counter's
  ``services``.
- The whole file is checked, including its references to what is already stored, before anything is
  written; then everything is written in one transaction, committed once. An error leaves the
  database as it was.

Every problem is reported with the file, the line and the key path, such as
``branches[0].services[1].letter``. PyYAML reads YAML 1.1, whose plain scalars hold traps:
``18:00`` is the integer 1080, ``NO`` is False, ``010`` is 8. Values are therefore checked by
type, and a value that YAML turned into something else is answered with "write it in quotes" and
the text the user typed.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from queue_app import printers
from queue_app.errors import ConfigError
from queue_app.models import (
    Backend,
    Branch,
    Counter,
    Holiday,
    OpeningHours,
    Service,
    SpecialHours,
)
from queue_app.models.kiosks import Kiosk
from queue_app.opening_hours import WEEKDAYS

KeyPath = tuple[str | int, ...]
# (first day, last day, opens, closes): other hours over a range of days, such as Ramadan's.
SpecialRange = tuple[date, date, time, time]

# The day keys of ``hours``, in the order people in Egypt and Saudi Arabia write the week.
DAY_KEYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Column lengths of the models.
CODE_LENGTH, COUNTER_CODE_LENGTH, NAME_LENGTH, URL_LENGTH = 64, 32, 200, 500
MINUTES_PER_DAY = 24 * 60
# A file with hundreds of mistakes is the wrong file; the first ones say enough.
MAX_REPORTED = 30

# The keys each thing may have in the file (DESIGN.md), and those it must have.
BACKEND_KEYS = (
    "code", "name", "health_url", "check_interval_s", "failure_threshold", "recovery_threshold",
)  # fmt: skip
BRANCH_KEYS = (
    "code", "name", "timezone", "country", "hours", "holidays", "special_hours",
    "reschedule_after_minutes", "evening_notice", "services", "counters", "kiosks",
)  # fmt: skip
BRANCH_REQUIRED = ("code", "name", "timezone", "country", "hours")
SERVICE_KEYS = (
    "code", "letter", "name", "backends", "avg_service_minutes", "slot_minutes",
    "manual_fallback_percent", "walk_in_percent",
)  # fmt: skip
SERVICE_REQUIRED = ("code", "letter", "name", "avg_service_minutes")
COUNTER_KEYS = ("code", "open", "services")
KIOSK_KEYS = ("code", "name", "printer")
# ``note`` is for the reader of the file ("Ramadan"): it is checked as text and not stored.
SPECIAL_HOURS_KEYS = ("from", "to", "hours", "note")
SPECIAL_HOURS_REQUIRED = ("from", "to", "hours")


# --- what the file says, checked -----------------------------------------------------------


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


# --- what loading did ----------------------------------------------------------------------


@dataclass
class Tally:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged

    def describe(self, noun: str, nouns: str) -> str:
        name = noun if self.total == 1 else nouns
        return f"{self.total} {name} ({self.new} new, {self.updated} updated)"


@dataclass
class LoadSummary:
    """How many backends, branches, services, counters and kiosks of the file were created or
    updated."""

    source: str
    backends: Tally = field(default_factory=Tally)
    branches: Tally = field(default_factory=Tally)
    services: Tally = field(default_factory=Tally)
    counters: Tally = field(default_factory=Tally)
    kiosks: Tally = field(default_factory=Tally)

    @property
    def changed(self) -> bool:
        return any(t.new or t.updated for t in self._tallies())

    def _tallies(self) -> tuple[Tally, ...]:
        return (self.backends, self.branches, self.services, self.counters, self.kiosks)

    def describe(self) -> str:
        head = f"loaded {self.source}" + ("" if self.changed else ": nothing changed")
        counts = ", ".join(
            [
                self.backends.describe("backend", "backends"),
                self.branches.describe("branch", "branches"),
                self.services.describe("service", "services"),
                self.counters.describe("counter", "counters"),
                self.kiosks.describe("kiosk", "kiosks"),
            ]
        )
        return f"{head}\n  {counts}"


# --- problems, with the line they are on ---------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    path: KeyPath
    message: str
    line: int | None = None  # when the path alone does not find it (a key written twice)


class _Invalid(Exception):
    """One value is wrong; the reader records it and goes on with the next key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def format_key(path: KeyPath) -> str:
    """``("branches", 0, "services", 1, "letter")`` -> ``branches[0].services[1].letter``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@dataclass(frozen=True)
class _Document:
    """The parsed file and its YAML node tree, which alone knows where each value was written."""

    source: str
    data: Any
    root: yaml.Node | None

    def line_of(self, path: KeyPath) -> int | None:
        """The line of the key (or list item) at ``path``; for a key that is missing, the line of
        the nearest thing that exists, where the user would add it."""
        node = self.root
        if node is None:
            # An empty file is wrong on its first line; JSON that YAML could not follow has none.
            return 1 if self.data is None else None
        line = node.start_mark.line + 1
        for part in path:
            found = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                        found, line = value_node, key_node.start_mark.line + 1
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                found = node.value[part]
                line = found.start_mark.line + 1
            if found is None:
                break
            node = found
        return line

    def raw(self, path: KeyPath) -> str | None:
        """The text the user typed for an unquoted scalar, or None."""
        node = self.root
        for part in path:
            if isinstance(node, yaml.MappingNode):
                node = next(
                    (v for k, v in reversed(node.value) if getattr(k, "value", None) == str(part)),
                    None,
                )
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                node = node.value[part] if 0 <= part < len(node.value) else None
            else:
                return None
        if isinstance(node, yaml.ScalarNode) and node.style is None:
            return str(node.value)
        return None

    def error(self, problems: list[_Problem]) -> ConfigError:
        located = sorted(
            ((p.line or self.line_of(p.path), format_key(p.path), p.message) for p in problems),
            key=lambda item: (item[0] or 0, item[1]),
        )

        def one(line: int | None, key: str, message: str) -> str:
            where = f"{self.source}:{line}" if line else self.source
            return f"{where}: {key}: {message}"

        first_line, first_key, _ = located[0]
        if len(located) == 1:
            message = one(*located[0])
        else:
            listed = [f"  {one(*item)}" for item in located[:MAX_REPORTED]]
            if len(located) > MAX_REPORTED:
                listed.append(f"  ... and {len(located) - MAX_REPORTED} more")
            message = "\n".join(
                [f"{self.source}: {len(located)} problems, nothing was loaded", *listed]
            )
        return ConfigError(message, file=self.source, line=first_line, key=first_key)


def _syntax_error(source: str, err: yaml.YAMLError, text: str) -> ConfigError:
    line, problem = None, str(err)
    if isinstance(err, yaml.MarkedYAMLError):
        problem = err.problem or problem
        if err.problem_mark is not None:
            line = err.problem_mark.line + 1
        if err.context and err.context_mark is not None:
            problem += f" ({err.context}, from line {err.context_mark.line + 1})"
    elif isinstance(err, yaml.reader.ReaderError):
        line = text.count("\n", 0, err.position) + 1
        problem = f"character U+{err.character:04X} is not allowed in YAML"
    if "'\\t'" in problem:
        problem += " (indent with spaces, not tabs)"
    where = f"{source}:{line}" if line else source
    return ConfigError(f"{where}: not valid YAML: {problem}", file=source, line=line)


def _read(text: str, source: str) -> tuple[_Document, list[_Problem]]:
    """Parse the text and keep its node tree; return it with the keys written twice.

    Raises ConfigError for text that is not YAML.
    """
    text = text.removeprefix("\ufeff")
    try:
        # JSON is YAML, except that PyYAML refuses the tabs JSON tools indent with and reads
        # 1e5 as text. Valid JSON gives the values; YAML, on the same lines, gives the lines.
        # JSON strings cannot hold a raw tab, so every tab is whitespace between tokens.
        data: Any = json.loads(text)
        yaml_text, from_json = text.replace("\t", " "), True
    except ValueError:
        data, yaml_text, from_json = None, text, False
    loader = None
    try:
        loader = yaml.SafeLoader(yaml_text)  # refuses control characters at once
        root = loader.get_single_node()
        duplicates = list(_duplicate_keys(root, ())) if root is not None else []
        if not from_json:
            data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as err:
        if not from_json:
            raise _syntax_error(source, err, text) from None
        root, duplicates = None, []  # valid JSON that PyYAML cannot follow: values without lines
    finally:
        if loader is not None:
            loader.dispose()
    return _Document(source, data, root), duplicates


def _duplicate_keys(
    node: yaml.Node, path: KeyPath, seen: set[int] | None = None
) -> Iterator[_Problem]:
    # PyYAML keeps the last of two equal keys without a word; in a config file that is a mistake.
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias, possibly of itself
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            name = str(key_node.value)
            line = key_node.start_mark.line + 1
            if (key_node.tag, name) in first_line:
                yield _Problem(
                    (*path, name),
                    f"written twice (first on line {first_line[key_node.tag, name]})",
                    line=line,
                )
            else:
                first_line[key_node.tag, name] = line
            yield from _duplicate_keys(value_node, (*path, name), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index), seen)


# --- checking values -----------------------------------------------------------------------


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


class _Reader:
    """Walks the parsed data along the schema of DESIGN.md, collecting every problem."""

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
        found = self.mapping(value, path, ("ar", "en"), ("ar", "en")) or {}
        names = {}
        for locale in ("ar", "en"):
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

    # -- the things of the file --

    def config(self) -> ConfigFile:
        data = self.document.data
        backends: list[BackendSpec] = []
        branches: list[BranchSpec] = []
        if data is None:
            self.problem((), "the file is empty; expected backends and branches")
        found = self.mapping(data, (), ("backends", "branches"), ()) if data is not None else None
        if found is not None:
            if not data:
                self.problem((), "nothing to load; expected backends and branches")
            for path, item in self.items(found.get("backends", []), ("backends",)):
                if (backend := self.backend(item, path)) is not None:
                    backends.append(backend)
            for path, item in self.items(found.get("branches", []), ("branches",)):
                if (branch := self.branch(item, path)) is not None:
                    branches.append(branch)
        self.unique("backend", backends)
        self.unique("branch", branches)
        return ConfigFile(self.document.source, tuple(backends), tuple(branches))

    def unique(self, noun: str, specs: list[Any], where: str = "") -> None:
        first: dict[str, KeyPath] = {}
        for spec in specs:
            if spec.code in first:
                line = self.document.line_of((*first[spec.code], "code"))
                self.problem(
                    (*spec.path, "code"),
                    f'{noun} "{spec.code}" is defined twice{where} (first on line {line})',
                )
            else:
                first[spec.code] = spec.path

    def identity(
        self, found: dict[str, Any], path: KeyPath, check: Callable[[Any, KeyPath], str]
    ) -> str | None:
        if "code" not in found:
            return None
        try:
            return check(found["code"], (*path, "code"))
        except _Invalid as bad:
            self.problem((*path, "code"), bad.message)
            return None

    def backend(self, item: Any, path: KeyPath) -> BackendSpec | None:
        found = self.mapping(item, path, BACKEND_KEYS, ("code", "name"))
        if found is None:
            return None
        code = self.identity(found, path, self.code)
        checked = self.fields(
            found,
            path,
            {
                "name": self.names,
                "health_url": self.url,
                "check_interval_s": lambda v, p: self.whole(v, p, 1, 3600),
                "failure_threshold": lambda v, p: self.whole(v, p, 1, 100),
                "recovery_threshold": lambda v, p: self.whole(v, p, 1, 100),
            },
        )
        if code is None:
            return None
        return BackendSpec(code, path, _columns(checked))

    def branch(self, item: Any, path: KeyPath) -> BranchSpec | None:
        found = self.mapping(item, path, BRANCH_KEYS, BRANCH_REQUIRED)
        if found is None:
            return None
        code = self.identity(found, path, self.code)
        checked = self.fields(
            found,
            path,
            {
                "name": self.names,
                "timezone": self.timezone,
                "country": self.country,
                "hours": self.hours,
                "holidays": self.holidays,
                "special_hours": self.special_hours,
                "reschedule_after_minutes": lambda v, p: self.whole(v, p, 0, MINUTES_PER_DAY),
                "evening_notice": self.time_of_day,
            },
        )
        services = [
            spec
            for service_path, service in self.items(found.get("services", []), (*path, "services"))
            if (spec := self.service(service, service_path)) is not None
        ]
        counters = [
            spec
            for counter_path, counter in self.items(found.get("counters", []), (*path, "counters"))
            if (spec := self.counter(counter, counter_path)) is not None
        ]
        kiosks = [
            spec
            for kiosk_path, kiosk in self.items(found.get("kiosks", []), (*path, "kiosks"))
            if (spec := self.kiosk(kiosk, kiosk_path)) is not None
        ]
        self.unique("service", services, " in this branch")
        self.unique("counter", counters, " in this branch")
        self.unique("kiosk", kiosks, " in this branch")
        self.unique_letters(services)
        hours = checked.pop("hours", {})
        holidays = checked.pop("holidays", None)
        special_hours = checked.pop("special_hours", None)
        if code is None:
            return None
        return BranchSpec(
            code,
            path,
            _columns(checked),
            hours,
            holidays,
            tuple(services),
            tuple(counters),
            tuple(kiosks),
            special_hours,
        )

    def unique_letters(self, services: list[ServiceSpec]) -> None:
        first: dict[str, ServiceSpec] = {}
        for service in services:
            letter = service.values.get("letter")
            if letter is None:
                continue
            if letter in first:
                self.problem(
                    (*service.path, "letter"),
                    f'letter {letter} is already used by service "{first[letter].code}" '
                    "of this branch",
                )
            else:
                first[letter] = service

    def service(self, item: Any, path: KeyPath) -> ServiceSpec | None:
        found = self.mapping(item, path, SERVICE_KEYS, SERVICE_REQUIRED)
        if found is None:
            return None
        code = self.identity(found, path, self.code)
        checked = self.fields(
            found,
            path,
            {
                "letter": self.letter,
                "name": self.names,
                "avg_service_minutes": self.minutes,
                "slot_minutes": self.positive_whole,
                "manual_fallback_percent": lambda v, p: self.whole(v, p, 0, 100),
                "walk_in_percent": lambda v, p: self.whole(v, p, 0, 100),
            },
        )
        backends = (
            self.codes(found["backends"], (*path, "backends"), self.code)
            if "backends" in found
            else None
        )
        if code is None:
            return None
        return ServiceSpec(code, path, _columns(checked), backends)

    def counter(self, item: Any, path: KeyPath) -> CounterSpec | None:
        found = self.mapping(item, path, COUNTER_KEYS, ("code",))
        if found is None:
            return None
        code = self.identity(found, path, self.counter_code)
        checked = self.fields(found, path, {"open": self.flag})
        services = (
            self.codes(found["services"], (*path, "services"), self.code)
            if "services" in found
            else None
        )
        if code is None:
            return None
        values = {"is_open": checked["open"]} if "open" in checked else {}
        return CounterSpec(code, path, values, services)

    def kiosk(self, item: Any, path: KeyPath) -> KioskSpec | None:
        found = self.mapping(item, path, KIOSK_KEYS, ("code",))
        if found is None:
            return None
        code = self.identity(found, path, self.code)
        checked = self.fields(found, path, {"name": self.names, "printer": self.printer})
        if code is None:
            return None
        if "printer" in checked:
            checked["printer_url"] = checked.pop("printer")
        return KioskSpec(code, path, _columns(checked))


def _columns(checked: dict[str, Any]) -> dict[str, Any]:
    """Keys of the file -> columns of the model: ``name`` is two columns."""
    columns = dict(checked)
    columns.update(columns.pop("name", {}))
    return columns


def parse_text(text: str, *, source: str = "<text>") -> ConfigFile:
    """Check a config file as far as it can be checked without a database.

    References to backends and services are not resolved here: they may name what is stored.
    Raises ConfigError naming the file, line and key of every problem.
    """
    document, duplicates = _read(text, source)
    reader = _Reader(document, duplicates)
    config = reader.config()
    if reader.problems:
        raise document.error(reader.problems)
    return config


# --- against the database ------------------------------------------------------------------


@dataclass
class _Stored:
    """What the database already holds of the file's backends and branches, by code."""

    backends: dict[str, Backend]
    branches: dict[str, Branch]


def _fetch(session: Session, config: ConfigFile) -> _Stored:
    backend_codes = {b.code for b in config.backends} | {
        ref.code
        for branch in config.branches
        for service in branch.services
        for ref in service.backends or ()
    }
    backends = session.scalars(select(Backend).where(Backend.code.in_(sorted(backend_codes))))
    branches = session.scalars(
        select(Branch)
        .where(Branch.code.in_([b.code for b in config.branches]))
        .options(
            selectinload(Branch.services).selectinload(Service.backends),
            selectinload(Branch.counters).selectinload(Counter.services),
            selectinload(Branch.opening_hours),
            selectinload(Branch.holidays),
            selectinload(Branch.special_hours),
            selectinload(Branch.kiosks),
        )
    )
    return _Stored({b.code: b for b in backends}, {b.code: b for b in branches})


def _check_references(config: ConfigFile, stored: _Stored) -> list[_Problem]:
    problems = []
    known_backends = {b.code for b in config.backends} | set(stored.backends)
    for branch in config.branches:
        existing = stored.branches.get(branch.code)
        stored_services = {s.code: s for s in existing.services} if existing else {}
        in_file = {s.code for s in branch.services}
        for service in branch.services:
            for ref in service.backends or ():
                if ref.code not in known_backends:
                    hint = _did_you_mean(ref.code, known_backends)
                    problems.append(
                        _Problem(
                            ref.path,
                            f'unknown backend "{ref.code}"{hint}: define it under backends',
                        )
                    )
            # Services the file leaves out keep their letters; a new letter may not take one.
            letter = service.values.get("letter")
            for other in stored_services.values():
                if other.code not in in_file and other.letter == letter:
                    problems.append(
                        _Problem(
                            (*service.path, "letter"),
                            f'letter {letter} is already used by service "{other.code}" of branch '
                            f'"{branch.code}" in the database',
                        )
                    )
        known_services = in_file | set(stored_services)
        for counter in branch.counters:
            for ref in counter.services or ():
                if ref.code not in known_services:
                    hint = _did_you_mean(ref.code, known_services)
                    problems.append(
                        _Problem(
                            ref.path, f'branch "{branch.code}" has no service "{ref.code}"{hint}'
                        )
                    )
    return problems


# --- writing -------------------------------------------------------------------------------


def _assign(thing: Any, values: Mapping[str, Any]) -> bool:
    """Set the values that differ; say whether any did."""
    changed = False
    for column, value in values.items():
        if getattr(thing, column) != value:
            setattr(thing, column, value)
            changed = True
    return changed


def _count(tally: Tally, *, created: bool, changed: bool) -> None:
    if created:
        tally.new += 1
    elif changed:
        tally.updated += 1
    else:
        tally.unchanged += 1


def _set_hours(branch: Branch, week: Mapping[int, tuple[time, time]]) -> bool:
    # Rows are changed in place rather than deleted and inserted again: the unit of work inserts
    # before it deletes, which would break the unique (branch, weekday).
    changed = False
    rows = {row.weekday: row for row in branch.opening_hours}
    for weekday, row in rows.items():
        if weekday not in week:
            branch.opening_hours.remove(row)
            changed = True
    for weekday, (opens, closes) in sorted(week.items()):
        row = rows.get(weekday)
        if row is None:
            branch.opening_hours.append(OpeningHours(weekday=weekday, opens=opens, closes=closes))
            changed = True
        elif (row.opens, row.closes) != (opens, closes):
            row.opens, row.closes = opens, closes
            changed = True
    return changed


def _set_holidays(branch: Branch, days: tuple[date, ...]) -> bool:
    changed = False
    for holiday in list(branch.holidays):
        if holiday.day not in days:
            branch.holidays.remove(holiday)
            changed = True
    stored = {holiday.day for holiday in branch.holidays}
    for day in days:
        if day not in stored:
            branch.holidays.append(Holiday(day=day))
            changed = True
    return changed


def _set_special_hours(branch: Branch, ranges: tuple[SpecialRange, ...]) -> bool:
    # Matched as a whole set, as holidays are: a range that differs in anything is another range.
    # No unique key keeps a range from being stored twice; a second copy goes too.
    changed = False
    stored: set[SpecialRange] = set()
    for row in list(branch.special_hours):
        written = (row.first_day, row.last_day, row.opens, row.closes)
        if written not in ranges or written in stored:
            branch.special_hours.remove(row)
            changed = True
        stored.add(written)
    for first, last, opens, closes in ranges:
        if (first, last, opens, closes) not in stored:
            branch.special_hours.append(
                SpecialHours(first_day=first, last_day=last, opens=opens, closes=closes)
            )
            changed = True
    return changed


def _free_letters(session: Session, branch: Branch, spec: BranchSpec) -> None:
    """Let services of a branch swap letters: move the changing ones to placeholders first.

    The unique (branch, letter) is checked row by row on both databases, so A<->B written as two
    UPDATEs would collide half way.
    """
    wanted = {s.code: s.values["letter"] for s in spec.services if "letter" in s.values}
    moving = [s for s in branch.services if s.code in wanted and s.letter != wanted[s.code]]
    if not moving:
        return
    used = {s.letter for s in branch.services}
    # Lowercase letters and digits are never real letters: the file allows only A-Z.
    placeholders = (c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in used)
    for service in moving:
        service.letter = next(placeholders)
    session.flush()


def _apply(session: Session, config: ConfigFile, stored: _Stored) -> LoadSummary:
    summary = LoadSummary(config.source)
    backends = dict(stored.backends)
    for spec in config.backends:
        backend = backends.get(spec.code)
        if backend is None:
            backends[spec.code] = backend = Backend(code=spec.code, **spec.values)
            session.add(backend)
            _count(summary.backends, created=True, changed=True)
        else:
            _count(summary.backends, created=False, changed=_assign(backend, spec.values))

    for branch_spec in config.branches:
        branch = stored.branches.get(branch_spec.code)
        created = branch is None
        if branch is None:
            branch = Branch(code=branch_spec.code, **branch_spec.values)
            session.add(branch)
            changed = True
        else:
            changed = _assign(branch, branch_spec.values)
            _free_letters(session, branch, branch_spec)
        changed = _set_hours(branch, branch_spec.hours) or changed
        if branch_spec.holidays is not None:
            changed = _set_holidays(branch, branch_spec.holidays) or changed
        if branch_spec.special_hours is not None:
            changed = _set_special_hours(branch, branch_spec.special_hours) or changed
        _count(summary.branches, created=created, changed=changed)

        services = {service.code: service for service in branch.services}
        for spec in branch_spec.services:
            service = services.get(spec.code)
            created = service is None
            if service is None:
                services[spec.code] = service = Service(code=spec.code, **spec.values)
                branch.services.append(service)
                changed = True
            else:
                changed = _assign(service, spec.values)
            if spec.backends is not None:
                wanted = {ref.code for ref in spec.backends}
                if created or {b.code for b in service.backends} != wanted:
                    service.backends = [backends[code] for code in sorted(wanted)]
                    changed = True
            _count(summary.services, created=created, changed=changed)

        counters = {counter.code: counter for counter in branch.counters}
        for spec in branch_spec.counters:
            counter = counters.get(spec.code)
            created = counter is None
            if counter is None:
                counters[spec.code] = counter = Counter(code=spec.code, **spec.values)
                branch.counters.append(counter)
                changed = True
            else:
                changed = _assign(counter, spec.values)
            if spec.services is not None:
                wanted = {ref.code for ref in spec.services}
                if created or {s.code for s in counter.services} != wanted:
                    counter.services = [services[code] for code in sorted(wanted)]
                    changed = True
            _count(summary.counters, created=created, changed=changed)

        kiosks = {kiosk.code: kiosk for kiosk in branch.kiosks}
        for spec in branch_spec.kiosks:
            kiosk = kiosks.get(spec.code)
            if kiosk is None:
                # A kiosk the file gives no name is called by its code, in both languages.
                values = {"name_ar": spec.code, "name_en": spec.code, **spec.values}
                kiosks[spec.code] = kiosk = Kiosk(code=spec.code, **values)
                branch.kiosks.append(kiosk)
                _count(summary.kiosks, created=True, changed=True)
            else:
                _count(summary.kiosks, created=False, changed=_assign(kiosk, spec.values))
    return summary


# --- the public face -----------------------------------------------------------------------


def load_text(session: Session, text: str, *, source: str = "<text>") -> LoadSummary:
    """Check the whole text, then create and update what it describes in one transaction.

    ``source`` names the text in messages (the file's path). Raises ConfigError naming the file,
    line and key of every problem found; then nothing is written and the session is rolled back.
    """
    try:
        document, duplicates = _read(text, source)
        reader = _Reader(document, duplicates)
        config = reader.config()
        # Read what is stored, then write without letting a query flush half a change.
        with session.no_autoflush:
            stored = _fetch(session, config)
            problems = reader.problems + _check_references(config, stored)
            if problems:
                raise document.error(problems)
            summary = _apply(session, config, stored)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary


def load_file(session: Session, path: Path) -> LoadSummary:
    """Load a YAML or JSON config file; see ``load_text``.

    Raises ConfigError when the file cannot be read or is wrong in any way; nothing is written then.
    """
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file", file=source) from None
    except OSError as err:
        raise ConfigError(f"{source}: cannot read it ({err.strerror})", file=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ConfigError(
            f"{source}:{line}: not UTF-8 text; save the file as UTF-8", file=source, line=line
        ) from None
    return load_text(session, text, source=source)
