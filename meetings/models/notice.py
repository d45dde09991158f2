"""Notices: emails Lightbox sends for a reason and a period, recorded so a command run twice sends once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meetings.models.base import Base, UTCDateTime, utcnow


class Notice(Base):
    """One notice to one recipient: claimed before it is sent, marked sent once the mail server took it.

    `key` names the period or subject ("2026-11-23", "2026-W48/site-3"); (kind, key, recipient) is unique.
    """

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("kind", "key", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
