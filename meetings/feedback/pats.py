"""Pats on the back: thanks from one colleague to another for a good report or a great pickup, by email and
on the recipient's page, private between the two of them.

A message is scrubbed before it is kept: thanks typed in a hurry name the patient. With a case attached, the
case's own identifiers come out too, and the case travels as the room saw it: its anonymised title and
learning points, frozen when sent. Services flush; views commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from meetings import audit
from meetings.anonymise.text import scrub_against
from meetings.cases import review
from meetings.extensions import db
from meetings.minutes.content import as_the_room_saw_it
from meetings.models import Case, CaseStatus, Meeting, MeetingStatus, Pat, PatReason, User, utcnow
from meetings.web import format_datetime

# The cases a pat may carry: those presented in the past year, at meetings the sender could see.
CASES_FROM = timedelta(days=366)
CASES_SHOWN = 60


@dataclass(frozen=True)
class CaseChoice:
    case_id: int
    label: str


def _presented_cases(sender: User) -> list[Case]:
    """Presented cases the sender could have seen in the room, newest meeting first, with everything the
    anonymiser reads loaded at once; the most recent CASES_SHOWN (an admin sees the whole network's)."""
    return list(db.session.scalars(
        select(Case).join(Meeting, Case.meeting_id == Meeting.id)
        .where(Case.status == CaseStatus.PRESENTED, Meeting.visible_to(sender), Meeting.status == MeetingStatus.ENDED,
               Meeting.starts_at >= utcnow() - CASES_FROM)
        .order_by(Meeting.starts_at.desc(), Case.queue_position).limit(CASES_SHOWN)
        .options(selectinload(Case.review), selectinload(Case.meeting), selectinload(Case.identifiers),
                 selectinload(Case.site), selectinload(Case.submitter), selectinload(Case.images))))


def case_choices(sender: User) -> list[CaseChoice]:
    """The cases a pat may carry, as the room named them."""
    cases = _presented_cases(sender)
    choices = []
    for case in cases:
        shown = as_the_room_saw_it(case)
        if shown is not None:
            when = format_datetime(case.meeting.starts_at, "%-d %b %Y")
            choices.append(CaseChoice(case.id, f"{case.meeting.title}, {when}: case {shown.number}, {shown.title}"))
    return choices


def scrubbed_message(message: str, case: Case | None, sender: User) -> str:
    """The message with anything that looks like a patient identifier taken out, and the identifiers of the
    cases it is most likely about: the one attached, those the sender submitted lately, and those they saw
    presented. A bare patient name has no shape to find; the record it came from does."""
    about = ([case] if case is not None else []) + _submitted_lately(sender) + _presented_cases(sender)
    return scrub_against(message.strip(), [review.choices_of(each) for each in dict.fromkeys(about)]).text


def _submitted_lately(sender: User) -> list[Case]:
    return list(db.session.scalars(
        select(Case).where(Case.submitter_id == sender.id, Case.created_at >= utcnow() - CASES_FROM)
        .options(selectinload(Case.review), selectinload(Case.identifiers), selectinload(Case.site),
                 selectinload(Case.submitter))))


def send(sender: User, recipient: User, reason: str, message: str, case: Case | None) -> Pat:
    """Keep the pat; the caller queues its email. The message must already be as `scrubbed_message` leaves it."""
    shown = as_the_room_saw_it(case) if case is not None else None
    pat = Pat(sender_id=sender.id, recipient_id=recipient.id, reason=PatReason(reason), message=message.strip(),
              case_id=case.id if case is not None else None, sent_at=utcnow(),
              case_title=shown.title if shown else "", case_learning=shown.learning_points if shown else "")
    db.session.add(pat)
    db.session.flush()
    audit.record("pat.sent", pat, to=recipient.id, case=pat.case_id)
    return pat


def received_by(user: User) -> list[Pat]:
    return list(db.session.scalars(select(Pat).where(Pat.recipient_id == user.id).order_by(Pat.sent_at.desc())
                                   .options(selectinload(Pat.sender))))


def sent_by(user: User) -> list[Pat]:
    return list(db.session.scalars(select(Pat).where(Pat.sender_id == user.id).order_by(Pat.sent_at.desc())
                                   .options(selectinload(Pat.recipient))))


def show(pat: Pat, viewer: User) -> None:
    """A pat opened by its recipient or its sender: audited, and read once the recipient has seen it."""
    if viewer.id == pat.recipient_id and pat.read_at is None:
        pat.read_at = utcnow()
    audit.record("pat.viewed", pat, by=viewer.id)


def keep(pat: Pat, kept: bool) -> None:
    pat.kept = kept
    audit.record("pat.kept" if kept else "pat.unkept", pat)


def kept_by(user: User) -> list[Pat]:
    """The pats the person kept for appraisal, oldest first: for their CPD record, a year at a time."""
    return list(db.session.scalars(select(Pat).where(Pat.recipient_id == user.id, Pat.kept).order_by(Pat.sent_at)
                                   .options(selectinload(Pat.sender))))
