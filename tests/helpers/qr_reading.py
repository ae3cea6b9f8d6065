"""Read QR codes back with an independent decoder (zxing-cpp), from bitmaps or from our SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image, ImageDraw

SVG = "{http://www.w3.org/2000/svg}"
# qrcode's SvgPathImage draws each dark module as a unit square: "M4,4H5V5H4z".
SQUARE = re.compile(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+z")


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def raster(svg: bytes | str, scale: int = 8) -> Image.Image:
    """Draw the SVG's squares on white, scaled up: enough of a renderer to check the code
    without adding cairosvg to the dependencies."""
    root = ET.fromstring(svg)
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    image = Image.new("L", (int(width * scale), int(height * scale)), 255)
    draw = ImageDraw.Draw(image)
    for path in root.iter(f"{SVG}path"):
        squares = SQUARE.findall(path.attrib["d"])
        if not squares:
            pytest.skip("the SVG's paths are not unit squares; nothing here can draw them")
        for x0, y0, x1, y1 in squares:
            box = (
                float(x0) * scale,
                float(y0) * scale,
                float(x1) * scale - 1,
                float(y1) * scale - 1,
            )
            draw.rectangle(box, fill=0)
    return image
