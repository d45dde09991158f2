"""Patient and reporter identifiers sealed at rest with the key from the environment.

`IDENTIFIER_KEY` holds one or more Fernet keys separated by commas (or `IDENTIFIER_KEY_FILE` names a file
holding them). The first key seals; every key opens. To change keys, put a new one in front of the old,
run `flask --app app rotate-identifier-key` to reseal everything with it, then drop the old one.

Without a key Lightbox still runs: approved cases are presented (text written since their review is withheld,
as it cannot be checked) and registers open and close, but anything that needs the identifiers, or must
check text against them before keeping or sending it, says they are unavailable. Nothing is ever written in
plain text.
"""
from __future__ import annotations

import json
from datetime import date

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

# The identifiers held, and what an absent one reads as.
DATES = ("date_of_birth", "examination_date")
FIELDS = ("patient_name", "nhs_number", "hospital_number", "date_of_birth", "accession_number",
          "examination_date", "reporter_name", "reporter_email", "referrer_name")


class IdentifiersUnavailable(Exception):
    """Identifiers are needed but cannot be opened: no key is set, or not the one that sealed them."""

    def __init__(self, reason: str):
        super().__init__(f"Patient identifiers are unavailable: {reason}. Ask your Lightbox administrator.")


def new_key() -> str:
    return Fernet.generate_key().decode()


def parse(value: str) -> list[Fernet]:
    """The keys in an `IDENTIFIER_KEY` setting, first the one that seals. A malformed key stops the app
    starting (a typo must not look like "no key" and quietly hide every identifier)."""
    keys = []
    for position, text in enumerate((part.strip() for part in value.split(",") if part.strip()), start=1):
        try:
            keys.append(Fernet(text.encode()))
        except ValueError:
            raise ValueError(f"IDENTIFIER_KEY: key {position} is not a Fernet key (32 url-safe base64-encoded "
                             "bytes); make one with `flask --app app new-identifier-key`") from None
    return keys


def init_app(app: Flask) -> None:
    keys = parse(app.config.get("IDENTIFIER_KEY") or "")
    if not keys:
        app.logger.warning("IDENTIFIER_KEY is not set: patients' identifiers cannot be saved or shown")
    app.extensions["identifier_key"] = keys


def _keys() -> list[Fernet]:
    return current_app.extensions["identifier_key"]


def configured() -> bool:
    return bool(_keys())


def required_keys(why: str = "") -> list[Fernet]:
    """The keys, first the one that seals; IdentifiersUnavailable if there are none (`why` says what waits)."""
    keys = _keys()
    if not keys:
        raise IdentifiersUnavailable("this server has no identifier key (IDENTIFIER_KEY)" + why)
    return keys


def empty(field: str):
    return None if field in DATES else ""


def seal(values: dict) -> str:
    """`values` sealed with the first key; "" when nothing is held (no key needed to hold nothing)."""
    held = {field: value.isoformat() if isinstance(value, date) else value
            for field, value in values.items() if value != empty(field)}
    if not held:
        return ""
    return required_keys(", so none can be saved")[0].encrypt(json.dumps(held, sort_keys=True).encode()).decode()


def open_sealed(token: str) -> dict:
    """Every identifier in `token`, absent ones as `empty`."""
    values = {field: empty(field) for field in FIELDS}
    if not token:
        return values
    try:
        held = json.loads(MultiFernet(required_keys()).decrypt(token.encode()))
    except InvalidToken:
        raise IdentifiersUnavailable("they were sealed with a key this server does not have") from None
    for field, value in held.items():
        values[field] = date.fromisoformat(value) if field in DATES else value
    return values


def resealed(token: str) -> str | None:
    """`token` sealed again with the first key, or None if it already is (so rotating twice is a no-op)."""
    if not token:
        return None
    keys = required_keys()
    try:
        keys[0].decrypt(token.encode())
        return None
    except InvalidToken:
        pass
    try:
        return MultiFernet(keys).rotate(token.encode()).decode()
    except InvalidToken:
        raise IdentifiersUnavailable("they were sealed with a key this server does not have") from None
