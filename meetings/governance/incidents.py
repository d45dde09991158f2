"""The incident-system export: a period's discrepancy cases as CSV, for a local incident system (such as
Datix) and UKHSA's Medical Exposures Group, without identifiers.

Rows are drawn from the case library, so every text is the anonymised one the room saw; the categories
(pathway stage, significance) come from the case. The export carries learning outwards; it does not make
the meeting part of an incident investigation, so it names no reporter, patient or person present.
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from meetings.extensions import db
from meetings.governance.period import Period
from meetings.models import (
    CameToLight, Case, CaseKind, ClinicalSignificance, DiscrepancyType, LibraryEntry, Meeting, MeetingScope,
    Modality, PathwayStage, Site,
)

INCIDENT_KINDS = tuple(kind for kind in CaseKind if kind.is_incident)

HEADER = (
    "Lightbox reference", "Date discussed", "Site", "Kind", "Pathway stage", "Modality", "Body region",
    "Discrepancy type", "Clinical significance", "How it came to light", "Description", "Learning points",
)


def _label(enum, value: str | None) -> str:
    return enum(value).label if value else ""


def rows(site: Site, period: Period) -> Iterator[list]:
    """The site's incident cases presented at its own meetings in the period, oldest first. Regional
    copies are left out: their local case is the site's row."""
    query = (
        select(LibraryEntry, Case.pathway_stage, Case.clinical_significance, Case.came_to_light)
        .join(Case, LibraryEntry.case_id == Case.id).join(Meeting, LibraryEntry.meeting_id == Meeting.id)
        .where(Meeting.scope == MeetingScope.LOCAL, Meeting.site_id == site.id,
               LibraryEntry.kind.in_(INCIDENT_KINDS),
               LibraryEntry.presented_on >= period.start, LibraryEntry.presented_on <= period.end)
        .order_by(LibraryEntry.presented_on, LibraryEntry.case_id)
    )
    for entry, stage, significance, came_to_light in db.session.execute(query):
        description = "\n".join(text for text in (entry.clinical_question, entry.outcome_text) if text.strip())
        yield [
            f"C{entry.case_id}", entry.presented_on.isoformat(), site.name, CaseKind(entry.kind).label,
            _label(PathwayStage, stage), Modality(entry.modality).label, entry.body_region,
            _label(DiscrepancyType, entry.discrepancy_type), _label(ClinicalSignificance, significance),
            _label(CameToLight, came_to_light), description, entry.learning_points,
        ]


def filename(site: Site, period: Period) -> str:
    return f"incidents-{site.code.lower()}-{period.slug}.csv"
