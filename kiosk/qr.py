"""QR codes of ticket pages. Error correction level Q: a printed ticket survives a crease or a
smudge, and the URL is still small enough for a 80 mm paper roll."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
import qrcode.image.svg

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q


def _code(url: str, box_size: int) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def png(url: str, *, box_size: int = 8) -> bytes:
    out = io.BytesIO()
    _code(url, box_size).make_image().save(out, format="PNG")
    return out.getvalue()


def svg(url: str) -> bytes:
    out = io.BytesIO()
    _code(url, 10).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue()


def modules(url: str) -> int:
    """How many modules (squares) a side of the code has, quiet zone left out: what sizes it on
    paper."""
    return _code(url, 1).modules_count
