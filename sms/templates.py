"""The text messages, in Arabic and English, each within its segment budget.

Every function takes the ticket's locale (``"ar"`` or ``"en"``) first and returns the body to
send. Times are aware datetimes shown in the branch's own time zone, with the weekday and the
month spelled out so that nobody reads 6/12 as June. Arabic messages write dates, times and the
reply digits with Arabic-Indic digits (٠١٢٣٤٥٦٧٨٩), as the boards and forms of Egyptian and
Saudi offices do; ticket numbers and links stay as printed, in Latin letters and digits.

Each message has a budget in segments (``BUDGETS``). Arabic costs 67 characters a segment, so
a message that names a long system or branch and carries a 70-character link cannot always say
everything in two: each template lists its wordings from the fullest to the tersest and sends
the first one that fits. The tersest still holds what the citizen needs: the new time, the
reply digits and the link.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from types import MappingProxyType
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from sms.segments import segments

LOCALES = ("ar", "en")

# The most segments each message may take.
BUDGETS = MappingProxyType(
    {
        "ticket_issued": 2,
        "rescheduled_for_outage": 2,
        "rescheduled_for_maintenance": 2,
        "rescheduled_for_capacity": 2,
        "another_slot": 2,
        "appointment_confirmed": 2,
        "reply_help": 1,
        "cancelled": 1,
        "opted_out": 1,
        "opted_in": 1,
        "no_other_slot": 2,
        "no_slot_yet": 2,
        "system_back": 2,
        # An offer says what it offers, until when, how to take it and that ignoring it is fine.
        "offer_today": 3,
        "offer_accepted": 2,
        "turn_near": 2,
        "called": 2,
        "one_time_code": 1,
        "reminder": 2,
    }
)

ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

# Babel's own patterns would write "6/12" or drop the weekday: spell both out.
_WHEN_PATTERNS = {"ar": "EEEE d MMMM h:mm a", "en": "EEE d MMM, h:mm a"}


def _check_locale(locale: str) -> None:
    if locale not in LOCALES:
        raise ValueError(f"no SMS templates for locale {locale!r}; there are {LOCALES}")


def format_when(moment: datetime, timezone: str | tzinfo, locale: str) -> str:
    """``الأحد ٦ ديسمبر ١٢:٣٠ م`` / ``Sun 6 Dec, 12:30 PM``: ``moment`` (aware) in the branch's
    time zone (an IANA name such as ``Africa/Cairo``)."""
    _check_locale(locale)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an SMS time must be an aware datetime")
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    text = format_datetime(moment, _WHEN_PATTERNS[locale], tzinfo=zone, locale=locale)
    # Babel writes Western digits for every Arabic locale.
    return text.translate(ARABIC_INDIC_DIGITS) if locale == "ar" else text


def format_clock(moment: datetime, timezone: str | tzinfo, locale: str) -> str:
    """``٢:٣٠ م`` / ``2:30 PM``: the time of day alone, in the branch's time zone."""
    _check_locale(locale)
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    text = format_datetime(moment, "h:mm a", tzinfo=zone, locale=locale)
    return text.translate(ARABIC_INDIC_DIGITS) if locale == "ar" else text


def _first_that_fits(name: str, wordings: Iterable[str]) -> str:
    budget = BUDGETS[name]
    text = ""
    for text in wordings:
        if segments(text).segments <= budget:
            return text
    # Nothing fits (a link far longer than ours): the tersest still says what matters.
    return text


# --- a new time, with the choices to reply ------------------------------------------------

_REPLY_CHOICES = {
    "ar": ("رد ١ للتأكيد، ٢ لموعد آخر، ٠ للإلغاء", "١ تأكيد ٢ تغيير ٠ إلغاء"),
    "en": (
        "Reply 1 to confirm, 2 for another slot, 0 to cancel",
        "Reply 1 OK, 2 other time, 0 cancel",
    ),
}


# Where SMS is one-way (no reply can arrive: Egypt, Saudi Arabia), the choices are on the page.
_PAGE_CHOICES = {
    "ar": (
        "للتأكيد أو التغيير أو الإلغاء افتح الرابط",
        "للتأكيد أو التغيير أو الإلغاء:",
        "تأكيد/تغيير/إلغاء:",
    ),
    "en": (
        "To confirm, change or cancel, open the link",
        "Confirm, change or cancel:",
        "Confirm/change/cancel:",
    ),
}


def _new_time(
    name: str,
    locale: str,
    start: datetime,
    timezone: str | tzinfo,
    link: str,
    *,
    reason: str | None = None,
    terse: str | None = None,
    replies: bool = True,
) -> str:
    """The reason in full (naming the system or branch), then in one word, then none: the
    choices, the time and the link are worth more than the name, which the ticket page shows
    anyway. Lines, not sentences: a line break costs one character where ". " costs two, and a
    link on a line of its own stays clear of the Arabic around it."""
    when = format_when(start, timezone, locale)
    choices = (_REPLY_CHOICES if replies else _PAGE_CHOICES)[locale]
    new_time, bare_time = ("موعدك الجديد", "موعدك") if locale == "ar" else ("New time", "new time")
    wordings = []
    if reason:
        wordings += [f"{reason}.\n{new_time} {when}\n{c}\n{link}" for c in choices]
    if terse:
        wordings += [f"{terse}: {bare_time} {when}\n{c}\n{link}" for c in choices]
    wordings += [f"{new_time} {when}\n{c}\n{link}" for c in choices]
    return _first_that_fits(name, wordings)


def rescheduled_for_outage(
    locale: str,
    *,
    system: str,
    start: datetime,
    timezone: str | tzinfo,
    link: str,
    replies: bool = True,
) -> str:
    """A back-end system is down: the ticket or appointment has a new time."""
    _check_locale(locale)
    if locale == "ar":
        # "عطل في ..." reads right whatever the gender of the system's name (منظومة، نظام).
        reason, terse = f"عطل في {system}", "عطل"
    else:
        reason, terse = f"{system} is down", "System down"
    return _new_time(
        "rescheduled_for_outage",
        locale,
        start,
        timezone,
        link,
        reason=reason,
        terse=terse,
        replies=replies,
    )


def rescheduled_for_maintenance(
    locale: str,
    *,
    system: str,
    start: datetime,
    timezone: str | tzinfo,
    link: str,
    replies: bool = True,
) -> str:
    """An announced maintenance window covers the appointment: it has a new time."""
    _check_locale(locale)
    if locale == "ar":
        reason, terse = f"صيانة {system}", "صيانة"
    else:
        reason, terse = f"Planned maintenance of {system}", "Maintenance"
    return _new_time(
        "rescheduled_for_maintenance",
        locale,
        start,
        timezone,
        link,
        reason=reason,
        terse=terse,
        replies=replies,
    )


def rescheduled_for_capacity(
    locale: str,
    *,
    branch: str,
    start: datetime,
    timezone: str | tzinfo,
    link: str,
    replies: bool = True,
) -> str:
    """Fewer counters, a lower capacity or a new holiday: the booking has a new time."""
    _check_locale(locale)
    if locale == "ar":
        reason, terse = f"نعتذر، تغير جدول {branch}", "نعتذر"
    else:
        reason, terse = f"Sorry, {branch} has changed its schedule", "Sorry"
    return _new_time(
        "rescheduled_for_capacity",
        locale,
        start,
        timezone,
        link,
        reason=reason,
        terse=terse,
        replies=replies,
    )


def another_slot(locale: str, *, start: datetime, timezone: str | tzinfo, link: str) -> str:
    """The answer to a reply of 2: the next free time, with the same choices."""
    _check_locale(locale)
    return _new_time("another_slot", locale, start, timezone, link)


def reminder(
    locale: str,
    *,
    tomorrow: bool,
    service: str,
    branch: str,
    start: datetime,
    timezone: str | tzinfo,
    link: str,
    replies: bool = True,
) -> str:
    """The evening before (``tomorrow``) or the morning of a booked appointment: its time and
    place, with the choices to confirm, change or cancel (by reply, or on the page where SMS is
    one-way). The place goes before the longer wording of the choices; the time, the choices
    and the link always stay."""
    _check_locale(locale)
    when = format_when(start, timezone, locale)
    clock = format_clock(start, timezone, locale)
    choices = (_REPLY_CHOICES if replies else _PAGE_CHOICES)[locale]
    if locale == "ar":
        day, sep = ("غدًا" if tomorrow else "اليوم"), "، "
        full, bare = f"تذكير: موعدك {day} {when}", f"موعدك {day} {when}"
        # "Tomorrow at 10:30" without the date, to keep the place within two segments.
        short = f"موعدك {day} {clock}"
    else:
        day, sep = ("tomorrow" if tomorrow else "today"), ", "
        full, bare = f"Reminder: your appointment {day}, {when}", f"Your appointment {day}, {when}"
        short = f"Your appointment {day} at {clock}"
    heads = [
        f"{full}\n{service}{sep}{branch}",
        f"{full}\n{branch}",
        f"{bare}\n{branch}",
        f"{short}\n{branch}",
        full,
        bare,
        short,
    ]
    return _first_that_fits("reminder", [f"{head}\n{c}\n{link}" for head in heads for c in choices])


# --- the rest ---------------------------------------------------------------------------


def ticket_issued(locale: str, *, number: str, service: str, branch: str, link: str) -> str:
    """A walk-in ticket was taken with a mobile number."""
    _check_locale(locale)
    if locale == "ar":
        wordings = (
            f"تذكرتك {number}: {service}، {branch}.\nتابع دورك:\n{link}",
            f"تذكرتك {number}: {service}.\nتابع دورك:\n{link}",
            f"تذكرتك {number}.\nتابع دورك:\n{link}",
        )
    else:
        wordings = (
            f"Your ticket {number}: {service}, {branch}.\nFollow your turn:\n{link}",
            f"Your ticket {number}: {service}.\nFollow your turn:\n{link}",
            f"Your ticket {number}.\nFollow your turn:\n{link}",
        )
    return _first_that_fits("ticket_issued", wordings)


def appointment_confirmed(
    locale: str, *, service: str, branch: str, start: datetime, timezone: str | tzinfo, link: str
) -> str:
    """An appointment was booked, or its (new) time confirmed by a reply of 1."""
    _check_locale(locale)
    when = format_when(start, timezone, locale)
    if locale == "ar":
        wordings = (
            f"تم تأكيد موعدك {when}\n{service}، {branch}\n{link}",
            f"تم تأكيد موعدك {when}\n{service}\n{link}",
            f"تم تأكيد موعدك {when}\n{link}",
        )
    else:
        wordings = (
            f"Your appointment is confirmed: {when}\n{service}, {branch}\n{link}",
            f"Your appointment is confirmed: {when}\n{service}\n{link}",
            f"Your appointment is confirmed: {when}\n{link}",
        )
    return _first_that_fits("appointment_confirmed", wordings)


def reply_help(locale: str) -> str:
    """The one answer to a reply we did not understand, or to HELP."""
    _check_locale(locale)
    if locale == "ar":
        return "أرسل ١ للتأكيد، ٢ لموعد آخر، ٠ للإلغاء، أو إيقاف لوقف الرسائل."
    return "Reply 1 to confirm, 2 for another slot, 0 to cancel, or STOP to stop messages."


def cancelled(locale: str, *, service: str, branch: str) -> str:
    """The citizen cancelled (reply 0 or the ticket page)."""
    _check_locale(locale)
    if locale == "ar":
        wordings = (
            f"تم إلغاء حجزك: {service}، {branch}.",
            f"تم إلغاء حجزك: {service}.",
            "تم إلغاء حجزك.",
        )
    else:
        wordings = (
            f"Your booking is cancelled: {service}, {branch}.",
            f"Your booking is cancelled: {service}.",
            "Your booking is cancelled.",
        )
    return _first_that_fits("cancelled", wordings)


def opted_out(locale: str) -> str:
    """The last message after STOP / إيقاف. (After an English STOP, Twilio itself may already
    block the number and answer; then this one is refused with error 21610, as it should be.)"""
    _check_locale(locale)
    if locale == "ar":
        return "لن تصلك منا رسائل بعد الآن. لإعادتها أرسل تفعيل."
    return "You will get no more messages from us. Reply START to get them again."


def opted_in(locale: str) -> str:
    """The answer to START / تفعيل after an opt-out."""
    _check_locale(locale)
    if locale == "ar":
        return "ستصلك رسائلنا من جديد. لإيقافها أرسل إيقاف."
    return "Messages are on again. Reply STOP to stop them."


def no_other_slot(locale: str, *, link: str) -> str:
    """The answer to a reply of 2 when no other time can be offered: the place is kept."""
    _check_locale(locale)
    if locale == "ar":
        return f"لا يوجد موعد آخر متاح الآن، وحجزك باق كما هو.\n{link}"
    return f"No other time is free now; your booking stays as it is.\n{link}"


def no_slot_yet(locale: str, *, system: str, maintenance: bool, link: str) -> str:
    """A system is down (or under maintenance) and no free time could be found for the ticket
    yet: it stays valid, and a new time will be texted as soon as there is room."""
    _check_locale(locale)
    if locale == "ar":
        reason = f"صيانة {system}" if maintenance else f"عطل في {system}"
        terse = "صيانة" if maintenance else "عطل"
        rest = "لا موعد متاح بعد. تذكرتك باقية وسنرسل موعدك فور توفره."
    else:
        reason = f"Planned maintenance of {system}" if maintenance else f"{system} is down"
        terse = "Maintenance" if maintenance else "System down"
        rest = (
            "No time is free yet. Your ticket stays valid; "
            "we will text you a new time as soon as there is room."
        )
    return _first_that_fits(
        "no_slot_yet",
        [f"{reason}.\n{rest}\n{link}", f"{terse}.\n{rest}\n{link}", f"{rest}\n{link}"],
    )


def system_back(locale: str, *, system: str, link: str) -> str:
    """The system is back before a free time was found for the ticket (``no_slot_yet``): the
    ticket holds, in the line or at its booked time."""
    _check_locale(locale)
    if locale == "ar":
        rest = "تذكرتك سارية: دورك أو موعدك على صفحتها."
        wordings = [f"انتهى العطل في {system}.\n{rest}\n{link}", f"انتهى العطل.\n{rest}\n{link}"]
    else:
        rest = "Your ticket is valid: its page shows your place or your time."
        wordings = [f"{system} is back.\n{rest}\n{link}", f"The system is back.\n{rest}\n{link}"]
    return _first_that_fits("system_back", wordings)


def offer_today(
    locale: str,
    *,
    system: str,
    until: datetime,
    timezone: str | tzinfo,
    link: str,
    replies: bool = True,
) -> str:
    """The system is back and today has free counter time: the citizen moved to a later day may
    take a time today instead (reply 1 or the page's button); ignoring it keeps the new time."""
    _check_locale(locale)
    by = format_clock(until, timezone, locale)
    if locale == "ar":
        how = "رد ١ أو افتح الرابط" if replies else "افتح الرابط"
        offer = f"يمكنك أخذ موعد اليوم بدلًا من موعدك الجديد: {how} قبل {by}."
        keep = "وإلا يبقى موعدك الجديد."
        wordings = [
            f"انتهى العطل في {system}.\n{offer}\n{keep}\n{link}",
            f"انتهى العطل.\n{offer}\n{keep}\n{link}",
        ]
    else:
        how = "reply 1 or open the link" if replies else "open the link"
        offer = f"You may take a time today instead of your new time: {how} by {by}."
        keep = "If not, your new time stays."
        wordings = [
            f"{system} is back.\n{offer}\n{keep}\n{link}",
            f"The system is back.\n{offer}\n{keep}\n{link}",
        ]
    return _first_that_fits("offer_today", wordings)


def offer_accepted(locale: str, *, start: datetime, timezone: str | tzinfo, link: str) -> str:
    """The answer to an accepted offer: the ticket's time today, checked in at the kiosk."""
    _check_locale(locale)
    when = format_when(start, timezone, locale)
    if locale == "ar":
        return f"موعدك اليوم {when}. سجّل حضورك عند الكشك.\n{link}"
    return f"Your time today: {when}. Check in at the kiosk when you come.\n{link}"


def _about_minutes(minutes: int, locale: str) -> str:
    """``نحو ١٢ دقيقة`` / ``about 12 min``; a wait under a minute is "any moment now"."""
    if minutes <= 0:
        return "في أي لحظة" if locale == "ar" else "any moment now"
    if locale == "en":
        return f"about {minutes} min"
    # Arabic counts 3 to 10 with the plural, 1, 2 and 11 up with the singular.
    if minutes == 1:
        return "نحو دقيقة"
    if minutes == 2:
        return "نحو دقيقتين"
    unit = "دقائق" if 3 <= minutes <= 10 else "دقيقة"
    return f"نحو {str(minutes).translate(ARABIC_INDIC_DIGITS)} {unit}"


def turn_near(locale: str, *, number: str, branch: str, minutes: int, link: str) -> str:
    """A walk-in who took a ticket and left (waiting anywhere): their estimated wait fell to the
    branch's ``turn_near_minutes``, time to come back to the hall."""
    _check_locale(locale)
    about = _about_minutes(minutes, locale)
    if locale == "ar":
        wordings = (
            f"اقترب دورك: تذكرة {number} في {branch}، {about}.\nمن فضلك عد إلى القاعة.\n{link}",
            f"اقترب دورك: تذكرة {number}، {about}.\nمن فضلك عد إلى القاعة.\n{link}",
            f"اقترب دورك: {number}، {about}.\nعد إلى القاعة.\n{link}",
        )
    else:
        wordings = (
            f"Your turn is near: ticket {number} at {branch}, {about}.\n"
            f"Please come back to the hall.\n{link}",
            f"Your turn is near: ticket {number}, {about}.\nPlease come back to the hall.\n{link}",
            f"Your turn is near: {number}, {about}.\nCome back to the hall.\n{link}",
        )
    return _first_that_fits("turn_near", wordings)


def called(locale: str, *, number: str, counter: str, branch: str, link: str) -> str:
    """A walk-in waiting anywhere is called now: which counter to go to. Sent once per ticket."""
    _check_locale(locale)
    if locale == "ar":
        wordings = (
            f"حان دورك: تذكرة {number} في {branch}.\nتوجه إلى الشباك {counter} الآن.\n{link}",
            f"حان دورك: تذكرة {number}.\nتوجه إلى الشباك {counter} الآن.\n{link}",
            f"حان دورك: {number}، الشباك {counter}.\n{link}",
        )
    else:
        wordings = (
            f"It is your turn: ticket {number} at {branch}.\n"
            f"Please go to counter {counter} now.\n{link}",
            f"It is your turn: ticket {number}.\nPlease go to counter {counter} now.\n{link}",
            f"Your turn: {number}, counter {counter}.\n{link}",
        )
    return _first_that_fits("called", wordings)


def one_time_code(locale: str, *, code: str, branch: str, minutes: int) -> str:
    """The code that confirms a number typed on the join or booking page. The code is written
    in Western digits in both languages, as phones offer to fill in a code of those; the
    warning not to hand it on is what keeps a caller pretending to be the office from using it."""
    _check_locale(locale)
    if locale == "ar":
        valid = str(minutes).translate(ARABIC_INDIC_DIGITS)
        wordings = (
            f"رمز التحقق: {code}\nمن {branch}، صالح {valid} دقائق. لا تعطه لأحد.",
            f"رمز التحقق: {code}\nصالح {valid} دقائق. لا تعطه لأحد.",
        )
    else:
        wordings = (
            f"Your code: {code}\nFor {branch}, valid {minutes} minutes. Do not share it.",
            f"Your code: {code}\nValid {minutes} minutes. Do not share it.",
        )
    return _first_that_fits("one_time_code", wordings)
