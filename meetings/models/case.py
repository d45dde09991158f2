"""Cases nominated for learning, with their identifiers kept in a table of their own."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.meeting import Meeting
from meetings.models.site import Site
from meetings.models.user import User


class CaseKind(LabelledEnum):
    DISCREPANCY = "discrepancy"
    NEAR_MISS = "near_miss"
    GREAT_PICKUP = "great_pickup"
    EDUCATIONAL = "educational"
    SYSTEM_ISSUE = "system_issue"


class CaseStatus(LabelledEnum):
    SUBMITTED = "submitted"
    MORE_INFO = "more_info"
    DECLINED = "declined"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    PRESENTED = "presented"


class Modality(StrEnum):
    XR = "XR"
    CT = "CT"
    MR = "MR"
    US = "US"
    NM = "NM"
    MAMMOGRAPHY = "mammography"
    FLUOROSCOPY = "fluoroscopy"
    IR = "IR"


class Case(Base):
    """The clinical content of a case. Nothing in this table identifies a patient or a reporter."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), index=True)
    queue_position: Mapped[int | None]
    allowance_minutes: Mapped[int] = mapped_column(default=10)
    kind: Mapped[str] = mapped_column(String(24))
    came_to_light: Mapped[str] = mapped_column(String(24), default="other")
    modality: Mapped[str] = mapped_column(String(16))
    body_region: Mapped[str] = mapped_column(String(100), default="")
    clinical_question: Mapped[str] = mapped_column(Text, default="")
    report_text: Mapped[str] = mapped_column(Text, default="")
    outcome_text: Mapped[str] = mapped_column(Text, default="")
    suggested_learning: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.SUBMITTED, index=True)
    discussion_notes: Mapped[str] = mapped_column(Text, default="")
    learning_points: Mapped[str] = mapped_column(Text, default="")
    discrepancy_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    submitter: Mapped[User] = relationship()
    site: Mapped[Site] = relationship()
    meeting: Mapped[Meeting | None] = relationship()
    identifiers: Mapped[CaseIdentifiers | None] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="raise"
    )


class CaseIdentifiers(Base):
    """Patient and reporter identifiers. Loaded only by views allowed to show them, and audited.

    `lazy="raise"` on `Case.identifiers` makes an accidental load from an audience view an error.
    """

    __tablename__ = "case_identifiers"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    patient_name: Mapped[str] = mapped_column(String(200), default="")
    nhs_number: Mapped[str] = mapped_column(String(10), default="")
    hospital_number: Mapped[str] = mapped_column(String(32), default="")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    accession_number: Mapped[str] = mapped_column(String(32), default="")
    examination_date: Mapped[date | None] = mapped_column(Date)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reporter_name: Mapped[str] = mapped_column(String(200), default="")
    reporter_email: Mapped[str] = mapped_column(String(254), default="")
    referrer_name: Mapped[str] = mapped_column(String(200), default="")

    case: Mapped[Case] = relationship(back_populates="identifiers")
