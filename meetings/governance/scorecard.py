"""Scorecards: how a site, or the whole network, is doing against the Royal College of Radiologists'
expectations of REAL meetings, over a chosen period.

Counts come from a handful of aggregate queries whatever the period's size, so five years of a ten-site
network draws as quickly as a month. Nothing here reads a case's text: the figures are counts of meetings,
signatures, cases by category and actions.
"""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select, true, union

from meetings.actions.service import applies_to
from meetings.extensions import db
from meetings.governance.period import (
    ATTENDANCE_TARGET, CASES_PER_REPORTER_PER_YEAR, MEETINGS_PER_YEAR, Period,
)
from meetings.models import (
    Action, ActionSite, ActionStatus, Attendance, AttendanceStatus, Case, CaseKind, CaseStatus, DiscrepancyType, Meeting,
    MeetingScope, MeetingStatus, Modality, Profession, Site, User,
)
from meetings.schedule.service import at_local

# Who the College's expectations are about: everyone who reports images.
REPORTING_PROFESSIONS = (
    Profession.CONSULTANT_RADIOLOGIST, Profession.TRAINEE_RADIOLOGIST, Profession.REPORTING_RADIOGRAPHER,
)
NOT_CLASSIFIED = "Not classified"


@dataclass(frozen=True)
class Count:
    label: str
    count: int


@dataclass(frozen=True)
class MeetingAttendance:
    meeting_id: int
    title: str
    starts_at: datetime
    site_id: int | None
    present: int
    reporters_present: int
    # Reporting staff who had an account by the meeting: the denominator of its attendance rate.
    reporters: int

    @property
    def rate(self) -> float | None:
        return self.reporters_present / self.reporters if self.reporters else None

    @property
    def meets_target(self) -> bool:
        return self.rate is not None and self.rate >= ATTENDANCE_TARGET


@dataclass(frozen=True)
class PersonFigures:
    """One reporter's part in the period: shown to themselves and to their site's chairs, never ranked."""

    user_id: int
    name: str
    profession: str
    meetings_attended: int
    meetings_held: int
    cases_submitted: int
    cases_expected: int

    @property
    def attendance_rate(self) -> float | None:
        return self.meetings_attended / self.meetings_held if self.meetings_held else None

    @property
    def meets_attendance(self) -> bool:
        return self.attendance_rate is not None and self.attendance_rate >= ATTENDANCE_TARGET

    @property
    def meets_cases(self) -> bool:
        return self.cases_submitted >= self.cases_expected


@dataclass(frozen=True)
class ActionFigures:
    opened: int
    closed: int
    overdue: int
    median_days_to_close: float | None
    as_of: date


@dataclass(frozen=True)
class SiteRow:
    """A site's headline figures on the network scorecard: meetings and attendance, never its errors."""

    site_id: int
    name: str
    meetings_held: int
    meetings_expected: int
    mean_attendance_rate: float | None
    reporters: int
    reporters_meeting_attendance: int
    actions_overdue: int


@dataclass(frozen=True)
class Scorecard:
    period: Period
    site: Site | None
    meetings_expected: int
    meetings: tuple[MeetingAttendance, ...]
    people: tuple[PersonFigures, ...]
    cases_submitted: int
    cases_presented: int
    great_pickups: int
    by_kind: tuple[Count, ...]
    by_modality: tuple[Count, ...]
    by_discrepancy_type: tuple[Count, ...]
    actions: ActionFigures
    sites: tuple[SiteRow, ...] = ()
    regional_meetings_held: int = 0

    @property
    def is_network(self) -> bool:
        return self.site is None

    @property
    def meetings_held(self) -> int:
        return len(self.meetings)

    @property
    def meetings_with_a_rate(self) -> int:
        """Meetings with reporting staff to count: not regional ones, nor a site's with none."""
        return sum(1 for meeting in self.meetings if meeting.rate is not None)

    @property
    def meetings_meeting_attendance(self) -> int:
        return sum(1 for meeting in self.meetings if meeting.meets_target)

    @property
    def mean_attendance_rate(self) -> float | None:
        return _mean_rate(self.meetings)

    @property
    def reporters_meeting_attendance(self) -> int:
        return sum(1 for person in self.people if person.meets_attendance)

    @property
    def reporters_meeting_cases(self) -> int:
        return sum(1 for person in self.people if person.meets_cases)

    @property
    def cases_expected_each(self) -> int:
        return self.period.expected(CASES_PER_REPORTER_PER_YEAR)


def _mean_rate(meetings) -> float | None:
    rates = [meeting.rate for meeting in meetings if meeting.rate is not None]
    return sum(rates) / len(rates) if rates else None


def for_site(site: Site, period: Period, today: date) -> Scorecard:
    held = _held_meetings(period, and_(Meeting.scope == MeetingScope.LOCAL, Meeting.site_id == site.id))
    roster = _roster(site.id)
    present = _present(held)
    meetings = _attendance(held, roster, present)
    people = _people(period, held, roster, present)
    return Scorecard(
        period=period, site=site, meetings_expected=period.expected(MEETINGS_PER_YEAR), meetings=meetings,
        people=people,
        cases_submitted=_count_submitted(period, Case.site_id == site.id),
        **_case_mix(period, and_(Meeting.scope == MeetingScope.LOCAL, Meeting.site_id == site.id)),
        actions=_actions(period, today, or_(Meeting.site_id == site.id, applies_to(site.id))),
    )


def for_network(period: Period, today: date) -> Scorecard:
    """Every site's meetings, and the regional ones, with a row per active site. Each case is counted
    once, where it was first presented: a regional copy is not counted again."""
    held = _held_meetings(period, Meeting.id.isnot(None))
    roster = _roster(None)
    present = _present(held)
    meetings = _attendance(held, roster, present)
    sites = db.session.scalars(select(Site).where(Site.active).order_by(Site.name)).all()
    expected = period.expected(MEETINGS_PER_YEAR)
    overdue = _overdue_by_site(period, today, [site.id for site in sites])
    rows = []
    for site in sites:
        site_meetings = [meeting for meeting in meetings if meeting.site_id == site.id]
        site_people = _people(period, [m for m in held if m.site_id == site.id],
                              [person for person in roster if person.home_site_id == site.id], present,
                              submissions=False)
        rows.append(SiteRow(
            site_id=site.id, name=site.name, meetings_held=len(site_meetings), meetings_expected=expected,
            mean_attendance_rate=_mean_rate(site_meetings), reporters=len(site_people),
            reporters_meeting_attendance=sum(1 for person in site_people if person.meets_attendance),
            actions_overdue=overdue.get(site.id, 0),
        ))
    return Scorecard(
        period=period, site=None, meetings_expected=expected, meetings=meetings, people=(),
        cases_submitted=_count_submitted(period, Case.id.isnot(None)),
        **_case_mix(period, Meeting.id.isnot(None)),
        actions=_actions(period, today, Action.id.isnot(None)),
        sites=tuple(rows),
        regional_meetings_held=sum(1 for meeting in held if meeting.scope == MeetingScope.REGIONAL),
    )


# --- meetings and attendance ---------------------------------------------------------------------

def _held_meetings(period: Period, where) -> list:
    return db.session.execute(
        select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.ends_at, Meeting.site_id, Meeting.scope)
        .where(where, Meeting.status == MeetingStatus.ENDED,
               Meeting.starts_at >= period.starts_at, Meeting.starts_at < period.ends_before)
        .order_by(Meeting.starts_at)
    ).all()


def _roster(site_id: int | None) -> list:
    """Active reporting staff with an account at the site (at every site when None)."""
    query = select(User.id, User.name, User.profession, User.home_site_id, User.created_at).where(
        User.active, User.profession.in_(REPORTING_PROFESSIONS), User.home_site_id.isnot(None))
    if site_id is not None:
        query = query.where(User.home_site_id == site_id)
    return db.session.execute(query.order_by(User.name, User.id)).all()


def _present(held) -> dict[int, list[int | None]]:
    """Who was present at each held meeting: user ids, None for a guest."""
    present: dict[int, list[int | None]] = defaultdict(list)
    ids = [meeting.id for meeting in held]
    for chunk in range(0, len(ids), 500):
        for meeting_id, user_id in db.session.execute(
                select(Attendance.meeting_id, Attendance.user_id).where(
                    Attendance.meeting_id.in_(ids[chunk:chunk + 500]),
                    Attendance.status == AttendanceStatus.PRESENT)):
            present[meeting_id].append(user_id)
    return present


def _expected_at(meeting, person) -> bool:
    """Whether the person was one of the reporters the meeting was for: those of its site with an account
    made before it ended. Nobody is expected at a regional meeting (the College's expectation is of one's
    own department's meetings), so regional meetings count people present but no attendance rate."""
    return (meeting.scope == MeetingScope.LOCAL and person.home_site_id == meeting.site_id
            and person.created_at <= meeting.ends_at)


def _attendance(held, roster, present) -> tuple[MeetingAttendance, ...]:
    by_site: dict[int, list] = defaultdict(list)
    for person in roster:
        by_site[person.home_site_id].append(person)
    rows = []
    for meeting in held:
        expected = {person.id for person in by_site.get(meeting.site_id, ()) if _expected_at(meeting, person)}
        here = present.get(meeting.id, [])
        rows.append(MeetingAttendance(
            meeting_id=meeting.id, title=meeting.title, starts_at=meeting.starts_at, site_id=meeting.site_id,
            present=len(here), reporters_present=sum(1 for user_id in here if user_id in expected),
            reporters=len(expected),
        ))
    return tuple(rows)


def _people(period: Period, held, roster, present, *, submissions: bool = True) -> tuple[PersonFigures, ...]:
    submitted = _submitted_by(period, [person.id for person in roster]) if submissions else {}
    expected_cases = period.expected(CASES_PER_REPORTER_PER_YEAR)
    people = []
    for person in roster:
        theirs = [meeting for meeting in held if _expected_at(meeting, person)]
        people.append(PersonFigures(
            user_id=person.id, name=person.name, profession=Profession(person.profession).label,
            meetings_attended=sum(1 for meeting in theirs if person.id in present.get(meeting.id, ())),
            meetings_held=len(theirs), cases_submitted=submitted.get(person.id, 0), cases_expected=expected_cases,
        ))
    return tuple(people)


# --- cases -------------------------------------------------------------------------------------

def _submitted_by(period: Period, user_ids: list[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    return {user_id: count for user_id, count in db.session.execute(
        select(Case.submitter_id, func.count()).where(
            Case.submitter_id.in_(user_ids), Case.forwarded_from_id.is_(None),
            Case.created_at >= period.starts_at, Case.created_at < period.ends_before)
        .group_by(Case.submitter_id))}


def _count_submitted(period: Period, where) -> int:
    return db.session.scalar(select(func.count(Case.id)).where(
        where, Case.forwarded_from_id.is_(None),
        Case.created_at >= period.starts_at, Case.created_at < period.ends_before)) or 0


def _case_mix(period: Period, meeting_where) -> dict:
    """Cases presented at the period's held meetings, by kind, modality and discrepancy type."""
    rows = db.session.execute(
        select(Case.kind, Case.modality, Case.discrepancy_type, Case.great_pickup, func.count())
        .join(Meeting, Case.meeting_id == Meeting.id)
        .where(meeting_where, Meeting.status == MeetingStatus.ENDED,
               Meeting.starts_at >= period.starts_at, Meeting.starts_at < period.ends_before,
               Case.status == CaseStatus.PRESENTED, Case.forwarded_from_id.is_(None))
        .group_by(Case.kind, Case.modality, Case.discrepancy_type, Case.great_pickup)
    ).all()
    kinds: Counter[str] = Counter()
    modalities: Counter[str] = Counter()
    discrepancies: Counter[str | None] = Counter()
    great = 0
    for kind, modality, discrepancy, great_pickup, count in rows:
        kinds[kind] += count
        modalities[modality] += count
        if kind in (CaseKind.DISCREPANCY, CaseKind.NEAR_MISS) or discrepancy:
            discrepancies[discrepancy] += count
        if great_pickup or kind == CaseKind.GREAT_PICKUP:
            great += count
    return {
        "cases_presented": sum(kinds.values()), "great_pickups": great,
        "by_kind": tuple(Count(kind.label, kinds[kind]) for kind in CaseKind if kinds[kind]),
        "by_modality": tuple(Count(modality.label, modalities[modality]) for modality in Modality if modalities[modality]),
        "by_discrepancy_type": tuple(Count(kind.label, discrepancies[kind]) for kind in DiscrepancyType
                                     if discrepancies[kind]) + (
            (Count(NOT_CLASSIFIED, discrepancies[None]),) if discrepancies[None] else ()),
    }


# --- actions -----------------------------------------------------------------------------------

def _as_of(period: Period, today: date) -> tuple[date, datetime]:
    """The day overdue actions are counted on (the period's end, or today while it runs), and the first
    instant after it."""
    as_of = min(period.end, today)
    return as_of, at_local(as_of + timedelta(days=1), time())


def _open_and_overdue(period: Period, today: date):
    as_of, after = _as_of(period, today)
    return and_(Action.created_at < after, Action.due_on < as_of,
                or_(Action.closed_at.is_(None), Action.closed_at >= after))


def _actions(period: Period, today: date, where) -> ActionFigures:
    """Actions opened and closed in the period, those overdue at its end, and the median days to close.
    A network action's site copies are counted, not the network action that follows them."""
    scope = select(Action.id).join(Meeting, Action.meeting_id == Meeting.id).where(
        where, Action.per_site.is_(False))
    in_period = and_(Action.created_at >= period.starts_at, Action.created_at < period.ends_before)
    closed_in_period = and_(Action.status == ActionStatus.DONE, Action.closed_at >= period.starts_at,
                            Action.closed_at < period.ends_before)
    opened = db.session.scalar(scope.with_only_columns(func.count(Action.id)).where(in_period)) or 0
    overdue = db.session.scalar(
        scope.with_only_columns(func.count(Action.id)).where(_open_and_overdue(period, today))) or 0
    spans = [(closed - created).total_seconds() / 86400 for created, closed in db.session.execute(
        scope.with_only_columns(Action.created_at, Action.closed_at).where(closed_in_period))]
    return ActionFigures(opened=opened, closed=len(spans), overdue=overdue,
                         median_days_to_close=round(statistics.median(spans), 1) if spans else None,
                         as_of=min(period.end, today))


def _overdue_by_site(period: Period, today: date, site_ids: list[int]) -> dict[int, int]:
    """Overdue actions per site, as a site's scorecard counts them (held at the site, for it, or for every
    site), in one query whatever the number of sites: each (action, site) pair once, then counted."""
    overdue = and_(Action.per_site.is_(False), _open_and_overdue(period, today))
    pairs = union(
        select(Action.id.label("action_id"), Meeting.site_id.label("site_id"))
        .join(Meeting, Action.meeting_id == Meeting.id).where(overdue, Meeting.site_id.isnot(None)),
        select(ActionSite.action_id, ActionSite.site_id).join(Action, ActionSite.action_id == Action.id)
        .where(overdue),
        select(Action.id, Site.id).join(Site, true()).where(overdue, Action.all_sites),
    ).subquery()
    counts = dict(db.session.execute(select(pairs.c.site_id, func.count()).group_by(pairs.c.site_id)).all())
    return {site_id: counts.get(site_id, 0) for site_id in site_ids}
