"""The annual learning report: a site's year as a PDF for its governance committee.

The scorecard and its charts, the themes of the year's learning (from the case library, so anonymised as
the room saw it) and the status of every action agreed at the site's meetings (as the minutes list them,
scrubbed again). No person is named: the per-person figures stay on the governance page.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from meetings.actions.service import applies_to
from meetings.extensions import db
from meetings.governance import figures, scorecard
from meetings.governance.period import Period
from meetings.minutes.content import ActionRow, action_rows, queued_cases
from meetings.models import (
    Action, CaseKind, DiscrepancyType, LibraryEntry, Meeting, MeetingScope, MeetingStatus, Site,
)
from meetings.pdf import render_pdf


@dataclass(frozen=True)
class Lesson:
    title: str
    presented_on: date
    learning_points: str


@dataclass(frozen=True)
class Theme:
    label: str
    count: int
    lessons: tuple[Lesson, ...]


@dataclass(frozen=True)
class MeetingActions:
    title: str
    starts_at: datetime
    actions: tuple[ActionRow, ...]


def _theme_of(entry: LibraryEntry) -> str:
    if entry.discrepancy_type and entry.kind in (CaseKind.DISCREPANCY, CaseKind.NEAR_MISS):
        return DiscrepancyType(entry.discrepancy_type).label
    if entry.great_pickup:
        return CaseKind.GREAT_PICKUP.label
    return CaseKind(entry.kind).label


def themes(site: Site, period: Period) -> tuple[Theme, ...]:
    """The year's cases grouped by what went wrong (or right), largest group first, each with the
    learning points the room agreed."""
    entries = db.session.scalars(
        select(LibraryEntry).join(Meeting, LibraryEntry.meeting_id == Meeting.id)
        .where(Meeting.scope == MeetingScope.LOCAL, Meeting.site_id == site.id,
               LibraryEntry.presented_on >= period.start, LibraryEntry.presented_on <= period.end)
        .order_by(LibraryEntry.presented_on, LibraryEntry.case_id)).all()
    grouped: dict[str, list[LibraryEntry]] = {}
    for entry in entries:
        grouped.setdefault(_theme_of(entry), []).append(entry)
    return tuple(
        Theme(label, len(members), tuple(Lesson(entry.title, entry.presented_on, entry.learning_points.strip())
                                         for entry in members if entry.learning_points.strip()))
        for label, members in sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0])))


def meeting_actions(site: Site, period: Period) -> tuple[MeetingActions, ...]:
    """The actions of the site's meetings in the period, and of the regional meetings its own copies of
    network actions came from (with the copy's reference and status: the site's part)."""
    meetings = db.session.scalars(
        select(Meeting).where(or_(and_(Meeting.scope == MeetingScope.LOCAL, Meeting.site_id == site.id),
                                  Meeting.scope == MeetingScope.REGIONAL),
                              Meeting.status == MeetingStatus.ENDED, Meeting.starts_at >= period.starts_at,
                              Meeting.starts_at < period.ends_before).order_by(Meeting.starts_at)).all()
    listed = []
    for meeting in meetings:
        rows = action_rows(meeting, queued_cases(meeting))
        if meeting.scope == MeetingScope.REGIONAL:
            network = aliased(Action)
            copies = {f"A{copy.network_action_id}": copy for copy in db.session.scalars(
                select(Action).join(network, Action.network_action_id == network.id)
                .where(network.meeting_id == meeting.id, applies_to(site.id)))}
            for_site = {f"A{action_id}" for action_id in db.session.scalars(select(Action.id).where(
                Action.meeting_id == meeting.id, Action.per_site.is_(False), applies_to(site.id)))}
            rows = tuple(replace(row, reference=copies[row.reference].reference,
                                 status=copies[row.reference].status_label) if row.reference in copies else row
                         for row in rows if row.reference in copies or row.reference in for_site)
        if rows:
            listed.append(MeetingActions(meeting.title, meeting.starts_at, rows))
    return tuple(listed)


def annual_report(site: Site, year: int, today: date) -> bytes:
    period = Period.year(year)
    card = scorecard.for_site(site, period, today)
    return render_pdf(
        "annual_report.html", f"{site.name}: learning from REAL meetings in {year}",
        site=site, year=year, card=card, figures=figures.all_figures(card), themes=themes(site, period),
        meeting_actions=meeting_actions(site, period), percent=figures.percent, today=today,
    )


def filename(site: Site, year: int) -> str:
    return f"annual-learning-report-{site.code.lower()}-{year}.pdf"
