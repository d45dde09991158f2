"""Editing, drawing and publishing the minutes. Services flush; views commit."""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from meetings import audit
from meetings.cases import access, review
from meetings.extensions import db, insert_if_absent
from meetings.governance import library
from meetings.minutes import distribution
from meetings.minutes.content import MinutesContent, as_the_room_saw_it, assemble, default_summary, queued_cases
from meetings.models import (
    Case, Meeting, MeetingStatus, Minutes, MinutesStatus, MinutesVersion, Role, User, utcnow,
)
from meetings.pdf import render_pdf


class MinutesRuleError(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def can_edit(user: User, meeting: Meeting) -> bool:
    """Those who keep the meeting's notes draft its minutes."""
    return access.can_take_notes(user, meeting)


def can_publish(user: User, meeting: Meeting) -> bool:
    """Publishing speaks for the meeting: its own chair, or an admin."""
    return user.has_role(Role.ADMIN) or meeting.chair_id == user.id


def can_read(user: User, meeting: Meeting) -> bool:
    """Those who may see the meeting, and anyone the minutes or their bulletin were sent to (risk staff
    and members of the sites its actions are for): the minutes carry no patient identifiers, and the
    bulletin links to them."""
    return can_edit(user, meeting) or meeting.is_visible_to(user) or distribution.was_sent_to(user, meeting)


def minutes_of(meeting: Meeting) -> Minutes:
    """The meeting's minutes, to change: made on first use (by whichever request gets there first)."""
    minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))
    if minutes is None:
        insert_if_absent(Minutes, {"meeting_id": meeting.id, "status": MinutesStatus.DRAFT,
                                   "any_other_business": ""}, ["meeting_id"])
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))
    return minutes


def read_minutes(meeting: Meeting) -> Minutes:
    """The meeting's minutes, to read: a blank draft, never saved, when nobody has written any yet. (Making
    the row on a read would hold SQLite's write lock for the whole of a PDF's drawing.)"""
    minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))
    return minutes if minutes is not None else Minutes(meeting=meeting, any_other_business="", versions=[])


def _edited(minutes: Minutes) -> None:
    minutes.updated_at = utcnow()


def save_section(minutes: Minutes, case: Case, summary: str, discussion: str, learning_points: str) -> bool:
    """Save the chair's wording of a case's section, scrubbed as the room's notes are; whether the
    anonymiser took anything out. All three are the case's own (certificates and feedback read its
    discussion and learning points), so people writing up different cases never overwrite each other."""
    meeting = minutes.meeting
    typed = (summary.strip(), discussion.strip(), learning_points.strip())
    summary, discussion, learning_points = (review.meeting_text(text, meeting, case) for text in typed)
    anonymised = as_the_room_saw_it(case)
    # Changed since its review (None): whatever the chair wrote is theirs.
    drawn = default_summary(anonymised) if anonymised is not None else None
    # A summary left as drawn keeps following the case, should its approved wording change.
    case.minutes_summary = None if summary == drawn else summary
    case.discussion_notes, case.learning_points = discussion, learning_points
    _edited(minutes)
    db.session.flush()
    library.record(case)
    audit.record("minutes.section_edited", meeting, case=case.id)
    return (summary, discussion, learning_points) != typed


def save_other_business(minutes: Minutes, text: str) -> bool:
    """Save any other business, scrubbed with every case's identifiers; whether anything was taken out."""
    typed = text.strip()
    minutes.any_other_business = review.meeting_text(typed, minutes.meeting, None)
    _edited(minutes)
    db.session.flush()
    audit.record("minutes.other_business_edited", minutes.meeting)
    return minutes.any_other_business != typed


def render(content: MinutesContent, version: MinutesVersion | None = None) -> bytes:
    """The minutes as PDF: a draft (DRAFT on every page) unless `version` is the one being published."""
    meeting = content.meeting
    return render_pdf("minutes.html", title=f"Minutes: {meeting.title}", running_header=meeting.title,
                      content=content, version=version, draft=version is None, now=utcnow())


def draft_pdf(meeting: Meeting) -> bytes:
    return render(assemble(meeting, read_minutes(meeting)))


def publish(meeting: Meeting, by: User, note: str) -> MinutesVersion:
    """Freeze the minutes as they now stand as the next version, and queue their distribution.

    Two chairs publishing at the same moment both reach the flush; the unique version number lets one in
    and the other's IntegrityError is the caller's to explain.
    """
    if meeting.status != MeetingStatus.ENDED:
        raise MinutesRuleError("Minutes are published once the meeting has ended")
    minutes = minutes_of(meeting)
    # Published minutes are sent and kept: never with notes withheld because they could not be checked.
    review.require_identifiers(queued_cases(meeting))
    content = assemble(meeting, minutes)
    if content.needs_review:
        numbers = ", ".join(str(section.number) for section in content.needs_review)
        raise MinutesRuleError(f"Case {numbers} changed after its anonymisation was approved: review it again "
                               "before publishing")
    note = note.strip()
    if minutes.versions and not note:
        raise MinutesRuleError("Say what this amendment changes: it is printed on the minutes and sent with them",
                               "note")
    version = MinutesVersion(
        number=len(minutes.versions) + 1, published_at=utcnow(), published_by_id=by.id, published_by_name=by.name,
        amendment_note=review.meeting_text(note, meeting, None) if minutes.versions else "",
        learning=content.learning,
    )
    version.pdf = render(content, version)
    version.sha256, version.byte_size = hashlib.sha256(version.pdf).hexdigest(), len(version.pdf)
    minutes.versions.append(version)
    minutes.status = MinutesStatus.PUBLISHED
    minutes.published_at = minutes.published_at or version.published_at
    db.session.flush()
    audit.record("minutes.published", meeting, version=version.number, sha256=version.sha256)
    distribution.queue_for(version, content)
    return version


def version_of(minutes: Minutes, number: int) -> MinutesVersion | None:
    return next((version for version in minutes.versions if version.number == number), None)
