"""Identifier retention: a case's identifiers are kept while its learning is being done, then purged.

The clock starts when the reporter acknowledges the case's feedback, or when it was sent if they never do
(`IDENTIFIER_RETENTION_DAYS` later, 90 by default). Purging takes out everything identifiable the case
holds: the identifiers themselves, the words typed about the patient (the case's texts become the ones the
chair approved for the room), the original images (they become the anonymised pictures), the reporter's
notice, and poll answers typed in the room. The anonymised case, its learning, its actions, its minutes and
its library entry stay as they were.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from meetings import audit
from meetings.anonymise.case import REVIEWED_FIELDS
from meetings.anonymise.text import scrub
from meetings.cases import review
from meetings.extensions import db
from meetings.models import Case, CaseIdentifiers, Feedback, Poll, PollVote


def due(now: datetime, days: int) -> list[Case]:
    """Cases whose feedback was complete more than `days` ago and whose identifiers are still held."""
    complete = func.coalesce(Feedback.acknowledged_at, Feedback.sent_at)
    return db.session.scalars(
        select(Case).join(Feedback, Feedback.case_id == Case.id).join(CaseIdentifiers, CaseIdentifiers.case_id == Case.id)
        .where(complete <= now - timedelta(days=days), CaseIdentifiers.purged_at.is_(None))
        .order_by(Case.id)).all()


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
    identifiers.purged_at = now
    if was_current:
        # Nothing the room saw changed: the approval stands for the purged record, and the case stays in
        # the library and the minutes.
        review.approval_stands(case)
    audit.record("case.identifiers_purged", case, retention_days=days, approval_kept=was_current)


def purge_due(now: datetime, days: int) -> int:
    """Purge every case that is due; the number purged. Running it again purges nothing more."""
    cases = due(now, days)
    for case in cases:
        purge(case, now, days)
    return len(cases)
