"""The link a reporter without a Lightbox account reads their feedback by.

The link carries the feedback's id and its current nonce, signed with the app's secret: it cannot be guessed,
and a new nonce voids every earlier link. It expires, and it works only on the device that opened it first,
so a link forwarded, or read over a shoulder, shows nothing to anyone else.
"""
from __future__ import annotations

import secrets
from enum import Enum

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update

from meetings.extensions import db
from meetings.models import Feedback, utcnow

_SALT = "lightbox-feedback-link"


class LinkState(Enum):
    OPEN = "open"
    EXPIRED = "expired"
    OTHER_DEVICE = "other_device"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def token_for(feedback: Feedback) -> str:
    return _signer().dumps([feedback.id, feedback.link_nonce])


def _signed(token: str) -> tuple[Feedback, str] | None:
    """The feedback a link Lightbox signed names, and the nonce it carries; None for a guess or a forgery."""
    try:
        feedback_id, nonce = _signer().loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    feedback = db.session.get(Feedback, feedback_id) if isinstance(feedback_id, int) else None
    return (feedback, str(nonce)) if feedback is not None else None


def was_issued(token: str) -> bool:
    """Whether Lightbox signed this link (one since replaced by a newer link, say), rather than someone guessing."""
    return _signed(token) is not None


def feedback_for(token: str) -> Feedback | None:
    """The feedback this link is for while it is the current link; None if forged or replaced."""
    signed = _signed(token)
    if signed is None:
        return None
    feedback, nonce = signed
    if not feedback.by_link or not nonce or not secrets.compare_digest(nonce, feedback.link_nonce or ""):
        return None
    return feedback


def expired(feedback: Feedback) -> bool:
    return feedback.link_expires_at is None or feedback.link_expires_at <= utcnow()


def state_for(feedback: Feedback, device_digest: str) -> LinkState:
    """Whether this device may read the feedback now; the first device to open the link claims it."""
    if expired(feedback):
        return LinkState.EXPIRED
    if feedback.link_device is None:
        # Claimed in one statement, so two devices opening the link at once cannot both have it.
        db.session.execute(update(Feedback).where(Feedback.id == feedback.id, Feedback.link_device.is_(None))
                           .values(link_device=device_digest))
        db.session.refresh(feedback, ["link_device"])
    return LinkState.OPEN if secrets.compare_digest(feedback.link_device, device_digest) else LinkState.OTHER_DEVICE
