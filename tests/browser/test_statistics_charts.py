"""The manager's statistics page in a real Chromium: the charts draw (Chart.js from our own copy,
under our Content-Security-Policy), in Arabic and right to left, with their tables filled.

Sign-in does not exist yet and a browser sends no bearer token by itself, so the page is reached
through a route this test registers: it calls the page's own rendering
(``manage_statistics.render``) for an admin, as the guarded route does for a signed-in manager.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from queue_app.access import Principal
from queue_app.models import Branch, Role
from queue_app.pages import manage_statistics
from queue_app.web.extensions import db
from tests.browser.conftest import Office
from tests.browser.harness import Browser
from tests.helpers.statistics_day import build_day

pytestmark = pytest.mark.slow

CHARTS = ("chart-hours", "chart-waits", "chart-services", "chart-no-shows")
# statistics.js's colours: the served bars, and the wait bucket that holds the 90th percentile.
ACCENT = (0x0B, 0x6E, 0x4F)
WARN = (0xB3, 0x54, 0x1E)

# Runs before any of the page's own scripts: every CSP violation is kept for the test to read.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

PAINTED = """
const canvas = document.getElementById(arguments[0]);
const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
const [r, g, b] = arguments[1];
let painted = 0, coloured = 0;
for (let i = 0; i < pixels.length; i += 4) {
  if (pixels[i + 3] === 0) continue;
  painted += 1;
  if (Math.abs(pixels[i] - r) < 4 && Math.abs(pixels[i + 1] - g) < 4
      && Math.abs(pixels[i + 2] - b) < 4) coloured += 1;
}
return [canvas.width * canvas.height, painted, coloured];
"""


def _yesterday(office: Office) -> date:
    with office.app.app_context():
        zone = db.session.scalars(select(Branch).where(Branch.code == office.branch)).one().zone
        db.session.remove()
    return office.clock.now().astimezone(zone).date() - timedelta(days=1)


def _serve_the_page(office: Office, day: date) -> str:
    admin = Principal(role=Role.ADMIN, branch_id=None, branch_code=None)

    def page() -> str:
        return manage_statistics.render(admin, office.branch, day, day)

    office.app.add_url_rule("/test-only/statistics", "test_only_statistics", page)
    return f"{office.base_url}/test-only/statistics"


def _painted(browser: Browser, chart: str, colour: tuple[int, int, int]) -> list[int]:
    result: Any = browser.driver.execute_script(PAINTED, chart, list(colour))
    return [int(n) for n in result]


def test_the_charts_draw_with_their_tables(browser: Browser, office: Office) -> None:
    day = _yesterday(office)
    with office.app.app_context():
        build_day(office.branch, day, "id-card", "licence", "traffic-licensing")
        db.session.remove()
    url = _serve_the_page(office, day)
    browser.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}
    )

    browser.get(url)

    assert browser.direction()[0:2] == ("ar", "rtl")
    for chart in CHARTS:
        canvas = browser.find(f"#{chart}")
        assert canvas.get_attribute("data-drawn") == "true", chart
        area, painted, _ = _painted(browser, chart, ACCENT)
        assert area > 0, chart
        assert painted > area // 100, f"{chart} is blank: {painted} of {area} pixels painted"
    # Bars, not only axes: the served bars in the hours chart, the p90 bucket in the waits one.
    assert _painted(browser, "chart-hours", ACCENT)[2] > 50
    assert _painted(browser, "chart-waits", WARN)[2] > 50
    # Right to left: the first hour on the right, the value axis on the right.
    scales = browser.driver.execute_script(
        "const scales = Chart.getChart('chart-hours').options.scales;"
        " return [scales.x.reverse, scales.y.position];"
    )
    assert scales == [True, "right"]

    hours = browser.driver.find_elements("css selector", "#table-hours tbody tr")
    assert [row.find_element("css selector", "th").text for row in hours] == [
        "٠٠:٠٠",
        "٠٩:٠٠",
        "١٠:٠٠",
        "١١:٠٠",
    ]
    waits = browser.driver.find_elements("css selector", "#table-waits tbody tr")
    assert len(waits) == 10
    assert browser.find('[data-test="p90"]').text == "٦٠.٠"
    services = browser.find("#table-services").text
    assert "بطاقة الرقم القومي" in services
    assert "رخصة القيادة" in services
    assert len(browser.driver.find_elements("css selector", "#table-no-shows tbody tr")) == 2
    assert len(browser.driver.find_elements("css selector", "#table-outages tbody tr")) == 1

    assert browser.driver.execute_script("return window.cspViolations") == []
