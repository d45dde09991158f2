"""My CPD: the meetings a person attended, their credits per year (attendance and reflection), their private
reflective notes, and for appraisal their reflections on feedback about their reports and the pats on the back
they chose to keep."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select

from meetings.extensions import db
from meetings.web import zone
from meetings.feedback import pats
from meetings.feedback import service as feedback
from meetings.models import Attendance, AttendanceStatus, Feedback, Meeting, Pat, User
from meetings.register import service


@dataclass(frozen=True)
class CpdEntry:
    attendance: Attendance
    minutes: int
    credits: float
    certificate_ready: bool

    @property
    def meeting(self) -> Meeting:
        return self.attendance.meeting

    @property
    def reflection_minutes(self) -> int:
        return self.attendance.reflection_minutes


@dataclass(frozen=True)
class CpdRecord:
    year: int
    years: list[int]  # the years with any attendance, newest first (this year always offered)
    entries: list[CpdEntry]
    feedback: list[Feedback] = field(default_factory=list)  # with a reflection
    pats: list[Pat] = field(default_factory=list)  # kept for appraisal

    @property
    def meeting_credits(self) -> float:
        return sum(e.credits for e in self.entries)

    @property
    def reflection_credits(self) -> float:
        """Counted on the year's reflection time together: three 20-minute reflections make an hour."""
        minutes = sum(e.reflection_minutes for e in self.entries) + sum(f.reflection_minutes for f in self.feedback)
        return service.credits_for(minutes)

    @property
    def total(self) -> float:
        return self.meeting_credits + self.reflection_credits


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    local = zone()
    return (datetime(year, 1, 1, tzinfo=local).astimezone(timezone.utc),
            datetime(year + 1, 1, 1, tzinfo=local).astimezone(timezone.utc))


def record_of(user: User, year: int | None = None) -> CpdRecord:
    """The person's attended meetings in `year` (this year when not given), newest first."""
    this_year = datetime.now(zone()).year
    year = year or this_year
    starts = db.session.scalars(select(Meeting.starts_at).join(Attendance, Attendance.meeting_id == Meeting.id).where(
        Attendance.user_id == user.id, Attendance.status == AttendanceStatus.PRESENT))
    local = zone()
    reflected, kept = feedback.reflected_on_by(user), pats.kept_by(user)
    appraisal = [item.sent_at for item in [*reflected, *kept]]
    years = sorted({s.astimezone(local).year for s in [*starts, *appraisal]} | {this_year, year}, reverse=True)
    start, end = _year_bounds(year)
    attended = db.session.scalars(
        select(Attendance).join(Meeting, Attendance.meeting_id == Meeting.id).where(
            Attendance.user_id == user.id, Attendance.status == AttendanceStatus.PRESENT,
            Meeting.starts_at >= start, Meeting.starts_at < end).order_by(Meeting.starts_at.desc()))
    entries = []
    for attendance in attended:
        minutes = service.minutes_attended(attendance)
        entries.append(CpdEntry(
            attendance=attendance, minutes=minutes, credits=service.credits_for(minutes),
            certificate_ready=service.peek(attendance.meeting).is_closed,
        ))
    return CpdRecord(year=year, years=years, entries=entries, feedback=[f for f in reflected if start <= f.sent_at < end],
                     pats=[p for p in kept if start <= p.sent_at < end])
