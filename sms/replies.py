"""What a citizen's reply means: 1 confirm, 2 another slot, 0 cancel, STOP, HELP.

People answer from whatever keyboard their phone has: Arabic-Indic (١) or Persian (۱) digits,
Latin or Arabic words, with or without hamza and diacritics, with a full stop or a stray space.
Both the reply and the words below are normalised the same way before they are compared, and
only a whole reply counts: "no, cancel" is not a cancellation, it gets the help message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class ReplyKind(StrEnum):
    CONFIRM = "confirm"
    ANOTHER_SLOT = "another_slot"
    CANCEL = "cancel"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    text: str  # the reply as normalised for matching, for logs


# Tatweel (ـ) only stretches a word; the rest are the Arabic letters that are often written
# without their hamza or dots.
_ARABIC_LETTERS = str.maketrans({"ـ": None, "ى": "ي", "ة": "ه", "ٱ": "ا"})
_SEPARATORS = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Fold a reply for matching: NFKD with the combining marks dropped (so أ إ آ become ا and
    diacritics go), every digit system to Western digits, case folded, punctuation and symbols
    to single spaces, trimmed."""
    folded = []
    for ch in unicodedata.normalize("NFKD", text):
        category = unicodedata.category(ch)
        if category == "Mn":  # hamza above/below, madda, harakat, shadda
            continue
        if category == "Nd":  # ١ and ۱ (and any other script's digits) alike
            folded.append(str(unicodedata.digit(ch)))
            continue
        folded.append(ch)
    plain = "".join(folded).translate(_ARABIC_LETTERS).casefold()
    return _SEPARATORS.sub(" ", plain).strip()


# Twilio's own opt-out and opt-in words (STOP, START, ...) are here too, so that our record
# agrees with what Twilio does with them. Note that Twilio also takes CANCEL as an opt-out on
# numbers with its default opt-out handling: see docs/sms.md.
_WORDS: dict[ReplyKind, tuple[str, ...]] = {
    ReplyKind.CONFIRM: (
        "1",
        "yes",
        "y",
        "ok",
        "okay",
        "confirm",
        "نعم",
        "موافق",
        "أوافق",
        "تأكيد",
        "أكد",
        "أيوه",
        "ايوا",
    ),
    ReplyKind.ANOTHER_SLOT: (
        "2",
        "another",
        "another slot",
        "other",
        "change",
        "later",
        "موعد آخر",
        "تغيير",
        "غير",
    ),
    ReplyKind.CANCEL: ("0", "cancel", "إلغاء", "ألغي"),
    ReplyKind.OPT_OUT: (
        "stop",
        "stopall",
        "stop all",
        "unsubscribe",
        "end",
        "quit",
        "optout",
        "opt out",
        "revoke",
        "إيقاف",
        "أوقف",
        "الغاء الاشتراك",
        "إلغاء الاشتراك",
    ),
    ReplyKind.OPT_IN: ("start", "unstop", "تفعيل"),
    ReplyKind.HELP: ("help", "info", "مساعدة", "مساعده", "مساعدة من فضلك"),
}
_KINDS = {normalise(word): kind for kind, words in _WORDS.items() for word in words}
# A reply of only "?" would normalise to nothing: look at it before.
_QUESTION_MARKS = frozenset("?؟")


def parse_reply(text: str) -> Reply:
    """What the reply asks for; UNKNOWN when it is none of the words (the app answers with the
    help message, once)."""
    stripped = text.strip()
    if stripped and all(ch in _QUESTION_MARKS or ch.isspace() for ch in stripped):
        return Reply(ReplyKind.HELP, "?")
    key = normalise(text)
    return Reply(_KINDS.get(key, ReplyKind.UNKNOWN), key)
