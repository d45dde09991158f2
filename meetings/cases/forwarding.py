"""Forwarding a presented local case to the network's regional queue, as its meeting saw it.

The regional case is a copy made from the approved, anonymised case: its texts as the room read them, the
learning points the local meeting agreed, and the anonymised images (pixels only, redactions burned
in). It holds no identifiers, so a regional chair at another trust never sees the origin's patient, and every
text is scrubbed again of every site's name. The local case is untouched; its feedback stays with its chair.
"""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from meetings import audit
from meetings.anonymise.text import scrub
from meetings.cases import access, review
from meetings.cases.service import CaseRuleError
from meetings.extensions import db
from meetings.models import (
    Case, CaseIdentifiers, CaseImage, CaseReview, CaseStatus, MeetingScope, MeetingStatus, User,
)


def refusal(case: Case) -> str | None:
    """Why this case cannot be forwarded now, in words for its chair; None when it can."""
    if case.is_regional:
        return "This is a regional case already"
    if case.forwarded_as is not None:
        return "This case has already been forwarded to the regional queue"
    if case.status != CaseStatus.PRESENTED or case.meeting is None or case.meeting.scope != MeetingScope.LOCAL:
        return "Only a case presented at a local meeting can be forwarded"
    if case.meeting.status != MeetingStatus.ENDED:
        return "Forward it once the meeting has ended, so that it carries the learning points the meeting agreed"
    if review.state_of(case) is not review.ReviewState.REVIEWED:
        return "The case changed after its anonymisation was approved: review it again before forwarding it"
    if review.known_or_none(case) is None:
        return ("Lightbox cannot open this case's identifiers just now, so the meeting's notes cannot be checked "
                "for them: forward it when your administrator has restored the identifier key")
    return None


def can_forward(user: User, case: Case) -> bool:
    """The chairs who triage a local case (its site's chairs, admins) offer it to the network."""
    return not case.is_regional and access.can_triage(user, case)


def forward(case: Case, by: User) -> Case:
    """Put an anonymised copy of a presented local case in the regional queue; return the copy."""
    reason = refusal(case)
    if reason:
        raise CaseRuleError(reason)
    approved = case.review.approved
    keep = tuple(approved.get("keep", ()))
    room = review.anonymised_case(case, image_url=lambda image_id: "")
    # Nothing is flushed until the copy is whole: a second chair's copy then fails on the unique
    # forwarded_from_id below, where it is caught, not in a query made while scrubbing.
    with db.session.no_autoflush:
        copy = Case(submitter_id=by.id, site_id=case.site_id, forwarded_from_id=case.id, status=CaseStatus.SUBMITTED,
                    kind=case.kind, came_to_light=case.came_to_light, modality=case.modality,
                    allowance_minutes=case.allowance_minutes, discrepancy_type=case.discrepancy_type,
                    clinical_significance=case.clinical_significance, great_pickup=case.great_pickup)
        # Set as objects too: a pending copy does not load its relationships, and scrubbing reads them.
        copy.forwarded_from, copy.site, copy.submitter = case, case.site, by
        # The local chair's "not identifiers, put them back" choices go with it, so the regional review
        # starts from them and a clinical term they restored is not lost.
        copy.review = CaseReview(redact=[], keep=list(keep), approved={})
        db.session.add_all([copy, CaseIdentifiers(case=copy)])
        no_site = review.known_for(copy)
        texts = {"body_region": room.body_region, "clinical_question": room.clinical_question,
                 "report_text": room.report_text, "outcome_text": room.outcome_text,
                 "suggested_learning": room.suggested_learning,
                 # The regional room starts from what the local meeting agreed, and may add to it.
                 "learning_points": room.learning_points}
        for field, text in texts.items():
            setattr(copy, field, scrub(text, no_site, keep=keep).text if text else "")
        captions = approved.get("captions", {})
        for position, image in enumerate(case.images):
            png = review.anonymised_png(image)
            width, height = review.png_size(png)
            caption = captions.get(str(image.id), "")
            copy.images.append(CaseImage(
                uploaded_by_id=by.id, kind="png", content_type="image/png", width=width, height=height,
                byte_size=len(png), caption=scrub(caption, no_site, keep=keep).text if caption else "",
                position=position, original=png))
    try:
        db.session.flush()
    except IntegrityError:
        # Another chair forwarded it a moment ago: the unique forwarded_from_id kept one copy.
        raise CaseRuleError("This case has just been forwarded to the regional queue by someone else") from None
    audit.record("case.forwarded", case, regional_case=copy.id)
    audit.record("case.submitted", copy, forwarded_from=case.id)
    return copy

