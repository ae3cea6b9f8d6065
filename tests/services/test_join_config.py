"""The config file's ``join_from_phone`` and ``booking_code`` of a branch: stored, false when
left out, refused with the file, line and key when not true or false, and nothing written."""

from __future__ import annotations

import pytest

from queue_app import directory
from queue_app.errors import ConfigError
from queue_app.web.extensions import db
from tests.services.test_config_loading import BRANCHES, _branch, _dump, _line_of, _load

ANCHOR = 'evening_notice: "18:00"'


def _with(*lines: str) -> str:
    return BRANCHES.replace(ANCHOR, ANCHOR + "".join(f"\n    {line}" for line in lines), 1)


def test_the_keys_are_stored_and_default_to_false(app):
    _load(_with("join_from_phone: true", "booking_code: true"))
    assert (_branch("cairo-civil").join_from_phone, _branch("cairo-civil").booking_code) == (
        True,
        True,
    )
    info = directory.current(db.session)
    assert info.branch("cairo-civil").join_from_phone
    assert info.branch("cairo-civil").booking_code
    assert not info.branch("giza-traffic").join_from_phone
    assert not info.branch("giza-traffic").booking_code
    _load(_with("join_from_phone: false"))
    info = directory.current(db.session)
    assert not info.branch("cairo-civil").join_from_phone


@pytest.mark.parametrize("key", ["join_from_phone", "booking_code"])
@pytest.mark.parametrize("value", ['"yes"', "1", "[true]"])
def test_a_value_that_is_not_true_or_false_changes_nothing(app, key, value):
    _load(_with(f"{key}: true"))
    before = _dump()
    bad = _with(f"{key}: {value}").replace("Nasr City civil registry", "Renamed registry")
    with pytest.raises(ConfigError) as caught:
        _load(bad, source="bad.yaml")
    line = _line_of(bad, f"{key}: {value}")
    assert caught.value.fields == {"file": "bad.yaml", "line": line, "key": f"branches[0].{key}"}
    assert "expected true or false" in caught.value.message
    assert _dump() == before
