"""``queue-app load``: config files into a real database, idempotent, matched by code, all or
nothing; and the command line around it."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from queue_app import config_file, directory, migrate
from queue_app.cli import DEMO_FILE, main
from queue_app.db import Base
from queue_app.errors import ConfigError
from queue_app.models import (
    Backend,
    Branch,
    Counter,
    DirectoryRevision,
    Holiday,
    OpeningHours,
    Service,
    SpecialHours,
)
from queue_app.web.extensions import db

BRANCHES = """\
backends:
  - code: civil-registry
    name: {ar: "منظومة الأحوال المدنية", en: "Civil registry system"}
    failure_threshold: 4
  - code: traffic-licensing
    name: {ar: "منظومة تراخيص المرور", en: "Traffic licensing system"}
branches:
  - code: cairo-civil
    name: {ar: "سجل مدني مدينة نصر", en: "Nasr City civil registry"}
    timezone: Africa/Cairo
    country: EG
    hours: {sun: ["08:00", "15:00"], mon: ["08:00", "15:00"], thu: ["08:00", "14:00"]}
    holidays: ["2026-12-24"]
    special_hours:
      - {from: "2027-02-08", to: "2027-03-09", hours: ["09:00", "14:00"], note: "Ramadan"}
    reschedule_after_minutes: 20
    evening_notice: "18:00"
    services:
      - code: id-card
        letter: A
        name: {ar: "بطاقة الرقم القومي", en: "National ID card"}
        backends: [civil-registry]
        avg_service_minutes: 6
        slot_minutes: 30
        walk_in_percent: 40
      - code: birth-cert
        letter: B
        name: {ar: "شهادة ميلاد", en: "Birth certificate"}
        backends: [civil-registry]
        avg_service_minutes: 5
        manual_fallback_percent: 30
    counters:
      - {code: "1", services: [id-card, birth-cert], open: true}
      - {code: "2", services: [id-card]}
  - code: giza-traffic
    name: {ar: "وحدة مرور الجيزة", en: "Giza traffic unit"}
    timezone: Africa/Cairo
    country: EG
    hours: {sun: ["08:00", "15:00"]}
    services:
      - code: licence-renewal
        letter: A
        name: {ar: "تجديد رخصة القيادة", en: "Driving licence renewal"}
        backends: [traffic-licensing, civil-registry]
        avg_service_minutes: 10
    counters:
      - {code: "1", services: [licence-renewal], open: true}
"""


def _load(text: str, source: str = "branches.yaml") -> config_file.LoadSummary:
    return config_file.load_text(db.session, text, source=source)


def _dump() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: the database before and after must compare equal."""
    db.session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(select(table))), key=repr)
        for table in Base.metadata.sorted_tables
    }


def _branch(code: str) -> Branch:
    db.session.expire_all()
    branch = db.session.scalar(select(Branch).where(Branch.code == code))
    assert branch is not None
    return branch


def _line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def _counts(tally: config_file.Tally) -> tuple[int, int, int]:
    return tally.new, tally.updated, tally.unchanged


def test_a_file_creates_everything_it_describes(app):
    summary = _load(BRANCHES)

    assert _counts(summary.backends) == (2, 0, 0)
    assert _counts(summary.branches) == (2, 0, 0)
    assert _counts(summary.services) == (3, 0, 0)
    assert _counts(summary.counters) == (3, 0, 0)
    civil = db.session.scalar(select(Backend).where(Backend.code == "civil-registry"))
    assert (civil.name_ar, civil.name_en) == ("منظومة الأحوال المدنية", "Civil registry system")
    assert civil.failure_threshold == 4
    # Keys left out take the model's defaults.
    assert (civil.health_url, civil.check_interval_s, civil.recovery_threshold) == (None, 5, 2)

    cairo = _branch("cairo-civil")
    assert (cairo.name_ar, cairo.name_en) == ("سجل مدني مدينة نصر", "Nasr City civil registry")
    assert (cairo.timezone, cairo.country) == ("Africa/Cairo", "EG")
    assert cairo.reschedule_after_minutes == 20
    assert cairo.evening_notice == time(18, 0)
    assert [(h.weekday, h.opens, h.closes) for h in cairo.opening_hours] == [
        (0, time(8), time(15)),  # Monday
        (3, time(8), time(14)),  # Thursday
        (6, time(8), time(15)),  # Sunday
    ]
    assert [h.day for h in cairo.holidays] == [date(2026, 12, 24)]
    id_card, birth_cert = cairo.services
    assert (id_card.code, id_card.letter, id_card.avg_service_minutes) == ("id-card", "A", 6)
    assert [b.code for b in id_card.backends] == ["civil-registry"]
    assert (birth_cert.slot_minutes, birth_cert.manual_fallback_percent) == (30, 30)
    first, second = cairo.counters
    assert (first.code, first.is_open, [s.code for s in first.services]) == (
        "1",
        True,
        ["id-card", "birth-cert"],
    )
    assert (second.is_open, [s.code for s in second.services]) == (False, ["id-card"])

    giza = _branch("giza-traffic")
    assert giza.evening_notice == time(18, 0)  # the default
    (renewal,) = giza.services
    assert [b.code for b in renewal.backends] == ["civil-registry", "traffic-licensing"]


def test_loading_the_same_file_again_changes_nothing(app):
    _load(BRANCHES)
    before = _dump()

    summary = _load(BRANCHES)

    assert not summary.changed
    assert _counts(summary.backends) == (0, 0, 2)
    assert _counts(summary.branches) == (0, 0, 2)
    assert _counts(summary.services) == (0, 0, 3)
    assert _counts(summary.counters) == (0, 0, 3)
    assert "nothing changed" in summary.describe()
    assert _dump() == before


def test_a_changed_name_is_updated_in_place(app):
    _load(BRANCHES)
    branch_id = _branch("cairo-civil").id

    summary = _load(
        BRANCHES.replace("Nasr City civil registry", "Nasr City civil registry office").replace(
            '"شهادة ميلاد"', '"شهادة ميلاد مميكنة"'
        )
    )

    assert _counts(summary.branches) == (0, 1, 1)
    assert _counts(summary.services) == (0, 1, 2)
    assert _counts(summary.backends) == (0, 0, 2)
    assert _counts(summary.counters) == (0, 0, 3)
    cairo = _branch("cairo-civil")
    assert cairo.id == branch_id
    assert cairo.name_en == "Nasr City civil registry office"
    assert cairo.services[1].name_ar == "شهادة ميلاد مميكنة"


def test_hours_and_holidays_in_the_file_replace_the_stored_ones(app):
    _load(BRANCHES)
    cairo = _branch("cairo-civil")
    # A manager adds a holiday; the file, which lists holidays, wins over it.
    cairo.holidays.append(Holiday(day=date(2026, 11, 30)))
    db.session.commit()

    summary = _load(
        BRANCHES.replace(
            'hours: {sun: ["08:00", "15:00"], mon: ["08:00", "15:00"], thu: ["08:00", "14:00"]}',
            'hours: {sat: ["09:00", "13:00"], sun: ["08:00", "16:00"], mon: ["08:00", "15:00"]}',
        ).replace('holidays: ["2026-12-24"]', 'holidays: ["2026-12-24", "2027-01-07"]')
    )

    assert _counts(summary.branches) == (0, 1, 1)
    cairo = _branch("cairo-civil")
    assert [(h.weekday, h.opens, h.closes) for h in cairo.opening_hours] == [
        (0, time(8), time(15)),
        (5, time(9), time(13)),
        (6, time(8), time(16)),
    ]
    assert [h.day for h in cairo.holidays] == [date(2026, 12, 24), date(2027, 1, 7)]
    assert db.session.scalar(select(func.count()).select_from(OpeningHours)) == 3 + 1


RAMADAN_LINE = (
    '      - {from: "2027-02-08", to: "2027-03-09", hours: ["09:00", "14:00"], note: "Ramadan"}\n'
)


def _ranges(branch: Branch) -> list[tuple[date, date, time, time]]:
    return [(h.first_day, h.last_day, h.opens, h.closes) for h in branch.special_hours]


def _revision() -> str | None:
    db.session.expire_all()
    return db.session.scalar(select(DirectoryRevision.revision))


def test_special_hours_and_walk_in_share_are_loaded_into_the_directory(app):
    summary = _load(BRANCHES)

    assert _counts(summary.branches) == (2, 0, 0)
    cairo = _branch("cairo-civil")
    assert _ranges(cairo) == [(date(2027, 2, 8), date(2027, 3, 9), time(9), time(14))]
    assert _branch("giza-traffic").special_hours == []  # left out on create: none
    id_card, birth_cert = cairo.services
    assert (id_card.walk_in_percent, birth_cert.walk_in_percent) == (40, 50)  # 50: the default
    hours = directory.current(db.session).branch("cairo-civil").hours
    assert hours.hours_on(date(2027, 2, 8)) == (time(9), time(14))  # a Monday of Ramadan
    assert hours.hours_on(date(2027, 3, 11)) == (time(8), time(14))  # Thursday after it
    assert hours.hours_on(date(2027, 2, 9)) is None  # Tuesday: closed in Ramadan too
    service = directory.current(db.session).branch("cairo-civil").service("id-card")
    assert service.walk_in_percent == 40


def test_special_hours_in_the_file_replace_the_stored_set_and_the_directory_sees_it(app):
    _load(BRANCHES)
    cairo = _branch("cairo-civil")
    # A manager adds a range and, by mistake, a second copy of the file's range.
    cairo.special_hours.append(
        SpecialHours(
            first_day=date(2026, 12, 27),
            last_day=date(2026, 12, 27),
            opens=time(8),
            closes=time(12),
        )
    )
    cairo.special_hours.append(
        SpecialHours(
            first_day=date(2027, 2, 8), last_day=date(2027, 3, 9), opens=time(9), closes=time(14)
        )
    )
    db.session.commit()
    assert directory.current(db.session).branch("cairo-civil").hours.hours_on(
        date(2026, 12, 27)
    ) == (time(8), time(12))
    db.session.commit()
    before = _revision()

    summary = _load(
        BRANCHES.replace(
            RAMADAN_LINE,
            '      - {from: "2027-02-08", to: "2027-03-09", hours: ["10:00", "15:00"]}\n'
            '      - {from: "2027-03-14", to: "2027-03-15", hours: ["09:00", "12:00"]}\n',
        )
    )

    assert _counts(summary.branches) == (0, 1, 1)
    assert _ranges(_branch("cairo-civil")) == [
        (date(2027, 2, 8), date(2027, 3, 9), time(10), time(15)),
        (date(2027, 3, 14), date(2027, 3, 15), time(9), time(12)),
    ]
    assert db.session.scalar(select(func.count()).select_from(SpecialHours)) == 2
    assert _revision() != before
    hours = directory.current(db.session).branch("cairo-civil").hours
    assert hours.hours_on(date(2027, 2, 8)) == (time(10), time(15))
    assert hours.hours_on(date(2027, 3, 14)) == (time(9), time(12))  # Sunday
    assert hours.hours_on(date(2026, 12, 27)) == (time(8), time(15))  # the manager's is gone


def test_an_unchanged_reload_keeps_the_directory_revision(app):
    _load(BRANCHES)
    before = _revision()

    assert not _load(BRANCHES).changed

    assert _revision() == before


def test_special_hours_left_out_are_kept_and_an_empty_list_clears_them(app):
    _load(BRANCHES)
    before = _revision()

    left_out = _load(BRANCHES.replace("    special_hours:\n" + RAMADAN_LINE, ""))

    assert not left_out.changed
    assert len(_branch("cairo-civil").special_hours) == 1
    assert _revision() == before

    cleared = _load(
        BRANCHES.replace("    special_hours:\n" + RAMADAN_LINE, "    special_hours: []\n")
    )

    assert _counts(cleared.branches) == (0, 1, 1)
    assert _branch("cairo-civil").special_hours == []
    assert _revision() != before
    hours = directory.current(db.session).branch("cairo-civil").hours
    assert hours.hours_on(date(2027, 2, 8)) == (time(8), time(15))


def test_walk_in_percent_left_out_is_kept_and_a_new_one_is_applied(app):
    _load(BRANCHES)

    assert not _load(BRANCHES.replace("        walk_in_percent: 40\n", "")).changed
    assert _branch("cairo-civil").services[0].walk_in_percent == 40

    summary = _load(BRANCHES.replace("walk_in_percent: 40", "walk_in_percent: 0"))

    assert _counts(summary.services) == (0, 1, 2)
    assert _branch("cairo-civil").services[0].walk_in_percent == 0
    service = directory.current(db.session).branch("cairo-civil").service("id-card")
    assert service.walk_in_percent == 0


def test_a_failure_while_writing_special_hours_leaves_nothing_behind(app, monkeypatch):
    _load(BRANCHES)
    before = _dump()
    real = config_file.applying._set_special_hours

    def fail_after_writing(branch: Branch, ranges: Any) -> bool:
        real(branch, ranges)
        db.session.flush()
        raise RuntimeError("the database went away")

    monkeypatch.setattr(config_file.applying, "_set_special_hours", fail_after_writing)

    with pytest.raises(RuntimeError):
        _load(
            BRANCHES.replace('hours: ["09:00", "14:00"], note', 'hours: ["10:00", "14:00"], note')
        )

    assert _dump() == before


def test_what_the_file_leaves_out_is_kept(app):
    _load(BRANCHES)
    cairo = _branch("cairo-civil")
    cairo.holidays.append(Holiday(day=date(2026, 11, 30)))  # a manager's holiday
    cairo.counters[0].is_open = False  # the file says open: true
    cairo.counters[1].is_open = True  # the file says nothing
    db.session.commit()
    smaller = """\
backends:
  - code: civil-registry
    name: {ar: "منظومة الأحوال المدنية", en: "Civil registry system"}
branches:
  - code: cairo-civil
    name: {ar: "سجل مدني مدينة نصر", en: "Nasr City civil registry"}
    timezone: Africa/Cairo
    country: EG
    hours: {sun: ["08:00", "15:00"], mon: ["08:00", "15:00"], thu: ["08:00", "14:00"]}
    services:
      - {code: id-card, letter: A, name: {ar: "بطاقة الرقم القومي", en: "National ID card"},
         avg_service_minutes: 6}
    counters:
      - {code: "1", open: true}
      - {code: "2"}
"""

    summary = _load(smaller)

    assert _counts(summary.backends) == (0, 0, 1)
    assert _counts(summary.branches) == (0, 0, 1)
    assert _counts(summary.services) == (0, 0, 1)
    assert _counts(summary.counters) == (0, 1, 1)
    civil = db.session.scalar(select(Backend).where(Backend.code == "civil-registry"))
    assert civil.failure_threshold == 4  # left out: kept, not reset to the default
    cairo = _branch("cairo-civil")
    assert [h.day for h in cairo.holidays] == [date(2026, 11, 30), date(2026, 12, 24)]
    assert cairo.evening_notice == time(18, 0)
    assert [s.code for s in cairo.services] == ["id-card", "birth-cert"]  # nothing deleted
    assert [b.code for b in cairo.services[0].backends] == ["civil-registry"]
    first, second = cairo.counters
    assert first.is_open  # `open` present: the file wins
    assert second.is_open  # `open` left out: the manager's change stays
    assert [s.code for s in first.services] == ["id-card", "birth-cert"]
    assert _branch("giza-traffic").services[0].code == "licence-renewal"


def test_references_may_name_what_is_already_stored(app):
    _load(BRANCHES)
    later = """\
branches:
  - code: cairo-civil
    name: {ar: "سجل مدني مدينة نصر", en: "Nasr City civil registry"}
    timezone: Africa/Cairo
    country: EG
    hours: {sun: ["08:00", "15:00"]}
    counters:
      - {code: "3", services: [birth-cert], open: true}
  - code: cairo-civil-east
    name: {ar: "سجل مدني شرق القاهرة", en: "East Cairo civil registry"}
    timezone: Africa/Cairo
    country: EG
    hours: {sun: ["08:00", "15:00"]}
    services:
      - {code: id-card, letter: A, name: {ar: "بطاقة الرقم القومي", en: "National ID card"},
         backends: [civil-registry], avg_service_minutes: 6}
    counters:
      - {code: "1", services: [id-card], open: true}
"""

    summary = _load(later)

    assert _counts(summary.branches) == (1, 1, 0)
    assert _counts(summary.counters) == (2, 0, 0)
    assert [s.code for s in _branch("cairo-civil").counters[2].services] == ["birth-cert"]
    east = _branch("cairo-civil-east")
    assert [b.code for b in east.services[0].backends] == ["civil-registry"]
    assert db.session.scalar(select(func.count()).select_from(Backend)) == 2


def test_services_may_swap_letters(app):
    _load(BRANCHES)
    id_card_id = _branch("cairo-civil").services[0].id

    swapped = BRANCHES.replace(
        "code: id-card\n        letter: A", "code: id-card\n        letter: B"
    )
    swapped = swapped.replace("birth-cert\n        letter: B", "birth-cert\n        letter: A")
    assert swapped.count("letter: B") == 1

    summary = _load(swapped)

    assert summary.services.updated == 2
    letters = {s.code: (s.id, s.letter) for s in _branch("cairo-civil").services}
    assert letters["id-card"] == (id_card_id, "B")
    assert letters["birth-cert"][1] == "A"


BAD_FILES = [
    # (what to replace, by what, key, problem): each against the database loaded with BRANCHES.
    (
        'timezone: Africa/Cairo\n    country: EG\n    hours: {sun: ["08:00", "15:00"]}\n',
        'timezone: Africa/Kairo\n    country: EG\n    hours: {sun: ["08:00", "15:00"]}\n',
        "branches[1].timezone",
        'did you mean "Africa/Cairo"',
    ),
    (
        'evening_notice: "18:00"',
        "evening_notice: 18:00",
        "branches[0].evening_notice",
        'write times in quotes, "18:00"',
    ),
    (
        "    reschedule_after_minutes",
        "    reschedule_after_minute",
        "branches[0].reschedule_after_minute",
        "unknown key",
    ),
    (
        "backends: [civil-registry]\n        avg_service_minutes: 6",
        "backends: [civil-registy]\n        avg_service_minutes: 6",
        "branches[0].services[0].backends[0]",
        'unknown backend "civil-registy"',
    ),
    (
        "services: [licence-renewal]",
        "services: [license-renewal]",
        "branches[1].counters[0].services[0]",
        'has no service "license-renewal"',
    ),
    (
        "manual_fallback_percent: 30",
        "manual_fallback_percent: 130",
        "branches[0].services[1].manual_fallback_percent",
        "from 0 to 100",
    ),
    (
        "walk_in_percent: 40",
        "walk_in_percent: 140",
        "branches[0].services[0].walk_in_percent",
        "from 0 to 100",
    ),
    (
        'hours: ["09:00", "14:00"], note',
        'hours: ["14:00", "09:00"], note',
        "branches[0].special_hours[0].hours",
        "opens at 14:00, which is not before 09:00",
    ),
    (
        'to: "2027-03-09"',
        'to: "2027-01-09"',
        "branches[0].special_hours[0].to",
        "before it begins on 2027-02-08",
    ),
]


@pytest.mark.parametrize(("old", "new", "key", "problem"), BAD_FILES)
def test_a_bad_file_changes_nothing(app, old, new, key, problem):
    _load(BRANCHES)
    before = _dump()
    # The bad file also holds good changes: none of them may be written.
    assert BRANCHES.count(old) == 1
    bad = BRANCHES.replace(old, new).replace("Nasr City civil registry", "Renamed registry")
    bad = bad.replace("failure_threshold: 4", "failure_threshold: 7")

    with pytest.raises(ConfigError) as caught:
        _load(bad, source="bad.yaml")

    err = caught.value
    line = _line_of(bad, new.splitlines()[0].strip())
    assert err.fields == {"file": "bad.yaml", "line": line, "key": key}
    assert err.message.startswith(f"bad.yaml:{line}: {key}: ")
    assert problem in err.message
    assert _dump() == before


def test_a_letter_taken_by_a_stored_service_is_refused(app):
    _load(BRANCHES)
    before = _dump()
    # The file no longer names birth-cert, which keeps its letter B in the database.
    bad = BRANCHES.replace("code: birth-cert", "code: death-cert").replace(
        "[id-card, birth-cert]", "[id-card, death-cert]"
    )

    with pytest.raises(ConfigError) as caught:
        _load(bad, source="bad.yaml")

    assert caught.value.fields["key"] == "branches[0].services[1].letter"
    assert caught.value.fields["line"] == _line_of(bad, "letter: B")
    assert 'letter B is already used by service "birth-cert"' in caught.value.message
    assert _dump() == before


def test_a_failure_half_way_through_writing_leaves_nothing_behind(app, monkeypatch):
    _load(BRANCHES)
    before = _dump()
    real_set_holidays = config_file.applying._set_holidays

    def fail_after_writing(branch: Branch, days: tuple[date, ...]) -> bool:
        real_set_holidays(branch, days)
        db.session.flush()  # the rows so far are in the database, inside the transaction
        raise RuntimeError("the database went away")

    monkeypatch.setattr(config_file.applying, "_set_holidays", fail_after_writing)
    changed = BRANCHES.replace("Civil registry system", "Civil registry").replace(
        '"2026-12-24"', '"2026-12-31"'
    )

    with pytest.raises(RuntimeError):
        _load(changed)

    assert _dump() == before


def test_json_loads_the_same_as_yaml(app, tmp_path):
    path = tmp_path / "branches.json"
    path.write_text(
        json.dumps(yaml.safe_load(BRANCHES), ensure_ascii=False, indent="\t"), encoding="utf-8"
    )

    summary = config_file.load_file(db.session, path)

    assert _counts(summary.branches) == (2, 0, 0)
    assert summary.describe().startswith(f"loaded {path}\n")
    assert not _load(BRANCHES).changed


def test_load_file_reports_files_it_cannot_read(app, tmp_path):
    with pytest.raises(ConfigError) as missing:
        config_file.load_file(db.session, tmp_path / "nowhere.yaml")
    assert "no such file" in missing.value.message

    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"backends:\n  - code: caf\xe9\n")
    with pytest.raises(ConfigError) as undecodable:
        config_file.load_file(db.session, latin1)
    assert undecodable.value.fields == {"file": str(latin1), "line": 2}
    assert "not UTF-8" in undecodable.value.message


def test_the_demo_file_loads_and_reloads(app):
    summary = config_file.load_file(db.session, DEMO_FILE)

    assert _counts(summary.backends) == (4, 0, 0)
    assert _counts(summary.branches) == (5, 0, 0)
    assert summary.services.new >= 11
    cairo = _branch("cairo-civil")
    counter = next(c for c in cairo.counters if c.code == "1")
    assert counter.is_open
    assert {s.code for s in counter.services} == {"id-card", "birth-cert"}
    for branch in db.session.scalars(select(Branch)):
        assert branch.opening_hours, branch.code
        for service in branch.services:
            assert any(c.is_open and service in c.services for c in branch.counters), service.code
    parcels = db.session.scalar(select(Service).where(Service.code == "parcels"))
    assert parcels.backends == []
    for code in ("cairo-civil", "giza-traffic", "cairo-post"):  # Ramadan hours, through aliases
        assert _ranges(_branch(code)) == [(date(2027, 2, 8), date(2027, 3, 9), time(9), time(14))]
    assert _branch("jeddah-north").special_hours == []
    cash = db.session.scalar(select(Service).where(Service.code == "cash"))
    assert (cash.walk_in_percent, parcels.walk_in_percent) == (80, 50)
    # The demo offers WhatsApp where the story is told (Cairo) and where SMS is one-way (Jeddah).
    assert _branch("cairo-civil").channels == "whatsapp,sms"
    assert _branch("jeddah-north").channels == "whatsapp,sms"
    assert _branch("giza-traffic").channels == "sms"
    before = _dump()

    assert not config_file.load_file(db.session, DEMO_FILE).changed
    assert _dump() == before
    assert db.session.scalar(select(func.count()).select_from(Counter)) == summary.counters.new


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    migrate.upgrade(url)
    return {"QUEUE_DATABASE_URL": url, "QUEUE_INSTANCE_PATH": str(tmp_path / "instance")}


def test_cli_load_prints_the_summary(cli_env, tmp_path):
    path = tmp_path / "branches.yaml"
    path.write_text(BRANCHES, encoding="utf-8")
    runner = CliRunner()

    first = runner.invoke(main, ["load", str(path)], env=cli_env)
    again = runner.invoke(main, ["load", str(path)], env=cli_env)

    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f"loaded {path}\n")
    assert "2 branches (2 new, 0 updated)" in first.stdout
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(f"loaded {path}: nothing changed")


def test_cli_load_of_a_bad_file_says_where_without_a_traceback(cli_env, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BRANCHES.replace('"18:00"', "18:00"), encoding="utf-8")

    result = CliRunner().invoke(main, ["load", str(path)], env=cli_env)

    assert result.exit_code != 0
    line = _line_of(BRANCHES, "evening_notice")
    assert f"{path}:{line}: branches[0].evening_notice: write times in quotes" in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_cli_seed_demo_loads_the_demo_branches(cli_env):
    result = CliRunner().invoke(main, ["seed", "--demo"], env=cli_env)

    assert result.exit_code == 0, result.output
    assert "5 branches (5 new, 0 updated)" in result.stdout
