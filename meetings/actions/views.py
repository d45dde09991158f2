"""The action register: every action agreed in a meeting, for risk staff and chairs."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from meetings.actions import service
from meetings.models import Role
from meetings.security import role_required
from meetings.web import today_local

bp = Blueprint("actions", __name__, url_prefix="/actions")


@bp.get("/")
@role_required(Role.RISK, Role.CHAIR, Role.ADMIN)
def index():
    page = service.open_actions(current_user, page=request.args.get("page", 1, type=int))
    return render_template("actions/index.html", page=page, today=today_local())
