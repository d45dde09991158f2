"""Scheduling meetings: one at a time or as a series, moving and cancelling them, and inviting people.

Every change a calendar must hear of (time, place, online link, cancellation) raises the meeting's SEQUENCE
and sends an update to everyone invited, so their calendars move the meeting rather than add a second one.

A series makes one ordinary meeting per date of its rule, each with its own UID, and calendars get one event
per meeting rather than an RRULE with exceptions. Every client shows single events the same way, while
moving or cancelling one occurrence of a recurring invite (RECURRENCE-ID, EXDATE) is where Outlook, Google
and Apple part ways: an update for one occurrence sent by email is applied to the whole series by some and
dropped by others. Each meeting also has its own agenda and sign-in link, which a shared event could not
carry.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday

from meetings import audit
from meetings.cases import service as cases
from meetings.cases.access import chairs_region, chairs_site
from meetings.extensions import db
from meetings.web import local_time, zone
from meetings.models import (
    CaseStatus, Frequency, Meeting, MeetingScope, MeetingSeries, MeetingStatus, Role, Site, User,
)

# The fields whose change moves the meeting in people's calendars.
_CALENDAR_FIELDS = ("starts_at", "ends_at", "location", "online_url")
SERIES_LENGTH = timedelta(days=365)


class ScheduleError(ValueError):
    """A change the rules refuse; `field` names the form field to show it against, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def can_schedule(user: User) -> bool:
    return user.has_role(Role.ADMIN, Role.CHAIR, Role.REGIONAL_CHAIR)


def can_schedule_at(user: User, scope: str, site: Site | None) -> bool:
    """Chairs schedule their own site's meetings, regional chairs the network's; admins any."""
    if user.has_role(Role.ADMIN):
        return True
    if scope == MeetingScope.REGIONAL:
        return chairs_region(user)
    return site is not None and chairs_site(user, site.id)


def at_local(day: date, clock: time) -> datetime:
    """A local date and wall-clock time as the UTC instant it means (12:30 stays 12:30 across clock changes)."""
    return datetime.combine(day, clock, tzinfo=zone()).astimezone(timezone.utc)


def _exists(day: date, clock: time) -> bool:
    """Whether the clocks show this time on this day (not 01:30 on the morning they go forward)."""
    return at_local(day, clock).astimezone(zone()).replace(tzinfo=None) == datetime.combine(day, clock)


@dataclass(frozen=True)
class Timing:
    day: date
    starts: time
    ends: time

    def instants(self) -> tuple[datetime, datetime]:
        if self.ends <= self.starts:
            raise ScheduleError("The meeting must end after it starts", field="end_time")
        for clock, field in ((self.starts, "start_time"), (self.ends, "end_time")):
            if not _exists(self.day, clock):
                raise ScheduleError(f"The clocks go forward that night: {clock:%H:%M} does not happen on that day",
                                    field=field)
        return at_local(self.day, self.starts), at_local(self.day, self.ends)


def create_meeting(chair: User, *, title: str, scope: str, site: Site | None, timing: Timing, location: str,
                   online_url: str, reminder_minutes: int | None, listed: bool,
                   series: MeetingSeries | None = None) -> Meeting:
    starts_at, ends_at = timing.instants()
    meeting = Meeting(title=title.strip(), scope=scope, site=None if scope == MeetingScope.REGIONAL else site,
                      chair=chair, starts_at=starts_at, ends_at=ends_at, location=location.strip(),
                      online_url=online_url.strip(), reminder_minutes=reminder_minutes, listed=listed,
                      series=series, series_date=timing.day if series is not None else None)
    db.session.add(meeting)
    db.session.flush()
    audit.record("meeting.scheduled", meeting, starts_at=starts_at.isoformat(), series=series.id if series else None)
    return meeting


def _require_scheduled(meeting: Meeting) -> None:
    if meeting.status != MeetingStatus.SCHEDULED:
        raise ScheduleError(f"This meeting is {meeting.status_label.lower()}; it can no longer be changed")


def change_meeting(meeting: Meeting, *, title: str, timing: Timing, location: str, online_url: str,
                   reminder_minutes: int | None, listed: bool) -> bool:
    """Apply the chair's changes; whether invitees must be told (the title, time, room or link changed: a new
    reminder alone is not worth an email, and Outlook and Google keep their own reminders anyway)."""
    _require_scheduled(meeting)
    cases.lock_queue(meeting)  # two chairs changing one meeting take turns, so SEQUENCE never repeats
    starts_at, ends_at = timing.instants()
    wanted = {"starts_at": starts_at, "ends_at": ends_at, "location": location.strip(),
              "online_url": online_url.strip()}
    moved = [name for name in _CALENDAR_FIELDS if getattr(meeting, name) != wanted[name]]
    retitled = meeting.title != title.strip()
    for name in moved:
        setattr(meeting, name, wanted[name])
    meeting.title, meeting.reminder_minutes, meeting.listed = title.strip(), reminder_minutes, listed
    if moved:
        meeting.ical_sequence += 1
    audit.record("meeting.changed", meeting, changed=moved + (["title"] if retitled else []),
                 sequence=meeting.ical_sequence)
    return bool(moved or retitled)


def cancel_meeting(meeting: Meeting) -> int:
    """Cancel the meeting: calendars are told, and its queued cases go back to be scheduled again.
    How many cases went back."""
    _require_scheduled(meeting)
    cases.lock_queue(meeting)  # no case is scheduled into it while it is being cancelled
    meeting.status = MeetingStatus.CANCELLED
    meeting.ical_sequence += 1
    queued = [case for case in cases.queue(meeting) if case.status == CaseStatus.SCHEDULED]
    for case in queued:
        cases.unschedule(case)
    audit.record("meeting.cancelled", meeting, cases_returned=len(queued), sequence=meeting.ical_sequence)
    return len(queued)


# --- series --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    frequency: str
    interval: int
    weekday: int  # Monday 0
    ordinal: int  # 1..4, or -1 for the last; monthly only
    starts_on: date
    until: date

    def dates(self) -> list[date]:
        if self.frequency == Frequency.WEEKLY:
            dates = rrule(WEEKLY, interval=self.interval, byweekday=self.weekday, dtstart=self.starts_on,
                          until=self.until)
        else:
            dates = rrule(MONTHLY, interval=self.interval, byweekday=weekday(self.weekday, self.ordinal),
                          dtstart=self.starts_on, until=self.until)
        return [moment.date() for moment in dates]


def create_series(chair: User, *, title: str, scope: str, site: Site | None, rule: Rule, starts: time, ends: time,
                  location: str, online_url: str, reminder_minutes: int | None, listed: bool) -> MeetingSeries:
    if ends <= starts:
        raise ScheduleError("The meetings must end after they start", field="end_time")
    dates = rule.dates()
    if not dates:
        raise ScheduleError("That rule gives no dates in the year ahead", field="starts_on")
    series = MeetingSeries(title=title.strip(), scope=scope, site=None if scope == MeetingScope.REGIONAL else site,
                           chair=chair, frequency=rule.frequency, interval=rule.interval, ordinal=rule.ordinal,
                           weekday=rule.weekday, start_time=starts, end_time=ends, starts_on=rule.starts_on,
                           until=rule.until, location=location.strip(), online_url=online_url.strip())
    db.session.add(series)
    db.session.flush()
    for day in dates:
        create_meeting(chair, title=title, scope=scope, site=site, timing=Timing(day, starts, ends), location=location,
                       online_url=online_url, reminder_minutes=reminder_minutes, listed=listed, series=series)
    audit.record("series.created", series, rule=series.rule_text, meetings=len(dates))
    return series


def series_meetings(series: MeetingSeries) -> list[Meeting]:
    return list(db.session.scalars(db.select(Meeting).where(Meeting.series_id == series.id)
                                   .order_by(Meeting.starts_at)))


def moved_from(meeting: Meeting) -> date | None:
    """The date the series' rule gave a meeting that has since been moved to another day."""
    if meeting.series_date is None or local_time(meeting.starts_at).date() == meeting.series_date:
        return None
    return meeting.series_date
