"""Writing a checked config file into the session: create what is missing, update what differs.

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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, time
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from queue_app.config_file.spec import BranchSpec, ConfigFile, Reference, SpecialRange
from queue_app.config_file.stored import _Stored
from queue_app.config_file.summary import LoadSummary, Tally
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

# A backend, branch, service, counter or kiosk: a model with a code.
_Row = TypeVar("_Row")


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


def _upsert(
    rows: dict[str, _Row],
    model: Callable[..., _Row],
    code: str,
    values: Mapping[str, Any],
    add: Callable[[_Row], object],
    *,
    defaults: Mapping[str, Any] | None = None,
) -> tuple[_Row, bool, bool]:
    """The row of ``code`` in ``rows`` with the file's values set; (row, created, changed).

    A code ``rows`` lacks is created with ``defaults`` under the values, handed to ``add`` (the
    session, or the branch's list) and kept in ``rows``; a stored row gets only the values the
    file writes, so that what it leaves out stays as it is.
    """
    row = rows.get(code)
    if row is None:
        rows[code] = row = model(code=code, **{**(defaults or {}), **values})
        add(row)
        return row, True, True
    return row, False, _assign(row, values)


def _link(
    row: Any,
    attribute: str,
    references: tuple[Reference, ...] | None,
    by_code: Mapping[str, Any],
    *,
    created: bool,
) -> bool:
    """Make ``row.attribute`` the rows the file names, when it names any; say whether it changed."""
    if references is None:  # the key is left out: the stored links stay
        return False
    wanted = {ref.code for ref in references}
    if not created and {linked.code for linked in getattr(row, attribute)} == wanted:
        return False
    setattr(row, attribute, [by_code[code] for code in sorted(wanted)])
    return True


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
        existing = rows.get(weekday)
        if existing is None:
            branch.opening_hours.append(OpeningHours(weekday=weekday, opens=opens, closes=closes))
            changed = True
        elif (existing.opens, existing.closes) != (opens, closes):
            existing.opens, existing.closes = opens, closes
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
        _, created, changed = _upsert(backends, Backend, spec.code, spec.values, session.add)
        _count(summary.backends, created=created, changed=changed)

    branches = dict(stored.branches)
    for branch_spec in config.branches:
        branch, created, changed = _upsert(
            branches, Branch, branch_spec.code, branch_spec.values, session.add
        )
        if not created:
            _free_letters(session, branch, branch_spec)
        changed = _set_hours(branch, branch_spec.hours) or changed
        if branch_spec.holidays is not None:
            changed = _set_holidays(branch, branch_spec.holidays) or changed
        if branch_spec.special_hours is not None:
            changed = _set_special_hours(branch, branch_spec.special_hours) or changed
        _count(summary.branches, created=created, changed=changed)

        services = {service.code: service for service in branch.services}
        for service_spec in branch_spec.services:
            service, created, changed = _upsert(
                services, Service, service_spec.code, service_spec.values, branch.services.append
            )
            changed = (
                _link(service, "backends", service_spec.backends, backends, created=created)
                or changed
            )
            _count(summary.services, created=created, changed=changed)

        counters = {counter.code: counter for counter in branch.counters}
        for counter_spec in branch_spec.counters:
            counter, created, changed = _upsert(
                counters, Counter, counter_spec.code, counter_spec.values, branch.counters.append
            )
            changed = (
                _link(counter, "services", counter_spec.services, services, created=created)
                or changed
            )
            _count(summary.counters, created=created, changed=changed)

        kiosks = {kiosk.code: kiosk for kiosk in branch.kiosks}
        for kiosk_spec in branch_spec.kiosks:
            # A kiosk the file gives no name is called by its code, in both languages.
            unnamed = {"name_ar": kiosk_spec.code, "name_en": kiosk_spec.code}
            _, created, changed = _upsert(
                kiosks,
                Kiosk,
                kiosk_spec.code,
                kiosk_spec.values,
                branch.kiosks.append,
                defaults=unnamed,
            )
            _count(summary.kiosks, created=created, changed=changed)
    return summary
