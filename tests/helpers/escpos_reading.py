"""Read back the ESC/POS commands that kiosk/escpos.py writes: what a printer would print.

Only the commands a ticket uses are known; anything else fails loudly, so that a test notices a
command it did not expect rather than skipping over bytes it cannot size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

ESC, GS, LF = 0x1B, 0x1D, 0x0A

# Commands followed by a fixed number of parameter bytes.
ESC_FIXED = {
    ord("@"): 0,  # initialise
    ord("a"): 1,  # justification
    ord("E"): 1,  # bold
    ord("!"): 1,  # print mode
    ord("t"): 1,  # code page
    ord("d"): 1,  # print and feed n lines
    ord("-"): 1,  # underline
    ord("M"): 1,  # font
    ord("{"): 1,  # upside down
}
GS_FIXED = {
    ord("!"): 1,  # character size
    ord("B"): 1,  # white on black
    ord("b"): 1,  # smoothing
}


@dataclass
class PrintJob:
    text: bytes = b""  # the printable bytes, commands taken out, line feeds kept
    images: list[Image.Image] = field(default_factory=list)  # GS v 0 raster images, in order
    qr_data: list[bytes] = field(default_factory=list)  # GS ( k: what the printer's QR holds
    qr_prints: int = 0  # GS ( k "print the stored symbol" commands
    code_pages: list[int] = field(default_factory=list)  # ESC t n, in order
    cuts: int = 0
    sizes: list[int] = field(default_factory=list)  # GS ! n, in order


def _raster(data: bytes, at: int) -> tuple[Image.Image, int]:
    # GS v 0 m xL xH yL yH d1...dk: xL+xH*256 bytes a row, yL+yH*256 rows, 1 = black dot.
    width_bytes = data[at + 1] + data[at + 2] * 256
    height = data[at + 3] + data[at + 4] * 256
    start = at + 5
    end = start + width_bytes * height
    bits = Image.frombytes("1", (width_bytes * 8, height), data[start:end])
    # Printed dots are black: the bytes are inverted from Pillow's "1" (1 = white).
    image = Image.eval(bits.convert("L"), lambda v: 255 - v)
    return image, end


def read(data: bytes) -> PrintJob:
    job = PrintJob()
    text = bytearray()
    at = 0
    while at < len(data):
        byte = data[at]
        if byte == ESC:
            command = data[at + 1]
            if command not in ESC_FIXED:
                raise ValueError(f"unexpected ESC {chr(command)!r} at {at}")
            if command == ord("t"):
                job.code_pages.append(data[at + 2])
            at += 2 + ESC_FIXED[command]
        elif byte == GS:
            command = data[at + 1]
            if command in GS_FIXED:
                if command == ord("!"):
                    job.sizes.append(data[at + 2])
                at += 2 + GS_FIXED[command]
            elif command == ord("v") and data[at + 2] == ord("0"):
                image, at = _raster(data, at + 3)
                job.images.append(image)
            elif command == ord("(") and data[at + 2] == ord("k"):
                length = data[at + 3] + data[at + 4] * 256
                body = data[at + 5 : at + 5 + length]
                code_type, function = body[0], body[1]
                if code_type == ord("1") and function == 80:  # store the data (after m = "0")
                    job.qr_data.append(body[3:])
                if code_type == ord("1") and function == 81:
                    job.qr_prints += 1
                at += 5 + length
            elif command == ord("V"):
                job.cuts += 1
                # GS V m, and GS V m n for the "feed then cut" forms (m = 65, 66).
                at += 4 if data[at + 2] in (65, 66) else 3
            else:
                raise ValueError(f"unexpected GS {chr(command)!r} at {at}")
        else:
            text.append(byte)
            at += 1
    job.text = bytes(text)
    return job
