"""Actions: captured from the chair's console, tracked in the action register and in "My actions"."""
from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from meetings.actions import panel, service
from meetings.actions.forms import ALL_SITES, SOMEONE_ELSE, ActionForm
from meetings.auth.service import find_user_by_email
from meetings.cases import access, review
from meetings.extensions import db
from meetings.live import views as live_views
from meetings.models import Action, Case, Meeting, Role, Site, User
from meetings.security import role_required, safe_next
from meetings.web import csv_response, is_htmx, today_local

bp = Blueprint("actions", __name__)


# --- capture, from the chair's console ----------------------------------------------------------

STATUS_TAGS = {"open": "nhsuk-tag--blue", "in_progress": "nhsuk-tag--yellow", "done": "nhsuk-tag--green",
               "cancelled": "nhsuk-tag--grey"}


@bp.context_processor
def _labels() -> dict:
    return {"move_labels": service.MOVE_LABELS, "status_tags": STATUS_TAGS}


def capture_panel(meeting: Meeting, form: ActionForm | None = None, added: Action | None = None,
                  scrubbed: bool = False, status: int = 200) -> Response:
    html = render_template("actions/_capture.html", meeting=meeting, **panel.context(meeting, form, added, scrubbed))
    return Response(html, status)


@bp.get("/meetings/<int:meeting_id>/actions")
@login_required
def meeting_panel(meeting_id: int):
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    return capture_panel(meeting)


@bp.post("/meetings/<int:meeting_id>/actions")
@login_required
def capture(meeting_id: int):
    """Add an action agreed in the meeting. Errors come back beside their fields with everything typed kept."""
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    form = panel.capture_form(meeting)
    if not form.validate():
        return _captured(meeting, form, None, 422)
    case = None
    if form.case_id.data:
        case = db.session.get(Case, int(form.case_id.data))
    owner = None if form.owner.data == SOMEONE_ELSE else db.session.get(User, int(form.owner.data))
    if owner is None:
        # A named owner who turns out to have an account is that account: their actions reach "My actions".
        owner = find_user_by_email(form.owner_email.data or "")
    all_sites = ALL_SITES in form.sites.data
    sites = [] if all_sites else list(db.session.scalars(
        select(Site).where(Site.id.in_([int(s) for s in form.sites.data]))))
    action = service.capture(meeting, service.NewAction(
        description=form.description.data, due_on=form.due_on.data, priority=form.priority.data, owner=owner,
        owner_name=form.owner_name.data or "", owner_email=form.owner_email.data or "", case=case,
        all_sites=all_sites, sites=sites,
    ), current_user)
    scrubbed = action.description != form.description.data.strip()
    db.session.commit()
    return _captured(meeting, None, action, 200, scrubbed)


def _captured(meeting: Meeting, form: ActionForm | None, action: Action | None, status: int, scrubbed: bool = False):
    if is_htmx():
        return capture_panel(meeting, form, action, scrubbed, status)
    if status == 200:
        return redirect(url_for("live.console", meeting_id=meeting.id) + "#console-actions", code=303)
    return live_views.console_page(meeting, status, action_form=form)


# --- the action register ------------------------------------------------------------------------

@bp.get("/actions/")
@role_required(Role.RISK, Role.CHAIR, Role.ADMIN)
def index():
    today = today_local()
    filters = service.Filters.from_args(request.args)
    page = service.register_page(current_user, filters, today, page=request.args.get("page", 1, type=int))
    context = {"page": page, "filters": filters, "today": today, "source": service.source_label,
               "moves": service.moves_from, "can_update": lambda a: service.can_update(current_user, a, seen=True),
               "back": request.full_path}
    if is_htmx() and request.headers.get("HX-Target") == "action-results":
        response = Response(render_template("actions/_results.html", **context))
    else:
        choices = service.filter_choices(current_user, filters)
        response = Response(render_template("actions/index.html", choices=choices,
                                            statuses=service.STATUS_FILTERS, sorts=service.SORT_LABELS, **context))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/actions/export.csv")
@role_required(Role.RISK, Role.CHAIR, Role.ADMIN)
def export():
    today = today_local()
    filters = service.Filters.from_args(request.args)
    rows = service.csv_rows(service.register_query(current_user, filters, today), today)
    return csv_response(service.CSV_HEADER, rows, f"actions-{today.isoformat()}.csv")


@bp.get("/actions/mine")
@login_required
def mine():
    everything = request.args.get("show") == "all"
    return render_template("actions/mine.html", actions=service.my_actions(current_user, everything),
                           everything=everything, today=today_local(), source=service.source_label,
                           moves=service.moves_from, can_update=lambda a: True, back=request.full_path)


@bp.get("/actions/<int:action_id>")
@login_required
def detail(action_id: int):
    action = service.action_or_404(action_id)
    return _detail_page(action, 200)


def _detail_page(action: Action, status: int, **extra):
    shown = None
    if action.case is not None:
        try:
            shown = review.anonymised_case(action.case)
        except review.NotReviewed:
            pass
    context = {"action": action, "shown": shown, "today": today_local(), "source": service.source_label,
               "moves": service.moves_from, "can_update": lambda a: service.can_update(current_user, a),
               "can_see_case": action.case is not None and access.can_review(current_user, action.case),
               "can_see_meeting": access.can_see_register(current_user, action.meeting),
               "back": request.full_path if request.method == "GET" else None} | extra
    return render_template("actions/detail.html", **context), status


@bp.post("/actions/<int:action_id>/status")
@login_required
def change_status(action_id: int):
    """Move an action on. A move made from an out-of-date page is refused (409) with the action as it now
    is; a missing note is asked for (422). Either way the note typed is kept."""
    action = service.action_or_404(action_id)
    if not service.can_update(current_user, action):
        return Response("", 404) if is_htmx() else _detail_page(action, 404)
    to, note = request.form.get("to", ""), request.form.get("note", "")
    seen = request.form.get("version", type=int)
    try:
        service.change_status(action, to, note, current_user, seen)
    except service.ActionConflict:
        db.session.rollback()
        action = db.session.get(Action, action_id)
        return _status_response(action, 409, typed={"to": to, "note": note}, conflict=True)
    except service.ActionRuleError as error:
        db.session.rollback()
        action = db.session.get(Action, action_id)
        return _status_response(action, 422, typed={"to": to, "note": note}, error=error)
    db.session.commit()
    return _status_response(action, 200, saved=True)


def _status_response(action: Action, status: int, **extra):
    view = request.form.get("view", "row")
    back = safe_next(request.form.get("next"))
    if not is_htmx():
        if status == 200:
            return redirect(back or url_for("actions.detail", action_id=action.id), code=303)
        return _detail_page(action, status, **extra)
    template = "actions/_detail_body.html" if view == "detail" else "actions/_row.html"
    html = render_template(template, action=action, today=today_local(), source=service.source_label,
                           moves=service.moves_from, can_update=lambda a: service.can_update(current_user, a),
                           back=back, show_owner=request.form.get("show_owner") != "no", **extra)
    return Response(html, status)
