"""Feedback to people: the confidential feedback a reporter receives after their case is presented, and
pats on the back between colleagues. Both are private between sender and recipient."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.case import Case
from meetings.models.meeting import Meeting
from meetings.models.site import Site
from meetings.models.user import User


class Feedback(Base):
    """Confidential feedback to the reporter of a presented case, as the chair sent it.

    What it says is frozen when it is sent (`content`, drawn from the case as the room saw it), so a later
    edit of the case, or the purge of its identifiers, never changes what the reporter was told.

    A reporter without an account reads it through a link: `link_nonce` is signed into the link, so the
    link cannot be guessed; a new nonce voids every earlier link. The link works until `link_expires_at`
    and only on the device that opened it first (`link_device`, a digest of that device's cookie), so a
    forwarded link shows nothing.
    """

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), unique=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    recipient_email: Mapped[str] = mapped_column(String(254))
    content: Mapped[dict] = mapped_column(JSON, default=dict)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    link_nonce: Mapped[str | None] = mapped_column(String(32))
    link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    link_device: Mapped[str | None] = mapped_column(String(64))
    # The reporter's home site in the network, when it is not the case's: its chairs are told that feedback
    # was given, never what it said or to whom.
    home_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reflection: Mapped[str] = mapped_column(Text, default="")
    reflection_minutes: Mapped[int] = mapped_column(default=0)
    reflected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()
    meeting: Mapped[Meeting] = relationship()
    recipient: Mapped[User | None] = relationship(foreign_keys=[recipient_id])
    home_site: Mapped[Site | None] = relationship()

    @property
    def by_link(self) -> bool:
        return self.recipient_id is None

    @property
    def title(self) -> str:
        return self.content.get("title", "")


class PatReason(LabelledEnum):
    GOOD_REPORT = "good_report"
    GREAT_PICKUP = "great_pickup"

    @property
    def label(self) -> str:
        return {PatReason.GOOD_REPORT: "A good report", PatReason.GREAT_PICKUP: "A great pickup"}[self]


class Pat(Base):
    """A pat on the back from one colleague to another, with a short message and, if the sender chose one,
    an anonymised case as the room saw it (its title and learning points, frozen when sent)."""

    __tablename__ = "pat"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16), default=PatReason.GOOD_REPORT)
    message: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"))
    case_title: Mapped[str] = mapped_column(String(200), default="")
    case_learning: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Kept for appraisal: printed in the recipient's CPD record.
    kept: Mapped[bool] = mapped_column(default=False, server_default=false())

    sender: Mapped[User] = relationship(foreign_keys=[sender_id])
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id])

    @property
    def reason_label(self) -> str:
        return PatReason(self.reason).label
