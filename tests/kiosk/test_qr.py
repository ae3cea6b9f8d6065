"""A ticket's QR code, through the test client, read back by an independent decoder (zxing-cpp)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from tests.helpers.qr_reading import SVG, decode, raster


@pytest.fixture
def ticket(make_branch, take_ticket):
    make_branch()
    return take_ticket()


@pytest.fixture
def take_ticket(client, make_token):
    def take():
        response = client.post(
            "/api/v1/branches/cairo-civil/tickets",
            json={"service": "id-card"},
            headers=make_token("kiosk"),
        )
        assert response.status_code == 201, response.json
        return response.json

    return take


def test_png_decodes_to_exactly_the_ticket_page(client, ticket):
    response = client.get(f"/t/{ticket['token']}/qr.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert ticket["status_url"] == f"http://queue.test/t/{ticket['token']}"
    assert decode(Image.open(io.BytesIO(response.data))) == [ticket["status_url"]]


def test_qr_url_in_the_ticket_json_is_the_png(client, ticket):
    assert ticket["qr_url"] == f"{ticket['status_url']}/qr.png"


def test_svg_is_valid_and_draws_the_same_code(client, ticket):
    response = client.get(f"/t/{ticket['token']}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    paths = list(root.iter(f"{SVG}path"))
    assert paths
    assert all(path.attrib.get("d") for path in paths)
    assert decode(raster(response.data)) == [ticket["status_url"]]


@pytest.mark.parametrize("image", ["qr.png", "qr.svg"])
def test_browsers_may_keep_the_code_and_revalidate_it(client, ticket, image):
    url = f"/t/{ticket['token']}/{image}"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag
    cache_control = first.headers["Cache-Control"]
    assert "max-age=86400" in cache_control
    assert "private" in cache_control  # the address holds the ticket's token
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.data == first.data


@pytest.mark.parametrize("image", ["qr.png", "qr.svg"])
def test_forged_token_gets_no_code(client, make_branch, image):
    make_branch()
    response = client.get(f"/t/forged-token-forged-token/{image}")
    assert response.status_code == 404
    assert response.mimetype in ("text/html", "application/json")
    assert not response.mimetype.startswith("image/")
