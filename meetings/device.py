"""An attendee's device: a random cookie, so a phone can answer a poll once and fetch its own certificate
without an account. Only its SHA-256 digest is stored."""
from __future__ import annotations

import hashlib
import secrets

from flask import Response, current_app, request

COOKIE = "lightbox_device"


def token() -> tuple[str, bool]:
    """This device's random token, and whether it is new (so the response must set the cookie)."""
    value = request.cookies.get(COOKIE, "")
    if 20 <= len(value) <= 64:
        return value, False
    return secrets.token_urlsafe(24), True


def remember(response: Response, value: str, new: bool) -> Response:
    if new:
        response.set_cookie(COOKIE, value, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def current_digest() -> str | None:
    """The digest of the cookie this request carries, if any."""
    value, new = token()
    return None if new else digest(value)
