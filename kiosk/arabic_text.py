"""Arabic for printers that cannot lay it out themselves.

A thermal printer, and Pillow without its complex-text engine, draw one glyph after another from
left to right. Arabic needs two things done first: each letter replaced by the form it takes in
its word (initial, medial, final, isolated: the presentation forms, U+FE70-U+FEFF, with lam-alef
ligatures), and the line put in visual order (Unicode bidi: right-to-left runs reversed, Latin
words and numbers kept left to right, brackets mirrored). arabic-reshaper does the first,
python-bidi the second.
"""

from __future__ import annotations

import re

from arabic_reshaper import ArabicReshaper

# python-bidi's pure-Python algorithm, not its faster Rust one: only this one mirrors brackets
# (rule L4), and "(مدينة نصر)" must not print as ")مدينة نصر(". It has no isolates, so the
# isolates that keep identifiers in one piece (``pages.formatting.isolate``) become the
# embeddings it knows: the same result for a single run of Latin text.
from bidi.algorithm import get_display

# Only the letter ligatures (lam-alef): the word ligatures (ﷲ...) are missing from most fonts.
_reshaper = ArabicReshaper(configuration={"ARABIC LIGATURE ALLAH": False})

_ISOLATES_AS_EMBEDDINGS = str.maketrans(
    {"\u2066": "\u202a", "\u2067": "\u202b", "\u2068": "\u202a", "\u2069": "\u202c"}
)
# Marks that steer the layout and have nothing to draw: gone once the line is in visual order.
_LAYOUT_MARKS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Arabic letters, Arabic-Indic digits and the presentation forms.
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


def has_arabic(text: str) -> bool:
    return _ARABIC.search(text) is not None


def visual(text: str, *, rtl: bool = True) -> str:
    """One line of text as a printer draws it, left to right: Arabic letters joined in
    presentation forms and in visual order, Latin words and numbers left to right inside it.

    ``rtl`` says which way the line as a whole runs: an Arabic line that starts with "A-001"
    still puts the number at its right end. Newlines are not handled: lay out one line at a time.
    """
    shaped = _reshaper.reshape(text.translate(_ISOLATES_AS_EMBEDDINGS))
    ordered = get_display(shaped, base_dir="R" if rtl else "L")
    return _LAYOUT_MARKS.sub("", ordered)
