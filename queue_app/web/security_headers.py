"""Security headers on every answer: pages, the JSON API, static files, errors, kiosk and board.

One ``after_request`` hook rather than a library: what varies is ours to decide per request (a
ticket's token in the address, the printable ticket that the kiosk prints from a frame of its own
page, HSTS from the public URL's scheme), and Flask-Talisman would need its decorator on views in
four blueprints and turned off its redirect to https and its secure-only session cookie, both
wrong for kiosks and boards reached over plain http on an office's own network.
"""

from __future__ import annotations

from flask import Flask, Response, request

from queue_app.web.extensions import current_settings

# Every script and style comes from our own static files: no inline <script>, no style=""
# attribute, no on*="" handler (tests/pages/test_security_headers.py looks). The page data blocks
# (<script type="application/json">) are data, never run, and need no exception. QR codes are
# our own PNG or SVG addresses, or inline <svg> on the printable ticket; no data: URI.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",  # the kiosk prints the printable ticket from a hidden frame
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Nothing here uses these; a page that would (a camera QR reader) must say so here first.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)
# Two years, as browsers' preload lists ask; no includeSubDomains: other services of the same
# ministry may live on sibling names still served over http.
HSTS = "max-age=63072000"

# The one page shown inside a frame: the kiosk page loads the printable ticket in a hidden frame
# of its own and prints it from there (kiosk.js, printInBrowser).
FRAMED_BY_OWN_PAGES = frozenset({"kiosk_print.printable_ticket"})


SIGNED_IN_COOKIE = "queue_signed_in"  # web/sign_in.py's COOKIE


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    framed = request.endpoint in FRAMED_BY_OWN_PAGES
    csp = CONTENT_SECURITY_POLICY
    if framed:
        csp = csp.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
    headers.setdefault("Content-Security-Policy", csp)
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if framed else "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if _carries_ticket_token():
        # The address is the ticket (/t/<token>, .../tickets/<token>/...): whoever holds it can
        # cancel it. Never send it on, never keep the answer in a shared or back-button cache.
        headers["Referrer-Policy"] = "no-referrer"
        if "Cache-Control" not in headers:  # the QR images choose their own private caching
            response.cache_control.no_store = True
    else:
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.cookies.get(SIGNED_IN_COOKIE) and "Cache-Control" not in headers:
        # A signed-in person's pages and answers are theirs: no shared or back-button copy.
        response.cache_control.no_store = True
        response.cache_control.private = True
    if request.is_secure or current_settings().public_url.startswith("https://"):
        # Behind a proxy that ends TLS the request itself reads as http: the public URL says
        # where citizens reach us. Browsers ignore the header on a plain-http answer.
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _carries_ticket_token() -> bool:
    return bool(request.view_args and "token" in request.view_args)
