"""A ticket for a thermal printer, as ESC/POS commands written through python-escpos.

Arabic: few thermal printers shape Arabic, and the code pages that hold Arabic do not hold what
a printer that cannot shape would need. CP720 and CP1256 carry only the base letters, in logical
order; CP864 has no final and few medial forms, and its number differs from one maker to the next
(37 on Epson, 14 on Star, 28 or 63 on the common clones). So by default each Arabic line is
shaped here (arabic_text) and drawn as a bitmap (raster_text, GS v 0), which every ESC/POS
printer prints alike. A printer whose firmware shapes Arabic can get the text instead
(``shape_arabic=False``): in logical order, in an Arabic code page of its profile.

Latin text and the number go as text, in the printer's own font: sharper and smaller to send.
The QR code is the printer's own QR command (GS ( k) unless ``native_qr=False``, for printers
without it: then python-escpos draws it and sends a bitmap.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

from escpos.constants import QR_ECLEVEL_Q

from kiosk import qr, raster_text
from kiosk.slip import Fact, SlipText, TicketSlip

if TYPE_CHECKING:
    from escpos.escpos import Escpos

# 80 mm paper: 72 mm printable at 203 dpi, for profiles that do not say.
DEFAULT_PAPER_DOTS = 576
FONT_A_DOTS = 12  # width of a character of Font A, the printers' default
NUMBER_SCALE = 4  # the number at four times the width and height of normal text
MAX_QR_DOTS_PER_MODULE = 8  # about 40 mm for a ticket URL: phones read it at arm's length
ARABIC_SIZE = 26  # pixel size of Arabic drawn as bitmaps: as tall as Font A's capitals
ARABIC_HEADING_SIZE = 32
# Spaces that the printers' code pages lack (Babel writes "10:00 AM" with a narrow one).
_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


def paper_dots(printer: Escpos) -> int:
    """The printable width in dots, from the printer's profile when it says."""
    try:
        return int(printer.profile.profile_data["media"]["width"]["pixels"])
    except (KeyError, TypeError, ValueError):
        return DEFAULT_PAPER_DOTS


def render(
    slip: TicketSlip, printer: Escpos, *, native_qr: bool = True, shape_arabic: bool = True
) -> None:
    """Print ``slip`` on ``printer`` (any python-escpos printer: ``Dummy`` keeps the bytes,
    ``Network`` sends them), then cut. Use a fresh printer object for each slip: python-escpos
    remembers the code page it last selected, and the slip starts by resetting the printer."""
    _Slip(printer, shape_arabic=shape_arabic).render(slip, native_qr=native_qr)


class _Slip:
    def __init__(self, printer: Escpos, *, shape_arabic: bool) -> None:
        self.printer = printer
        self.shape_arabic = shape_arabic
        self.dots = paper_dots(printer)
        self.columns = self.dots // FONT_A_DOTS

    def render(self, slip: TicketSlip, *, native_qr: bool) -> None:
        printer = self.printer
        printer.hw("INIT")  # whatever the last job left set (double size, bold...) is gone
        self.each_language(slip.texts, lambda t: t.branch, align="center")
        printer.ln()
        self.each_language(slip.texts, lambda t: t.service, align="center", heading=True)
        printer.set(
            align="center", bold=True, custom_size=True, width=NUMBER_SCALE, height=NUMBER_SCALE
        )
        printer.textln(slip.number)
        printer.set(custom_size=True, width=1, height=1, bold=False)
        if slip.priority:
            self.each_language(slip.texts, lambda t: t.priority or "", align="center", heading=True)
        self.rule()
        for row in slip.fact_rows():
            for text, fact in zip(slip.texts, row, strict=True):
                self.fact(text, fact)
        self.rule()
        if slip.texts[0].no_phone:
            self.each_language(slip.texts, lambda t: t.no_phone or "", align="start")
            self.rule()
        self.code(slip.status_url, native=native_qr)
        self.each_language(slip.texts, lambda t: t.qr_hint, align="center")
        printer.cut()

    def each_language(
        self,
        texts: tuple[SlipText, ...],
        words: Callable[[SlipText], str],
        *,
        align: raster_text.Align,
        heading: bool = False,
    ) -> None:
        for text in texts:
            self.line(words(text), rtl=text.direction == "rtl", align=align, heading=heading)

    def line(
        self, words: str, *, rtl: bool, align: raster_text.Align, heading: bool = False
    ) -> None:
        printer = self.printer
        if rtl and self.shape_arabic:
            size = ARABIC_HEADING_SIZE if heading else ARABIC_SIZE
            image = raster_text.draw(words, width=self.dots, size=size, rtl=True, align=align)
            printer.image(image, impl="bitImageRaster")
            return
        side = "center" if align == "center" else ("right" if rtl else "left")
        printer.set(align=side, bold=heading)
        if rtl:  # the printer shapes it: logical order, its own line breaks
            printer.textln(words)
        else:
            printer.textln(textwrap.fill(words.translate(_SPACES), self.columns))
        printer.set(bold=False)

    def fact(self, text: SlipText, fact: Fact) -> None:
        """A label and its value at the two ends of a line, as on a receipt; the value under
        the label when they do not fit."""
        rtl = text.direction == "rtl"
        if rtl and self.shape_arabic:
            image = raster_text.draw_pair(
                fact.label, fact.value, width=self.dots, size=ARABIC_SIZE, rtl=True
            )
            self.printer.image(image, impl="bitImageRaster")
            return
        if rtl:  # the printer shapes it, and knows where the line ends
            self.line(f"{fact.label}: {fact.value}", rtl=True, align="start")
            return
        label, value = fact.label.translate(_SPACES), fact.value.translate(_SPACES)
        room = self.columns - len(label) - len(value)
        self.printer.set(align="left")
        if room >= 1:
            self.printer.textln(label + " " * room + value)
        else:
            self.printer.textln(label)
            self.printer.textln(textwrap.fill(value, self.columns))

    def rule(self) -> None:
        self.printer.set(align="left", bold=False)
        self.printer.textln("-" * self.columns)

    def code(self, url: str, *, native: bool) -> None:
        # Python-escpos draws its bitmap with a one-module margin; the line feeds around the
        # code keep the rest of the quiet zone that readers need.
        module = max(1, min(MAX_QR_DOTS_PER_MODULE, self.dots // (qr.modules(url) + 2)))
        self.printer.set(align="center")  # ESC a centres the printer's code and bitmaps alike
        self.printer.ln()
        self.printer.qr(url, ec=QR_ECLEVEL_Q, size=module, native=native)
        self.printer.ln()
