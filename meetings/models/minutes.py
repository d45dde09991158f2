"""Minutes of a meeting: drafted from what the meeting recorded, then published as frozen versions."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, UTCDateTime, utcnow
from meetings.models.meeting import Meeting


class MinutesStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Minutes(Base):
    """The editable minutes of one meeting. The text the chair edits lives here (any other business) or on
    each case (its summary, discussion and learning points, one row per case, so two people writing up
    different cases at once cannot overwrite each other); everything else is read from the meeting each
    time the minutes are drawn."""

    __tablename__ = "minutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=MinutesStatus.DRAFT)
    any_other_business: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship()
    versions: Mapped[list[MinutesVersion]] = relationship(
        back_populates="minutes", order_by="MinutesVersion.number", cascade="all, delete-orphan")

    @property
    def latest(self) -> MinutesVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def changed_since_published(self) -> bool:
        latest = self.latest
        return latest is not None and self.updated_at is not None and self.updated_at > latest.published_at


class MinutesVersion(Base):
    """One publication of the minutes: the PDF exactly as distributed, with its SHA-256. Never changed;
    an amendment is a new version, and every earlier one is then superseded."""

    __tablename__ = "minutes_version"
    __table_args__ = (UniqueConstraint("minutes_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_id: Mapped[int] = mapped_column(ForeignKey("minutes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    byte_size: Mapped[int]
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    published_by_name: Mapped[str] = mapped_column(String(200))
    # What an amendment changed, in the chair's words; empty for the first version.
    amendment_note: Mapped[str] = mapped_column(Text, default="")
    # The learning points as published, [{"title": ..., "points": ...}], for the bulletin to every member.
    learning: Mapped[list] = mapped_column(JSON, default=list)

    minutes: Mapped[Minutes] = relationship(back_populates="versions")

    @property
    def is_amendment(self) -> bool:
        return self.number > 1

    def is_superseded(self) -> bool:
        return self is not self.minutes.latest


@event.listens_for(MinutesVersion, "before_update")
@event.listens_for(MinutesVersion, "before_delete")
def _published_is_frozen(mapper, connection, target: MinutesVersion) -> None:
    raise ValueError("published minutes are frozen: publish an amendment instead")
