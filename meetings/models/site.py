"""Sites: the trusts and hospitals of a regional imaging network."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, false
from sqlalchemy.orm import Mapped, mapped_column

from meetings.models.base import Base, UTCDateTime, utcnow


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # RADPEER-style grading is off unless a site asks: the Royal College of Radiologists finds it unreliable.
    radpeer_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Site {self.code}>"
