"""The config file's ``early_tickets_minutes`` and ``turn_near_minutes``: stored when in range,
refused with the file, line and key otherwise, and nothing written."""

from __future__ import annotations

import pytest

from queue_app.errors import ConfigError
from tests.services.test_config_loading import BRANCHES, _branch, _dump, _line_of, _load

ANCHOR = 'evening_notice: "18:00"'


def _with(**keys: object) -> str:
    lines = "".join(f"\n    {key}: {value}" for key, value in keys.items())
    return BRANCHES.replace(ANCHOR, ANCHOR + lines)


def test_both_settings_are_stored_and_default_to_off(app):
    _load(_with(early_tickets_minutes=90, turn_near_minutes=20))
    cairo, giza = _branch("cairo-civil"), _branch("giza-traffic")
    assert (cairo.early_tickets_minutes, cairo.turn_near_minutes) == (90, 20)
    assert (giza.early_tickets_minutes, giza.turn_near_minutes) == (0, 0)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("early_tickets_minutes", "-1", "from 0 to 180; found -1"),
        ("early_tickets_minutes", "181", "from 0 to 180; found 181"),
        ("early_tickets_minutes", '"90"', "from 0 to 180"),
        ("early_tickets_minutes", "1.5", "from 0 to 180"),
        ("turn_near_minutes", "-1", "from 0 to 120; found -1"),
        ("turn_near_minutes", "121", "from 0 to 120; found 121"),
        ("turn_near_minutes", "yes", "from 0 to 120"),
    ],
)
def test_a_value_out_of_range_changes_nothing(app, key, value, problem):
    _load(_with(early_tickets_minutes=30, turn_near_minutes=10))
    before = _dump()
    bad = _with(**{key: value}).replace("Nasr City civil registry", "Renamed registry")

    with pytest.raises(ConfigError) as caught:
        _load(bad, source="bad.yaml")

    line = _line_of(bad, f"{key}: {value}")
    assert caught.value.fields == {"file": "bad.yaml", "line": line, "key": f"branches[0].{key}"}
    assert problem in caught.value.message
    assert _dump() == before


SERVICE_ANCHOR = "        walk_in_percent: 40"


def _service_with(**keys: object) -> str:
    lines = "".join(f"\n        {key}: {value}" for key, value in keys.items())
    return BRANCHES.replace(SERVICE_ANCHOR, SERVICE_ANCHOR + lines)


def test_a_service_s_own_thresholds_and_the_grace_period_are_stored(app):
    text = _service_with(turn_near_minutes=10, turn_near_people=3).replace(
        ANCHOR, ANCHOR + "\n    late_grace_minutes: 15\n    turn_near_minutes: 20"
    )
    _load(text)
    cairo = _branch("cairo-civil")
    assert cairo.late_grace_minutes == 15
    by_code = {s.code: s for s in cairo.services}
    assert (by_code["id-card"].turn_near_minutes, by_code["id-card"].turn_near_people) == (10, 3)
    # Left out: the branch's minutes, no count of people.
    assert (by_code["birth-cert"].turn_near_minutes, by_code["birth-cert"].turn_near_people) == (
        None,
        None,
    )
    assert _branch("giza-traffic").late_grace_minutes == 0


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("turn_near_people", "-1", "from 0 to 50; found -1"),
        ("turn_near_people", "51", "from 0 to 50; found 51"),
        ("turn_near_people", "two", "from 0 to 50"),
        ("turn_near_minutes", "121", "from 0 to 120; found 121"),
    ],
)
def test_a_service_s_threshold_out_of_range_changes_nothing(app, key, value, problem):
    _load(_service_with(turn_near_people=2))
    before = _dump()
    bad = _service_with(**{key: value})

    with pytest.raises(ConfigError) as caught:
        _load(bad, source="bad.yaml")

    line = _line_of(bad, f"{key}: {value}")
    assert caught.value.fields == {
        "file": "bad.yaml",
        "line": line,
        "key": f"branches[0].services[0].{key}",
    }
    assert problem in caught.value.message
    assert _dump() == before


@pytest.mark.parametrize(("value", "problem"), [("-5", "found -5"), ("61", "found 61")])
def test_a_grace_period_out_of_range_changes_nothing(app, value, problem):
    _load(BRANCHES)
    before = _dump()
    bad = _with(late_grace_minutes=value)

    with pytest.raises(ConfigError) as caught:
        _load(bad, source="bad.yaml")

    assert caught.value.fields["key"] == "branches[0].late_grace_minutes"
    assert "from 0 to 60" in caught.value.message
    assert problem in caught.value.message
    assert _dump() == before
