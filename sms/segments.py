"""How many SMS segments a text costs, as the network counts them (3GPP TS 23.038 and 23.040).

A text that uses only the GSM 03.38 alphabet travels in 7-bit septets: 160 in a single message,
153 in each part of a long one (the user data header that joins the parts takes 7). Any other
character sends the whole text as UCS-2: 70 UTF-16 code units alone, 67 per part. Arabic is
always UCS-2, so every Arabic letter costs what 2.3 Latin ones do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The GSM 03.38 default alphabet (one septet each). ESC (0x1B) is left out: it only introduces
# the extension table below, it is not a character a text can hold.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC + the character, two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    per_segment: int  # the room in each segment of this text: 160/153 or 70/67


def is_gsm7(text: str) -> bool:
    """True if ``text`` can travel in the GSM 7-bit alphabet (with its extension table)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _costs(text: str, encoding: Encoding) -> list[int]:
    """What each character costs; a character is never split across two segments (neither an
    escape sequence nor a surrogate pair may be: phones would show garbage)."""
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _parts(costs: list[int], room: int) -> int:
    parts, used = 1, 0
    for cost in costs:
        if used + cost > room:
            parts, used = parts + 1, 0
        used += cost
    return parts


def segments(text: str) -> SegmentInfo:
    """Count the segments ``text`` takes. An empty text still goes as one (empty) message."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
    costs = _costs(text, encoding)
    units = sum(costs)
    if units <= single:
        return SegmentInfo(encoding, units, 1, single)
    return SegmentInfo(encoding, units, _parts(costs, part), part)
