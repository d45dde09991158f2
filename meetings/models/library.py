"""The case library: each presented case as the room saw it, anonymised, kept for teaching and search.

An entry is a copy of the AnonymisedCase made when the meeting ends and made again whenever the learning
is edited, so the library is searched and shown without the ORM case's own texts: a search can never match,
and so reveal, an identifier the chair took out.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, UTCDateTime, utcnow
from meetings.models.case import CaseKind, DiscrepancyType
from meetings.models.meeting import Meeting, MeetingScope


class LibraryEntry(Base):
    __tablename__ = "library_entry"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    presented_on: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(24))
    modality: Mapped[str] = mapped_column(String(16))
    discrepancy_type: Mapped[str | None] = mapped_column(String(32))
    great_pickup: Mapped[bool] = mapped_column(default=False, server_default=false())
    title: Mapped[str] = mapped_column(String(200))
    body_region: Mapped[str] = mapped_column(String(100), default="")
    clinical_question: Mapped[str] = mapped_column(Text, default="")
    report_text: Mapped[str] = mapped_column(Text, default="")
    outcome_text: Mapped[str] = mapped_column(Text, default="")
    discussion_notes: Mapped[str] = mapped_column(Text, default="")
    learning_points: Mapped[str] = mapped_column(Text, default="")
    # [[image id, anonymised caption], ...]: the images as the room saw them.
    images: Mapped[list] = mapped_column(JSON, default=list)
    # Every text above, lower-cased and joined, for a search that needs no full-text engine.
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    meeting: Mapped[Meeting] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return CaseKind(self.kind).label

    @property
    def discrepancy_type_label(self) -> str:
        return DiscrepancyType(self.discrepancy_type).label if self.discrepancy_type else ""

    @property
    def meeting_label(self) -> str:
        """Which kind of meeting, never which site's."""
        return "Regional meeting" if self.meeting.scope == MeetingScope.REGIONAL else "Local meeting"

    @property
    def sections(self) -> list[tuple[str, str]]:
        """The case's texts in the order the room met them, those with something to say."""
        texts = (("Clinical question", self.clinical_question), ("Original report", self.report_text),
                 ("What was found later", self.outcome_text))
        return [(label, text) for label, text in texts if text.strip()]
