"""The governance pages: a site's scorecard, the network's, the annual report and the incident export."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from meetings import audit
from meetings.extensions import db
from meetings.governance import access, figures, incidents, report, scorecard
from meetings.governance.period import FIRST_YEAR, Period, PeriodError
from meetings.models import Role, Site
from meetings.security import role_required
from meetings.web import MAX_ID, csv_response, pdf_response, today_local

bp = Blueprint("governance", __name__)

# How many past years the period and report menus offer.
YEARS_OFFERED = 6


def _site_or_404(site_id: int, allowed=access.can_view_site) -> Site:
    site = db.session.get(Site, site_id)
    if site is None or not allowed(current_user, site):
        abort(404)
    return site


def _period() -> tuple[Period, str | None]:
    """The period asked for, or the last twelve months with the reason the one asked for cannot be used."""
    today = today_local()
    try:
        return Period.from_args(request.args, today), None
    except PeriodError as error:
        return Period.twelve_months_to(today), str(error)


def _years() -> list[int]:
    this_year = today_local().year
    return [year for year in range(this_year, this_year - YEARS_OFFERED, -1) if year >= FIRST_YEAR]


def _page(card: scorecard.Scorecard, error: str | None, **context):
    return render_template(
        "governance/scorecard.html", card=card, figures=figures.all_figures(card), percent=figures.percent,
        error=error, years=_years(), args=request.args, **context,
    ), 400 if error else 200


@bp.get("/governance/")
@login_required
def index():
    """The person's own site, or the site an admin picked; the network for those who run it."""
    chosen = request.args.get("site", type=int) or current_user.home_site_id
    if chosen is not None:
        if not 0 < chosen <= MAX_ID:
            abort(404)
        return site(chosen)
    if access.can_view_network(current_user):
        return network()
    abort(404)


@bp.get("/governance/sites/<int:site_id>")
@login_required
def site(site_id: int):
    site = _site_or_404(site_id)
    period, error = _period()
    card = scorecard.for_site(site, period, today_local())
    everyone = access.can_see_people(current_user, site)
    people = card.people if everyone else tuple(person for person in card.people if person.user_id == current_user.id)
    sites = db.session.scalars(select(Site).where(Site.active).order_by(Site.name)).all() \
        if current_user.has_role(Role.ADMIN) else []
    return _page(card, error, people=people, everyone=everyone, sites=sites,
                 can_export=access.can_export(current_user, site),
                 can_view_network=access.can_view_network(current_user))


@bp.get("/governance/network")
@role_required(Role.ADMIN, Role.REGIONAL_CHAIR)
def network():
    period, error = _period()
    return _page(scorecard.for_network(period, today_local()), error, people=(), everyone=False, sites=[],
                 can_export=False, can_view_network=True)


@bp.get("/governance/sites/<int:site_id>/annual-report.pdf")
@login_required
def annual_report(site_id: int):
    site = _site_or_404(site_id, access.can_export)
    year = request.args.get("year", type=int)
    if year not in _years():
        abort(404)
    pdf = report.annual_report(site, year, today_local())
    audit.record("governance.annual_report", site, year=year)
    db.session.commit()
    return pdf_response(pdf, report.filename(site, year))


@bp.get("/governance/sites/<int:site_id>/incidents.csv")
@login_required
def incident_export(site_id: int):
    site = _site_or_404(site_id, access.can_export)
    period, error = _period()
    if error:
        abort(400, error)
    audit.record("governance.incidents_exported", site, period=period.as_args())
    db.session.commit()
    return csv_response(list(incidents.HEADER), incidents.rows(site, period), incidents.filename(site, period))
