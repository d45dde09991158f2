"""Minutes of a meeting: drafted from what the meeting recorded, then published."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Text, String
from sqlalchemy.orm import Mapped, mapped_column

from meetings.models.base import Base, UTCDateTime


class MinutesStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Minutes(Base):
    __tablename__ = "minutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=MinutesStatus.DRAFT)
    any_other_business: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
