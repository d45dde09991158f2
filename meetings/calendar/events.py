"""What a calendar may show of a meeting, for each audience.

The agenda appears only as a number of cases, never their content. Invitees and members see the online link
and the attendance sign-in link; the site's public feed shows the title, time and place and nothing that would
let a stranger join. Feeds list no attendees.
"""
from __future__ import annotations

from collections.abc import Iterable
from email.utils import parseaddr
from enum import Enum

from flask import current_app
from sqlalchemy import func, select

from meetings.calendar.ical import EventView, Person
from meetings.extensions import db
from meetings.models import Case, CaseStatus, LiveState, Meeting, MeetingScope, MeetingStatus
from meetings.web import external_url, plural


class Audience(Enum):
    INVITEE = "invitee"  # an emailed invite
    MEMBER = "member"  # a member's own feed, or "Add to calendar"
    PUBLIC = "public"  # the site's public feed


def case_counts(meeting_ids: Iterable[int]) -> dict[int, int]:
    """Cases on each meeting's agenda, in one query for a whole feed."""
    ids = list(meeting_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Case.meeting_id, func.count()).where(
        Case.meeting_id.in_(ids), Case.status.in_((CaseStatus.SCHEDULED, CaseStatus.PRESENTED)))
        .group_by(Case.meeting_id))
    return dict(rows.all())


def case_count(meeting: Meeting) -> int:
    return case_counts([meeting.id]).get(meeting.id, 0)


def join_codes(meeting_ids: Iterable[int]) -> dict[int, str]:
    ids = list(meeting_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(LiveState.meeting_id, LiveState.join_code)
                                   .where(LiveState.meeting_id.in_(ids))).all())


def _agenda(meeting: Meeting, cases: int) -> str:
    if meeting.status == MeetingStatus.ENDED:
        return f"{cases} {plural(cases, 'case')} discussed."
    return f"Agenda: {cases} {plural(cases, 'case')} to discuss." if cases else "Agenda: cases to be confirmed."


def description(meeting: Meeting, audience: Audience, cases: int, join_code: str | None, page: str) -> str:
    kind = ("Regional peer learning meeting" if meeting.scope == MeetingScope.REGIONAL
            else "Radiology Events and Learning (REAL) meeting")
    lines = ["This meeting is cancelled.", ""] if meeting.status == MeetingStatus.CANCELLED else []
    if audience is Audience.PUBLIC:
        # The public feed promises title, time and place: no names, no agenda.
        return "\n".join([*lines, f"{kind}.", "", f"Meeting page: {page}"])
    lines += [f"{kind}, chaired by {meeting.chair.name}.", _agenda(meeting, cases), ""]
    if meeting.online_url:
        lines.append(f"Join online: {meeting.online_url}")
    lines.append(f"Meeting page: {page}")
    if join_code:
        lines.append(f"Sign the attendance register: {external_url('register.sign', code=join_code)}")
    return "\n".join(lines)


def _lightbox(meeting: Meeting) -> Person:
    """The organizer the public sees: Lightbox's own address, in the site's name, never a person's email."""
    name, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    return Person(address, meeting.site.name if meeting.site else name or "Lightbox")


def view_of(meeting: Meeting, audience: Audience, cases: int, join_code: str | None,
            attendees: tuple[Person, ...] = ()) -> EventView:
    cancelled = meeting.status == MeetingStatus.CANCELLED
    public = audience is Audience.PUBLIC
    location = meeting.location or ("Online" if public and meeting.online_url else meeting.online_url)
    page = external_url("schedule.meeting_page", meeting_id=meeting.id)
    return EventView(
        uid=meeting.uid, sequence=meeting.ical_sequence,
        # A feed replaces what a client shows; a cancelled meeting stays in it, marked, until it drops out.
        summary=f"Cancelled: {meeting.title}" if cancelled and audience is not Audience.INVITEE else meeting.title,
        starts_at=meeting.starts_at, ends_at=meeting.ends_at,
        description=description(meeting, audience, cases, join_code, page),
        location=location,
        url=page if public or not meeting.online_url else meeting.online_url,
        organizer=_lightbox(meeting) if public else Person(meeting.chair.email, meeting.chair.name),
        attendees=attendees, cancelled=cancelled,
        reminder_minutes=None if public else meeting.reminder_minutes, created=meeting.created_at,
    )


def views_of(meetings: list[Meeting], audience: Audience, attendees: tuple[Person, ...] = ()) -> list[EventView]:
    """The meetings' events, with the case counts and join codes fetched once for all of them."""
    ids = [meeting.id for meeting in meetings]
    counts = case_counts(ids)
    codes = join_codes(ids) if audience is not Audience.PUBLIC else {}
    return [view_of(meeting, audience, counts.get(meeting.id, 0), codes.get(meeting.id), attendees)
            for meeting in meetings]
