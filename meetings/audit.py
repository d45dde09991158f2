"""Writing to the audit log. Callers commit with the rest of their request's work."""
from __future__ import annotations

from flask_login import current_user

from meetings.extensions import db
from meetings.models import AuditEvent


def record(action: str, subject, **detail) -> AuditEvent:
    """Append an audit event for `subject` (any model with an `id`, or None for Lightbox as a whole) by the
    signed-in user."""
    actor_id = current_user.id if current_user and current_user.is_authenticated else None
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        subject_type=type(subject).__name__.lower() if subject is not None else "lightbox",
        subject_id=getattr(subject, "id", None),
        detail=detail,
    )
    db.session.add(event)
    return event
