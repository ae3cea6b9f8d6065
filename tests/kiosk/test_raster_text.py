"""Lines of text drawn as bitmaps for the printer: placed from their own side, wrapped to fit."""

from __future__ import annotations

from PIL import Image, ImageOps

from kiosk import raster_text
from kiosk.raster_text import MARGIN

WIDTH = 576


def _ink(image: Image.Image) -> tuple[int, int, int, int]:
    """The box around the black dots."""
    box = ImageOps.invert(image.convert("L")).getbbox()
    assert box, "nothing drawn"
    return box


def test_an_arabic_line_starts_at_the_right():
    left, _, right, _ = _ink(raster_text.draw("بطاقة الرقم", width=WIDTH, size=26, rtl=True))
    assert WIDTH - MARGIN - 4 <= right <= WIDTH - MARGIN + 4
    assert left > WIDTH / 2


def test_a_latin_line_starts_at_the_left():
    left, _, right, _ = _ink(raster_text.draw("Service A", width=WIDTH, size=26, rtl=False))
    assert MARGIN - 4 <= left <= MARGIN + 4
    assert right < WIDTH / 2


def test_centred_lines_are_centred():
    left, _, right, _ = _ink(
        raster_text.draw("بطاقة الرقم", width=WIDTH, size=26, rtl=True, align="center")
    )
    assert abs((WIDTH - right) - left) <= 4


def test_long_text_wraps_between_words_and_every_line_fits():
    text = "امسح هذا الرمز بهاتفك لمتابعة دورك ومدة الانتظار المتوقعة في هذا المكتب اليوم."
    lines = raster_text.wrap(text, size=26, width=WIDTH - 2 * MARGIN, rtl=True)
    assert len(lines) >= 2
    assert " ".join(lines) == text
    image = raster_text.draw(text, width=WIDTH, size=26, rtl=True)
    one_line = raster_text.draw("امسح", width=WIDTH, size=26, rtl=True)
    assert image.height == len(lines) * one_line.height
    left, _, right, _ = _ink(image)
    assert left >= 0
    assert right <= WIDTH


def test_a_label_and_its_value_sit_at_the_two_ends():
    image = raster_text.draw_pair("عدد الأشخاص قبلك", "٣", width=WIDTH, size=26, rtl=True)
    left, _, right, _ = _ink(image)
    assert left < MARGIN + 40  # the value, at the left end of a right-to-left line
    assert right > WIDTH - MARGIN - 4  # the label, where reading starts
    assert image.height == raster_text.draw("٣", width=WIDTH, size=26, rtl=True).height


def test_a_value_too_long_for_the_line_goes_under_its_label():
    value = "الثلاثاء ٢٤ نوفمبر الساعة ١٠:٠٠ ص " * 2
    image = raster_text.draw_pair("وقت الإصدار", value.strip(), width=WIDTH, size=26, rtl=True)
    one_line = raster_text.draw("٣", width=WIDTH, size=26, rtl=True).height
    assert image.height >= 3 * one_line
