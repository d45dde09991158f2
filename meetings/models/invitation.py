"""Calendar invitations: each time a meeting's invite goes out (invited, updated, cancelled)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.meeting import Meeting


class InvitationReason(LabelledEnum):
    INVITED = "invited"
    UPDATED = "updated"
    CANCELLED = "cancelled"


class Invitation(Base):
    """One sending of a meeting's invite; its emails are deliveries of kind "invitation" with this row's id.

    The email is built from the meeting as it is when sent, so a late retry never carries stale times.
    """

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column()
    sent_by_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting] = relationship()

    @property
    def reason_label(self) -> str:
        return InvitationReason(self.reason).label
