"""The attendance register: one signature (or apology) per person per meeting, its CPD certificate, and the
attendees' anonymous evaluations of the meeting.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.meeting import Meeting
from meetings.models.user import ProfessionalBody, registration_label

# Crockford's base 32: no I, L, O or U to misread when a certificate number is typed from paper.
CERTIFICATE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def person_key(user_id: int | None, email: str | None, name: str | None = None) -> str:
    """What makes two signatures the same person: the account; for a guest the email address; for a name
    copied from a paper sheet with no email, the name."""
    if user_id is not None:
        return f"user:{user_id}"
    email = (email or "").strip().lower()
    if email:
        return f"email:{email}"
    return "name:" + " ".join((name or "").lower().split())


def new_certificate_number() -> str:
    """LB- and 12 characters: 60 random bits, because `/verify/<number>` shows the name printed with it."""
    body = "".join(secrets.choice(CERTIFICATE_ALPHABET) for _ in range(12))
    return f"LB-{body[:4]}-{body[4:8]}-{body[8:]}"


class AttendanceStatus(LabelledEnum):
    PRESENT = "present"
    APOLOGIES = "apologies"


class SignedBy(LabelledEnum):
    """How the entry got on the register."""

    SELF = "self"        # the attendee signed on their own device
    BY_HAND = "by_hand"  # the chair or minute-taker added it (the paper sheet fallback)


class Register(Base):
    """A meeting's register: whether it is open, and the secret its presence codes are made from."""

    __tablename__ = "register"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    presence_required: Mapped[bool] = mapped_column(default=True)
    presence_secret: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))

    meeting: Mapped[Meeting] = relationship()

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None and self.closed_at is None

    @property
    def is_closed(self) -> bool:
        """Closed after being open: certificates are ready."""
        return self.closed_at is not None

    @property
    def status(self) -> str:
        """"unopened", "open" or "closed"."""
        return "unopened" if self.opened_at is None else "open" if self.is_open else "closed"


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "person_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    person_key: Mapped[str] = mapped_column(String(280))
    status: Mapped[str] = mapped_column(String(16), default=AttendanceStatus.PRESENT, server_default="present")
    signed_by: Mapped[str] = mapped_column(String(16), default=SignedBy.SELF, server_default="self")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    profession: Mapped[str] = mapped_column(String(32))
    professional_body: Mapped[str] = mapped_column(String(8), default=ProfessionalBody.NONE, server_default="none")
    registration_number: Mapped[str | None] = mapped_column(String(16))
    site_name: Mapped[str] = mapped_column(String(200), default="")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A late arrival or early departure; None means from the start, or to the end.
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the signing device's cookie, so that phone can fetch its certificate without an account.
    device_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    certificate_number: Mapped[str] = mapped_column(String(20), unique=True, default=new_certificate_number)
    certificate_emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a sender took this certificate to email; a claim left by a sender that died expires.
    certificate_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether this attendee has given the anonymous evaluation (which is stored apart, unlinked).
    evaluated: Mapped[bool] = mapped_column(default=False, server_default=false())
    reflection: Mapped[str] = mapped_column(Text, default="", server_default="")
    reflection_minutes: Mapped[int] = mapped_column(default=0, server_default="0")

    meeting: Mapped[Meeting] = relationship()

    @property
    def is_present(self) -> bool:
        return self.status == AttendanceStatus.PRESENT

    @property
    def registration(self) -> str:
        return registration_label(self.professional_body, self.registration_number)


class Evaluation(Base):
    """One attendee's evaluation of a meeting. Deliberately unlinked from the attendee and untimed, so
    nobody can tell who wrote it."""

    __tablename__ = "evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    usefulness: Mapped[int]  # 1 (not useful) to 5 (very useful)
    change_practice: Mapped[str] = mapped_column(String(8))  # yes, no, unsure
    best: Mapped[str] = mapped_column(Text, default="")
    improve: Mapped[str] = mapped_column(Text, default="")
