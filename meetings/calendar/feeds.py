"""Subscription feeds (METHOD:PUBLISH): a person's own, signed so a calendar app can fetch it without signing
in, and each site's public one.

A personal link is the person's id and calendar key, signed with the app's secret. Resetting the key changes
every link the person has given out at once; deactivating the person stops the feed. Feeds are bounded to
the recent past and the year ahead, and list no attendees.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from meetings import audit
from meetings.actions.service import todos_for
from meetings.calendar import events
from meetings.calendar.ical import CalendarView, to_ics
from meetings.extensions import db
from meetings.models import Meeting, MeetingScope, Site, User, utcnow
from meetings.web import zone

PAST = timedelta(days=90)
AHEAD = timedelta(days=366)
_SALT = "lightbox-calendar-feed"


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def token_for(user: User) -> str:
    return _signer().dumps([user.id, user.calendar_key])


def user_for(token: str) -> User | None:
    """The active person a feed link belongs to, or None if it was reset, forged or their account closed."""
    try:
        user_id, key = _signer().loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or user.calendar_key != key:
        return None
    return user


def reset(user: User) -> None:
    user.reset_calendar_key()
    audit.record("calendar.feed_reset", user)


def _window():
    now = utcnow()
    return Meeting.starts_at >= now - PAST, Meeting.starts_at < now + AHEAD


def personal_meetings(user: User) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.visible_to(user), *_window())
                                   .order_by(Meeting.starts_at)))


def personal_feed(user: User) -> bytes:
    """The meetings the person can see, and their open actions as to-dos with due dates (shown by clients
    that show tasks: Thunderbird, Apple Reminders; Google and Outlook show the meetings)."""
    view = CalendarView("PUBLISH", events.views_of(personal_meetings(user), events.Audience.MEMBER),
                        todos_for(user), name="Lightbox: my meetings and actions", refresh=True)
    return to_ics(view, zone(), utcnow())


def site_meetings(site: Site) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(
        Meeting.site_id == site.id, Meeting.scope == MeetingScope.LOCAL, Meeting.listed, *_window())
        .order_by(Meeting.starts_at)))


def site_feed(site: Site) -> bytes:
    view = CalendarView("PUBLISH", events.views_of(site_meetings(site), events.Audience.PUBLIC),
                        name=f"{site.name}: REAL meetings", refresh=True)
    return to_ics(view, zone(), utcnow())


def meeting_ics(meeting: Meeting) -> bytes:
    """One meeting to add to one's own calendar: the same event as the person's feed carries."""
    view = CalendarView("PUBLISH", events.views_of([meeting], events.Audience.MEMBER))
    return to_ics(view, zone(), utcnow())
