"""Kiosks in the config file (``kiosks:`` of a branch): each with its network ticket printer or
none, loaded idempotently and matched by (branch, code); a bad one refused with file and line,
and nothing of the file written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from queue_app import config_file, directory
from queue_app.db import Base
from queue_app.errors import ConfigError
from queue_app.models import Branch
from queue_app.models.kiosks import Kiosk
from queue_app.web.extensions import db

OFFICES = """\
branches:
  - code: cairo-civil
    name: {ar: "سجل مدني مدينة نصر", en: "Nasr City civil registry"}
    timezone: Africa/Cairo
    country: EG
    hours: {sun: ["08:00", "15:00"]}
    services:
      - {code: id-card, letter: A, name: {ar: "بطاقة الرقم القومي", en: "National ID card"},
         avg_service_minutes: 6}
    kiosks:
      - {code: hall-a, name: {ar: "القاعة أ", en: "Hall A"},
         printer: "tcp://10.20.0.31:9100?profile=TM-T20II"}
      - {code: hall-b}          # no printer: prints through the browser
  - code: giza-traffic
    name: {ar: "وحدة مرور الجيزة", en: "Giza traffic unit"}
    timezone: Africa/Cairo
    country: EG
    hours: {sun: ["08:00", "15:00"]}
    kiosks:
      - code: hall-a
        printer: tcp://10.30.0.5
"""


def _load(text: str, source: str = "offices.yaml") -> config_file.LoadSummary:
    return config_file.load_text(db.session, text, source=source)


def _kiosks() -> list[tuple[str, str, str, str, str | None]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Kiosk.branch_id, Kiosk.code, Kiosk.name_ar, Kiosk.name_en, Kiosk.printer_url)
    ).all()
    codes = dict(db.session.execute(select(Branch.id, Branch.code)).all())
    return sorted((codes[b], code, ar, en, printer) for b, code, ar, en, printer in rows)


def _dump() -> dict[str, list[tuple[Any, ...]]]:
    db.session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(select(table))), key=repr)
        for table in Base.metadata.sorted_tables
    }


def _line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_kiosks_are_created_with_their_printers(app):
    summary = _load(OFFICES)
    assert (summary.kiosks.new, summary.kiosks.updated) == (3, 0)
    assert "3 kiosks (3 new, 0 updated)" in summary.describe()
    assert _kiosks() == [
        ("cairo-civil", "hall-a", "القاعة أ", "Hall A", "tcp://10.20.0.31:9100?profile=TM-T20II"),
        # A kiosk the file gives no name is called by its code.
        ("cairo-civil", "hall-b", "hall-b", "hall-b", None),
        ("giza-traffic", "hall-a", "hall-a", "hall-a", "tcp://10.30.0.5"),
    ]
    # Every process sees them through the directory, as the print path reads them.
    cairo = directory.current(db.session).branch("cairo-civil")
    assert [(k.code, k.printer_url) for k in cairo.kiosks] == [
        ("hall-a", "tcp://10.20.0.31:9100?profile=TM-T20II"),
        ("hall-b", None),
    ]


def test_loading_again_changes_nothing(app):
    _load(OFFICES)
    before = _dump()
    summary = _load(OFFICES)
    assert not summary.changed
    assert (summary.kiosks.new, summary.kiosks.updated, summary.kiosks.unchanged) == (0, 0, 3)
    assert _dump() == before


def test_a_reload_updates_a_kiosk_in_place_and_keeps_what_it_leaves_out(app):
    _load(OFFICES)
    ids = dict(db.session.execute(select(Kiosk.printer_url, Kiosk.id)).all())
    revision = directory.current(db.session).revision
    db.session.rollback()
    changed = OFFICES.replace("tcp://10.20.0.31:9100?profile=TM-T20II", "tcp://10.20.0.32").replace(
        "      - {code: hall-b}          # no printer: prints through the browser\n",
        '      - {code: hall-b, printer: "tcp://10.20.0.33:9101?qr=image"}\n'
        '      - {code: hall-c, name: {ar: "القاعة ج", en: "Hall C"}}\n',
    )
    # The Giza kiosk's printer is left out: the stored one stays.
    changed = changed.replace("        printer: tcp://10.30.0.5\n", "")
    summary = _load(changed)
    assert (summary.kiosks.new, summary.kiosks.updated, summary.kiosks.unchanged) == (1, 2, 1)
    assert _kiosks() == [
        ("cairo-civil", "hall-a", "القاعة أ", "Hall A", "tcp://10.20.0.32"),
        ("cairo-civil", "hall-b", "hall-b", "hall-b", "tcp://10.20.0.33:9101?qr=image"),
        ("cairo-civil", "hall-c", "القاعة ج", "Hall C", None),
        ("giza-traffic", "hall-a", "hall-a", "hall-a", "tcp://10.30.0.5"),
    ]
    # Updated, not replaced: enrolled screens keep their kiosk.
    hall_a = db.session.scalars(select(Kiosk).where(Kiosk.printer_url == "tcp://10.20.0.32")).one()
    assert hall_a.id == ids["tcp://10.20.0.31:9100?profile=TM-T20II"]
    assert directory.current(db.session).revision != revision


def test_printer_null_takes_the_printer_away(app):
    _load(OFFICES)
    _load(OFFICES.replace('printer: "tcp://10.20.0.31:9100?profile=TM-T20II"', "printer: null"))
    assert ("cairo-civil", "hall-a", "القاعة أ", "Hall A", None) in _kiosks()


BAD = [
    (
        'printer: "tcp://10.20.0.31:9100?profile=TM-T20II"',
        'printer: "http://10.20.0.31:9100"',
        "branches[0].kiosks[0].printer",
        '"http://10.20.0.31:9100" is not a ticket printer\'s address (it must start with tcp://); '
        "expected tcp://HOST[:PORT][?profile=NAME&qr=native|image&arabic=shape|printer]",
    ),
    (
        'printer: "tcp://10.20.0.31:9100?profile=TM-T20II"',
        'printer: "tcp://10.20.0.31:9100?qr=yes"',
        "branches[0].kiosks[0].printer",
        "(qr=yes is not qr=native|image)",
    ),
    (
        'printer: "tcp://10.20.0.31:9100?profile=TM-T20II"',
        'printer: "tcp://10.20.0.31:99999"',
        "branches[0].kiosks[0].printer",
        "(the port is not a number from 1 to 65535)",
    ),
    (
        "        printer: tcp://10.30.0.5",
        "        printer: {host: 10.30.0.5}",
        "branches[1].kiosks[0].printer",
        "expected text; found a mapping",
    ),
    (
        "      - {code: hall-b}",
        "      - {code: hall-b, printr: tcp://10.20.0.32}",
        "branches[0].kiosks[1].printr",
        'unknown key (did you mean "printer"?)',
    ),
    (
        "      - {code: hall-b}",
        "      - {code: hall-a}",
        "branches[0].kiosks[1].code",
        'kiosk "hall-a" is defined twice in this branch (first on line 11)',
    ),
    (
        "      - {code: hall-b}",
        "      - {code: Hall B}",
        "branches[0].kiosks[1].code",
        '"Hall B" is not a code: use lowercase letters, digits and hyphens, like "hall-b"',
    ),
    (
        "      - {code: hall-b}",
        "      - {name: {ar: ب, en: B}}",
        "branches[0].kiosks[1].code",
        "missing",
    ),
]


@pytest.mark.parametrize(("old", "new", "key", "problem"), BAD)
def test_a_bad_kiosk_changes_nothing(app, old, new, key, problem):
    _load(OFFICES)
    before = _dump()
    assert OFFICES.count(old) == 1
    # The bad file also holds good changes: none of them may be written.
    bad = OFFICES.replace(old, new).replace("Nasr City civil registry", "Renamed registry")
    bad = bad.replace("tcp://10.30.0.5", "tcp://10.30.0.6")

    with pytest.raises(ConfigError) as caught:
        _load(bad, source="bad.yaml")

    err = caught.value
    line = _line_of(bad, new.strip())
    assert err.fields == {"file": "bad.yaml", "line": line, "key": key}
    assert err.message.startswith(f"bad.yaml:{line}: {key}: ")
    assert problem in err.message
    assert _dump() == before


def test_kiosks_are_a_list():
    text = OFFICES.replace(
        "    kiosks:\n      - code: hall-a\n        printer: tcp://10.30.0.5\n",
        "    kiosks: hall-a\n",
    )
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: branches\[1\].kiosks: expected a list"):
        config_file.parse_text(text, source="bad.yaml")
