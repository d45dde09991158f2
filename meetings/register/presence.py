"""Presence codes: four digits on the projector that change every few minutes, so a signature shows the
signer could see the room (or the shared screen), not just that someone forwarded them the link."""
from __future__ import annotations

import hashlib
import hmac
import time

from flask import current_app

from meetings.models import Register

CODE_DIGITS = 4


def window(now: float | None = None) -> int:
    """The number of the presence-code window `now` falls in."""
    seconds = current_app.config["PRESENCE_CODE_MINUTES"] * 60
    return int((time.time() if now is None else now) // seconds)


def code_for(register: Register, window_number: int) -> str:
    digest = hmac.new(register.presence_secret.encode(), str(window_number).encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10 ** CODE_DIGITS:0{CODE_DIGITS}d}"


def current_code(register: Register, now: float | None = None) -> str:
    return code_for(register, window(now))


def shown(register: Register) -> str | None:
    """The code the screens show now; None while the register is not open or asks for no code."""
    return current_code(register) if register.is_open and register.presence_required else None


def accepts(register: Register, typed: str | None, now: float | None = None) -> bool:
    """The current code and the previous one are good: someone who read it just before it changed has time
    to type it."""
    typed = "".join((typed or "").split())
    if not typed.isascii():
        return False  # "١٢٣٤" is not the code, and compare_digest takes only ASCII text
    current = window(now)
    return any(hmac.compare_digest(typed, code_for(register, w)) for w in (current, current - 1))
