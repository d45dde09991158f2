"""Meeting series: a rule ("every second month on the first Tuesday, 12:30–14:00") that made meetings."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Date, ForeignKey, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.models.base import Base, LabelledEnum, UTCDateTime, utcnow
from meetings.models.site import Site
from meetings.models.user import User


class Frequency(LabelledEnum):
    MONTHLY = "monthly"
    WEEKLY = "weekly"


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
EVERY = {1: "", 2: "second ", 3: "third ", 4: "fourth ", 6: "sixth "}


class MeetingSeries(Base):
    """The rule is kept so people can read what the series is; the meetings it made are ordinary meetings,
    each moved or cancelled on its own."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    chair_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    frequency: Mapped[str] = mapped_column(String(16), default=Frequency.MONTHLY)
    interval: Mapped[int] = mapped_column(default=1)
    # 1 to 4 for "the first ... fourth", -1 for "the last" weekday of the month; unused for weekly series.
    ordinal: Mapped[int] = mapped_column(default=1)
    weekday: Mapped[int] = mapped_column()  # Monday is 0, as Python's date.weekday()
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    starts_on: Mapped[date] = mapped_column(Date)
    until: Mapped[date] = mapped_column(Date)
    location: Mapped[str] = mapped_column(String(200), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site | None] = relationship()
    chair: Mapped[User] = relationship()

    @property
    def rule_text(self) -> str:
        """The rule as a chair would say it: "Every second month on the first Tuesday, 12:30–14:00"."""
        times = f"{self.start_time:%H:%M}–{self.end_time:%H:%M}"
        day = WEEKDAYS[self.weekday]
        if self.frequency == Frequency.WEEKLY:
            every = "Every week" if self.interval == 1 else f"Every {self.interval} weeks"
            return f"{every} on {day}, {times}"
        every = f"Every {EVERY[self.interval]}month" if self.interval in EVERY else f"Every {self.interval} months"
        return f"{every} on the {ORDINALS[self.ordinal]} {day}, {times}"
