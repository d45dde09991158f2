"""Who may see a case and its identifiers. Everyone else is told the case does not exist (404)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from meetings.extensions import db
from meetings.models import Case, Meeting, MeetingScope, Role, User


def chairs_site(user: User, site_id: int | None) -> bool:
    """A chair at this site (their home site) may triage its cases and run its meetings."""
    return user.has_role(Role.CHAIR) and site_id is not None and user.home_site_id == site_id


def chairs_region(user: User) -> bool:
    """A regional chair triages the cases forwarded to the network and runs its regional meetings."""
    return user.has_role(Role.REGIONAL_CHAIR)


def can_see_case(user: User, case: Case) -> bool:
    """The submitter, the chairs who triage the case, the chair of its meeting, and admins.

    The same people may see the case's identifiers; every such view is audited by the caller. (A regional
    case has none: they stay with the local case it was forwarded from.)
    """
    if user.has_role(Role.ADMIN) or case.submitter_id == user.id or can_triage(user, case):
        return True
    return case.meeting is not None and case.meeting.chair_id == user.id


def can_triage(user: User, case: Case) -> bool:
    """A local case's site chairs, or for a regional case the regional chairs; and admins."""
    if user.has_role(Role.ADMIN):
        return True
    return chairs_region(user) if case.is_regional else chairs_site(user, case.site_id)


def can_run(user: User, meeting: Meeting) -> bool:
    """The meeting's own chair, the chairs of its site (the regional chairs for a regional meeting), and
    admins manage its queue."""
    if user.has_role(Role.ADMIN) or meeting.chair_id == user.id:
        return True
    if meeting.scope == MeetingScope.REGIONAL:
        return chairs_region(user)
    return chairs_site(user, meeting.site_id)


def can_take_notes(user: User, meeting: Meeting) -> bool:
    """Those who run the meeting, and its minute-taker, write its notes and outcomes from the console."""
    return can_run(user, meeting) or (meeting.minute_taker_id is not None and meeting.minute_taker_id == user.id)


def can_review(user: User, case: Case) -> bool:
    """Chairs who triage the case or run its meeting approve its anonymisation. Running a regional meeting
    reaches only regional copies (which hold no identifiers), not a local case put in one before forwarding
    existed, unless one chairs that very meeting."""
    if can_triage(user, case):
        return True
    if case.meeting is None or not can_run(user, case.meeting):
        return False
    return case.is_regional or case.meeting.scope == MeetingScope.LOCAL or case.meeting.chair_id == user.id


def can_watch(user: User, case: Case) -> bool:
    """The meeting's audience sees a case's anonymised form: anyone who can see the meeting it is in."""
    return case.meeting is not None and case.meeting.is_visible_to(user)


def meeting_or_404(meeting_id: int, allowed=can_run) -> Meeting:
    """The meeting if the signed-in person may do this with it; otherwise 404, like `case_or_404`."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or not allowed(current_user, meeting):
        abort(404)
    return meeting


def meeting_case_or_404(meeting: Meeting, case_id: int) -> Case:
    """A case of this meeting's queue (the caller has checked the meeting); otherwise 404."""
    case = db.session.get(Case, case_id)
    if case is None or case.meeting_id != meeting.id:
        abort(404)
    return case


def case_or_404(case_id: int, allowed=can_see_case) -> Case:
    """The case if the signed-in person may see it; otherwise 404, so its existence is not revealed."""
    case = db.session.get(Case, case_id)
    if case is None or not allowed(current_user, case):
        abort(404)
    return case


def can_see_register(user: User, meeting: Meeting) -> bool:
    """The attendance register names people: those who keep it, and the risk staff of its site, see it.

    Regional meetings have no site of their own, so any site's risk staff follow their attendance.
    """
    if can_take_notes(user, meeting):
        return True
    return user.has_role(Role.RISK) and (meeting.site_id is None or meeting.site_id == user.home_site_id)
