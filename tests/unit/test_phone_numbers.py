from __future__ import annotations

import pytest

from sms.numbers import InvalidNumber, to_e164


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("01012345678", "EG", "+201012345678"),
        ("010 1234 5678", "EG", "+201012345678"),
        ("٠١٠١٢٣٤٥٦٧٨", "EG", "+201012345678"),  # Arabic-Indic digits from a phone keypad
        ("+20 101 234 5678", "EG", "+201012345678"),
        ("0501234567", "SA", "+966501234567"),
        ("00966501234567", "SA", "+966501234567"),
    ],
)
def test_mobile_numbers_become_e164(raw, country, e164):
    assert to_e164(raw, country) == e164


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("12", "EG"),
        ("0223456789", "EG"),  # a Cairo landline cannot receive a text
        ("hello", "EG"),
        ("0501234567", "EG"),  # a Saudi mobile written in local form is not Egyptian
        ("", "SA"),
    ],
)
def test_not_mobile_numbers(raw, country):
    with pytest.raises(InvalidNumber):
        to_e164(raw, country)
