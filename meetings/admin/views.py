"""Admin pages: invite, edit and deactivate people; manage the network's sites; read the audit log."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from meetings import audit
from meetings.admin import service
from meetings.admin.forms import SiteForm, UserForm
from meetings.extensions import db
from meetings.models import Role, Site, User
from meetings.operations import audit_log as audit_log_service
from meetings.security import role_required
from meetings.web import csv_response, is_htmx, page_number, today_local

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
@role_required(Role.ADMIN)
def require_admin():
    """Every admin route is for admins only; checked here so no route can forget."""


def _get_or_404(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


@bp.get("/users")
def users():
    q = request.args.get("q", "").strip()
    page = service.search_users(q, page_number())
    template = "admin/_user_table.html" if is_htmx() else "admin/users.html"
    return render_template(template, page=page, q=q)


def _committed(form, change) -> bool:
    """Make `change` and commit; a broken admin rule rolls back and shows beside its field instead."""
    try:
        change()
    except service.AdminRuleError as error:
        db.session.rollback()
        getattr(form, error.field).errors.append(error.message)
        return False
    db.session.commit()
    return True


def _user_form_page(form: UserForm, user: User | None, status: int = 200):
    return render_template("admin/user_form.html", form=form, user=user), status


@bp.route("/users/invite", methods=["GET", "POST"])
def invite_user():
    form = UserForm(sites=service.sites_to_choose())
    if form.validate_on_submit() and _committed(form, lambda: service.invite_user(form.data)):
        flash(f"Invitation sent to {form.email.data.strip().lower()}.", "success")
        return redirect(url_for("admin.users"), code=303)
    return _user_form_page(form, None, 422 if form.errors else 200)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = _get_or_404(User, user_id)
    form = UserForm(obj=user, sites=service.sites_to_choose(user.home_site_id))
    if request.method == "GET":
        form.roles.data = sorted(user.roles)
        form.home_site_id.data = user.home_site_id or 0
    if form.validate_on_submit() and _committed(form, lambda: service.update_user(user, form.data, current_user)):
        flash(f"Saved changes to {user.name}.", "success")
        return redirect(url_for("admin.users"), code=303)
    return _user_form_page(form, user, 422 if form.errors else 200)


def _row_or_redirect(user: User, error: str | None = None):
    if is_htmx():
        return render_template("admin/_user_row.html", user=user, row_error=error)
    if error:
        flash(error, "error")
    return redirect(url_for("admin.users"), code=303)


@bp.post("/users/<int:user_id>/active")
def set_user_active(user_id: int):
    user = _get_or_404(User, user_id)
    try:
        service.set_active(user, request.form.get("active") == "1", current_user)
    except service.AdminRuleError as error:
        return _row_or_redirect(user, error.message)
    db.session.commit()
    return _row_or_redirect(user)


@bp.post("/users/<int:user_id>/resend-invite")
def resend_invite(user_id: int):
    user = _get_or_404(User, user_id)
    if user.has_accepted_invite or not user.active:
        return _row_or_redirect(user, "This person has already set a password")
    service.send_invite(user)
    db.session.commit()
    if not is_htmx():
        flash(f"Invitation sent again to {user.email}.", "success")
    return _row_or_redirect(user)


def _sites_panel(form: SiteForm, status: int = 200):
    sites = db.session.scalars(db.select(Site).order_by(Site.name)).all()
    template = "admin/_sites_panel.html" if is_htmx() else "admin/sites.html"
    return render_template(template, form=form, sites=sites), status


@bp.route("/sites", methods=["GET", "POST"])
def sites():
    form = SiteForm()
    if form.validate_on_submit() and _committed(form, lambda: service.save_site(form.data)):
        flash(f"Added {form.name.data.strip()}.", "success")
        if not is_htmx():
            return redirect(url_for("admin.sites"), code=303)
        form = SiteForm(formdata=None)
    return _sites_panel(form, 422 if form.errors else 200)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
def edit_site(site_id: int):
    site = _get_or_404(Site, site_id)
    form = SiteForm(obj=site)
    if form.validate_on_submit() and _committed(form, lambda: service.save_site(form.data, site)):
        if is_htmx():
            return render_template("admin/_site_row.html", site=site)
        flash(f"Saved {site.name}.", "success")
        return redirect(url_for("admin.sites"), code=303)
    template = "admin/_site_edit_row.html" if is_htmx() else "admin/site_form.html"
    return render_template(template, form=form, site=site), 422 if form.errors else 200


@bp.get("/sites/<int:site_id>")
def site_row(site_id: int):
    """The read-only row, for cancelling an inline edit."""
    return render_template("admin/_site_row.html", site=_get_or_404(Site, site_id))


@bp.post("/sites/<int:site_id>/active")
def set_site_active(site_id: int):
    site = _get_or_404(Site, site_id)
    service.set_site_active(site, request.form.get("active") == "1")
    db.session.commit()
    if is_htmx():
        return render_template("admin/_site_row.html", site=site)
    return redirect(url_for("admin.sites"), code=303)


# --- the audit log ------------------------------------------------------------------------------

@bp.get("/audit")
def audit_log():
    filters = audit_log_service.Filters.from_args(request.args)
    page = audit_log_service.page_of(filters, page_number())
    template = "admin/_audit_results.html" if is_htmx() and request.headers.get("HX-Target") == "audit-results" \
        else "admin/audit.html"
    response = Response(render_template(template, page=page, filters=filters,
                                        categories=audit_log_service.CATEGORIES, describe=audit_log_service.describe,
                                        actor_label=audit_log_service.actor_label))
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@bp.get("/audit.csv")
def audit_log_export():
    filters = audit_log_service.Filters.from_args(request.args)
    # The export itself names people and what they looked at: it goes in the log too.
    audit.record("audit.exported", current_user, filters=filters.as_args())
    db.session.commit()
    return csv_response(audit_log_service.CSV_HEADER, audit_log_service.csv_rows(audit_log_service.query(filters)),
                        f"audit-log-{today_local().isoformat()}.csv")
