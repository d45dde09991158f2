"""Submitting cases, triaging them, and ordering a meeting's queue. Services flush; views commit."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, false, func, or_, select

from meetings import audit, identifier_key, mail
from meetings.cases.images import CheckedImage
from meetings.extensions import db
from meetings.identifier_key import IdentifiersUnavailable
from meetings.models import (
    Case, CaseIdentifiers, CaseImage, CaseKind, CaseStatus, Meeting, MeetingScope, MeetingStatus, Role, User, utcnow,
)
from meetings.nhs_number import digits_only
from meetings.web import plural

CLINICAL_FIELDS = ("kind", "came_to_light", "modality", "body_region", "clinical_question", "report_text",
                   "outcome_text", "suggested_learning")
IDENTIFIER_FIELDS = ("patient_name", "hospital_number", "date_of_birth", "accession_number", "examination_date",
                     "referrer_name")
OPEN_FOR_TRIAGE = (CaseStatus.SUBMITTED, CaseStatus.MORE_INFO, CaseStatus.ACCEPTED)


@dataclass(frozen=True)
class CaseMix:
    """What a meeting's cases teach from: good work is counted as readily as errors. Each case counts once:
    one the chair recognised as a great pickup counts as one, whatever kind it was submitted as."""

    great_pickups: int
    discrepancies: int
    near_misses: int
    other: int

    def phrases(self) -> list[str]:
        """"2 great pickups", "1 discrepancy", "0 near misses" (every count, so none hides), and any others."""
        return [f"{self.great_pickups} great {plural(self.great_pickups, 'pickup')}",
                f"{self.discrepancies} {plural(self.discrepancies, 'discrepancy', 'discrepancies')}",
                f"{self.near_misses} near {plural(self.near_misses, 'miss', 'misses')}",
                ] + ([f"{self.other} {plural(self.other, 'other')}"] if self.other else [])


def case_mix(cases: Iterable) -> CaseMix:
    """The mix of cases (anything with `kind` and `is_great_pickup`: a case, a minutes section)."""
    counts = Counter("great_pickup" if case.is_great_pickup else case.kind for case in cases)
    return CaseMix(great_pickups=counts.pop("great_pickup", 0), discrepancies=counts.pop(CaseKind.DISCREPANCY, 0),
                   near_misses=counts.pop(CaseKind.NEAR_MISS, 0), other=sum(counts.values()))


class CaseRuleError(ValueError):
    """A change the case's state does not allow, said so a person can act on it."""


def _strip(value):
    return value.strip() if isinstance(value, str) else value


# --- submission ---------------------------------------------------------------------------------

def store_upload(image: CheckedImage, caption: str, uploader: User, upload_token: str) -> CaseImage:
    """Keep a checked upload under the form's token until its case is saved."""
    stored = CaseImage(
        upload_token=upload_token, uploaded_by_id=uploader.id, kind=image.kind, content_type=image.content_type,
        width=image.width, height=image.height, byte_size=len(image.data), caption=caption.strip(),
        original=image.data,
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def pending_images(upload_token: str, uploader: User) -> list[CaseImage]:
    if not upload_token:
        return []
    query = select(CaseImage).where(
        CaseImage.upload_token == upload_token, CaseImage.uploaded_by_id == uploader.id, CaseImage.case_id.is_(None)
    )
    return list(db.session.scalars(query.order_by(CaseImage.id)))


def form_images(case: Case | None, upload_token: str, uploader: User) -> list[CaseImage]:
    """The images a submission form shows: the case's own, then uploads still waiting under its token."""
    return (case.images if case else []) + pending_images(upload_token, uploader)


def image_of(case: Case, image_id: int) -> CaseImage | None:
    """One of the case's own images; None for an image of another case."""
    return db.session.scalar(select(CaseImage).where(CaseImage.id == image_id, CaseImage.case_id == case.id))


def update_images(images: list[CaseImage], captions: dict[int, str], removed: set[int]) -> None:
    for image in images:
        if image.id in removed:
            db.session.delete(image)
        elif image.id in captions:
            image.caption = captions[image.id].strip()[:300]


def save_case(case: Case | None, submitter: User, data: dict, upload_token: str) -> Case:
    """Create a case, or save the submitter's edits (a case sent back for more information is resubmitted)."""
    creating = case is None
    if creating:
        case = Case(submitter_id=submitter.id, status=CaseStatus.SUBMITTED)
        identifiers = CaseIdentifiers(case=case)
        db.session.add_all([case, identifiers])
    elif case.is_regional:
        raise CaseRuleError("A regional case is the local meeting's case as presented: it cannot be edited")
    elif case.status not in (CaseStatus.SUBMITTED, CaseStatus.MORE_INFO):
        raise CaseRuleError("This case has been triaged; ask the chair to change it")
    else:
        identifiers = db.session.get(CaseIdentifiers, case.id)
    for field in CLINICAL_FIELDS:
        setattr(case, field, _strip(data[field]) or "")
    case.site_id = data["site_id"]
    for field in IDENTIFIER_FIELDS:
        setattr(identifiers, field, _strip(data[field]))
    identifiers.nhs_number = digits_only(data["nhs_number"])
    reporter_id = data["reporter_id"] or None
    identifiers.reporter_id = reporter_id
    if reporter_id:
        reporter = db.session.get(User, reporter_id)
        identifiers.reporter_name, identifiers.reporter_email = reporter.name, reporter.email
    else:
        identifiers.reporter_name = _strip(data["reporter_name"]) or ""
        identifiers.reporter_email = (_strip(data["reporter_email"]) or "").lower()
    resubmitted = case.status == CaseStatus.MORE_INFO
    case.status = CaseStatus.SUBMITTED
    db.session.flush()
    for position, image in enumerate(form_images(case, upload_token, submitter)):
        image.case_id, image.upload_token, image.position = case.id, None, position
    db.session.flush()
    db.session.expire(case, ["images"])
    audit.record("case.submitted" if creating else ("case.resubmitted" if resubmitted else "case.edited"), case)
    return case


def identifiers_refusal(case: Case | None) -> str | None:
    """Why a case's identifiers cannot be saved now (no identifier key, or not the one that sealed them
    when editing), in words for the submitter; None when they can."""
    try:
        identifier_key.required_keys(", so none can be saved")
        if case is not None:
            db.session.get(CaseIdentifiers, case.id).opened()
    except IdentifiersUnavailable as error:
        return str(error)
    return None


def cases_submitted_by(user: User) -> list[Case]:
    query = select(Case).where(Case.submitter_id == user.id).order_by(Case.created_at.desc())
    return list(db.session.scalars(query))


def load_identifiers(case: Case, viewer: User) -> CaseIdentifiers:
    """The case's identifiers, with an audit entry for this view. Callers have checked `can_see_case`."""
    identifiers = db.session.get(CaseIdentifiers, case.id)
    if identifiers.available:  # without the key nothing is shown, so nothing was viewed
        audit.record("case.identifiers_viewed", case, viewer=viewer.id)
    return identifiers


# --- triage -------------------------------------------------------------------------------------

def incoming_cases(chair: User) -> list[Case]:
    """Cases waiting for a decision, or accepted and not yet in a meeting: the chair's site's, and for a
    regional chair the network's forwarded cases (admins: every one)."""
    query = select(Case).where(Case.status.in_(OPEN_FOR_TRIAGE)).order_by(Case.created_at)
    if not chair.has_role(Role.ADMIN):
        mine = []
        if chair.has_role(Role.CHAIR):
            mine.append(and_(Case.site_id == chair.home_site_id, Case.forwarded_from_id.is_(None)))
        if chair.has_role(Role.REGIONAL_CHAIR):
            mine.append(Case.forwarded_from_id.is_not(None))
        query = query.where(or_(false(), *mine))
    return list(db.session.scalars(query))


def upcoming_meetings_for(case: Case) -> list[Meeting]:
    """Meetings a case could join, soonest first: its site's local meetings, or for a regional case the
    network's regional meetings. A local case reaches a regional meeting only by being forwarded, as an
    anonymised copy without identifiers."""
    place = (Meeting.scope == MeetingScope.REGIONAL if case.is_regional
             else and_(Meeting.scope == MeetingScope.LOCAL, Meeting.site_id == case.site_id))
    query = (
        select(Meeting)
        .where(Meeting.status.in_([MeetingStatus.SCHEDULED, MeetingStatus.LIVE]), Meeting.ends_at >= utcnow())
        .where(place)
        .order_by(Meeting.starts_at)
    )
    return list(db.session.scalars(query))


def _require_status(case: Case, *allowed: CaseStatus) -> None:
    if case.status not in allowed:
        raise CaseRuleError(f"This case is {case.status_label.lower()}; that cannot be done now")


def accept(case: Case, meeting: Meeting | None, pathway_stage: str | None = None) -> None:
    """Accept the case, into `meeting` or to schedule later, with the pathway stage the chair judged it
    reached (for the incident-system export)."""
    _require_status(case, CaseStatus.SUBMITTED, CaseStatus.ACCEPTED)
    case.triage_note, case.pathway_stage = "", pathway_stage
    if meeting is None:
        case.status = CaseStatus.ACCEPTED
        audit.record("case.accepted", case)
    else:
        schedule(case, meeting)


def decline(case: Case, reason: str) -> None:
    _require_status(case, CaseStatus.SUBMITTED, CaseStatus.ACCEPTED)
    case.status, case.triage_note = CaseStatus.DECLINED, reason.strip()
    audit.record("case.declined", case)


def ask_for_more_info(case: Case, message: str) -> None:
    if case.is_regional:
        # Its submitter would have to type the patient's details into a case other trusts' chairs see.
        raise CaseRuleError("A regional case cannot be sent back: ask the local chair directly, or decline it "
                            "with your reason")
    _require_status(case, CaseStatus.SUBMITTED, CaseStatus.ACCEPTED)
    case.status, case.triage_note = CaseStatus.MORE_INFO, message.strip()
    audit.record("case.more_info_requested", case)


# --- the meeting's queue ------------------------------------------------------------------------

def lock_queue(meeting: Meeting) -> None:
    """Serialise changes to one meeting's queue, so two chairs reordering at once cannot interleave."""
    db.session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


def queue(meeting: Meeting, *options) -> list[Case]:
    """The meeting's cases in running order; `options` are loader options for what the caller reads of each."""
    query = select(Case).where(Case.meeting_id == meeting.id).order_by(Case.queue_position, Case.id)
    return list(db.session.scalars(query.options(*options)))


def _renumber(cases: list[Case]) -> None:
    for position, case in enumerate(cases):
        case.queue_position = position


def schedule(case: Case, meeting: Meeting) -> None:
    lock_queue(meeting)
    last = db.session.scalar(select(func.max(Case.queue_position)).where(Case.meeting_id == meeting.id))
    case.meeting_id, case.queue_position = meeting.id, (last + 1 if last is not None else 0)
    case.status = CaseStatus.SCHEDULED
    db.session.flush()
    audit.record("case.scheduled", case, meeting=meeting.id)


def unschedule(case: Case) -> None:
    _require_status(case, CaseStatus.SCHEDULED)
    meeting = case.meeting
    lock_queue(meeting)
    case.meeting_id, case.queue_position, case.status = None, None, CaseStatus.ACCEPTED
    db.session.flush()
    _renumber(queue(meeting))
    audit.record("case.unscheduled", case, meeting=meeting.id)


def move(meeting: Meeting, case_id: int, offset: int) -> None:
    """Move one case up (-1) or down (+1), from the order as it is now in the database."""
    lock_queue(meeting)
    cases = queue(meeting)
    index = next((i for i, c in enumerate(cases) if c.id == case_id), None)
    if index is None:
        raise CaseRuleError("That case is no longer in this meeting's queue")
    target = min(max(index + offset, 0), len(cases) - 1)
    cases.insert(target, cases.pop(index))
    _renumber(cases)


def reorder(meeting: Meeting, case_ids: list[int]) -> None:
    """Put the queue in the order given (a drag and drop). Cases the sender did not know of keep their
    relative order after the ones it named, so a concurrent addition is never lost."""
    lock_queue(meeting)
    cases = queue(meeting)
    rank = {case_id: i for i, case_id in enumerate(case_ids)}
    cases.sort(key=lambda c: (rank.get(c.id, len(rank)), c.queue_position or 0))
    _renumber(cases)


def set_allowance(case: Case, minutes: int) -> None:
    case.allowance_minutes = minutes


def total_minutes(cases: list[Case]) -> int:
    return sum(c.allowance_minutes for c in cases)


# --- the reporter's notice ----------------------------------------------------------------------

def needs_reporter_notice(case: Case) -> bool:
    """A discrepancy's reporter is told before the meeting; a regional copy's was told by the local chair."""
    return case.kind == CaseKind.DISCREPANCY and case.meeting_id is not None and not case.is_regional


def send_reporter_notice(case: Case, text: str) -> None:
    """Email the reporter the (chair-edited) notice that their case will be discussed, and record it."""
    identifiers = db.session.get(CaseIdentifiers, case.id)
    if not identifiers.reporter_email:
        raise CaseRuleError("This case has no reporter email address; add one before sending the notice")
    message = mail.build_message(
        identifiers.reporter_email, "A case you reported will be discussed at a learning meeting",
        "email/reporter_notice", text=text.strip(),
    )
    mail.send(message)
    case.reporter_notice_text, case.reporter_notice_sent_at = text.strip(), utcnow()
    audit.record("case.reporter_notice_sent", case)
