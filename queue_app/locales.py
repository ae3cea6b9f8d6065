"""The languages of the queue, in reading order: Arabic first, English beside it. The pages,
the kiosk, the display board, the config file's names and the texts all use this one list
(``sms.templates`` keeps its own, as a library of its own; a test checks they agree)."""

from __future__ import annotations

LOCALES: tuple[str, ...] = ("ar", "en")
DEFAULT_LOCALE = LOCALES[0]


def supported(asked: str | None) -> str:
    """The locale asked for if we speak it, else Arabic."""
    return asked if asked in LOCALES else DEFAULT_LOCALE
