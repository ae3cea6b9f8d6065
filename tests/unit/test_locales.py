"""One list of languages: Arabic first, and the texts speak every language the pages do."""

from __future__ import annotations

from queue_app import locales
from sms import templates


def test_arabic_comes_first_and_is_the_default():
    assert locales.LOCALES[0] == "ar" == locales.DEFAULT_LOCALE


def test_the_texts_speak_every_language_of_the_pages():
    assert tuple(templates.LOCALES) == locales.LOCALES


def test_an_unknown_language_falls_back_to_arabic():
    assert locales.supported("en") == "en"
    assert locales.supported("fr") == "ar"
    assert locales.supported(None) == "ar"
