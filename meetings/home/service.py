"""Which meetings a person sees on their home page."""
from __future__ import annotations

from sqlalchemy import select

from meetings.extensions import db
from meetings.models import Meeting, MeetingStatus, User, utcnow


def visible_meetings(user: User):
    """Meetings of the person's home site and the network's regional meetings; admins see all."""
    return select(Meeting).where(Meeting.status != MeetingStatus.CANCELLED, Meeting.visible_to(user))


def upcoming_meetings(user: User, limit: int = 10) -> list[Meeting]:
    query = visible_meetings(user).where(Meeting.ends_at >= utcnow()).order_by(Meeting.starts_at)
    return list(db.session.scalars(query.limit(limit)))


def recent_meetings(user: User, limit: int = 5) -> list[Meeting]:
    query = visible_meetings(user).where(Meeting.ends_at < utcnow()).order_by(Meeting.starts_at.desc())
    return list(db.session.scalars(query.limit(limit)))


def meetings_chaired(user: User, limit: int = 10) -> list[Meeting]:
    query = (
        select(Meeting)
        .where(Meeting.chair_id == user.id, Meeting.status != MeetingStatus.CANCELLED)
        .order_by(Meeting.starts_at.desc())
    )
    return list(db.session.scalars(query.limit(limit)))
