"""The console's actions panel: the meeting's actions so far and the form for the next one.

Shared by the console page (meetings.live.views) and the capture route (meetings.actions.views).
"""
from __future__ import annotations

from sqlalchemy import select

from meetings.actions import service
from meetings.actions.forms import ALL_SITES, ActionForm
from meetings.cases import service as cases
from meetings.extensions import db
from meetings.live import service as live
from meetings.models import Action, Meeting, MeetingScope, Site, User
from meetings.web import today_local


def capture_form(meeting: Meeting, **kwargs) -> ActionForm:
    """The capture form, offering the meeting's cases, the people who may own an action, and the sites."""
    people = select(User).where(User.active).order_by(User.name)
    if meeting.scope == MeetingScope.LOCAL and meeting.site_id is not None:
        people = people.where(User.home_site_id == meeting.site_id)
    sites = db.session.scalars(select(Site).where(Site.active).order_by(Site.name))
    # The prefix keeps the form's ids apart from the console's other forms.
    return ActionForm(cases=cases.queue(meeting), people=list(db.session.scalars(people)), network=list(sites),
                      today=today_local(), prefix="action", **kwargs)


def fresh_form(meeting: Meeting) -> ActionForm:
    """An empty form for the next action: on the case on screen, for the meeting's own site."""
    state = live.state_of(meeting)
    regional = meeting.site_id is None or meeting.scope == MeetingScope.REGIONAL
    return capture_form(meeting, formdata=None, case_id=str(state.case_id or ""),
                        sites=[ALL_SITES] if regional else [str(meeting.site_id)])


def context(meeting: Meeting, form: ActionForm | None = None, added: Action | None = None,
            scrubbed: bool = False) -> dict:
    """What the panel shows; `added` is the action just added, `scrubbed` whether identifiers were taken out."""
    return {"action_form": form or fresh_form(meeting), "added": added, "scrubbed": scrubbed,
            "actions": service.meeting_actions(meeting), "source": service.source_label, "today": today_local()}
