"""The config file's ``channels`` of a branch: stored in its order (the first the default),
``[sms]`` when left out, refused with the file, line and key otherwise, and nothing written."""

from __future__ import annotations

import pytest

from queue_app import directory
from queue_app.errors import ConfigError
from queue_app.web.extensions import db
from tests.services.test_config_loading import BRANCHES, _branch, _dump, _line_of, _load

ANCHOR = 'evening_notice: "18:00"'


def _with(channels: str) -> str:
    return BRANCHES.replace(ANCHOR, ANCHOR + f"\n    channels: {channels}", 1)


def test_channels_are_stored_in_order_and_default_to_sms(app):
    _load(_with("[whatsapp, sms]"))
    assert _branch("cairo-civil").channels == "whatsapp,sms"
    assert _branch("giza-traffic").channels == "sms"
    info = directory.current(db.session)
    assert info.branch("cairo-civil").channels == ("whatsapp", "sms")
    assert info.branch("giza-traffic").channels == ("sms",)
    _load(_with("[sms, whatsapp]"))
    assert directory.current(db.session).branch("cairo-civil").channels == ("sms", "whatsapp")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[telegram]", '"telegram" is not a channel; choose among sms, whatsapp'),
        ("[sms, sms]", '"sms" is listed twice'),
        ("[]", "expected a list of channels"),
        ("whatsapp", "expected a list of channels"),
    ],
)
def test_a_bad_channels_list_changes_nothing(app, value, problem):
    _load(_with("[whatsapp, sms]"))
    before = _dump()
    bad = _with(value).replace("Nasr City civil registry", "Renamed registry")
    with pytest.raises(ConfigError) as caught:
        _load(bad, source="bad.yaml")
    line = _line_of(bad, f"channels: {value}")
    assert caught.value.fields == {"file": "bad.yaml", "line": line, "key": "branches[0].channels"}
    assert problem in caught.value.message
    assert _dump() == before
