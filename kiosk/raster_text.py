"""Lines of text drawn as a bitmap, for a printer's raster command (GS v 0).

Only the printers' own fonts can print text, and few of those have Arabic: drawing the line
ourselves, with a font shipped in the package, prints the same everywhere. The font is DejaVu
Sans Bold: it holds Latin, Arabic, Arabic-Indic digits and the Arabic presentation forms in one
file (so a line that mixes them needs no fallback), and bold survives a worn print head.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from kiosk import arabic_text

FONT = Path(__file__).with_name("fonts") / "DejaVuSans-Bold.ttf"
LINE_GAP = 4  # dots between lines: Arabic's dots and descenders need the air
# Dots kept blank at each side: glyphs overhang their advance, and paper edges print faintly.
MARGIN = 8

Align = Literal["center", "start"]


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    # The basic layout engine draws glyphs one after another, as given: the text arrives shaped
    # and in visual order (arabic_text), whether or not Pillow was built with libraqm.
    return ImageFont.truetype(str(FONT), size, layout_engine=ImageFont.Layout.BASIC)


def _fits(text: str, size: int, width: int, rtl: bool) -> bool:
    return font(size).getlength(arabic_text.visual(text, rtl=rtl)) <= width


def wrap(text: str, *, size: int, width: int, rtl: bool) -> list[str]:
    """Break ``text`` between words into lines (in reading order) that fit ``width`` dots once
    laid out. A word longer than the line gets a line of its own and is cut by the paper."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and not _fits(candidate, size, width, rtl):
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


class _Canvas:
    """Rows of text, ``width`` dots wide, black on white, one bit per dot."""

    def __init__(self, width: int, size: int, rows: int) -> None:
        self.width = width
        self.face = font(size)
        ascent, descent = self.face.getmetrics()
        self.pitch = ascent + descent + LINE_GAP
        self.image = Image.new("1", (width, max(1, self.pitch * rows)), 1)
        self.pen = ImageDraw.Draw(self.image)

    def put(self, row: int, shown: str, where: Literal["left", "center", "right"]) -> None:
        spare = self.width - 2 * MARGIN - round(self.face.getlength(shown))
        x = MARGIN + {"left": 0, "center": max(0, spare) // 2, "right": max(0, spare)}[where]
        self.pen.text((x, row * self.pitch), shown, font=self.face, fill=0)


def _start(rtl: bool) -> Literal["left", "right"]:
    return "right" if rtl else "left"


def draw(text: str, *, width: int, size: int, rtl: bool, align: Align = "start") -> Image.Image:
    """``text``, wrapped to ``width`` dots. ``start`` is the right end of a right-to-left line,
    the left end of a left-to-right one."""
    lines = wrap(text, size=size, width=width - 2 * MARGIN, rtl=rtl)
    canvas = _Canvas(width, size, len(lines))
    for row, line in enumerate(lines):
        canvas.put(
            row, arabic_text.visual(line, rtl=rtl), "center" if align == "center" else _start(rtl)
        )
    return canvas.image


def draw_pair(label: str, value: str, *, width: int, size: int, rtl: bool) -> Image.Image:
    """A label and its value at the two ends of one line, the label where reading starts; the
    value on lines of its own under the label when they do not fit side by side."""
    face = font(size)
    shown_label, shown_value = (
        arabic_text.visual(label, rtl=rtl),
        arabic_text.visual(value, rtl=rtl),
    )
    room = width - 2 * MARGIN - face.getlength(shown_label) - face.getlength(shown_value)
    if room >= face.getlength("  "):
        canvas = _Canvas(width, size, 1)
        canvas.put(0, shown_label, _start(rtl))
        canvas.put(0, shown_value, "left" if rtl else "right")
        return canvas.image
    value_lines = wrap(value, size=size, width=width - 2 * MARGIN, rtl=rtl)
    canvas = _Canvas(width, size, 1 + len(value_lines))
    canvas.put(0, shown_label, _start(rtl))
    for row, line in enumerate(value_lines, start=1):
        canvas.put(row, arabic_text.visual(line, rtl=rtl), _start(rtl))
    return canvas.image
