"""The 80 mm printable page of a ticket: what its template needs, drawn from the slip.

A kiosk's browser prints it silently (Chromium's --kiosk-printing) to the thermal printer's
driver; any browser can print it too.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from kiosk import qr
from kiosk.slip import TicketSlip


def qr_svg(url: str) -> Markup:
    """The QR code as inline SVG: the page is whole when it loads, so printing on load never
    waits for, or misses, a second request for the image."""
    svg = qr.svg(url).decode()
    return Markup(svg[svg.index("<svg") :])  # our own drawing of our own URL: nothing to escape


def page(slip: TicketSlip, *, autoprint: bool) -> dict[str, Any]:
    return {"slip": slip, "qr_svg": qr_svg(slip.status_url), "autoprint": autoprint}
