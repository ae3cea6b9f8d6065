"""Segment counts against worked examples of 3GPP TS 23.038/23.040 arithmetic."""

from __future__ import annotations

import pytest

from sms.segments import GSM7_BASIC, GSM7_EXTENSION, SegmentInfo, is_gsm7, segments

ARABIC = "ش"
EMOJI = "😀"  # outside the BMP: a surrogate pair, two UTF-16 units


def test_the_gsm_tables_are_complete():
    assert len(GSM7_BASIC) == 127  # 128 codes, less ESC
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentInfo("GSM-7", 0, 1, 160)),
        ("a" * 160, SegmentInfo("GSM-7", 160, 1, 160)),
        ("a" * 161, SegmentInfo("GSM-7", 161, 2, 153)),
        ("a" * 306, SegmentInfo("GSM-7", 306, 2, 153)),
        ("a" * 307, SegmentInfo("GSM-7", 307, 3, 153)),
        # Extension characters cost two septets, also at the boundary:
        ("a" * 158 + "€", SegmentInfo("GSM-7", 160, 1, 160)),
        ("a" * 159 + "€", SegmentInfo("GSM-7", 161, 2, 153)),
        ("{" * 80, SegmentInfo("GSM-7", 160, 1, 160)),
        ("{" * 81, SegmentInfo("GSM-7", 162, 2, 153)),
        ("a" * 159 + "\f", SegmentInfo("GSM-7", 161, 2, 153)),
        # An escape sequence is never split: € moves whole to the second part, and the text
        # needs a third although 306 septets would fill two.
        ("a" * 152 + "€" + "a" * 152, SegmentInfo("GSM-7", 306, 3, 153)),
        ("a" * 152 + "€" + "a" * 151, SegmentInfo("GSM-7", 305, 2, 153)),
        # Accents of the GSM alphabet stay in it; others do not.
        ("Ça été où?" + "a" * 150, SegmentInfo("GSM-7", 160, 1, 160)),
    ],
    ids=lambda value: None if isinstance(value, SegmentInfo) else f"{len(value)} chars",
)
def test_gsm7(text, expected):
    assert segments(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ARABIC * 70, SegmentInfo("UCS-2", 70, 1, 70)),
        (ARABIC * 71, SegmentInfo("UCS-2", 71, 2, 67)),
        (ARABIC * 134, SegmentInfo("UCS-2", 134, 2, 67)),
        (ARABIC * 135, SegmentInfo("UCS-2", 135, 3, 67)),
        # One character outside the GSM alphabet sends the whole text as UCS-2:
        ("a" * 100 + "ç", SegmentInfo("UCS-2", 101, 2, 67)),
        ("a" * 69 + "’", SegmentInfo("UCS-2", 70, 1, 70)),
        # An emoji counts two units...
        (EMOJI, SegmentInfo("UCS-2", 2, 1, 70)),
        (ARABIC * 68 + EMOJI, SegmentInfo("UCS-2", 70, 1, 70)),
        (ARABIC * 69 + EMOJI, SegmentInfo("UCS-2", 71, 2, 67)),
        # ...and is never split: at unit 67 it moves whole to the next part.
        (ARABIC * 66 + EMOJI + ARABIC * 65, SegmentInfo("UCS-2", 133, 2, 67)),
        (ARABIC * 66 + EMOJI + ARABIC * 66, SegmentInfo("UCS-2", 134, 3, 67)),
    ],
    ids=lambda value: None if isinstance(value, SegmentInfo) else f"{len(value)} chars",
)
def test_ucs2(text, expected):
    assert segments(text) == expected


def test_arabic_digits_and_punctuation_are_not_gsm():
    assert not is_gsm7("١")
    assert not is_gsm7("،")
    assert is_gsm7("https://q.example.gov.eg/t/Ab-_09")
