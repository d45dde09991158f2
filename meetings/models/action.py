"""Actions agreed in a meeting, tracked to completion by risk staff."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.meeting import Meeting
from meetings.models.user import User


class ActionStatus(LabelledEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class ActionPriority(LabelledEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Action(Base):
    __tablename__ = "action"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    owner_email: Mapped[str] = mapped_column(String(254), default="")
    due_on: Mapped[date] = mapped_column(Date, index=True)
    priority: Mapped[str] = mapped_column(String(8), default=ActionPriority.MEDIUM)
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.OPEN, index=True)
    closing_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship(lazy="joined")
    owner: Mapped[User | None] = relationship(lazy="joined")

    @property
    def owner_display(self) -> str:
        return self.owner.name if self.owner else self.owner_name

    @property
    def status_label(self) -> str:
        return ActionStatus(self.status).label

    @property
    def is_closed(self) -> bool:
        return self.status in (ActionStatus.DONE, ActionStatus.CANCELLED)

    def is_overdue(self, today: date) -> bool:
        return not self.is_closed and self.due_on < today
