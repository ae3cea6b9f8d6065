"""Arabic laid out for printers that draw one glyph after another, left to right."""

from __future__ import annotations

import unicodedata

import pytest

from kiosk.arabic_text import has_arabic, visual

PRESENTATION_FORMS = range(0xFE70, 0xFF00)


def test_letters_take_their_joined_forms_in_visual_order():
    shown = visual("بطاقة الرقم القومي")
    # Read from the left: the last word first, each word's letters reversed, each letter in the
    # form it takes at its place in the word (yeh final, meem medial, ... beh initial).
    assert shown == "ﻲﻣﻮﻘﻟﺍ ﻢﻗﺮﻟﺍ ﺔﻗﺎﻄﺑ"
    assert all(ord(c) in PRESENTATION_FORMS for c in shown.replace(" ", ""))


@pytest.mark.parametrize(
    "text", ["بطاقة الرقم القومي", "شهادة ميلاد", "سجل مدني مدينة نصر", "عدد من قبلك: ٣"]
)
def test_reading_it_backwards_gives_the_text_back(text):
    # Compatibility normalisation turns each presentation form back into its letter.
    assert unicodedata.normalize("NFKC", visual(text)[::-1]) == text


def test_lam_alef_is_one_ligature():
    assert visual("لا") == "\ufefb"


def test_a_ticket_number_stays_readable_inside_arabic():
    # An Arabic line runs right to left: the word at the right end, the number intact.
    assert visual("A-001 رقم") == "ﻢﻗﺭ A-001"
    assert visual("رقم A-001") == "A-001 ﻢﻗﺭ"


def test_isolated_identifiers_keep_their_place_and_lose_the_marks():
    # pages.formatting.isolate wraps numbers in U+2066/U+2069; a printer has no glyph for them.
    assert visual("رقم \u2066A-001\u2069 الآن") == "ﻥﻵﺍ A-001 ﻢﻗﺭ"


def test_brackets_are_mirrored():
    assert visual("سجل (مدينة نصر)") == "(ﺮﺼﻧ ﺔﻨﻳﺪﻣ) ﻞﺠﺳ"


def test_arabic_indic_numbers_keep_their_digit_order():
    assert visual("الانتظار: ١٢ دقيقة") == "ﺔﻘﻴﻗﺩ ١٢ :ﺭﺎﻈﺘﻧﻻﺍ"


def test_latin_lines_are_left_alone():
    assert visual("Estimated wait: 12 minutes", rtl=False) == "Estimated wait: 12 minutes"


def test_has_arabic():
    assert has_arabic("خدمة A")
    assert has_arabic("١٢")
    assert not has_arabic("Service A-001")
