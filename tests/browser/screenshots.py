"""The README's pictures of the kiosk (its start screen, a ticket on it and the printable ticket),
of the booking page on a phone (the times of a day, and the confirmation), in Arabic and in
English, of the hall's board (both languages at once), and of joining the line from a phone
(the join page, and the A4 poster at the door), taken through the real pages in Chromium.

    scripts/screenshots [--out docs/screenshots] [--only join]

The demo offices (``queue-app seed --demo``) on a fresh SQLite file, served on loopback with the
clock on a working Tuesday morning in Cairo and a few citizens already waiting, so that the
pictures look the same whenever they are taken. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from queue_app import access, config_file, migrate
from queue_app.app import create_app
from queue_app.cli import DEMO_FILE
from queue_app.clock import FixedClock
from queue_app.models import Ticket
from queue_app.settings import Settings
from queue_app.web.extensions import db
from tests.browser import harness

BRANCH = "cairo-civil"
# Tuesday 24 November 2026, 10:20 in Cairo: the office is open and busy.
AT = datetime(2026, 11, 24, 8, 20, tzinfo=UTC)
# What the QR codes in the pictures point at: a production address, not this loopback server.
PUBLIC_URL = "https://queue.example.gov"
# Citizens already in line when the pictures are taken, per service.
ALREADY_WAITING = {"id-card": 7, "birth-cert": 3, "death-cert": 1}
KIOSK = (1080, 1920)  # a portrait kiosk screen, in CSS pixels
SLIP_WIDTH = 420  # the printable ticket's page: room for the 80 mm slip and its margin
SLIP_SCALE = 2  # printed tickets are read close up: a sharper picture
PHONE = (412, 915)  # the booking page on a common Android phone, in CSS pixels
PHONE_SCALE = 2  # and its screen's density, roughly
# One booking per number and service: a number for each language's picture.
BOOKING_PHONES = {"ar": "01012345678", "en": "01198765432"}
BOARD = (1920, 1080)  # a landscape screen on the hall's wall
MAX_BYTES = 300_000
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _prepare(database_url: str, instance: Path, clock: FixedClock) -> tuple[object, str]:
    migrate.upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        secret_key="screenshots",
        public_url=PUBLIC_URL,
        instance_path=instance,
    )
    app = create_app(settings, clock=clock)
    with app.app_context():
        config_file.load_file(db.session, DEMO_FILE)
        token = access.create_token(db.session, clock, "kiosk", BRANCH, label="screenshots")
        db.session.remove()
    client = app.test_client()
    for service, count in ALREADY_WAITING.items():
        for _ in range(count):
            answer = client.post(
                f"/api/v1/branches/{BRANCH}/tickets",
                json={"service": service},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 201, answer.json
    return app, token


def _fit(size: tuple[int, int], driver: object, scale: float = 1, mobile: bool = False) -> None:
    """The page's viewport exactly this size, whatever the window's decorations take."""
    width, height = size
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile},
    )


def _save(driver: object, path: Path) -> None:
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png()))  # type: ignore[attr-defined]
    image = image.convert("RGB")
    data = _png(image)
    if len(data) > MAX_BYTES:
        # Flat colours and text: a palette of 256 loses nothing a reader would see.
        data = _png(image.quantize(256, dither=Image.Dither.NONE))
    path.write_bytes(data)
    print(f"{path}: {image.width}x{image.height}, {len(data) // 1024} KiB")
    if len(data) > MAX_BYTES:
        sys.exit(f"{path} is larger than {MAX_BYTES} bytes")


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _kiosk_pictures(
    browser: harness.Browser, app: object, base_url: str, lang: str, out: Path
) -> str:
    """Start screen and ticket screen in ``lang``; returns the new ticket's token."""
    _fit(KIOSK, browser.driver)
    browser.get(f"{base_url}/kiosk/{BRANCH}?lang={lang}")
    browser.wait_screen("services")
    assert browser.direction()[0] == lang
    _save(browser.driver, out / f"kiosk-start-{lang}.png")

    browser.tap("service-id-card")
    browser.wait_screen("phone")
    browser.tap("phone-skip")
    browser.wait_screen("priority")
    browser.tap("priority-no")
    browser.wait_screen("ticket")
    browser.qr_code()  # waits for the QR image, and checks it reads
    # The page asks for the branch again once the ticket is shown; let that settle.
    harness.wait_for(
        lambda: browser.driver.execute_script("return document.readyState") == "complete"
    )
    _save(browser.driver, out / f"kiosk-ticket-{lang}.png")
    with app.app_context():  # type: ignore[attr-defined]
        ticket = db.session.scalars(db.select(Ticket).order_by(Ticket.id.desc())).first()
        assert ticket is not None
        assert ticket.locale == lang
        token = ticket.token
        db.session.remove()
    return token


def _slip_picture(
    browser: harness.Browser, base_url: str, token: str, lang: str, out: Path
) -> None:
    _fit((SLIP_WIDTH, 800), browser.driver, SLIP_SCALE)
    browser.get(f"{base_url}/kiosk/{BRANCH}/tickets/{token}/print?lang={lang}")
    height = browser.driver.execute_script(
        "return Math.ceil(document.documentElement.getBoundingClientRect().height)"
    )
    _fit((SLIP_WIDTH, int(height)), browser.driver, SLIP_SCALE)
    _save(browser.driver, out / f"kiosk-print-{lang}.png")


def _booking_pictures(browser: harness.Browser, base_url: str, lang: str, out: Path) -> None:
    """The booking page on a phone: the free times of today, then a confirmed booking."""
    _fit(PHONE, browser.driver, PHONE_SCALE, mobile=True)
    day = AT.astimezone(ZoneInfo("Africa/Cairo")).date().isoformat()
    browser.get(f"{base_url}/book/{BRANCH}?service=id-card&day={day}&lang={lang}")
    assert browser.direction()[0] == lang
    _save(browser.driver, out / f"book-times-{lang}.png")

    browser.visible("choice").click()
    harness.wait_for(lambda: browser.find("#booking").get_attribute("data-step") == "phone")
    browser.visible("phone").send_keys(BOOKING_PHONES[lang])
    browser.tap("book-submit")
    harness.wait_for(lambda: "/booked/" in browser.driver.current_url)
    browser.visible("booked")
    harness.wait_for(
        lambda: browser.driver.execute_script(
            "const img = document.querySelector('.booked-qr');"
            "return document.readyState === 'complete' && img.complete && img.naturalWidth > 0"
        ),
        message="the confirmation with its QR code",
    )
    _save(browser.driver, out / f"book-booked-{lang}.png")


A4 = (794, 1123)  # an A4 page at 96 CSS pixels an inch: the poster at the door


def _join_pictures(browser: harness.Browser, base_url: str, lang: str, out: Path) -> None:
    """Joining the line from a phone: the first step, as the poster's QR code opens it."""
    _fit(PHONE, browser.driver, PHONE_SCALE, mobile=True)
    browser.get(f"{base_url}/join/{BRANCH}?lang={lang}")
    assert browser.direction()[0] == lang
    browser.visible("phone")
    _save(browser.driver, out / f"join-{lang}.png")


def _poster_picture(browser: harness.Browser, base_url: str, out: Path) -> None:
    """The A4 poster at the door, both languages at once."""
    _fit(A4, browser.driver)
    browser.get(f"{base_url}/join/{BRANCH}/poster")
    harness.wait_for(
        lambda: browser.driver.execute_script(
            "const img = document.querySelector('.qr');"
            "return document.readyState === 'complete' && img.complete && img.naturalWidth > 0"
        ),
        message="the poster with its QR code",
    )
    _save(browser.driver, out / "join-poster.png")


def _board_picture(browser: harness.Browser, app: object, base_url: str, out: Path) -> None:
    """The hall's board after every open counter called, one citizen put on hold."""
    with app.app_context():  # type: ignore[attr-defined]
        staff = access.create_token(db.session, FixedClock(AT), "staff", BRANCH, label="shots")
        db.session.remove()
    client = app.test_client()  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {staff}"}
    counters = client.get(f"/api/v1/branches/{BRANCH}").json["counters"]
    called = []
    for counter in (c for c in counters if c["open"]):
        answer = client.post(
            f"/api/v1/branches/{BRANCH}/counters/{counter['code']}/call-next", headers=headers
        )
        if answer.status_code == 200:
            called.append(answer.json["token"])
    if len(called) > 1:  # a citizen sent to fetch a document: marked on the list
        client.post(f"/api/v1/tickets/{called[0]}/hold", headers=headers)
        client.post(f"/api/v1/branches/{BRANCH}/counters/1/call-next", headers=headers)
    _fit(BOARD, browser.driver)
    browser.get(f"{base_url}/display/{BRANCH}")
    harness.wait_for(lambda: browser.find("#call-rows tr"))
    _save(browser.driver, out / "board.png")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNG files")
    parser.add_argument(
        "--only", choices=("join",), help="take only these pictures (the others stay as they are)"
    )
    args = parser.parse_args(argv)
    why = harness.chromium_missing()
    if why:
        sys.exit(why)
    args.out.mkdir(parents=True, exist_ok=True)
    clock = FixedClock(AT)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'queue.sqlite3'}"
        app, kiosk_token = _prepare(url, Path(folder) / "instance", clock)
        server = harness.LiveServer()
        server.serve(app)  # type: ignore[arg-type]
        driver = harness.chromium(width=KIOSK[0], height=KIOSK[1])
        try:
            browser = harness.Browser(driver)
            browser.get(f"{server.base_url}/healthz")
            driver.execute_script(
                "localStorage.setItem('queue.kiosk-token', arguments[0]);"
                "localStorage.setItem('queue.kiosk-branch', arguments[1]);",
                kiosk_token,
                BRANCH,
            )
            if args.only is None:
                for lang in ("ar", "en"):
                    token = _kiosk_pictures(browser, app, server.base_url, lang, args.out)
                    _slip_picture(browser, server.base_url, token, lang, args.out)
                for lang in ("ar", "en"):
                    _booking_pictures(browser, server.base_url, lang, args.out)
                _board_picture(browser, app, server.base_url, args.out)
            for lang in ("ar", "en"):
                _join_pictures(browser, server.base_url, lang, args.out)
            _poster_picture(browser, server.base_url, args.out)
        finally:
            driver.quit()
            server.stop()
            with app.app_context():  # type: ignore[attr-defined]
                db.engine.dispose()


if __name__ == "__main__":
    main()
