"""Callback numbers: kept as the caller gave them, and normalised to E.164 where they can be read."""

from __future__ import annotations

import phonenumbers


def to_e164(raw: str, region: str) -> str | None:
    """E.164 form of `raw` read in `region` (e.g. 'US'), or None if it is not a possible number.

    >>> to_e164("(716) 851-4890", "US")
    '+17168514890'
    """
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
