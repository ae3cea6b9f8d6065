"""Replies as citizens type them: both languages, three digit systems, stray marks."""

from __future__ import annotations

import pytest

from sms.replies import _WORDS, ReplyKind, normalise, parse_reply


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # confirm
        ("1", ReplyKind.CONFIRM),
        ("١", ReplyKind.CONFIRM),  # Arabic-Indic
        ("۱", ReplyKind.CONFIRM),  # Eastern Arabic-Indic (Persian keyboards)
        (" ١ ", ReplyKind.CONFIRM),
        ("1.", ReplyKind.CONFIRM),
        ("１", ReplyKind.CONFIRM),  # full-width
        ("yes", ReplyKind.CONFIRM),
        ("YES!", ReplyKind.CONFIRM),
        ("Ok", ReplyKind.CONFIRM),
        ("نعم", ReplyKind.CONFIRM),
        ("نعم.", ReplyKind.CONFIRM),
        ("نَعَم", ReplyKind.CONFIRM),  # with harakat
        ("نعـــم", ReplyKind.CONFIRM),  # with tatweel
        ("موافق", ReplyKind.CONFIRM),
        ("اوافق", ReplyKind.CONFIRM),  # أوافق without its hamza
        ("أيوة", ReplyKind.CONFIRM),  # Egyptian, with ة for ه
        # another slot
        ("2", ReplyKind.ANOTHER_SLOT),
        ("٢", ReplyKind.ANOTHER_SLOT),
        ("۲", ReplyKind.ANOTHER_SLOT),
        ("٢،", ReplyKind.ANOTHER_SLOT),  # Arabic comma
        ("another slot", ReplyKind.ANOTHER_SLOT),
        ("موعد آخر", ReplyKind.ANOTHER_SLOT),
        ("موعد اخر", ReplyKind.ANOTHER_SLOT),
        ("  موعد   آخر ", ReplyKind.ANOTHER_SLOT),
        ("تغيير", ReplyKind.ANOTHER_SLOT),
        # cancel
        ("0", ReplyKind.CANCEL),
        ("٠", ReplyKind.CANCEL),
        ("۰", ReplyKind.CANCEL),
        ("Cancel", ReplyKind.CANCEL),
        ("إلغاء", ReplyKind.CANCEL),
        ("الغاء", ReplyKind.CANCEL),
        ("ألغاء", ReplyKind.CANCEL),
        # opt out
        ("STOP", ReplyKind.OPT_OUT),
        ("stop", ReplyKind.OPT_OUT),
        ("Stop.", ReplyKind.OPT_OUT),
        ("STOPALL", ReplyKind.OPT_OUT),
        ("UNSUBSCRIBE", ReplyKind.OPT_OUT),
        ("END", ReplyKind.OPT_OUT),
        ("QUIT", ReplyKind.OPT_OUT),
        ("إيقاف", ReplyKind.OPT_OUT),
        ("ايقاف", ReplyKind.OPT_OUT),
        ("الغاء الاشتراك", ReplyKind.OPT_OUT),
        ("إلغاء الاشتراك", ReplyKind.OPT_OUT),
        # opt in again
        ("START", ReplyKind.OPT_IN),
        ("تفعيل", ReplyKind.OPT_IN),
        # help
        ("help", ReplyKind.HELP),
        ("HELP?", ReplyKind.HELP),
        ("?", ReplyKind.HELP),
        ("؟", ReplyKind.HELP),  # Arabic question mark
        (" ?? ", ReplyKind.HELP),
        ("مساعدة", ReplyKind.HELP),
        ("مساعده", ReplyKind.HELP),
        # anything else gets the help message once, never a guess
        ("", ReplyKind.UNKNOWN),
        ("   ", ReplyKind.UNKNOWN),
        ("3", ReplyKind.UNKNOWN),
        ("١٠", ReplyKind.UNKNOWN),
        ("1 2", ReplyKind.UNKNOWN),
        ("no", ReplyKind.UNKNOWN),  # no to what? cancelling is never a guess
        ("لا", ReplyKind.UNKNOWN),
        ("no, cancel", ReplyKind.UNKNOWN),
        ("شكرا", ReplyKind.UNKNOWN),
        ("👍", ReplyKind.UNKNOWN),
    ],
)
def test_parse_reply(text, kind):
    assert parse_reply(text).kind == kind


def test_the_normalised_text_is_kept():
    assert parse_reply(" نَعَمْ. ").text == "نعم"
    assert parse_reply("١").text == "1"


def test_normalise_folds_alef_forms_and_digits():
    assert normalise("أإآا") == "اااا"
    assert normalise("٠١٢٣٤٥٦٧٨٩") == "0123456789"
    assert normalise("۰۱۲۳۴۵۶۷۸۹") == "0123456789"
    assert normalise("ﻻ") == "لا"  # a presentation-form ligature from an old keyboard


def test_no_word_means_two_things():
    seen: dict[str, ReplyKind] = {}
    for kind, words in _WORDS.items():
        for word in words:
            key = normalise(word)
            assert seen.setdefault(key, kind) == kind, f"{word!r} is both {seen[key]} and {kind}"
