"""The live state of a meeting, and its polls: what the room is looking at, held in the database.

Any app server answers any follower from these rows, so a restart or a second server changes nothing.
"""
from __future__ import annotations

from datetime import datetime
from enum import IntEnum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.case import Case
from meetings.models.meeting import Meeting


class Stage(IntEnum):
    """The staged reveal of a case, the way REAL meetings teach: the room commits before it is told."""

    QUESTION = 1
    REPORT = 2
    OUTCOME = 3
    LEARNING = 4

    @property
    def label(self) -> str:
        return {
            Stage.QUESTION: "Question and images",
            Stage.REPORT: "Original report",
            Stage.OUTCOME: "What was found later",
            Stage.LEARNING: "Discussion and learning",
        }[self]


class LiveState(Base):
    """One row per meeting. `version` goes up on every change an audience would see.

    `audience_html` is the audience fragment for `version`, rendered once by the change that made it, so
    thousands of followers are answered from one row without a template or a scrub each.
    """

    __tablename__ = "live_state"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    # The short link's code: unguessable enough to keep the meeting to the room, short enough to type.
    join_code: Mapped[str] = mapped_column(String(16), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"))
    stage: Mapped[int] = mapped_column(default=Stage.QUESTION)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the current case came up; with Case.presented_seconds it times the case against its allowance.
    case_shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    poll_id: Mapped[int | None] = mapped_column(ForeignKey("poll.id", ondelete="SET NULL"))
    audience_html: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship()
    case: Mapped[Case | None] = relationship()
    poll: Mapped[Poll | None] = relationship(foreign_keys=[poll_id])


class PollKind(LabelledEnum):
    CHOICE = "choice"
    FREE_TEXT = "free_text"


class Poll(Base):
    """A question put to the room about a case. Answers are anonymous: a vote records a device, not a person."""

    __tablename__ = "poll"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16), default=PollKind.CHOICE)
    options: Mapped[list] = mapped_column(JSON, default=list)
    is_open: Mapped[bool] = mapped_column(default=True)
    results_shown: Mapped[bool] = mapped_column(default=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()
    votes: Mapped[list[PollVote]] = relationship(back_populates="poll", cascade="all, delete-orphan",
                                                 order_by="PollVote.id")


class PollVote(Base):
    __tablename__ = "poll_vote"
    # One answer per device: the database enforces it, so a double tap or a retry cannot count twice.
    __table_args__ = (UniqueConstraint("poll_id", "device"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"), index=True)
    # A digest of the device's random cookie; the cookie itself is never stored.
    device: Mapped[str] = mapped_column(String(64))
    choice: Mapped[int | None]
    answer: Mapped[str] = mapped_column(String(280), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    poll: Mapped[Poll] = relationship(back_populates="votes")
