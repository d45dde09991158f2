"""Identifier retention: a case's identifiers are kept while its learning is being done, then purged.

The clock starts when the reporter acknowledges the case's feedback, or when it was sent if they never do;
for a case whose reporter was given no feedback, when the meeting that presented it ended; for a declined
case, when it was declined. Purging follows `IDENTIFIER_RETENTION_DAYS` later (90 by default).

Purging takes out everything identifiable the case holds: the identifiers themselves, the words typed about
the patient (the case's texts become the ones the chair approved for the room), the original images (they
become the anonymised pictures), the reporter's notice, poll answers typed in the room, and the reporter's
name and address on the feedback sent to them and on its delivery record. The anonymised case, its learning, its actions, its minutes and
its library entry stay as they were.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from meetings import audit
from meetings.anonymise.case import REVIEWED_FIELDS
from meetings.anonymise.text import scrub
from meetings.cases import review
from meetings.extensions import db
from meetings.feedback.emails import FEEDBACK
from meetings.models import (
    Case, CaseIdentifiers, CaseStatus, Delivery, Feedback, Meeting, MeetingStatus, Poll, PollVote,
)


def due(now: datetime, days: int) -> list[Case]:
    """Cases whose identifiers are still held `days` after their learning was done: after their feedback
    was complete; or, for a case whose reporter was never given feedback, after the meeting that presented
    it ended; or after it was declined. A regional copy holds no identifiers of its own."""
    cutoff = now - timedelta(days=days)
    complete = func.coalesce(Feedback.acknowledged_at, Feedback.sent_at)
    without_feedback = Feedback.id.is_(None)
    return db.session.scalars(
        select(Case).join(CaseIdentifiers, CaseIdentifiers.case_id == Case.id)
        .outerjoin(Feedback, Feedback.case_id == Case.id).outerjoin(Meeting, Meeting.id == Case.meeting_id)
        .where(CaseIdentifiers.purged_at.is_(None), Case.forwarded_from_id.is_(None), or_(
            complete <= cutoff,
            and_(without_feedback, Case.status == CaseStatus.PRESENTED, Meeting.status == MeetingStatus.ENDED,
                 Meeting.ends_at <= cutoff),
            and_(without_feedback, Case.status == CaseStatus.DECLINED, Case.updated_at <= cutoff)))
        .order_by(Case.id)).all()


def clock(case: Case, feedback: Feedback | None) -> str:
    """What started the case's retention clock, for the audit log."""
    if feedback is not None:
        return "feedback complete"
    return "declined" if case.status == CaseStatus.DECLINED else "presented without feedback"


def purge(case: Case, now: datetime, days: int) -> None:
    """Take everything identifiable out of `case`, keeping what the room saw. The caller commits."""
    identifiers = review.identifiers_of(case)
    was_current = review.state_of(case) is review.ReviewState.REVIEWED
    approved = case.review.approved if case.review is not None and was_current else {}
    known = review.known_for(case)

    def scrubbed(text: str) -> str:
        return scrub(text, known).text if text else text

    for field in REVIEWED_FIELDS:
        setattr(case, field, approved[field] if field in approved else scrubbed(getattr(case, field)))
    captions = approved.get("captions", {})
    for image in case.images:
        image.caption = captions.get(str(image.id), scrubbed(image.caption))
        # The original's headers and burned-in text go; the picture the room saw stays, boxes burned in.
        png = review.anonymised_png(image)
        image.original, image.kind, image.content_type, image.byte_size = png, "png", "image/png", len(png)
        image.width, image.height = review.png_size(png)
    case.triage_note, case.reporter_notice_text = scrubbed(case.triage_note), ""
    for vote in db.session.scalars(select(PollVote).join(Poll).where(Poll.case_id == case.id, PollVote.answer != "")):
        vote.answer = scrubbed(vote.answer)
    identifiers.forget()
    feedback = db.session.scalar(select(Feedback).where(Feedback.case_id == case.id))
    if feedback is not None:
        # To whom it was sent names the reporter beside the case; an account keeps it as theirs (recipient_id).
        feedback.recipient_name = feedback.recipient_email = ""
        for delivery in db.session.scalars(select(Delivery).where(Delivery.kind == FEEDBACK,
                                                                   Delivery.subject_id == feedback.id)):
            delivery.recipient = delivery.recipient_name = ""
    identifiers.purged_at = now
    if was_current:
        # Nothing the room saw changed: the approval stands for the purged record, and the case stays in
        # the library and the minutes.
        review.approval_stands(case)
    audit.record("case.identifiers_purged", case, retention_days=days, approval_kept=was_current,
                 clock=clock(case, feedback))


def purge_due(now: datetime, days: int) -> int:
    """Purge every case that is due; the number purged. Running it again purges nothing more."""
    cases = due(now, days)
    for case in cases:
        purge(case, now, days)
    return len(cases)
