"""Sites: the trusts and hospitals of a regional imaging network."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, false, true
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
    # Published minutes go to the site's risk staff and to these addresses (a team mailbox), one per line.
    risk_distribution: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Meeting invitations go to the site's members and to these addresses (a department list), one per line.
    invite_distribution: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Whether the minutes name the people present, or only count them by profession.
    minutes_list_names: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def risk_addresses(self) -> list[str]:
        return [line.strip() for line in self.risk_distribution.splitlines() if line.strip()]

    @property
    def invite_addresses(self) -> list[str]:
        return [line.strip() for line in self.invite_distribution.splitlines() if line.strip()]

    def __repr__(self) -> str:
        return f"<Site {self.code}>"
