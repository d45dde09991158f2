"""Actions: captured from the chair's console, tracked in the action register and in "My actions"."""
from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from meetings.actions import panel, service
from meetings.actions.forms import ALL_SITES, ActionForm
from meetings.auth.service import find_user_by_email
from meetings.cases import access, review
from meetings import audit
from meetings.extensions import db
from meetings.live import views as live_views
from meetings.models import Action, Case, Meeting, Role, Site, User
from meetings.security import role_required, safe_next
from meetings.web import csv_response, format_datetime, is_htmx, page_number, today_local

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


@bp.post("/meetings/<int:meeting_id>/actions")
@login_required
def capture(meeting_id: int):
    """Add an action agreed in the meeting. Errors come back beside their fields with everything typed kept."""
    meeting = access.meeting_or_404(meeting_id, access.can_take_notes)
    form = panel.capture_form(meeting)
    if not form.validate():
        return _captured(meeting, form, None, 422)
    case = db.session.get(Case, int(form.case_id.data)) if form.case_id.data else None
    for typed in (form.owner_name, form.owner_email):
        if typed.data and service.names_a_patient(typed.data, meeting, case):
            typed.errors.append("That names the patient: the owner must be a member of staff")
            return _captured(meeting, form, None, 422)
    owner = db.session.get(User, int(form.owner.data)) if form.owner.data else None
    if owner is None:
        # A named owner who turns out to have an account is that account: their actions reach "My actions".
        account = find_user_by_email(form.owner_email.data or "")
        owner = account if account is not None and account.active else None
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

def _rows_context() -> dict:
    """What every list of actions, and an action's page, needs to show and move an action."""
    return {"today": today_local(), "source": service.source_label, "progress": service.progress_of,
            "moves": lambda action: service.allowed_moves(current_user, action)}


@bp.get("/actions/")
@role_required(Role.RISK, Role.CHAIR, Role.REGIONAL_CHAIR, Role.ADMIN)
def index():
    filters = service.Filters.from_args(request.args)
    page = service.register_page(current_user, filters, today_local(), page=page_number())
    context = _rows_context() | {"page": page, "filters": filters, "back": request.full_path}
    if is_htmx() and request.headers.get("HX-Target") == "action-results":
        response = Response(render_template("actions/_results.html", **context))
    else:
        response = Response(render_template("actions/index.html", options=_filter_options(filters),
                                            statuses=service.STATUS_FILTERS, sorts=service.SORT_LABELS, **context))
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def _filter_options(filters: service.Filters) -> dict[str, list[tuple[int, str]]]:
    """The register's filter menus as (value, text) pairs."""
    choices = service.filter_choices(current_user, filters)
    return {
        "site": [(site.id, site.name) for site in choices.sites],
        "owner": [(person.id, person.name) for person in choices.owners],
        "meeting": [(m.id, f"{format_datetime(m.starts_at, '%-d %b %Y')}: {m.title}") for m in choices.meetings],
        "due_within": [(days, f"Within {days} days") for days in (7, 14, 30, 90)],
    }


@bp.get("/actions/export.csv")
@role_required(Role.RISK, Role.CHAIR, Role.REGIONAL_CHAIR, Role.ADMIN)
def export():
    today = today_local()
    filters = service.Filters.from_args(request.args)
    # Owners' names and emails leave Lightbox in the file: who took it, and with which filters, is kept.
    audit.record("actions.exported", current_user, filters=filters.as_args())
    db.session.commit()
    rows = service.csv_rows(service.register_query(current_user, filters, today), today)
    return csv_response(service.CSV_HEADER, rows, f"actions-{today.isoformat()}.csv")


@bp.get("/actions/mine")
@login_required
def mine():
    everything = request.args.get("show") == "all"
    return render_template("actions/mine.html", actions=service.my_actions(current_user, everything),
                           everything=everything, back=request.full_path, **_rows_context())


@bp.get("/actions/<int:action_id>")
@login_required
def detail(action_id: int):
    action = service.action_or_404(action_id)
    return render_template("actions/detail.html", **_detail_context(action, back=request.full_path))


def _detail_context(action: Action, **extra) -> dict:
    """An action's page: the action, where it came from (the case as the room saw it), and its history."""
    shown = None
    if action.case is not None:
        try:
            shown = review.anonymised_case(action.case)
        except review.NotReviewed:
            pass
    return _rows_context() | {
        "action": action, "shown": shown,
        "can_see_case": action.case is not None and access.can_review(current_user, action.case),
        "can_see_meeting": access.can_see_register(current_user, action.meeting),
        # Which site has done what is for those who follow the network action, not for every site to compare.
        "site_copies": action.site_copies if action.per_site and service.can_govern(current_user, action) else [],
    } | extra


@bp.post("/actions/<int:action_id>/status")
@login_required
def change_status(action_id: int):
    """Move an action on. A move made from an out-of-date page is refused (409) with the action as it now
    is; a missing note is asked for (422). Either way the note typed is kept."""
    action = service.action_or_404(action_id, service.can_update)
    to, note = request.form.get("to", ""), request.form.get("note", "")
    try:
        service.change_status(action, to, note, current_user, request.form.get("version", type=int))
    except service.ActionConflict:
        db.session.rollback()
        return _status_response(db.session.get(Action, action_id), 409, typed={"to": to, "note": note},
                                conflict=True)
    except service.ActionRuleError as error:
        db.session.rollback()
        return _status_response(db.session.get(Action, action_id), 422, typed={"to": to, "note": note},
                                error=error)
    db.session.commit()
    return _status_response(action, 200, saved=True)


def _status_response(action: Action, status: int, **extra):
    """The moved (or refused) action as the page that sent it shows it: a row of a list, or its own page."""
    back = safe_next(request.form.get("next"))
    detail_page = request.form.get("view") == "detail" or not is_htmx()
    if not is_htmx() and status == 200:
        return redirect(back or url_for("actions.detail", action_id=action.id), code=303)
    if detail_page:
        template = "actions/_detail_body.html" if is_htmx() else "actions/detail.html"
        return render_template(template, **_detail_context(action, back=back, **extra)), status
    return render_template("actions/_row.html", action=action, back=back,
                           show_owner=request.form.get("show_owner") != "no", **_rows_context() | extra), status
