"""Confidential feedback to the reporter of a presented case: composed from the case as the room saw it,
sent by the chair, acknowledged and reflected on by the reporter alone.

Who received feedback is known to the chair who sent it and to the reporter; the chair sees whether it was
acknowledged, never the reflection. Where the reporter works at another site of the network, that site's
chairs are told that feedback was given, not what it said nor to whom. Services flush; views commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from meetings import audit
from meetings.anonymise.text import scrub_against
from meetings.cases import review
from meetings.extensions import db
from meetings.feedback import links
from meetings.minutes.content import section_of
from meetings.models import Case, CaseStatus, Feedback, Meeting, MeetingStatus, Pat, Role, Site, User, UserRole, utcnow
from meetings.web import format_datetime


class FeedbackError(ValueError):
    """Feedback that cannot be sent as asked; the message tells the chair what to do."""


def ready_to_send(case: Case) -> str | None:
    """Why this case's feedback cannot go yet, or None when it can."""
    if case.is_regional:
        return "A regional case holds no reporter: feedback goes from the local meeting it was forwarded from"
    if case.status != CaseStatus.PRESENTED:
        return "The case has not been presented yet"
    if case.meeting.status != MeetingStatus.ENDED:
        return "Feedback goes once the meeting has ended, so that it carries the learning the meeting agreed"
    if review.state_of(case) is not review.ReviewState.REVIEWED:
        return "The case changed since its anonymisation was approved: review it again first"
    if not review.identifiers_of(case).reporter_email:
        return "The case has no reporter email address: add one to the case first"
    return None


def content_of(case: Case, meeting: Meeting, message: str) -> dict:
    """What the reporter is told, as plain texts: the anonymised case, the discussion summary and learning
    points as the minutes carry them, and the outcome. The chair's message is scrubbed like every note."""
    section = section_of(case, meeting)
    shown = section.case
    return {
        "title": shown.title, "kind": shown.kind_label, "modality": shown.modality,
        "clinical_question": shown.clinical_question, "report_text": shown.report_text,
        "outcome_text": shown.outcome_text, "summary": section.summary, "discussion": section.discussion,
        "learning_points": section.learning_points, "discrepancy": section.discrepancy,
        "significance": section.significance, "great_pickup": case.is_great_pickup,
        "message": review.meeting_text(message.strip(), meeting, case),
        "meeting": meeting.title, "meeting_date": format_datetime(meeting.starts_at, "%-d %B %Y"),
    }


@dataclass(frozen=True)
class Reporter:
    """Where a case's feedback goes. Read from the case's identifiers: the caller audits the view."""

    user: User | None
    name: str
    email: str

    @property
    def home_site(self) -> Site | None:
        return self.user.home_site if self.user is not None else None


def reporter_of(case: Case) -> Reporter:
    ids = review.identifiers_of(case)
    user = db.session.get(User, ids.reporter_id) if ids.reporter_id else None
    if user is not None and not user.active:
        user = None  # a closed account cannot sign in to read it: the link reaches them instead
    return Reporter(user, ids.reporter_name, (user.email if user else ids.reporter_email).strip().lower())


def home_site_choices(case: Case) -> list[Site]:
    """The network's other sites, any of which may be the reporter's home."""
    return list(db.session.scalars(select(Site).where(Site.active, Site.id != case.site_id).order_by(Site.name)))


def suggested_home_site(case: Case, reporter: Reporter) -> Site | None:
    site = reporter.home_site
    return site if site is not None and site.id != case.site_id else None


def feedback_of(case: Case) -> Feedback | None:
    return db.session.scalar(select(Feedback).where(Feedback.case_id == case.id))


def send(case: Case, meeting: Meeting, chair: User, reporter: Reporter, message: str,
         home_site_id: int | None) -> Feedback:
    """Freeze the feedback to `reporter` (as `reporter_of` gave it) and record it; the caller queues its emails
    (`emails.queue_for`)."""
    problem = ready_to_send(case)
    if problem:
        raise FeedbackError(problem)
    if feedback_of(case) is not None:
        raise FeedbackError("Feedback on this case has been sent already")
    if home_site_id:
        site = next((site for site in home_site_choices(case) if site.id == home_site_id), None)
        if site is None:
            raise FeedbackError("Choose one of the network's other sites, or none")
        if not home_site_chairs(site):
            raise FeedbackError(f"{site.name} has no chair in Lightbox to tell: choose “No”")
    now = utcnow()
    feedback = Feedback(
        case_id=case.id, meeting_id=meeting.id, recipient_id=reporter.user.id if reporter.user else None,
        recipient_name=reporter.name, recipient_email=reporter.email, content=content_of(case, meeting, message),
        sent_by_id=chair.id, sent_at=now, home_site_id=home_site_id or None,
    )
    if feedback.by_link:
        renew_link(feedback, now)
    db.session.add(feedback)
    db.session.flush()
    audit.record("feedback.sent", feedback, case=case.id, by_link=feedback.by_link,
                 home_site_told=feedback.home_site_id)
    return feedback


def renew_link(feedback: Feedback, now: datetime | None = None) -> None:
    """A fresh link for a reporter without an account: every earlier link stops working."""
    if feedback.link_nonce is not None:
        audit.record("feedback.link_renewed", feedback)
    feedback.link_nonce = links.new_nonce()
    feedback.link_expires_at = (now or utcnow()) + timedelta(days=current_app.config["FEEDBACK_LINK_DAYS"])
    feedback.link_device = None


def home_site_chairs(site: Site) -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.active, User.home_site_id == site.id, User.role_rows.any(UserRole.role == Role.CHAIR)).order_by(User.id)))


def sent_for(meeting: Meeting) -> dict[int, Feedback]:
    """The meeting's feedback by case id."""
    return {f.case_id: f for f in db.session.scalars(select(Feedback).where(Feedback.meeting_id == meeting.id))}


def received_by(user: User) -> list[Feedback]:
    return list(db.session.scalars(select(Feedback).where(Feedback.recipient_id == user.id)
                                   .order_by(Feedback.sent_at.desc())))


def waiting_for(user: User) -> int:
    """Feedback and pats the person has not yet opened or acknowledged, for their home page."""
    feedback = db.session.scalar(select(func.count()).select_from(Feedback).where(
        Feedback.recipient_id == user.id, Feedback.acknowledged_at.is_(None)))
    pats = db.session.scalar(select(func.count()).select_from(Pat).where(
        Pat.recipient_id == user.id, Pat.read_at.is_(None)))
    return feedback + pats


def show(feedback: Feedback, via: str) -> None:
    """The reporter opened their feedback: every view is audited."""
    audit.record("feedback.viewed", feedback, via=via)


def acknowledge(feedback: Feedback) -> None:
    if feedback.acknowledged_at is None:
        feedback.acknowledged_at = utcnow()
        audit.record("feedback.acknowledged", feedback)


def scrubbed_reflection(feedback: Feedback, text: str) -> str:
    """A reflection is appraisal evidence, which must not identify patients: the case's identifiers and
    anything shaped like one come out. The reporter sees the result before it is kept."""
    return scrub_against(text.strip(), [review.choices_of(feedback.case)]).text


def reflect(feedback: Feedback, text: str, minutes: int) -> None:
    """Keep the reporter's private reflection (as `scrubbed_reflection` left it); writing one acknowledges
    the feedback."""
    acknowledge(feedback)
    feedback.reflection, feedback.reflection_minutes, feedback.reflected_at = text.strip(), minutes, utcnow()
    audit.record("feedback.reflection_saved", feedback)  # that it was written, never what


def reflected_on_by(user: User) -> list[Feedback]:
    """The person's feedback with a reflection, oldest first: for their CPD record, a year at a time."""
    return list(db.session.scalars(select(Feedback).where(
        Feedback.recipient_id == user.id, Feedback.reflection != "").order_by(Feedback.sent_at)))

