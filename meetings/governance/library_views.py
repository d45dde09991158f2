"""The case library's pages: search and filters, a case as it was presented, and its images."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from meetings.cases.review_views import anonymised_image_response
from meetings.extensions import db
from meetings.governance import library
from meetings.models import Case, CaseKind, DiscrepancyType, Modality
from meetings.web import is_htmx, page_number

bp = Blueprint("library", __name__)


@bp.get("/library/")
@login_required
def index():
    filters = library.Filters.from_args(request.args)
    page = library.search_page(current_user, filters, page_number())
    context = {"page": page, "filters": filters}
    if is_htmx() and request.headers.get("HX-Target") == "library-results":
        response = Response(render_template("library/_results.html", **context))
    else:
        response = Response(render_template("library/index.html", options=_filter_options(), **context))
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def _filter_options() -> dict[str, list[tuple[str, str]]]:
    """The library's filter menus as (value, text) pairs; regions and years only where there are cases."""
    choices = library.filter_choices(current_user)
    return {
        "modality": [(modality.value, modality.label) for modality in Modality],
        "body_region": [(region, region.capitalize()) for region in choices.body_regions],
        "kind": [(kind.value, kind.label) for kind in CaseKind],
        "discrepancy_type": [(kind.value, kind.label) for kind in DiscrepancyType],
        "year": [(str(year), str(year)) for year in choices.years],
    }


@bp.get("/library/<int:case_id>")
@login_required
def entry(case_id: int):
    return render_template("library/entry.html", entry=library.entry_or_404(current_user, case_id))


@bp.get("/library/<int:case_id>/images/<int:image_id>.png")
@login_required
def image(case_id: int, image_id: int):
    """An image as the room saw it, for anyone who may open the library entry that shows it."""
    entry = library.entry_or_404(current_user, case_id)
    if image_id not in {shown for shown, _caption in entry.images}:
        abort(404)
    return anonymised_image_response(db.session.get(Case, case_id), image_id)
