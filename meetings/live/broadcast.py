"""Telling the room: every change an audience would see moves the version on and renders the audience
fragment once, here, so followers are answered from the stored copy.
"""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from meetings.extensions import db
from meetings.live.slides import slide_for
from meetings.models import Case, LiveState, MeetingStatus


def render_audience(state: LiveState) -> str:
    """The audience fragment for the state as it is. Shared by every follower, so it holds nothing
    personal: no CSRF token, no device's own answer (its poll widget loads separately)."""
    return render_template("live/_audience.html", slide=slide_for(state))


def audience_fragment(state: LiveState) -> str:
    """The stored fragment, rendered and stored first if this state has never been published (the caller
    commits if it wants to keep it)."""
    if not state.audience_html:
        state.audience_html = render_audience(state)
    return state.audience_html


def publish(state: LiveState) -> None:
    # Incremented in SQL, then read back whole: once this UPDATE has run the row is ours until commit (a
    # row lock on PostgreSQL, the write lock on SQLite), so the fragment matches the version it is stored with.
    state.version = LiveState.version + 1
    db.session.flush()
    db.session.refresh(state)
    state.audience_html = render_audience(state)


def case_changed(case: Case) -> None:
    """A case was approved again or its images changed: if it is on screen now, the room sees the change
    (the approved case, or the holding slide while it awaits review) at once."""
    state = db.session.scalar(select(LiveState).where(LiveState.case_id == case.id))
    if state is not None and state.meeting.status == MeetingStatus.LIVE:
        publish(state)
