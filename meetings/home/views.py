"""Each role's landing page."""
from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_login import current_user, login_required

from meetings.actions import service as actions
from meetings.cases import access
from meetings.feedback import service as feedback
from meetings.home import service
from meetings.models import Role, User
from meetings.web import today_local

bp = Blueprint("home", __name__)


def home_url(user: User) -> str:
    """Where a person lands after signing in: the page their main role works from."""
    if user.has_role(Role.ADMIN):
        return url_for("admin.users")
    if user.has_role(Role.RISK) and not user.has_role(Role.CHAIR):
        return url_for("actions.index")
    return url_for("home.dashboard")


@bp.get("/")
@login_required
def dashboard():
    return render_template(
        "home/dashboard.html",
        upcoming=service.upcoming_meetings(current_user),
        recent=service.recent_meetings(current_user),
        is_chair=current_user.has_role(Role.CHAIR, Role.REGIONAL_CHAIR),
        chairing=service.meetings_chaired(current_user) if current_user.has_role(Role.CHAIR, Role.REGIONAL_CHAIR) else [],
        can_see_register=access.can_see_register,
        my_actions=actions.my_counts(current_user, today_local()),
        feedback_waiting=feedback.waiting_for(current_user),
    )
