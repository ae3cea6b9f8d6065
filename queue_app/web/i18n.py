"""Arabic first: the locale is the one asked for (?lang=), then the one remembered (cookie), then
the one the page's subject was made in (a ticket taken in English), then Arabic."""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import Babel, refresh

from queue_app.locales import DEFAULT_LOCALE, LOCALES

LOCALE_COOKIE = "lang"

babel = Babel()


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    remembered = request.cookies.get(LOCALE_COOKIE)
    if remembered in LOCALES:
        return remembered
    preferred = g.get("preferred_locale")
    if preferred in LOCALES:
        return preferred
    return DEFAULT_LOCALE


def prefer_locale(locale: str) -> None:
    """Use ``locale`` for this request unless the reader asked for or chose another one."""
    g.preferred_locale = locale
    refresh()


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    babel.init_app(app, locale_selector=select_locale)

    @app.after_request
    def remember_locale(response):  # type: ignore[no-untyped-def]
        asked = request.args.get("lang")
        if asked in LOCALES:
            response.set_cookie(LOCALE_COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax")
        return response

    @app.context_processor
    def locale_context() -> dict[str, object]:
        from flask_babel import get_locale

        locale = str(get_locale() or DEFAULT_LOCALE)
        return {
            "locale": locale,
            "text_direction": "rtl" if locale == "ar" else "ltr",
            "other_locale": "en" if locale == "ar" else "ar",
        }
