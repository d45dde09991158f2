"""NHS numbers: ten digits, the last a modulus 11 check digit."""
from __future__ import annotations

import re

# The range NHS England sets aside for testing; never issued to a patient.
TEST_RANGE = range(9_990_000_000, 10_000_000_000)


def digits_only(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


def check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when no valid NHS number starts with them."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(first_nine))
    digit = 11 - total % 11
    if digit == 11:
        return 0
    return None if digit == 10 else digit


def is_valid(value: str) -> bool:
    number = digits_only(value)
    if not re.fullmatch(r"\d{10}", number):
        return False
    return check_digit(number[:9]) == int(number[9])


def is_test_number(value: str) -> bool:
    number = digits_only(value)
    return number.isdigit() and int(number) in TEST_RANGE


def synthetic(seed: int) -> str:
    """A valid NHS number from the test range, for demo data and tests (never a real patient's)."""
    n = seed
    while True:
        first_nine = f"999{n % 1_000_000:06d}"
        digit = check_digit(first_nine)
        if digit is not None:
            return first_nine + str(digit)
        n += 1


def formatted(value: str) -> str:
    number = digits_only(value)
    return f"{number[:3]} {number[3:6]} {number[6:]}" if len(number) == 10 else value
