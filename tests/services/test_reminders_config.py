"""The config file's ``reminders`` of a branch: the evening one at 19:00 when left out, either
turned off by leaving it out of the mapping, null or false, none with ``reminders: false``;
refused with the file, line and key path otherwise, and nothing written."""

from __future__ import annotations

from datetime import time

import pytest

from queue_app import directory
from queue_app.errors import ConfigError
from queue_app.web.extensions import db
from tests.services.test_config_loading import BRANCHES, _branch, _dump, _line_of, _load

ANCHOR = 'evening_notice: "18:00"'


def _with(reminders: str) -> str:
    return BRANCHES.replace(ANCHOR, ANCHOR + f"\n    reminders: {reminders}", 1)


def _times(code: str) -> tuple[time | None, time | None]:
    branch = _branch(code)
    return branch.reminder_evening, branch.reminder_morning


def test_times_are_stored_and_the_evening_one_is_the_default(app):
    _load(_with('{evening: "20:15", morning: "07:30"}'))
    assert _times("cairo-civil") == (time(20, 15), time(7, 30))
    assert _times("giza-traffic") == (time(19, 0), None)  # left out: the default
    info = directory.current(db.session).branch("cairo-civil")
    assert (info.reminder_evening, info.reminder_morning) == (time(20, 15), time(7, 30))
    # A reload without the key leaves the stored times alone, as for every key.
    _load(BRANCHES)
    assert _times("cairo-civil") == (time(20, 15), time(7, 30))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ('{morning: "07:00"}', (None, time(7, 0))),
        ('{evening: null, morning: "06:45"}', (None, time(6, 45))),
        ('{evening: "18:30", morning: false}', (time(18, 30), None)),
        ("{}", (None, None)),
        ("false", (None, None)),
        ("null", (None, None)),
    ],
)
def test_a_reminder_left_out_null_or_false_is_off(app, written, expected):
    _load(_with('{evening: "20:00", morning: "07:30"}'))
    _load(_with(written))
    assert _times("cairo-civil") == expected


@pytest.mark.parametrize(
    ("value", "key", "problem"),
    [
        ("{evening: 19:00}", "reminders.evening", 'write times in quotes, "19:00"'),
        ('{evening: "7pm"}', "reminders.evening", 'expected a time "HH:MM"'),
        ('{evening: "08:00"}', "reminders.evening", "goes from 12:00 to 23:59; found 08:00"),
        ('{morning: "13:00"}', "reminders.morning", "goes from 00:00 to 11:59; found 13:00"),
        ('{evenng: "19:00"}', "reminders.evenng", 'unknown key (did you mean "evening"?)'),
        ('"19:00"', "reminders", 'expected {evening: "19:00", morning: "07:30"}'),
        ("true", "reminders", "or false for no reminders; found true/false"),
    ],
)
def test_a_bad_reminders_value_changes_nothing(app, value, key, problem):
    _load(_with('{evening: "20:00", morning: "07:30"}'))
    before = _dump()
    bad = _with(value).replace("Nasr City civil registry", "Renamed registry")
    with pytest.raises(ConfigError) as caught:
        _load(bad, source="bad.yaml")
    line = _line_of(bad, f"reminders: {value}")
    assert caught.value.fields == {"file": "bad.yaml", "line": line, "key": f"branches[0].{key}"}
    assert problem in caught.value.message
    assert _dump() == before
