"""Deliveries: one email to one recipient, queued, logged and retried until the mail server takes it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow


class DeliveryStatus(LabelledEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(Base):
    """`kind` says what is sent ("minutes", "bulletin") and `subject_id` the row it is built from (a minutes
    version); (kind, subject_id, recipient) is unique, so queuing twice never sends twice."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("kind", "subject_id", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Set by the sender that took this delivery; a claim left by a sender that died expires.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def status_label(self) -> str:
        return DeliveryStatus(self.status).label
