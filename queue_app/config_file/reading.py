"""The reader of a whole file: backends, branches and what a branch holds, along DESIGN.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from queue_app.config_file.spec import (
    BACKEND_KEYS,
    BRANCH_KEYS,
    BRANCH_REQUIRED,
    COUNTER_KEYS,
    KIOSK_KEYS,
    SERVICE_KEYS,
    SERVICE_REQUIRED,
    BackendSpec,
    BranchSpec,
    ConfigFile,
    CounterSpec,
    KeyPath,
    KioskSpec,
    ServiceSpec,
)
from queue_app.config_file.values import MINUTES_PER_DAY, _Invalid, _Values

# Waiting anywhere: tickets at most three hours before the opening (a crowd at the door from
# dawn), and a "your turn is near" text at most two hours ahead (further is not "near").
MAX_EARLY_MINUTES = 180
MAX_TURN_NEAR_MINUTES = 120
# "About N people ahead": past a few dozen it is no longer near either.
MAX_TURN_NEAR_PEOPLE = 50
# Coming back late: an hour at most, or the place near the front is no longer fair to the line.
MAX_LATE_GRACE_MINUTES = 60

# A backend, branch, service, counter or kiosk as the file describes it.
_Spec = TypeVar("_Spec")


class _Reader(_Values):
    """Walks the parsed data along the schema of DESIGN.md, collecting every problem."""

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
            backends = self.each(found, (), "backends", self.backend)
            branches = self.each(found, (), "branches", self.branch)
        self.unique("backend", backends)
        self.unique("branch", branches)
        return ConfigFile(self.document.source, tuple(backends), tuple(branches))

    def each(
        self,
        found: dict[str, Any],
        path: KeyPath,
        key: str,
        read: Callable[[Any, KeyPath], _Spec | None],
    ) -> list[_Spec]:
        """The things listed under ``key`` that ``read`` could make sense of; none if it is left
        out. What is wrong with the others is recorded."""
        return [
            spec
            for item_path, item in self.items(found.get(key, []), (*path, key))
            if (spec := read(item, item_path)) is not None
        ]

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
                "early_tickets_minutes": lambda v, p: self.whole(v, p, 0, MAX_EARLY_MINUTES),
                "turn_near_minutes": lambda v, p: self.whole(v, p, 0, MAX_TURN_NEAR_MINUTES),
                "late_grace_minutes": lambda v, p: self.whole(v, p, 0, MAX_LATE_GRACE_MINUTES),
                "channels": self.channels,
                "join_from_phone": self.flag,
                "booking_code": self.flag,
                "reminders": self.reminders,
            },
        )
        checked.update(checked.pop("reminders", {}))
        services = self.each(found, path, "services", self.service)
        counters = self.each(found, path, "counters", self.counter)
        kiosks = self.each(found, path, "kiosks", self.kiosk)
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
                "turn_near_minutes": lambda v, p: self.whole(v, p, 0, MAX_TURN_NEAR_MINUTES),
                "turn_near_people": lambda v, p: self.whole(v, p, 0, MAX_TURN_NEAR_PEOPLE),
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
