"""The case library: every presented case, as the room saw it, to search and teach from.

Entries are written from the AnonymisedCase when a meeting ends and again when its learning is edited
(`record`); searching and showing read only the entries, never a case's own texts. An entry lives only as
long as the anonymisation it was made from is current: any change that makes the chair review the case
again (its texts, identifiers, captions or redaction boxes) withdraws it, and approval puts it back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort
from sqlalchemy import Select, event, extract, func, inspect, select
from sqlalchemy.orm import Session, contains_eager

from meetings import identifier_key
from meetings.anonymise.case import REVIEWED_FIELDS
from meetings.extensions import db
from meetings.models import (
    Case, CaseIdentifiers, CaseImage, CaseKind, CaseStatus, DiscrepancyType, LibraryEntry, Meeting, MeetingStatus,
    Modality, User,
)
from meetings.web import local_time

PAGE_SIZE = 20
SEARCHED_FIELDS = ("title", "body_region", "clinical_question", "report_text", "outcome_text", "discussion_notes",
                   "learning_points")


def record(case: Case) -> LibraryEntry | None:
    """Put a presented case of an ended meeting in the library, or bring its entry up to date; None while
    it is not in the library (its anonymisation is to be reviewed again, or its meeting has not ended)."""
    # Imported here: the minutes import this module to keep the library up to date.
    from meetings.cases.review import known_or_none
    from meetings.minutes.content import as_the_room_saw_it

    meeting = case.meeting
    if case.status != CaseStatus.PRESENTED or meeting is None or meeting.status != MeetingStatus.ENDED:
        return None
    if known_or_none(case) is None:
        # Its notes cannot be checked without the identifier key: it leaves the library (an entry as it was
        # could be out of date) until `flask --app app rebuild-library` runs with the key back.
        entry = db.session.get(LibraryEntry, case.id)
        if entry is not None:
            db.session.delete(entry)
        return None
    seen = as_the_room_saw_it(case)
    if seen is None:
        return None
    entry = db.session.get(LibraryEntry, case.id)
    if entry is None:
        entry = LibraryEntry(case_id=case.id)
        db.session.add(entry)
    entry.meeting_id = meeting.id
    entry.presented_on = local_time(meeting.starts_at).date()
    entry.kind, entry.modality = case.kind, case.modality
    entry.discrepancy_type, entry.great_pickup = case.discrepancy_type, case.is_great_pickup
    entry.title, entry.body_region = seen.title, seen.body_region
    entry.clinical_question, entry.report_text, entry.outcome_text = (
        seen.clinical_question, seen.report_text, seen.outcome_text)
    entry.discussion_notes, entry.learning_points = seen.discussion_notes, seen.learning_points
    entry.images = [[image.id, seen_image.caption] for image, seen_image in zip(case.images, seen.images)]
    entry.search_text = search_text(entry)
    return entry


def search_text(entry: LibraryEntry) -> str:
    return "\n".join(getattr(entry, field) or "" for field in SEARCHED_FIELDS).lower()


def record_meeting(meeting: Meeting) -> int:
    """Every presented case of an ended meeting; the number recorded."""
    from meetings.minutes.content import queued_cases

    return sum(1 for case in queued_cases(meeting) if record(case) is not None)


def rebuild() -> int:
    """Record every presented case of every ended meeting: once after upgrading, after a bulk import, or
    after a time without the identifier key (it refuses to run without it)."""
    identifier_key.required_keys()
    meetings = db.session.scalars(select(Meeting).where(Meeting.status == MeetingStatus.ENDED)).all()
    return sum(record_meeting(meeting) for meeting in meetings)


# Which changes make a case's approved anonymisation out of date (see `meetings.cases.review.fingerprint`).
_REVIEWED = {Case: (*REVIEWED_FIELDS, "site_id"), CaseImage: ("case_id", "caption", "redaction_boxes"),
             CaseIdentifiers: CaseIdentifiers.identifying_fields()}


def _case_changed(target) -> int | None:
    """The case whose reviewed content `target`'s pending changes alter, if any."""
    fields = _REVIEWED.get(type(target))
    if fields is None:
        return None
    state = inspect(target)
    if state.pending or state.deleted or any(state.attrs[field].history.has_changes() for field in fields):
        return target.id if isinstance(target, Case) else target.case_id
    return None


@event.listens_for(Session, "before_flush")
def _withdraw_changed_cases(session: Session, flush_context, instances) -> None:
    """Take a case out of the library the moment it no longer matches what the chair approved, whoever
    changed it and from wherever: a search must never find, nor a page show, unapproved text or pixels."""
    changed = {case_id for target in (*session.dirty, *session.new, *session.deleted)
               if (case_id := _case_changed(target)) is not None}
    if not changed:
        return
    with session.no_autoflush:
        for entry in session.scalars(select(LibraryEntry).where(LibraryEntry.case_id.in_(changed))):
            session.delete(entry)


# --- searching ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """The library's search and filters, read from a query string; anything not understood is left out."""

    q: str = ""
    modality: str = ""
    body_region: str = ""
    kind: str = ""
    discrepancy_type: str = ""
    year: int | None = None

    @classmethod
    def from_args(cls, args) -> Filters:
        def one_of(name: str, allowed) -> str:
            value = args.get(name, "")
            return value if value in {member.value for member in allowed} else ""

        year = args.get("year", "").strip()
        return cls(
            q=" ".join(args.get("q", "").split())[:200], modality=one_of("modality", Modality),
            body_region=" ".join(args.get("body_region", "").lower().split())[:100],
            kind=one_of("kind", CaseKind), discrepancy_type=one_of("discrepancy_type", DiscrepancyType),
            year=int(year) if year.isascii() and year.isdigit() and len(year) == 4 else None,
        )

    def as_args(self) -> dict:
        args = {"q": self.q, "modality": self.modality, "body_region": self.body_region, "kind": self.kind,
                "discrepancy_type": self.discrepancy_type, "year": self.year}
        return {key: value for key, value in args.items() if value}

    @property
    def narrowed(self) -> bool:
        return self != Filters()


def visible(user: User) -> Select:
    """Entries from the meetings the person sees: their site's and the network's regional ones."""
    return (select(LibraryEntry).join(LibraryEntry.meeting).options(contains_eager(LibraryEntry.meeting))
            .where(Meeting.visible_to(user)))


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(user: User, filters: Filters) -> Select:
    """Every word searched for must appear somewhere in the entry's texts; newest first."""
    query = visible(user)
    for word in filters.q.lower().split()[:10]:
        query = query.where(LibraryEntry.search_text.like(_like(word), escape="\\"))
    if filters.modality:
        query = query.where(LibraryEntry.modality == filters.modality)
    if filters.body_region:
        query = query.where(func.lower(LibraryEntry.body_region) == filters.body_region)
    if filters.kind:
        query = query.where(LibraryEntry.kind == filters.kind)
    if filters.discrepancy_type:
        query = query.where(LibraryEntry.discrepancy_type == filters.discrepancy_type)
    if filters.year:
        query = query.where(LibraryEntry.presented_on >= date(filters.year, 1, 1),
                            LibraryEntry.presented_on <= date(filters.year, 12, 31))
    return query.order_by(LibraryEntry.presented_on.desc(), LibraryEntry.case_id.desc())


def search_page(user: User, filters: Filters, page: int):
    return db.paginate(search(user, filters), page=page, per_page=PAGE_SIZE, error_out=False)


@dataclass(frozen=True)
class FilterChoices:
    body_regions: tuple[str, ...]
    years: tuple[int, ...]


def filter_choices(user: User) -> FilterChoices:
    """The body regions and years there are entries for, so a filter never offers an empty shelf."""
    seen = visible(user).subquery()
    region = func.lower(seen.c.body_region)
    regions = db.session.scalars(select(region).where(seen.c.body_region != "").distinct().order_by(region)
                                 .limit(200)).all()
    year = extract("year", seen.c.presented_on)
    years = db.session.scalars(select(year).distinct().order_by(year.desc())).all()
    return FilterChoices(tuple(regions), tuple(int(year) for year in years))


def entry_or_404(user: User, case_id: int) -> LibraryEntry:
    entry = db.session.scalar(visible(user).where(LibraryEntry.case_id == case_id))
    if entry is None:
        abort(404)
    return entry
