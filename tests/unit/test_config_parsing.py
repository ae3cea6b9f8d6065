"""The config file, checked without a database: every problem names the file, line and key."""

from __future__ import annotations

import json
from datetime import date, time

import pytest
import yaml

from queue_app import config_file
from queue_app.cli import DEMO_FILE
from queue_app.errors import ConfigError

# Line numbers below count from the first line of this text; the cases replace one line each.
VALID = """\
backends:
  - code: civil-registry
    name: {ar: "منظومة الأحوال المدنية", en: "Civil registry system"}
    health_url: http://127.0.0.1:9000/health
    failure_threshold: 3
branches:
  - code: cairo-civil
    name: {ar: "سجل مدني مدينة نصر", en: "Nasr City civil registry"}
    timezone: Africa/Cairo
    country: EG
    hours:
      sun: ["08:00", "15:00"]
      thu: ["08:00", "14:00"]
    holidays: [2026-12-24, "2026-01-07"]
    reschedule_after_minutes: 20
    evening_notice: "18:00"
    services:
      - code: id-card
        letter: A
        name: {ar: "بطاقة الرقم القومي", en: "National ID card"}
        backends: [civil-registry]
        avg_service_minutes: 6
        slot_minutes: 30
      - {code: birth-cert, letter: B, name: {ar: "شهادة ميلاد", en: "Birth certificate"},
         backends: [civil-registry], avg_service_minutes: 5.5, manual_fallback_percent: 30}
    counters:
      - {code: "1", services: [id-card, birth-cert], open: true}
      - {code: "2", services: [id-card]}
"""


def _with(line: int, text: str) -> str:
    """VALID with its line ``line`` (1-based) replaced by ``text``."""
    lines = VALID.splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


def _error(text: str, source: str = "branches.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        config_file.parse_text(text, source=source)
    return caught.value


def test_a_valid_file_is_read_into_specs():
    config = config_file.parse_text(VALID, source="branches.yaml")
    (backend,) = config.backends
    assert backend.code == "civil-registry"
    assert backend.values == {
        "name_ar": "منظومة الأحوال المدنية",
        "name_en": "Civil registry system",
        "health_url": "http://127.0.0.1:9000/health",
        "failure_threshold": 3,
    }
    (branch,) = config.branches
    assert branch.values["timezone"] == "Africa/Cairo"
    assert branch.values["evening_notice"] == time(18, 0)
    # Monday is 0: Sunday is 6 and Thursday 3.
    assert branch.hours == {6: (time(8), time(15)), 3: (time(8), time(14))}
    # An unquoted date (a date to YAML) and a quoted one (text) are both taken.
    assert branch.holidays == (date(2026, 1, 7), date(2026, 12, 24))
    id_card, birth_cert = branch.services
    assert id_card.values["letter"] == "A"
    assert [ref.code for ref in id_card.backends or ()] == ["civil-registry"]
    assert birth_cert.values["avg_service_minutes"] == 5.5
    assert birth_cert.values["manual_fallback_percent"] == 30
    assert "slot_minutes" not in birth_cert.values  # left out: the default on create
    first, second = branch.counters
    assert first.values == {"is_open": True}
    assert [ref.code for ref in first.services or ()] == ["id-card", "birth-cert"]
    assert second.values == {}  # `open` left out: a reload keeps what a manager set


def test_json_works_too_even_indented_with_tabs():
    data = yaml.safe_load(VALID)
    data["branches"][0]["holidays"] = ["2026-12-24", "2026-01-07"]  # JSON has no dates
    text = json.dumps(data, ensure_ascii=False, indent="\t")
    assert "\t" in text  # PyYAML alone refuses tab indentation
    assert config_file.parse_text(text) == config_file.parse_text(VALID)


def test_json_errors_have_lines_too():
    text = json.dumps({"backends": [{"code": "civil-registry"}]}, indent=2)
    err = _error(text, source="backends.json")
    assert err.fields == {"file": "backends.json", "line": 3, "key": "backends[0].name"}
    assert str(err) == "backends.json:3: backends[0].name: missing"


def test_a_problem_names_file_line_and_key_in_message_and_fields():
    err = _error(_with(9, "    timezon: Africa/Cairo"))
    assert err.fields == {"file": "branches.yaml", "line": 9, "key": "branches[0].timezon"}
    # The first line of the message points at the place, as a compiler does.
    assert "branches.yaml:9: branches[0].timezon: unknown key" in err.message
    assert 'did you mean "timezone"' in err.message


def test_all_problems_are_reported_at_once_the_first_in_the_fields():
    text = _with(9, "    timezone: Africa/Kairo")
    text = text.replace("letter: B", "letter: b")
    err = _error(text)
    assert err.fields["line"] == 9
    assert err.message.startswith("branches.yaml: 2 problems, nothing was loaded\n")
    assert "  branches.yaml:9: branches[0].timezone:" in err.message
    assert '  branches.yaml:24: branches[0].services[1].letter: use a capital letter, "B"' in (
        err.message
    )


def test_unquoted_time_is_the_sexagesimal_trap_and_says_to_quote_it():
    err = _error(_with(16, "    evening_notice: 18:00"))
    assert err.fields["key"] == "branches[0].evening_notice"
    assert err.fields["line"] == 16
    assert 'evening_notice: write times in quotes, "18:00"' in err.message
    assert "1080" in err.message  # says why


def test_unquoted_opening_time_is_caught_in_the_list_too():
    # 08:00 happens to stay text (no sexagesimal starts with 0); 15:00 becomes 900.
    err = _error(_with(12, "      sun: [08:00, 15:00]"))
    assert err.fields["key"] == "branches[0].hours.sun[1]"
    assert err.fields["line"] == 12
    assert 'write times in quotes, "15:00"' in err.message


@pytest.mark.parametrize(
    ("line", "text", "key", "expected"),
    [
        # codes
        (2, "  - code: Civil Registry", "backends[0].code", 'like "civil-registry"'),
        (7, "  - code: cairo_civil", "branches[0].code", "lowercase letters, digits and hyphens"),
        (
            27,
            "      - {code: 1, services: [id-card], open: true}",
            "branches[0].counters[0].code",
            'write it in quotes, "1"',
        ),
        # names in both languages
        (3, '    name: {ar: "منظومة الأحوال المدنية"}', "backends[0].name.en", "missing"),
        (3, '    name: "Civil registry system"', "backends[0].name", "both languages"),
        (8, '    name: {ar: "", en: "Nasr City"}', "branches[0].name.ar", "is empty"),
        (8, '    name: {ar: "س", en: "N", fr: "N"}', "branches[0].name.fr", "unknown key"),
        # backend settings
        (4, "    health_url: ftp://example.org/health", "backends[0].health_url", "http://"),
        (5, "    failure_threshold: 0", "backends[0].failure_threshold", "from 1 to"),
        (5, "    recovery_threshold: -2", "backends[0].recovery_threshold", "from 1 to"),
        (5, "    check_interval_s: five", "backends[0].check_interval_s", "found text"),
        # time zone and country
        (9, "    timezone: Africa/Kairo", "branches[0].timezone", 'did you mean "Africa/Cairo"'),
        (9, "    timezone: Mars/Olympus", "branches[0].timezone", "not an IANA time zone"),
        (10, "    country: XX", "branches[0].country", "two-letter country code"),
        (10, "    country: EGY", "branches[0].country", "two-letter country code"),
        (10, "    country: eg", "branches[0].country", 'capitals, "EG"'),
        (10, "    country: NO", "branches[0].country", 'write it in quotes, "NO"'),
        # opening hours
        (12, '      sunday: ["08:00", "15:00"]', "branches[0].hours.sunday", 'did you mean "sun"'),
        (12, '      sun: ["15:00", "08:00"]', "branches[0].hours.sun", "not before"),
        (12, '      sun: ["08:00", "08:00"]', "branches[0].hours.sun", "not before"),
        (12, '      sun: ["08:00"]', "branches[0].hours.sun", '["opens", "closes"]'),
        (12, '      sun: ["8:00", "15:00"]', "branches[0].hours.sun[0]", '"08:00"'),
        (12, '      sun: ["08:00", "25:00"]', "branches[0].hours.sun[1]", '"HH:MM"'),
        (12, "      sun: always", "branches[0].hours.sun", '["opens", "closes"]'),
        # holidays
        (
            14,
            '    holidays: ["2026-02-30"]',
            "branches[0].holidays[0]",
            "not a date in the calendar",
        ),
        (14, '    holidays: ["24/12/2026"]', "branches[0].holidays[0]", '"YYYY-MM-DD"'),
        (14, "    holidays: [2026-12-24 10:00:00]", "branches[0].holidays[0]", "date and time"),
        (14, '    holidays: ["2026-12-24", 2026-12-24]', "branches[0].holidays[1]", "twice"),
        (14, '    holidays: "2026-12-24"', "branches[0].holidays", "expected a list"),
        # branch numbers
        (15, "    reschedule_after_minutes: -5", "branches[0].reschedule_after_minutes", "from 0"),
        (
            15,
            "    reschedule_after_minutes: yes",
            "branches[0].reschedule_after_minutes",
            "true/false",
        ),
        (16, "    evening_notice: 6pm", "branches[0].evening_notice", '"HH:MM"'),
        # services
        (19, "        letter: AB", "branches[0].services[0].letter", "one capital letter"),
        (19, "        letter: ب", "branches[0].services[0].letter", "one capital letter"),
        (21, "        backends: civil-registry", "branches[0].services[0].backends", "a list"),
        (
            21,
            "        backends: [civil-registry, civil-registry]",
            "branches[0].services[0].backends[1]",
            "listed twice",
        ),
        (
            22,
            "        avg_service_minutes: 0",
            "branches[0].services[0].avg_service_minutes",
            "more than 0",
        ),
        (
            22,
            "        avg_service_minutes: -3",
            "branches[0].services[0].avg_service_minutes",
            "more than 0",
        ),
        (
            22,
            "        avg_service_minutes: .nan",
            "branches[0].services[0].avg_service_minutes",
            "more than 0",
        ),
        (23, "        slot_minutes: 0", "branches[0].services[0].slot_minutes", "from 1"),
        (23, "        slot_minutes: 12.5", "branches[0].services[0].slot_minutes", "whole number"),
        (
            23,
            "        manual_fallback_percent: 101",
            "branches[0].services[0].manual_fallback_percent",
            "from 0 to 100",
        ),
        (
            23,
            "        manual_fallback_percent: -1",
            "branches[0].services[0].manual_fallback_percent",
            "from 0 to 100",
        ),
        # counters
        (
            27,
            '      - {code: "2", services: [id-card], open: yes please}',
            "branches[0].counters[0].open",
            "true or false",
        ),
        (
            27,
            '      - {code: "1", services: id-card}',
            "branches[0].counters[0].services",
            "a list",
        ),
        (
            27,
            '      - {code: "1", service: [id-card]}',
            "branches[0].counters[0].service",
            'did you mean "services"',
        ),
    ],
)
def test_bad_values_are_named_by_key_and_line(line, text, key, expected):
    err = _error(_with(line, text))
    assert err.fields["key"] == key, err.message
    assert err.fields["line"] == line, err.message
    assert expected in err.message


@pytest.mark.parametrize(
    ("line", "text", "key", "expected"),
    [
        (19, "        letter: B", "branches[0].services[1].letter", 'used by service "id-card"'),
        (
            18,
            "      - code: birth-cert",
            "branches[0].services[1].code",
            'service "birth-cert" is defined twice in this branch (first on line 18)',
        ),
        (
            27,
            '      - {code: "2", services: [id-card]}',
            "branches[0].counters[1].code",
            'counter "2" is defined twice in this branch (first on line 27)',
        ),
    ],
)
def test_the_second_of_two_equal_codes_or_letters_is_the_mistake(line, text, key, expected):
    err = _error(_with(line, text))
    assert err.fields["key"] == key, err.message
    assert err.fields["line"] > line
    assert expected in err.message


def test_hours_must_be_a_mapping_of_days():
    text = VALID.replace('      sun: ["08:00", "15:00"]\n      thu: ["08:00", "14:00"]\n', "")
    err = _error(text.replace("    hours:\n", "    hours: always\n"))
    assert err.fields["key"] == "branches[0].hours"
    assert err.fields["line"] == 11
    assert "expected a mapping of days" in err.message


def test_a_key_written_twice_is_a_mistake_not_a_silent_override():
    text = VALID.replace("    country: EG\n", "    country: EG\n    timezone: Asia/Riyadh\n")
    err = _error(text)
    assert err.fields == {"file": "branches.yaml", "line": 11, "key": "branches[0].timezone"}
    assert "written twice (first on line 9)" in err.message


def test_a_missing_key_points_at_the_thing_that_lacks_it():
    text = VALID.replace("    timezone: Africa/Cairo\n", "")
    err = _error(text)
    assert err.fields == {"file": "branches.yaml", "line": 7, "key": "branches[0].timezone"}
    assert "missing" in err.message


def test_a_branch_code_defined_twice():
    branch = VALID[VALID.index("  - code: cairo-civil") :]
    err = _error(VALID + branch)
    assert err.fields["key"] == "branches[1].code"
    assert err.fields["line"] == 29
    assert 'branch "cairo-civil" is defined twice (first on line 7)' in err.message


def test_a_counter_code_is_limited_to_its_column():
    err = _error(_with(27, f'      - {{code: "{"9" * 33}", services: [id-card]}}'))
    assert err.fields["key"] == "branches[0].counters[0].code"
    assert "longer than 32" in err.message


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("", "(top level)", "the file is empty"),
        ("# only a comment\n", "(top level)", "the file is empty"),
        ("{}", "(top level)", "nothing to load"),
        ("- code: cairo-civil\n", "(top level)", "expected a mapping"),
        ("backend: []\n", "backend", 'did you mean "backends"'),
        ("branches: {code: cairo-civil}\n", "branches", "expected a list"),
        ("branches: [cairo-civil]\n", "branches[0]", "expected a mapping"),
    ],
)
def test_the_shape_of_the_file(text, key, expected):
    err = _error(text)
    assert err.fields["key"] == key
    assert err.fields["line"] == 1
    assert expected in err.message


def test_yaml_syntax_errors_give_the_line():
    err = _error(_with(12, '      sun: ["08:00", "15:00"'))
    assert err.fields["file"] == "branches.yaml"
    assert err.fields["line"] == 13
    assert err.message.startswith("branches.yaml:13: not valid YAML: ")


def test_tabs_in_yaml_are_explained():
    err = _error("backends:\n\t- code: civil-registry\n")
    assert err.fields["line"] == 2
    assert "indent with spaces, not tabs" in err.message


def test_anchors_and_aliases_are_followed():
    text = VALID + (
        "  - code: giza-civil\n"
        '    name: {ar: "سجل مدني الجيزة", en: "Giza civil registry"}\n'
        "    timezone: Africa/Cairo\n"
        "    country: EG\n"
        "    hours: {mon: ['08:00', '15:00']}\n"
    )
    text = text.replace("    hours:\n", "    hours: &hours\n", 1).replace(
        "{mon: ['08:00', '15:00']}", "*hours"
    )
    config = config_file.parse_text(text)
    assert config.branches[1].hours == config.branches[0].hours


def test_the_demo_file_passes_every_check():
    demo = DEMO_FILE
    config = config_file.parse_text(demo.read_text(encoding="utf-8"), source=str(demo))
    assert {b.code for b in config.backends} == {
        "civil-registry",
        "traffic-licensing",
        "postal-banking",
        "jeddah-municipality",
    }
    branches = {b.code: b for b in config.branches}
    assert set(branches) == {
        "cairo-civil",
        "giza-traffic",
        "cairo-post",
        "jeddah-north",
        "jeddah-south",
    }
    for branch in config.branches:
        # Every service can be served: some open counter serves it.
        served = {
            ref.code
            for counter in branch.counters
            if counter.values.get("is_open")
            for ref in counter.services or ()
        }
        assert served == {s.code for s in branch.services}, branch.code
        assert "evening_notice" in branch.values
        assert "reschedule_after_minutes" in branch.values
    cairo = branches["cairo-civil"]
    assert {s.code for s in cairo.services} >= {"id-card", "birth-cert"}
    assert "1" in {c.code for c in cairo.counters}
    birth_cert = next(s for s in cairo.services if s.code == "birth-cert")
    assert birth_cert.values["manual_fallback_percent"] > 0
    parcels = next(s for s in branches["cairo-post"].services if s.code == "parcels")
    assert parcels.backends == ()


def test_summary_describes_what_was_done():
    summary = config_file.LoadSummary("demo.yaml")
    summary.backends.new = 4
    summary.branches.new, summary.branches.updated, summary.branches.unchanged = 1, 2, 2
    text = summary.describe()
    assert text.splitlines()[0] == "loaded demo.yaml"
    assert "4 backends (4 new, 0 updated)" in text
    assert "5 branches (1 new, 2 updated)" in text
    assert (
        config_file.LoadSummary("demo.yaml")
        .describe()
        .startswith("loaded demo.yaml: nothing changed")
    )


# --- special hours and the walk-in share ---------------------------------------------------

HOLIDAYS_LINE = '    holidays: [2026-12-24, "2026-01-07"]\n'


def _with_special(*lines: str) -> str:
    """VALID with ``special_hours:`` and these lines after the holidays (line 14): the first of
    them is line 16."""
    assert VALID.count(HOLIDAYS_LINE) == 1
    block = "".join(f"{line}\n" for line in ("    special_hours:", *lines))
    return VALID.replace(HOLIDAYS_LINE, HOLIDAYS_LINE + block)


def test_special_hours_are_read_in_order_of_their_first_day():
    text = _with_special(
        '      - {from: "2027-03-20", to: "2027-03-20", hours: ["10:00", "12:00"]}',
        '      - {from: "2027-02-08", to: 2027-03-09, hours: ["09:00", "14:00"], note: "Ramadan"}',
    )
    (branch,) = config_file.parse_text(text).branches
    assert branch.special_hours == (
        (date(2027, 2, 8), date(2027, 3, 9), time(9), time(14)),
        (date(2027, 3, 20), date(2027, 3, 20), time(10), time(12)),
    )


def test_special_hours_left_out_or_empty():
    (left_out,) = config_file.parse_text(VALID).branches
    assert left_out.special_hours is None  # a reload keeps what is stored
    (empty,) = config_file.parse_text(
        VALID.replace(HOLIDAYS_LINE, HOLIDAYS_LINE + "    special_hours: []\n")
    ).branches
    assert empty.special_hours == ()  # a reload takes the stored ones away


def test_special_hours_in_block_style_and_json():
    block = _with_special(
        '      - from: "2027-02-08"',
        '        to: "2027-03-09"',
        '        hours: ["09:00", "14:00"]',
    )
    data = yaml.safe_load(block)
    data["branches"][0]["holidays"] = ["2026-12-24", "2026-01-07"]
    (from_json,) = config_file.parse_text(json.dumps(data)).branches
    (from_yaml,) = config_file.parse_text(block).branches
    assert from_json.special_hours == from_yaml.special_hours
    assert from_yaml.special_hours == ((date(2027, 2, 8), date(2027, 3, 9), time(9), time(14)),)


RAMADAN = '      - {from: "2027-02-08", to: "2027-03-09", hours: ["09:00", "14:00"]}'


@pytest.mark.parametrize(
    ("lines", "line", "key", "expected"),
    [
        (
            ['      - {from: "2027-03-09", to: "2027-02-08", hours: ["09:00", "14:00"]}'],
            16,
            "branches[0].special_hours[0].to",
            "ends on 2027-02-08, before it begins on 2027-03-09",
        ),
        (
            ['      - {from: "2027-02-08", to: "2027-03-09", hours: ["14:00", "09:00"]}'],
            16,
            "branches[0].special_hours[0].hours",
            "opens at 14:00, which is not before 09:00",
        ),
        (
            ['      - {from: "2027-02-08", to: "2027-03-09", hours: ["09:00", "09:00"]}'],
            16,
            "branches[0].special_hours[0].hours",
            "not before",
        ),
        (
            ['      - {from: "2027-02-08", to: "2027-03-09", hours: ["09:00", 14:00]}'],
            16,
            "branches[0].special_hours[0].hours[1]",
            'write times in quotes, "14:00"',
        ),
        (
            ['      - {from: "2027-02-08", to: "2027-03-09", hours: ["09:00"]}'],
            16,
            "branches[0].special_hours[0].hours",
            '["opens", "closes"]',
        ),
        (
            ['      - {from: "2027-02-30", to: "2027-03-09", hours: ["09:00", "14:00"]}'],
            16,
            "branches[0].special_hours[0].from",
            "not a date in the calendar",
        ),
        (
            ['      - {from: "8/2/2027", to: "2027-03-09", hours: ["09:00", "14:00"]}'],
            16,
            "branches[0].special_hours[0].from",
            '"YYYY-MM-DD"',
        ),
        (
            ['      - {form: "2027-02-08", to: "2027-03-09", hours: ["09:00", "14:00"]}'],
            16,
            "branches[0].special_hours[0].form",
            'unknown key (did you mean "from"?)',
        ),
        (
            ['      - {from: "2027-02-08", to: "2027-03-09"}'],
            16,
            "branches[0].special_hours[0].hours",
            "missing",
        ),
        (
            ['      - {from: "2027-02-08", to: "2027-03-09", hours: ["09:00", "14:00"], note: ""}'],
            16,
            "branches[0].special_hours[0].note",
            "is empty",
        ),
        (
            ['      - "2027-02-08"'],
            16,
            "branches[0].special_hours[0]",
            "expected a mapping of from, to, hours, note",
        ),
        (
            [RAMADAN, '      - {from: "2027-03-09", to: "2027-03-12", hours: ["10:00", "13:00"]}'],
            17,
            "branches[0].special_hours[1].from",
            "2027-03-09 to 2027-03-12 shares days with 2027-02-08 to 2027-03-09 (line 16)",
        ),
        (
            [RAMADAN, RAMADAN],
            17,
            "branches[0].special_hours[1].from",
            "may not overlap",
        ),
    ],
)
def test_bad_special_hours_are_named_by_key_and_line(lines, line, key, expected):
    err = _error(_with_special(*lines))
    assert err.fields["key"] == key, err.message
    assert err.fields["line"] == line, err.message
    assert expected in err.message


def test_special_hours_must_be_a_list():
    text = VALID.replace(HOLIDAYS_LINE, HOLIDAYS_LINE + '    special_hours: {from: "2027-02-08"}\n')
    err = _error(text)
    assert err.fields["key"] == "branches[0].special_hours"
    assert err.fields["line"] == 15
    assert "expected a list" in err.message


def test_special_hours_is_no_key_of_a_service():
    err = _error(_with(23, "        special_hour: []"))
    assert err.fields["key"] == "branches[0].services[0].special_hour"
    assert "unknown key" in err.message


def test_walk_in_percent_is_read():
    (branch,) = config_file.parse_text(_with(23, "        walk_in_percent: 40")).branches
    id_card, birth_cert = branch.services
    assert id_card.values["walk_in_percent"] == 40
    assert "walk_in_percent" not in birth_cert.values  # left out: the default on create


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("        walk_in_percent: 101", "from 0 to 100; found 101"),
        ("        walk_in_percent: -1", "from 0 to 100; found -1"),
        ("        walk_in_percent: 12.5", "expected a whole number from 0 to 100"),
        ('        walk_in_percent: "40"', "found text"),
        ("        walk_in_percent: yes", "found true/false"),
        ("        walk_in_percents: 40", 'did you mean "walk_in_percent"'),
    ],
)
def test_bad_walk_in_percent(text, expected):
    err = _error(_with(23, text))
    assert err.fields["key"] == "branches[0].services[0]." + text.split(":")[0].strip()
    assert err.fields["line"] == 23
    assert expected in err.message


def test_the_demo_file_has_ramadan_hours_and_a_walk_in_share():
    demo = DEMO_FILE
    config = config_file.parse_text(demo.read_text(encoding="utf-8"), source=str(demo))
    branches = {b.code: b for b in config.branches}
    ramadan = ((date(2027, 2, 8), date(2027, 3, 9), time(9), time(14)),)
    for code in ("cairo-civil", "giza-traffic", "cairo-post"):
        assert branches[code].special_hours == ramadan, code
    cash = next(s for s in branches["cairo-post"].services if s.code == "cash")
    assert cash.values["walk_in_percent"] == 80
