"""Queries over the action register."""
from __future__ import annotations

from sqlalchemy import select

from meetings.extensions import db
from meetings.models import Action, ActionStatus, Meeting, User

PAGE_SIZE = 50


def open_actions(user: User, page: int = 1):
    """Open and in-progress actions the person may see, soonest due first, a page at a time."""
    query = (
        select(Action)
        .join(Action.meeting)
        .where(Action.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]), Meeting.visible_to(user))
        .order_by(Action.due_on, Action.id)
    )
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)
