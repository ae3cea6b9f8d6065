"""The ticket as ESC/POS bytes (python-escpos's Dummy printer keeps them), read back."""

from __future__ import annotations

import dataclasses

import pytest
from escpos.printer import Dummy
from PIL import Image

from kiosk import escpos, raster_text
from tests.helpers.escpos_reading import PrintJob, read
from tests.helpers.qr_reading import decode
from tests.helpers.slips import STATUS_URL, sample_slip

QR_COMMAND = b"\x1d(k"  # GS ( k: the printer's own QR code
RASTER_COMMAND = b"\x1dv0"  # GS v 0: a bitmap
ARABIC_CODE_PAGES = {32, 37, 50}  # CP720, CP864, CP1256 in an Epson TM-T20II's table
PAPER = 576


def _print(slip=None, **options) -> tuple[bytes, PrintJob]:
    printer = Dummy(profile="TM-T20II")  # an 80 mm printer: 576 dots
    escpos.render(slip or sample_slip(), printer, **options)
    return printer.output, read(printer.output)


def _same(printed: Image.Image, drawn: Image.Image) -> bool:
    return printed.convert("1").tobytes() == drawn.convert("1").tobytes()


def test_holds_the_number_in_big_type():
    output, job = _print()
    assert b"A-007" in job.text
    # GS ! 0x33: four times as wide and as tall, just before the number.
    number_at = output.index(b"A-007")
    assert output.rindex(b"\x1d!\x33", 0, number_at) > output.rindex(b"\n", 0, number_at)


def test_the_qr_code_is_the_printers_own_command_for_the_ticket_page():
    output, job = _print()
    assert QR_COMMAND in output
    assert job.qr_data == [STATUS_URL.encode()]
    assert job.qr_prints == 1
    # Error correction Q (function 69, "2"): a creased or smudged ticket still scans.
    assert b"\x1d(k\x03\x001E2" in output


def test_without_the_qr_command_the_code_is_a_bitmap_that_decodes_to_the_page():
    output, job = _print(native_qr=False)
    assert QR_COMMAND not in output
    assert RASTER_COMMAND in output
    found = [text for image in job.images for text in decode(image)]
    assert found == [STATUS_URL]


def test_arabic_is_shaped_and_drawn_not_sent_as_text():
    slip = sample_slip()
    _, job = _print(slip)
    # No Arabic code page, no byte beyond ASCII: every Arabic line went as a bitmap...
    assert not ARABIC_CODE_PAGES & set(job.code_pages)
    assert max(job.text) < 0x80
    # ...and the service's line is exactly the shaped text drawn with the shipped font.
    service = raster_text.draw(
        slip.text("ar").service,
        width=PAPER,
        size=escpos.ARABIC_HEADING_SIZE,
        rtl=True,
        align="center",
    )
    assert any(_same(image, service) for image in job.images)
    # The English lines are text, in the printer's font.
    assert b"National ID card" in job.text
    assert b"Nasr City civil registry" in job.text


def test_arabic_goes_as_text_to_a_printer_that_shapes_it():
    slip = sample_slip()
    output, job = _print(slip, shape_arabic=False)
    assert 32 in job.code_pages  # CP720, the first Arabic code page of the printer's table
    assert slip.text("ar").service.encode("cp720") in output  # logical order, base letters
    assert not job.images  # the QR code is the printer's own: nothing else is a bitmap


def test_a_receipts_lines_label_and_value_apart():
    _, job = _print()
    lines = job.text.decode("ascii").splitlines()
    ahead = next(line for line in lines if line.startswith("People ahead of you"))
    assert ahead.endswith(" 3")
    assert len(ahead) == PAPER // escpos.FONT_A_DOTS
    # Babel's narrow no-break space in "10:00 AM" has no place in a printer's code page.
    assert any(line.endswith("10:00 AM") for line in lines)


def test_priority_tickets_say_so():
    _, job = _print(sample_slip(priority=True))
    assert b"Priority ticket" in job.text
    _, job = _print(sample_slip(priority=False))
    assert b"Priority ticket" not in job.text


def test_a_slip_without_a_place_in_line_prints_what_it_knows():
    texts = tuple(dataclasses.replace(t, facts=t.facts[:1]) for t in sample_slip().texts)
    _, job = _print(sample_slip(texts=texts, people_ahead=None, eta_minutes=None))
    assert b"Issued" in job.text
    assert b"People ahead" not in job.text
    assert b"A-007" in job.text


def test_starts_from_a_reset_printer_and_ends_with_a_cut():
    output, job = _print()
    assert output.startswith(b"\x1b@")
    assert job.cuts == 1
    assert output.endswith(b"\x1dV\x00")  # GS V 0: a full cut, after feeding past the head


def test_a_printer_of_unknown_width_gets_80_mm_paper(capsys):
    printer = Dummy()  # python-escpos's default profile says nothing of the paper
    assert escpos.paper_dots(printer) == escpos.DEFAULT_PAPER_DOTS
    escpos.render(sample_slip(), printer)
    job = read(printer.output)
    assert {image.width for image in job.images} == {escpos.DEFAULT_PAPER_DOTS}


@pytest.mark.parametrize("native_qr", [True, False])
def test_long_addresses_still_fit_the_paper(native_qr):
    url = "https://queue.services.example.gov.eg/t/" + "z" * 64
    _, job = _print(sample_slip(status_url=url), native_qr=native_qr)
    assert all(image.width <= PAPER for image in job.images)
    if not native_qr:
        assert [text for image in job.images for text in decode(image)] == [url]


def test_a_booking_without_a_number_prints_the_warning_in_both_languages():
    warning = "No text message will come: you left no mobile number. Keep this slip."
    texts = tuple(
        dataclasses.replace(t, no_phone="لن تصلك رسالة." if t.locale == "ar" else warning)
        for t in sample_slip().texts
    )
    _, plain = _print()
    _, job = _print(sample_slip(texts=texts))
    assert b"No text message will come" in job.text
    assert b"No text message" not in plain.text
    assert len(job.images) == len(plain.images) + 1  # the Arabic line, drawn
