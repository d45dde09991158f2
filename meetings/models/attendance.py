"""The attendance register: one signature per person per meeting."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meetings.models.base import Base, UTCDateTime, utcnow


def person_key(user_id: int | None, email: str | None) -> str:
    """What makes two signatures the same person: the account, or for a guest the email address."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"email:{(email or '').strip().lower()}"


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "person_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    person_key: Mapped[str] = mapped_column(String(280))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    profession: Mapped[str] = mapped_column(String(32))
    site_name: Mapped[str] = mapped_column(String(200), default="")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
