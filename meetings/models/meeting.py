"""Meetings: a local REAL meeting at one site, or a regional peer-learning meeting."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ColumnElement, Date, ForeignKey, String, Text, false, or_, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.series import MeetingSeries
from meetings.models.site import Site
from meetings.models.user import Role, User


class MeetingScope(LabelledEnum):
    LOCAL = "local"
    REGIONAL = "regional"


class MeetingStatus(LabelledEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


def _new_uid() -> str:
    return f"{uuid.uuid4()}@lightbox"


class Meeting(Base):
    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The iCal UID: fixed at creation so calendar updates replace, never duplicate.
    uid: Mapped[str] = mapped_column(String(80), unique=True, default=_new_uid)
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16), default=MeetingScope.LOCAL)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str] = mapped_column(String(200), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    chair_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    minute_taker_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    status: Mapped[str] = mapped_column(String(16), default=MeetingStatus.SCHEDULED)
    # RFC 5545 SEQUENCE: up by one whenever the time, place or online link changes, or it is cancelled.
    ical_sequence: Mapped[int] = mapped_column(default=0)
    # Listed in the site's public calendar feed (title, time and place only).
    # Meetings made before the setting existed stay unlisted until their chair chooses.
    listed: Mapped[bool] = mapped_column(default=True, server_default=false())
    # Minutes before the start that calendars remind people; None for no reminder.
    reminder_minutes: Mapped[int | None] = mapped_column()
    series_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_series.id", ondelete="SET NULL"), index=True)
    # The date the series' rule gave this meeting, so a moved meeting can say where it moved from.
    series_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site | None] = relationship(lazy="joined")
    chair: Mapped[User] = relationship(foreign_keys=[chair_id], lazy="joined")
    minute_taker: Mapped[User | None] = relationship(foreign_keys=[minute_taker_id])
    series: Mapped[MeetingSeries | None] = relationship()

    @property
    def status_label(self) -> str:
        return MeetingStatus(self.status).label

    @staticmethod
    def visible_to(user: User) -> ColumnElement[bool]:
        """Which meetings a person sees: their home site's and the network's regional ones; admins all."""
        if user.has_role(Role.ADMIN):
            return true()
        return or_(Meeting.scope == MeetingScope.REGIONAL, Meeting.site_id == user.home_site_id)

    def is_visible_to(self, user: User) -> bool:
        """`visible_to` for one meeting already loaded."""
        return user.has_role(Role.ADMIN) or self.scope == MeetingScope.REGIONAL or self.site_id == user.home_site_id

    @property
    def length_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    def __repr__(self) -> str:
        return f"<Meeting {self.id} {self.title!r}>"
