"""Mobile numbers: parse what a citizen typed, for the branch's country, into E.164."""

from __future__ import annotations

import phonenumbers


class InvalidNumber(ValueError):
    """The text is not a valid mobile number for the country."""


# Only numbers that can receive a text message.
_TEXTABLE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def to_e164(raw: str, country: str) -> str:
    """Parse ``raw`` (local or international form, Western or Arabic-Indic digits) as a number of
    ``country`` (ISO 3166 alpha-2) and return it in E.164. Raises InvalidNumber."""
    try:
        parsed = phonenumbers.parse(raw, country.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(str(exc)) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"{raw!r} is not a valid number for {country}")
    if phonenumbers.number_type(parsed) not in _TEXTABLE:
        raise InvalidNumber(f"{raw!r} is not a mobile number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mobile_example(country: str) -> str | None:
    """A made-up mobile number of ``country`` written as people there write it (``0100 123
    4567`` in Egypt), to show what to type; None for a country without one."""
    example = phonenumbers.example_number_for_type(
        country.upper(), phonenumbers.PhoneNumberType.MOBILE
    )
    if example is None:
        return None
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
