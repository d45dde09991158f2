"""What the minutes say, assembled from what the meeting recorded: nothing is typed twice.

Every case reaches the minutes as the AnonymisedCase the room saw. Every text typed about the cases (the
chair's summaries, any other business, actions) is scrubbed again each time the minutes are drawn, with the
identifiers and the chair's choices as they are now: a patient's name corrected after a summary was saved is
still taken out. The PDF template and the chair's page render a MinutesContent, never an ORM case.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from meetings.actions import service as actions
from meetings.anonymise.case import AnonymisedCase
from meetings.cases import review
from meetings.cases import service as cases
from meetings.extensions import db
from meetings.live.slides import PollView, poll_view
from meetings.models import (
    Action, Attendance, AttendanceStatus, Case, CaseStatus, ClinicalSignificance, DiscrepancyType, Meeting,
    MeetingScope, MeetingStatus, Minutes, MinutesVersion, Modality, Poll, Profession,
)
from meetings.register import service as register
from meetings.web import format_datetime


@dataclass(frozen=True)
class CaseSection:
    """One presented case in the minutes. `case` is None while its anonymisation needs the chair's review
    again (it changed after approval): the PDF then holds it out, and the minutes cannot be published; the
    chair can still edit its texts, which are scrubbed as always."""

    case_id: int
    number: int
    case: AnonymisedCase | None
    modality: str
    summary: str
    discussion: str
    learning_points: str
    discrepancy: str
    significance: str
    polls: tuple[PollView, ...]
    kind: str
    is_great_pickup: bool

    @property
    def heading(self) -> str:
        title = self.case.title if self.case else f"{self.modality}, anonymisation to be reviewed again"
        return f"Case {self.number}: {title}"


@dataclass(frozen=True)
class ActionRow:
    reference: str
    description: str
    source: str
    owner: str
    sites: str
    due_on: date
    status: str


@dataclass(frozen=True)
class ProfessionGroup:
    label: str
    count: int
    # Who was there, or empty when the site's minutes count people without naming them.
    names: tuple[str, ...]


@dataclass(frozen=True)
class AttendanceSummary:
    present: int
    by_profession: tuple[ProfessionGroup, ...]
    names_listed: bool
    apologies: tuple[str, ...]
    apologies_count: int
    # Regional meetings say how many sites were there, never which.
    sites_represented: int | None


@dataclass(frozen=True)
class MinutesContent:
    meeting: Meeting
    minutes: Minutes
    attendance: AttendanceSummary
    sections: tuple[CaseSection, ...]
    not_reached: int
    actions: tuple[ActionRow, ...]
    other_business: str
    next_meeting: Meeting | None

    @property
    def case_mix(self) -> cases.CaseMix:
        return cases.case_mix(self.sections)

    @property
    def needs_review(self) -> tuple[CaseSection, ...]:
        return tuple(section for section in self.sections if section.case is None)

    @property
    def learning(self) -> list[dict]:
        """The learning points as the bulletin carries them."""
        return [{"title": section.heading, "points": section.learning_points}
                for section in self.sections if section.case is not None and section.learning_points.strip()]


def default_summary(case: AnonymisedCase) -> str:
    """The summary the chair starts from: the question asked and what was found later, as the room saw them."""
    return "\n".join(text for text in (case.clinical_question.strip(), case.outcome_text.strip()) if text)


def as_the_room_saw_it(case: Case) -> AnonymisedCase | None:
    """The case as approved for the room, or None while its review is not current."""
    try:
        return review.anonymised_case(case, lambda image_id: "")
    except review.NotReviewed:
        return None


def _section(case: Case, meeting: Meeting, polls: list[Poll]) -> CaseSection:
    anonymised = as_the_room_saw_it(case)

    def scrubbed(text: str) -> str:
        return review.meeting_text(text, meeting, case)

    if case.minutes_summary is not None:
        summary = scrubbed(case.minutes_summary)
    else:
        summary = default_summary(anonymised) if anonymised else ""
    return CaseSection(
        # Numbered as in the queue, as the room and the actions' "Case 3" know them.
        case_id=case.id, number=(case.queue_position or 0) + 1, case=anonymised,
        modality=Modality(case.modality).label, summary=summary,
        discussion=anonymised.discussion_notes if anonymised else scrubbed(case.discussion_notes),
        learning_points=anonymised.learning_points if anonymised else scrubbed(case.learning_points),
        discrepancy=DiscrepancyType(case.discrepancy_type).label if case.discrepancy_type else "",
        significance=ClinicalSignificance(case.clinical_significance).label if case.clinical_significance else "",
        polls=tuple(poll_view(poll) for poll in polls) if anonymised else (),
        kind=case.kind, is_great_pickup=case.is_great_pickup,
    )


def action_rows(meeting: Meeting, queued: list[Case]) -> tuple[ActionRow, ...]:
    """The meeting's actions, their descriptions scrubbed again with the records as they now are.

    An action about the whole meeting is scrubbed against every case; that is needed only if some case's
    record or choices were approved after the action was written (it was scrubbed against them when it
    was), and skipping it keeps a long meeting's minutes quick to draw.
    """
    approvals = [case.review.reviewed_at for case in queued if case.review is not None and case.review.reviewed_at]
    last_approval = max(approvals, default=None)

    def description(action: Action) -> str:
        if action.case is None and (last_approval is None or last_approval <= action.created_at):
            return action.description
        return review.meeting_text(action.description, meeting, action.case, queued)

    return tuple(ActionRow(
        reference=action.reference, description=description(action), source=actions.source_label(action),
        owner=action.owner_display, sites=action.sites_label, due_on=action.due_on, status=action.status_label,
    ) for action in actions.meeting_actions(meeting))


def pdf_filename(meeting: Meeting, version: MinutesVersion | None) -> str:
    day = format_datetime(meeting.starts_at, "%Y-%m-%d")
    return f"minutes-{day}-v{version.number}.pdf" if version else f"minutes-{day}-draft.pdf"


def queued_cases(meeting: Meeting) -> list[Case]:
    """The meeting's queue, with everything the anonymiser reads of each case loaded for all at once."""
    return cases.queue(meeting, selectinload(Case.review), selectinload(Case.identifiers),
                       selectinload(Case.submitter), selectinload(Case.images))


def attendance_summary(meeting: Meeting) -> AttendanceSummary:
    entries = register.entries(meeting)
    present = [entry for entry in entries if entry.status == AttendanceStatus.PRESENT]
    apologies = [entry.name for entry in entries if entry.status == AttendanceStatus.APOLOGIES]
    regional = meeting.scope == MeetingScope.REGIONAL
    names_listed = regional or meeting.site is None or meeting.site.minutes_list_names
    names: dict[str, list[str]] = {}
    for entry in present:
        names.setdefault(entry.profession, []).append(entry.name)
    return AttendanceSummary(
        present=len(present),
        by_profession=tuple(ProfessionGroup(Profession(key).label, len(names[key]),
                                            tuple(names[key]) if names_listed else ())
                            for key in Profession if key in names),
        names_listed=names_listed, apologies=tuple(apologies) if names_listed else (), apologies_count=len(apologies),
        sites_represented=len({_site_key(entry) for entry in present}) if regional else None,
    )


def _site_key(entry: Attendance) -> str:
    return " ".join(entry.site_name.lower().split())


def next_meeting(meeting: Meeting) -> Meeting | None:
    """The next meeting of the same site (or of the network, for a regional one) that is not cancelled."""
    same_place = (Meeting.scope == MeetingScope.REGIONAL if meeting.scope == MeetingScope.REGIONAL
                  else Meeting.site_id == meeting.site_id)
    return db.session.scalar(
        select(Meeting).where(same_place, Meeting.starts_at > meeting.starts_at,
                              Meeting.status != MeetingStatus.CANCELLED)
        .order_by(Meeting.starts_at).limit(1))


def _polls(*where) -> list[Poll]:
    return list(db.session.scalars(select(Poll).where(*where).order_by(Poll.id).options(selectinload(Poll.votes))))


def section_of(case: Case, meeting: Meeting) -> CaseSection:
    """One case's section alone, as `assemble` draws it: for answering the chair's save of that section."""
    return _section(case, meeting, _polls(Poll.meeting_id == meeting.id, Poll.case_id == case.id))


def assemble(meeting: Meeting, minutes: Minutes) -> MinutesContent:
    queued = queued_cases(meeting)
    presented = [case for case in queued if case.status == CaseStatus.PRESENTED]
    polls_by_case: dict[int, list[Poll]] = {}
    for poll in _polls(Poll.meeting_id == meeting.id):
        polls_by_case.setdefault(poll.case_id, []).append(poll)
    return MinutesContent(
        meeting=meeting, minutes=minutes, attendance=attendance_summary(meeting),
        sections=tuple(_section(case, meeting, polls_by_case.get(case.id, [])) for case in presented),
        not_reached=len(queued) - len(presented), actions=action_rows(meeting, queued),
        other_business=review.meeting_text(minutes.any_other_business, meeting, None, queued),
        next_meeting=next_meeting(meeting),
    )
