"""Professional registration numbers: what a valid GMC or HCPC number looks like."""
from __future__ import annotations

import re

from meetings.models import ProfessionalBody

_PATTERNS = {
    ProfessionalBody.GMC: (re.compile(r"\d{7}"), "A GMC number is 7 digits, like 1234567"),
    ProfessionalBody.HCPC: (re.compile(r"RA\d{4,6}"), "An HCPC number for radiographers is RA then digits, like RA12345"),
}


def normalise_registration(number: str | None) -> str:
    return re.sub(r"\s+", "", number or "").upper()


def registration_error(body: str, number: str | None) -> str | None:
    """Why `number` is not a valid registration for `body`, or None when it is."""
    number = normalise_registration(number)
    if body == ProfessionalBody.NONE:
        return "Choose a professional body, or leave the number empty" if number else None
    if body not in set(ProfessionalBody):
        return "Choose a professional body from the list" if number else None
    pattern, message = _PATTERNS[ProfessionalBody(body)]
    if not number:
        return f"Enter the {body} number"
    return None if pattern.fullmatch(number) else message
